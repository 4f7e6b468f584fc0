// The GRPO objective on per-token log-probs of sampled completions:
//   ratio = exp(logp − logp_behaviour)
//   per-token = −min(ratio·A, clip(ratio, 1 − clip_low, 1 + clip_high)·A) + β·KL
//   KL to the frozen reference: k1 = logp − ref, k3 = exp(ref − logp) − (ref − logp) − 1
// aggregated as token_mean (over every completion token of the batch) or
// sequence_mean (mean per completion, then over completions).
#pragma once
#include <torch/torch.h>

#include <string>

namespace fasrl::trainer {

struct GrpoLossTerms {
  torch::Tensor loss;        // scalar, differentiable w.r.t. logp
  double clip_fraction = 0;  // tokens whose clipped term was selected
  double kl = 0;             // mean per-token KL estimate (0 when beta = 0 and no reference)
  double ratio_mean = 0;
};

// logp, behaviour, reference: [N, T]; advantages [N]; mask [N, T] (1 = completion token).
// reference may be undefined when beta = 0.
GrpoLossTerms grpo_loss(const torch::Tensor& logp, const torch::Tensor& behaviour, const torch::Tensor& reference,
                        const torch::Tensor& advantages, const torch::Tensor& mask, double clip_low, double clip_high,
                        double beta, const std::string& kl, const std::string& aggregation);

}  // namespace fasrl::trainer
