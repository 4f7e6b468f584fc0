// `fasrl data synth`: writes a complete synthetic dataset directory (shards +
// manifest with hashes and standard protocols). Deterministic in the config.
#pragma once
#include "core/progress_meter.h"
#include "proto/config.pb.h"

namespace fasrl::synth {

struct SynthSummary {
  int64_t samples = 0;
  int shards = 0;
  double seconds = 0;
};

// `progress`: counts written samples (null: silent).
SynthSummary synthesize_dataset(const fasrl::proto::SynthConfig& config, ProgressMeter* progress = nullptr);

}  // namespace fasrl::synth
