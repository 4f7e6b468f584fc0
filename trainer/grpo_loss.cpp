#include "trainer/grpo_loss.h"

#include "core/error.h"

namespace fasrl::trainer {

bool aggregates_per_sequence(const std::string& aggregation) { return aggregation != "token_mean"; }

GrpoLossOptions grpo_loss_options(const proto::GrpoConfig& g) {
  GrpoLossOptions o;
  o.clip_low = g.clip_low();
  o.clip_high = g.clip_high();
  o.clip_ratio_c = g.clip_ratio_c();
  o.beta = g.beta();
  o.kl = g.kl();
  o.aggregation = g.aggregation() == "sequence_mean" ? "seq_mean_token_mean" : g.aggregation();
  o.tis_cap = g.tis_cap();
  if (o.kl != "k1" && o.kl != "k3") raise(ErrorKind::kConfig, "train.grpo.kl: '", o.kl, "' is not k1 or k3");
  if (o.aggregation != "token_mean" && o.aggregation != "seq_mean_token_sum" && o.aggregation != "seq_mean_token_mean")
    raise(ErrorKind::kConfig, "train.grpo.aggregation: '", g.aggregation(),
          "' is not token_mean, seq_mean_token_sum or seq_mean_token_mean");
  if (o.clip_ratio_c != 0 && !(o.clip_ratio_c > 1))
    raise(ErrorKind::kConfig, "train.grpo.clip_ratio_c: ", o.clip_ratio_c, " must be 0 (off) or greater than 1");
  if (o.tis_cap < 0) raise(ErrorKind::kConfig, "train.grpo.tis_cap: ", o.tis_cap, " must be 0 (off) or positive");
  return o;
}

GrpoLossTerms grpo_loss(const torch::Tensor& logp, const torch::Tensor& rollout, const torch::Tensor& reference,
                        const torch::Tensor& advantages, const torch::Tensor& mask, const GrpoLossOptions& o) {
  if (o.beta > 0 && !reference.defined()) raise(ErrorKind::kInvalidArgument, "grpo_loss: beta > 0 needs reference log-probs");
  const torch::Tensor m = mask.to(logp.dtype());
  const torch::Tensor a = advantages.to(logp.dtype()).unsqueeze(1);  // [N, 1]
  const bool tis = o.tis_cap > 0;
  const torch::Tensor behaviour = tis ? logp.detach() : rollout;
  const torch::Tensor ratio = (logp - behaviour).exp();
  const torch::Tensor clipped_pg = torch::max(-ratio * a, -ratio.clamp(1 - o.clip_low, 1 + o.clip_high) * a);
  torch::Tensor pg = clipped_pg, dual;
  if (o.clip_ratio_c > 0) {
    dual = (a < 0) & (clipped_pg > -o.clip_ratio_c * a);
    pg = torch::where(dual, -o.clip_ratio_c * a.expand_as(pg), clipped_pg);
  }
  torch::Tensor tis_weight;
  if (tis) {
    tis_weight = (logp.detach() - rollout).exp().clamp_max(o.tis_cap);
    pg = pg * tis_weight;
  }
  torch::Tensor per_token = pg, kl_t;
  if (reference.defined()) {
    const torch::Tensor d = reference - logp;
    kl_t = o.kl == "k1" ? -d : d.exp() - d - 1;
    if (o.beta > 0) per_token = per_token + o.beta * kl_t;
  }
  GrpoLossTerms out;
  const torch::Tensor tokens = m.sum().clamp_min(1);
  if (o.aggregation == "token_mean") {
    out.loss = (per_token * m).sum() / tokens;
  } else if (o.aggregation == "seq_mean_token_sum") {
    out.loss = (per_token * m).sum(1).mean();
  } else {
    out.loss = ((per_token * m).sum(1) / m.sum(1).clamp_min(1)).mean();  // [N] -> scalar
  }
  torch::NoGradGuard g;
  auto token_mean = [&](const torch::Tensor& x) { return ((x.to(m.dtype()) * m).sum() / tokens).item<double>(); };
  const torch::Tensor is_clipped = ((ratio < 1 - o.clip_low) & (a < 0)) | ((ratio > 1 + o.clip_high) & (a > 0));
  out.clip_fraction = token_mean(is_clipped);
  out.ratio_mean = token_mean(ratio);
  if (dual.defined()) out.dual_clip_fraction = token_mean(dual);
  out.tis_weight_mean = tis ? token_mean(tis_weight) : 1.0;
  if (kl_t.defined()) out.kl = token_mean(kl_t);
  return out;
}

}  // namespace fasrl::trainer
