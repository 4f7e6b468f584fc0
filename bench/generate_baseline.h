// The generation loop fasrl's rollout used before the rollout engine, kept
// only as the benchmark's baseline: every sample is its own row (a group's
// prompt is prefilled G times), the KV cache grows by concatenation each
// token, every row's token and log-prob are read back one by one, and
// finished rows stay in the batch until the longest one ends.
#pragma once
#include <functional>
#include <vector>

#include "models/generate.h"

namespace fasrl::bench {

// embed: left-padded ids [B, T0] of every row -> [B, T0, D]; position: as models::PromptPositioner.
models::Generation generate_baseline(models::Decoder& model, const std::vector<std::vector<int64_t>>& prompts,
                                     const models::SamplingOptions& o,
                                     const std::function<torch::Tensor(const torch::Tensor&)>& embed,
                                     const models::PromptPositioner& position);

}  // namespace fasrl::bench
