// Optimisers (Adam with L2 weight decay, AdamW with decoupled decay), the
// learning-rate schedule, and saving/restoring their state as named tensors
// (no pickle) keyed by parameter name.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "proto/config.pb.h"

namespace fasrl::trainer {

using NamedParams = std::vector<std::pair<std::string, torch::Tensor>>;

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const NamedParams& params, const proto::OptimConfig& config);

// lr at `step` (0-based) of `total`: linear warm-up, then constant or cosine to min_lr_ratio·lr.
double lr_at(int64_t step, int64_t total, const proto::OptimConfig& config);
void set_lr(torch::optim::Optimizer& optimizer, double lr);

// "<param name>/exp_avg", "/exp_avg_sq", "/step" for every parameter with state.
TensorMap optimizer_state(torch::optim::Optimizer& optimizer, const NamedParams& params, const std::string& name);
void load_optimizer_state(torch::optim::Optimizer& optimizer, const NamedParams& params, const std::string& name,
                          const TensorMap& state, const std::string& source);

}  // namespace fasrl::trainer
