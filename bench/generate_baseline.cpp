#include "bench/generate_baseline.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

namespace fasrl::bench {

models::Generation generate_baseline(models::Decoder& model, const std::vector<std::vector<int64_t>>& prompts,
                                     const models::SamplingOptions& o,
                                     const std::function<torch::Tensor(const torch::Tensor&)>& embed,
                                     const models::PromptPositioner& position) {
  torch::NoGradGuard no_grad;
  const int64_t b = static_cast<int64_t>(prompts.size());
  const auto [ids, pad] = models::left_pad(prompts, 0, prompts.size(), o.pad_id);
  const int64_t t0 = ids.size(1);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  models::Generation out;
  out.tokens.resize(static_cast<size_t>(b));
  out.logprobs.resize(static_cast<size_t>(b));
  out.finish.assign(static_cast<size_t>(b), "length");
  std::vector<bool> done(static_cast<size_t>(b), false);
  models::KvCache cache;
  torch::Tensor all_pad = pad;
  const models::PromptPositions prompt_pos = position(ids, pad);
  auto positions_at = [&](int64_t from, int64_t n) {
    const torch::Tensor p = torch::arange(from, from + n, torch::kInt64).unsqueeze(0) + prompt_pos.deltas.unsqueeze(1);
    return prompt_pos.positions.dim() == 3 ? p.unsqueeze(0).expand({3, -1, -1}) : p;
  };
  torch::Tensor logits = model->forward(embed(ids), prompt_pos.positions, pad, &cache).select(1, t0 - 1);
  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    const torch::Tensor scaled =
        models::ban_tokens(logits.to(torch::kFloat64), o.banned_ids) / (o.temperature > 0 ? o.temperature : 1.0);
    const torch::Tensor logp = scaled.log_softmax(-1);
    torch::Tensor next = o.temperature <= 0 ? scaled.argmax(-1) : torch::multinomial(scaled.softmax(-1), 1, false, gen).squeeze(1);
    for (int64_t i = 0; i < b; ++i) {
      const size_t r = static_cast<size_t>(i);
      if (done[r]) {
        next[i] = o.pad_id;
        continue;
      }
      const int64_t tok = next[i].item<int64_t>();
      out.tokens[r].push_back(tok);
      out.logprobs[r].push_back(logp[i][tok].item<double>());
      if (tok == o.eos_id) done[r] = true, out.finish[r] = "eos";
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; }) || step + 1 == o.max_new_tokens) break;
    all_pad = torch::cat({all_pad, torch::ones({b, 1}, torch::kInt64)}, 1);
    logits = model->forward(model->embed(next.unsqueeze(1)), positions_at(all_pad.size(1) - 1, 1), all_pad, &cache).select(1, 0);
  }
  return out;
}

}  // namespace fasrl::bench
