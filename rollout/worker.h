// A rollout worker (ranks L..W-1 of a GRPO job). It serves the learners l with
// l % R == its rollout index. For each learner step s and each learner it serves:
//   sync weights   newest from learner 0, at least version s − max_staleness
//                  (rollout/weight_inbox.h)
//   next prompts   prompts_per_batch samples of its own slice of the train
//                  split (rollout/prompt_stream.h), one QA item each
//   sample G       completions per prompt (models::generate_chat)
//   score          rewards (reasoning/rewards.h)
//   advantages     group-relative (rollout/advantages.h)
//   send           a RolloutBatch to the learner (comm/role_protocol.h)
// Stop: learner 0's stop message; the worker then ends each of its learners'
// streams (after every batch already sent) and returns.
#pragma once
#include <mpi.h>

#include "comm/world.h"
#include "proto/config.pb.h"

namespace fasrl::rollout {

struct RolloutJob {
  proto::RunConfig run;
  proto::LoaderConfig data;
  proto::MllmConfig model;
  proto::GrpoConfig grpo;
  proto::QaConfig qa;  // the knowledge graph (KG reward) and the QA text field
  proto::CommConfig comm;
  int64_t steps = 0;
};

struct RolloutStats {
  int64_t batches = 0, samples = 0, weight_updates = 0;
  double generate_seconds = 0;
  double weight_apply_seconds = 0;  // unpacking and copying received weights (not waiting for them)
};

RolloutStats run_rollout_worker(const RolloutJob& job, const comm::RoleSplit& roles, MPI_Comm world);

}  // namespace fasrl::rollout
