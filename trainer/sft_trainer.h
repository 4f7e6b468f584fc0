// The SFT learner loop for the reasoning MLLM (data-parallel over learners):
//   batch -> one QA item and one reasoning path per sample (seeded by sample id
//   and epoch, so resume is exact) -> optional answer swap (PA-FAS
//   answer shuffling) -> chat sequences -> pad or pack -> token cross-entropy
//   on assistant tokens -> bucketed gradient average -> AdamW.
// The loss is the mean over every learner's target tokens together, so 2
// ranks x 8 samples step like 1 rank x 16.
#pragma once
#include <mpi.h>

#include <optional>
#include <string>

#include "proto/config.pb.h"
#include "trainer/learner.h"
#include "eval/mllm_eval.h"

namespace fasrl::trainer {

struct SftJob {
  LearnerSpec learner;
  proto::LoaderConfig data;
  proto::MllmConfig model;
  proto::SftConfig sft;
  proto::MllmEvalConfig mllm_eval;
  proto::QaConfig qa;  // the knowledge graph (evaluation candidates) and the QA text field
};

struct SftResult {
  int64_t steps = 0;
  double first_loss = 0, last_loss = 0;
  bool preempted = false;
  std::optional<eval::MllmEvaluation> report;  // rank 0, when the protocol has dev and test
};

SftResult train_sft(const SftJob& job, MPI_Comm learners);

}  // namespace fasrl::trainer
