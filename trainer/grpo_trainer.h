// The GRPO learner loop (ranks 0..L-1 of a job whose other ranks are rollout
// workers, rollout/worker.h). Per step s every learner:
//   receives a RolloutBatch from its worker (learner l <- worker l mod R),
//   checks it (trainer/grpo_batch.h), recomputes the policy's log-probs of
//   the sampled tokens (and the frozen reference's when beta > 0), applies
//   the clipped GRPO loss (trainer/grpo_loss.h), averages gradients over the
//   learners and steps AdamW; learner 0 then sends the new weights (version
//   s+1) to every rollout worker (comm/role_protocol.h). Rank 0 logs the
//   GrpoMetrics (trainer/grpo_metrics.h), grad norm and tokens/s.
// The policy version is the optimizer step and is part of the checkpoint; the
// prompts of step s are a function of s, so a resumed job neither loses nor
// repeats a step's data.
#pragma once
#include <mpi.h>

#include <optional>
#include <string>

#include "comm/world.h"
#include "proto/config.pb.h"
#include "trainer/learner.h"
#include "eval/mllm_eval.h"

namespace fasrl::trainer {

struct GrpoJob {
  LearnerSpec learner;
  proto::LoaderConfig data;
  proto::MllmConfig model;
  proto::GrpoConfig grpo;
  proto::MllmEvalConfig mllm_eval;
  proto::QaConfig qa;  // the knowledge graph and the QA text field
};

struct GrpoResult {
  int64_t steps = 0;
  bool preempted = false;
  double seconds = 0, weight_sync_seconds = 0, weight_bytes = 0;
  int64_t samples = 0;
  std::optional<eval::MllmEvaluation> report;  // rank 0
};

GrpoResult train_grpo(const GrpoJob& job, const comm::RoleSplit& roles, MPI_Comm world);

}  // namespace fasrl::trainer
