// The one table of training algorithms: what `fasrl train` runs for
// train.algorithm, and which model family `fasrl eval` and `fasrl export`
// handle for it. Each algorithm receives only its own config sub-messages.
#pragma once
#include <cstdint>
#include <string>

#include "comm/world.h"
#include "proto/config.pb.h"

namespace fasrl::launch {

enum class ModelFamily {
  kDetector,       // MoAE-CR (model.*): scores, FAS report, weights + threshold export
  kReasoningMllm,  // the MLLM (mllm.*): rationale + answer, MLLM report, HF-style export
};

struct TrainOutcome {
  int64_t steps = 0;
  bool preempted = false;
};

struct Algorithm {
  const char* name;
  ModelFamily family;
  // Runs on every rank of the job; rank 0 prints the summary.
  TrainOutcome (*train)(const proto::JobConfig& config, const comm::World& world);
};

// A name not in the table is a config error listing the table.
const Algorithm& find_algorithm(const std::string& name);

// train.* without the algorithm sub-messages: what every learner loop shares.
proto::TrainConfig loop_settings(const proto::TrainConfig& train);

}  // namespace fasrl::launch
