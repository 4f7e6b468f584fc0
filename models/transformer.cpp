#include "models/transformer.h"

#include "core/error.h"

namespace fasrl::models {

ClipAttentionImpl::ClipAttentionImpl(int64_t width, int64_t heads) : heads_(heads) {
  FASRL_CHECK(width % heads == 0, "attention heads ", heads, " must divide width ", width);
  q_proj = register_module("q_proj", torch::nn::Linear(width, width));
  k_proj = register_module("k_proj", torch::nn::Linear(width, width));
  v_proj = register_module("v_proj", torch::nn::Linear(width, width));
  out_proj = register_module("out_proj", torch::nn::Linear(width, width));
}

torch::Tensor ClipAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const int64_t b = x.size(0), t = x.size(1), d = x.size(2), hd = d / heads_;
  auto split = [&](const torch::Tensor& y) { return y.view({b, t, heads_, hd}).transpose(1, 2); };  // [B, H, T, hd]
  const torch::Tensor q = split(q_proj(x)), k = split(k_proj(x)), v = split(v_proj(x));
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));  // [B, H, T, T]
  if (mask.defined()) scores = scores + mask;
  const torch::Tensor out = torch::matmul(torch::softmax(scores, -1), v);                           // [B, H, T, hd]
  return out_proj(out.transpose(1, 2).reshape({b, t, d}));
}

ClipMlpImpl::ClipMlpImpl(int64_t width, int64_t hidden) {
  fc1 = register_module("fc1", torch::nn::Linear(width, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, width));
}

torch::Tensor ClipMlpImpl::forward(const torch::Tensor& x) { return fc2(quick_gelu(fc1(x))); }

ClipEncoderLayerImpl::ClipEncoderLayerImpl(int64_t width, int64_t heads, double mlp_ratio, const proto::MoaeConfig* moae_config,
                                           int64_t moae_tokens) {
  self_attn = register_module("self_attn", ClipAttention(width, heads));
  layer_norm1 = register_module("layer_norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-5)));
  mlp = register_module("mlp", ClipMlp(width, static_cast<int64_t>(mlp_ratio * static_cast<double>(width))));
  layer_norm2 = register_module("layer_norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-5)));
  if (moae_config && moae_config->enabled() && moae_tokens > 0)
    moae = register_module("moae", MultiHeadSoftMoe(width, moae_tokens, *moae_config));
}

torch::Tensor ClipEncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  torch::Tensor h = x + self_attn(layer_norm1(x), mask);
  const torch::Tensor normed = layer_norm2(h);
  torch::Tensor branch = mlp(normed);
  if (!moae.is_empty()) branch = branch + moae(normed);  // MoAE runs parallel to the MLP
  return h + branch;
}

}  // namespace fasrl::models
