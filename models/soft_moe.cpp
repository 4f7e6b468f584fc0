#include "models/soft_moe.h"

#include "core/error.h"
#include "models/transformer.h"

namespace fasrl::models {

SoftMoeImpl::SoftMoeImpl(int64_t dim, int64_t experts, int64_t slots_per_expert, int64_t hidden)
    : experts_(experts), slots_(slots_per_expert) {
  FASRL_CHECK(experts > 0 && slots_per_expert > 0, "SoftMoE needs experts and slots > 0");
  phi = register_parameter("phi", torch::randn({dim, experts * slots_per_expert}) / std::sqrt(static_cast<double>(dim)));
  scale = register_parameter("scale", torch::ones({}));
  expert_mlps = register_module("experts", torch::nn::ModuleList());
  for (int64_t e = 0; e < experts; ++e) expert_mlps->push_back(ClipMlp(dim, hidden));
}

torch::Tensor SoftMoeImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), d = x.size(2);
  const torch::Tensor x_hat = x * torch::rsqrt(x.pow(2).sum(-1, true) + 1e-6);                  // [B, m, d]
  const torch::Tensor phi_hat = phi / phi.norm(2, 0, true).clamp_min(1e-12);                    // [d, n·p]
  const torch::Tensor logits = scale * torch::matmul(x_hat, phi_hat);                           // [B, m, n·p]
  const torch::Tensor dispatch = torch::softmax(logits, 1);                                     // over tokens
  const torch::Tensor combine = torch::softmax(logits, 2);                                      // over all slots
  const torch::Tensor slots = torch::matmul(dispatch.transpose(1, 2), x).view({b, experts_, slots_, d});
  std::vector<torch::Tensor> outs;
  for (int64_t e = 0; e < experts_; ++e)
    outs.push_back(expert_mlps[static_cast<size_t>(e)]->as<ClipMlpImpl>()->forward(slots.select(1, e)));  // [B, p, d]
  const torch::Tensor expert_out = torch::stack(outs, 1).view({b, experts_ * slots_, d});       // [B, n·p, d]
  return torch::matmul(combine, expert_out);                                                     // [B, m, d]
}

MultiHeadSoftMoeImpl::MultiHeadSoftMoeImpl(int64_t width, int64_t tokens, const proto::MoaeConfig& c) : heads_(c.heads()) {
  FASRL_CHECK(heads_ > 0 && width % heads_ == 0, "MoAE heads ", heads_, " must divide width ", width);
  const int64_t sub = width / heads_;
  const int64_t slots = c.slots_per_expert() > 0 ? c.slots_per_expert() : std::max<int64_t>(1, tokens * heads_ / c.experts());
  head_proj = register_module("head_proj", torch::nn::Linear(width, width));
  merge_proj = register_module("merge_proj", torch::nn::Linear(width, width));
  soft_moe = register_module("soft_moe", SoftMoe(sub, c.experts(), slots,
                                                  static_cast<int64_t>(c.expert_mlp_ratio() * static_cast<float>(sub))));
}

torch::Tensor MultiHeadSoftMoeImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), m = x.size(1), d = x.size(2);
  const torch::Tensor sub_tokens = head_proj(x).reshape({b, m * heads_, d / heads_});  // [B, m·h, d/h]
  return merge_proj(soft_moe(sub_tokens).reshape({b, m, d}));                         // [B, m, d]
}

}  // namespace fasrl::models
