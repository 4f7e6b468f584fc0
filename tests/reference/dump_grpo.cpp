// Dumps GRPO loss inputs (random, float64), the loss and its gradient w.r.t.
// the policy log-probs for several settings, and group advantages, for
// grpo_reference.py.
#include <torch/torch.h>

#include "core/safetensors.h"
#include "rollout/advantages.h"
#include "trainer/grpo_loss.h"

using namespace fasrl;

int dump_grpo_main(int argc, char** argv) {
  if (argc != 2) return 2;
  torch::manual_seed(17);
  const int64_t n = 6, t = 9;
  const torch::Tensor behaviour = -torch::rand({n, t}, torch::kFloat64) * 3;
  const torch::Tensor logp0 = behaviour + torch::randn({n, t}, torch::kFloat64) * 0.3;  // ratios around 1, some clipped
  const torch::Tensor reference = behaviour + torch::randn({n, t}, torch::kFloat64) * 0.2;
  const torch::Tensor adv = torch::randn({n}, torch::kFloat64);
  torch::Tensor mask = torch::ones({n, t}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i) mask[i].slice(0, 3 + i) = 0;  // completions of different lengths
  TensorMap out{{"in/behaviour", behaviour}, {"in/logp", logp0}, {"in/reference", reference}, {"in/adv", adv}, {"in/mask", mask}};
  struct Case { const char* name; double low, high, beta; const char* kl; const char* agg; double dual_c, tis_cap; };
  for (const Case& c : {Case{"sym_k3_token", 0.2, 0.2, 0.04, "k3", "token_mean", 0, 0},
                        Case{"asym_k1_seq", 0.2, 0.28, 0.1, "k1", "seq_mean_token_mean", 0, 0},
                        Case{"nokl_token", 0.1, 0.3, 0.0, "k3", "token_mean", 0, 0},
                        Case{"dual_token", 0.2, 0.2, 0.0, "k3", "token_mean", 1.3, 0},
                        Case{"tis_seqsum", 0.2, 0.28, 0.05, "k3", "seq_mean_token_sum", 0, 1.2},
                        Case{"dual_tis_seqmean", 0.1, 0.1, 0.0, "k3", "seq_mean_token_mean", 1.2, 1.5}}) {
    torch::Tensor logp = logp0.clone().requires_grad_(true);
    trainer::GrpoLossOptions o;
    o.clip_low = c.low, o.clip_high = c.high, o.beta = c.beta, o.kl = c.kl, o.aggregation = c.agg;
    o.clip_ratio_c = c.dual_c, o.tis_cap = c.tis_cap;
    const auto terms = trainer::grpo_loss(logp, behaviour, reference, adv, mask, o);
    terms.loss.backward();
    out[std::string("out/") + c.name + "/loss"] = terms.loss.detach();
    out[std::string("out/") + c.name + "/grad"] = logp.grad();
    out[std::string("out/") + c.name + "/clip_fraction"] = torch::tensor(terms.clip_fraction, torch::kFloat64);
    out[std::string("out/") + c.name + "/dual_clip_fraction"] = torch::tensor(terms.dual_clip_fraction, torch::kFloat64);
    out[std::string("out/") + c.name + "/tis_weight"] = torch::tensor(terms.tis_weight_mean, torch::kFloat64);
  }
  // Advantages: 3 groups of 4, including a group with equal rewards.
  const std::vector<double> rewards{1.5, 0.5, 1.0, 0.0, 2.0, 2.0, 2.0, 2.0, 0.25, 1.75, 0.5, 1.0};
  const torch::Tensor r = torch::tensor(rewards, torch::kFloat64);
  out["in/rewards"] = r;
  out["out/adv_scaled"] = torch::tensor(rollout::group_advantages(rewards, 4, true, 1e-4), torch::kFloat64);
  out["out/adv_unscaled"] = torch::tensor(rollout::group_advantages(rewards, 4, false, 1e-4), torch::kFloat64);
  save_safetensors(argv[1], out);
  return 0;
}
