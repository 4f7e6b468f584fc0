// A rollout worker (ranks L..W-1 of a GRPO job). It serves the learners l with
// l % R == its rollout index. For each learner step s it:
//   makes sure its weights are at least version s − max_staleness (receiving
//   from learner 0, taking the newest that has arrived),
//   reads prompts_per_batch prompts from its own slice of the train split
//   (prompt batch n = s·served + j: a function of the step, so a resumed job
//   regenerates exactly the steps not yet learned from — none lost, none twice),
//   samples G completions per prompt, scores them (data/rewards.h), computes
//   group advantages and sends a RolloutBatch to the learner.
// Stop: learner 0 sends version −1 (end of training or preemption); the
// worker answers each of its learners with an empty message (after every
// batch already sent) and returns.
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
  proto::QaConfig qa;
  std::string qa_field;
  int64_t steps = 0;
};

struct RolloutStats {
  int64_t batches = 0, samples = 0, weight_updates = 0;
  double generate_seconds = 0;
  double weight_apply_seconds = 0;  // unpacking and copying received weights (not waiting for them)
};

RolloutStats run_rollout_worker(const RolloutJob& job, const comm::RoleSplit& roles, MPI_Comm world);

}  // namespace fasrl::rollout
