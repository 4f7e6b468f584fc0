// The optimiser: Adam (L2 weight decay added to the gradient) or AdamW
// (decoupled decay), as in torch.optim, over flat 1-D slices of parameter
// storage (the buckets, or under ZeRO this rank's shards of them), so a step
// is a few long loops rather than one small kernel per parameter. Also the
// learning-rate schedule.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "proto/config.pb.h"

namespace fasrl::trainer {

using NamedParams = std::vector<std::pair<std::string, torch::Tensor>>;

class FlatAdam {
 public:
  // `params`: 1-D views updated in place; the state is allocated beside each.
  FlatAdam(const proto::OptimConfig& config, std::vector<torch::Tensor> params);
  // One update of every slice with gradient grads[i] * grad_scale (the
  // caller folds gradient averaging and clipping into grad_scale).
  void step(const std::vector<torch::Tensor>& grads, double lr, double grad_scale);

  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }
  std::vector<torch::Tensor>& exp_avg() { return exp_avg_; }
  std::vector<torch::Tensor>& exp_avg_sq() { return exp_avg_sq_; }
  int64_t state_bytes() const;

 private:
  proto::OptimConfig config_;
  bool decoupled_ = false;  // AdamW
  std::vector<torch::Tensor> params_, exp_avg_, exp_avg_sq_;
  int64_t steps_ = 0;
};

// lr at `step` (0-based) of `total`: linear warm-up, then constant or cosine to min_lr_ratio·lr.
double lr_at(int64_t step, int64_t total, const proto::OptimConfig& config);

}  // namespace fasrl::trainer
