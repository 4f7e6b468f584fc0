// The MoAE-CR learner loop (data-parallel over the learner ranks):
//   batch -> image/text embeddings -> CE (+ DM + CDM | + baseline) -> backward
//   -> bucketed gradient average -> clip -> Adam step -> log / checkpoint / eval.
// Rank 0 owns the run directory: metrics.jsonl, checkpoints, eval reports.
#pragma once
#include <mpi.h>

#include <optional>
#include <string>

#include "eval/moae_cr_eval.h"
#include "models/clip.h"
#include "proto/config.pb.h"
#include "trainer/learner.h"

namespace fasrl::trainer {

// The sub-messages this trainer reads (never the whole job config) and the
// effective config text it stores in every checkpoint.
struct MoaeCrJob {
  LearnerSpec learner;
  proto::LoaderConfig data;
  proto::ClipConfig model;
  proto::MoaeCrConfig moae_cr;
};

struct MoaeCrResult {
  int64_t steps = 0;
  double last_loss = 0;
  bool preempted = false;  // stopped on SIGTERM/SIGUSR1 after writing a checkpoint
  std::optional<metrics::FasReport> report;  // rank 0, when the protocol has dev and test
};

MoaeCrResult train_moae_cr(const MoaeCrJob& job, MPI_Comm learners);

}  // namespace fasrl::trainer
