// The GRPO objective on per-token log-probs of sampled completions:
//   ratio = exp(logp − logp_behaviour)
//   pg    = −min(ratio·A, clip(ratio, 1 − clip_low, 1 + clip_high)·A)
//           and, dual-clip (clip_ratio_c > 1), for A < 0: min(pg, −clip_ratio_c·A)
//   truncated IS (tis_cap > 0): behaviour = logp detached (the learner's own
//           policy before the update) and pg ·= min(exp(logp − logp_rollout), tis_cap)
//   per-token = pg + β·KL to the frozen reference:
//           k1 = logp − ref, k3 = exp(ref − logp) − (ref − logp) − 1
// aggregated as token_mean (over every completion token of the batch),
// seq_mean_token_sum (sum per completion, mean over completions) or
// seq_mean_token_mean (mean per completion, then over completions).
#pragma once
#include <torch/torch.h>

#include <string>

#include "proto/config.pb.h"

namespace fasrl::trainer {

struct GrpoLossOptions {
  double clip_low = 0.2, clip_high = 0.2;
  double clip_ratio_c = 0;  // 0 = no dual clip
  double beta = 0;
  std::string kl = "k3";                  // k1 | k3
  std::string aggregation = "token_mean";  // token_mean | seq_mean_token_sum | seq_mean_token_mean
  double tis_cap = 0;                      // 0 = rollout log-probs are the behaviour policy
};
// From train.grpo, checked: unknown kl/aggregation and clip_ratio_c in (0, 1] name their key.
GrpoLossOptions grpo_loss_options(const proto::GrpoConfig& g);

struct GrpoLossTerms {
  torch::Tensor loss;        // scalar, differentiable w.r.t. logp
  double clip_fraction = 0;  // tokens whose clipped term was selected
  double dual_clip_fraction = 0;  // tokens capped by the dual clip
  double kl = 0;             // mean per-token KL estimate (0 when beta = 0 and no reference)
  double ratio_mean = 0;
  double tis_weight_mean = 0;  // mean truncated IS weight (1 when TIS is off)
};

// logp, rollout, reference: [N, T]; advantages [N]; mask [N, T] (1 = completion token).
// rollout: the log-probs the rollout sampled with. reference may be undefined when beta = 0.
GrpoLossTerms grpo_loss(const torch::Tensor& logp, const torch::Tensor& rollout, const torch::Tensor& reference,
                        const torch::Tensor& advantages, const torch::Tensor& mask, const GrpoLossOptions& o);

// True for the aggregations that weigh completions equally (the seq_mean_* ones).
bool aggregates_per_sequence(const std::string& aggregation);

}  // namespace fasrl::trainer
