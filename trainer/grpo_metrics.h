// What a GRPO learner logs per step (metrics.jsonl), as named fields: reward
// mean/std per component, KL, clip fractions, entropy, response length,
// staleness, loss, mean ratio and IS weight, dynamic-sampling counts. Averaged over learners before logging.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "proto/rollout.pb.h"
#include "trainer/grpo_loss.h"

namespace fasrl::trainer {

struct GrpoMetrics {
  double reward = 0, reward_std = 0;
  double reward_format = 0, reward_format_std = 0;
  double reward_accuracy = 0, reward_accuracy_std = 0;
  double reward_kg = 0, reward_kg_std = 0;
  double kl = 0, clip_fraction = 0, entropy = 0, response_length = 0, staleness = 0, loss = 0, ratio = 0;
  double dual_clip_fraction = 0, tis_weight = 1;
  double reward_overlong = 0;                 // mean overlong penalty (<= 0)
  double dropped_groups = 0, refill_batches = 0;  // dynamic sampling, per batch

  // Calls f(name, field) for every field, in one fixed order (the same on
  // every learner, so the fields can be averaged as one vector).
  template <typename F>
  void each(F&& f) {
    f("reward", reward), f("reward_std", reward_std), f("reward_format", reward_format),
        f("reward_format_std", reward_format_std), f("reward_accuracy", reward_accuracy),
        f("reward_accuracy_std", reward_accuracy_std), f("reward_kg", reward_kg), f("reward_kg_std", reward_kg_std),
        f("kl", kl), f("clip_fraction", clip_fraction), f("entropy", entropy), f("response_length", response_length),
        f("staleness", staleness), f("loss", loss), f("ratio", ratio), f("dual_clip_fraction", dual_clip_fraction),
        f("tis_weight", tis_weight), f("reward_overlong", reward_overlong), f("dropped_groups", dropped_groups),
        f("refill_batches", refill_batches);
  }
  std::vector<double> values();
  void set_values(const std::vector<double>& values);
  void add_to(nlohmann::json& row);
};

// This learner's metrics of one step: batch rewards, the loss terms, the
// token entropy [N, L] and completion mask [N, L]; staleness = the version
// the learner was at (step − 1) minus the batch's policy version.
GrpoMetrics measure_grpo_step(const proto::RolloutBatch& batch, const GrpoLossTerms& loss, const torch::Tensor& entropy,
                              const torch::Tensor& mask, int64_t step);

}  // namespace fasrl::trainer
