#include "trainer/grpo_loss.h"

#include "core/error.h"

namespace fasrl::trainer {

GrpoLossTerms grpo_loss(const torch::Tensor& logp, const torch::Tensor& behaviour, const torch::Tensor& reference,
                        const torch::Tensor& advantages, const torch::Tensor& mask, double clip_low, double clip_high,
                        double beta, const std::string& kl, const std::string& aggregation) {
  if (kl != "k1" && kl != "k3") raise(ErrorKind::kConfig, "train.grpo.kl: '", kl, "' is not k1 or k3");
  if (aggregation != "token_mean" && aggregation != "sequence_mean")
    raise(ErrorKind::kConfig, "train.grpo.aggregation: '", aggregation, "' is not token_mean or sequence_mean");
  if (beta > 0 && !reference.defined()) raise(ErrorKind::kInvalidArgument, "grpo_loss: beta > 0 needs reference log-probs");
  const torch::Tensor m = mask.to(logp.dtype());
  const torch::Tensor a = advantages.to(logp.dtype()).unsqueeze(1);  // [N, 1]
  const torch::Tensor ratio = (logp - behaviour).exp();
  const torch::Tensor unclipped = ratio * a, clipped = ratio.clamp(1 - clip_low, 1 + clip_high) * a;
  torch::Tensor per_token = -torch::min(unclipped, clipped);
  torch::Tensor kl_t;
  if (reference.defined()) {
    const torch::Tensor d = reference - logp;
    kl_t = kl == "k1" ? -d : d.exp() - d - 1;
    if (beta > 0) per_token = per_token + beta * kl_t;
  }
  GrpoLossTerms out;
  const torch::Tensor tokens = m.sum().clamp_min(1);
  if (aggregation == "token_mean") {
    out.loss = (per_token * m).sum() / tokens;
  } else {
    const torch::Tensor per_seq = (per_token * m).sum(1) / m.sum(1).clamp_min(1);  // [N]
    out.loss = per_seq.mean();
  }
  torch::NoGradGuard g;
  const torch::Tensor is_clipped = ((ratio < 1 - clip_low) & (a < 0)) | ((ratio > 1 + clip_high) & (a > 0));
  out.clip_fraction = ((is_clipped.to(m.dtype()) * m).sum() / tokens).item<double>();
  out.ratio_mean = ((ratio * m).sum() / tokens).item<double>();
  if (kl_t.defined()) out.kl = ((kl_t * m).sum() / tokens).item<double>();
  return out;
}

}  // namespace fasrl::trainer
