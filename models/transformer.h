// CLIP transformer pieces with HF module names: self_attn.{q,k,v,out}_proj,
// layer_norm1/2, mlp.fc1/fc2 (quick-GELU), and an optional MoAE branch
// (`moae`) that reads the same normalised input as the MLP and adds its output.
#pragma once
#include <torch/torch.h>

#include "models/soft_moe.h"

namespace fasrl::models {

class ClipAttentionImpl : public torch::nn::Module {
 public:
  ClipAttentionImpl(int64_t width, int64_t heads);
  // x: [B, T, D]; mask: additive [T, T] or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});

 private:
  int64_t heads_;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
};
TORCH_MODULE(ClipAttention);

class ClipMlpImpl : public torch::nn::Module {
 public:
  ClipMlpImpl(int64_t width, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(ClipMlp);

inline torch::Tensor quick_gelu(const torch::Tensor& x) { return x * torch::sigmoid(1.702 * x); }

class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  // moae_tokens > 0 adds a MoAE branch sized for that many tokens.
  ClipEncoderLayerImpl(int64_t width, int64_t heads, double mlp_ratio, const proto::MoaeConfig* moae, int64_t moae_tokens);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});

 private:
  ClipAttention self_attn{nullptr};
  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  ClipMlp mlp{nullptr};
  MultiHeadSoftMoe moae{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

}  // namespace fasrl::models
