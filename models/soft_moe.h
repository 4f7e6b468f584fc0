// SoftMoE (Puigcerver et al. 2023, as in google-research/vmoe soft_moe) and
// its multi-head form used by MoAE-CR.
//
// SoftMoE over tokens X [B, m, d] with n experts of p slots:
//   X̂ = X · rsqrt(Σ_d X² + 1e-6)       Φ̂ = Φ L2-normalised over d, Φ: [d, n·p]
//   logits = scale · X̂ Φ̂              [B, m, n·p]   (scale: learnable scalar, init 1)
//   D = softmax over tokens (dim m)     C = softmax over all n·p slots
//   slots = Dᵀ X (un-normalised X)     [B, n·p, d]
//   expert e is an MLP over its p slots; Y = C · expert outputs   [B, m, d]
// No auxiliary loss.
//
// Multi-head (MoAE): a head projection (d→d) splits every token into h
// sub-tokens of d/h channels; the m·h sub-tokens are routed by one SoftMoE whose
// experts work on d/h channels; a merge projection (d→d) joins the heads. This
// follows multi-head MoE (Wu et al. 2024); the MoAE-CR paper describes the
// multi-head split but not its projections, so this is our reading.
#pragma once
#include <torch/torch.h>

#include "proto/config.pb.h"

namespace fasrl::models {

class SoftMoeImpl : public torch::nn::Module {
 public:
  SoftMoeImpl(int64_t dim, int64_t experts, int64_t slots_per_expert, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);  // [B, m, d] -> [B, m, d]
  torch::Tensor phi, scale;                      // [d, n·p], scalar

 private:
  int64_t experts_, slots_;
  torch::nn::ModuleList expert_mlps{nullptr};   // experts.{e}.fc1 / fc2
};
TORCH_MODULE(SoftMoe);

class MultiHeadSoftMoeImpl : public torch::nn::Module {
 public:
  // `tokens`: sequence length m (fixes the default slot count).
  MultiHeadSoftMoeImpl(int64_t width, int64_t tokens, const proto::MoaeConfig& config);
  torch::Tensor forward(const torch::Tensor& x);  // [B, m, d] -> [B, m, d]

 private:
  int64_t heads_;
  torch::nn::Linear head_proj{nullptr}, merge_proj{nullptr};
  SoftMoe soft_moe{nullptr};
};
TORCH_MODULE(MultiHeadSoftMoe);

}  // namespace fasrl::models
