#include "models/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"

namespace fasrl::models {
namespace {

double effective_temperature(double t) { return t > 0 ? t : 1.0; }

// Keeps the k largest logits and the smallest set whose probability reaches p.
torch::Tensor filter_logits(torch::Tensor logits, int64_t top_k, double top_p) {  // [B, V]
  if (top_k > 0 && top_k < logits.size(-1)) {
    const torch::Tensor kth = std::get<0>(logits.topk(top_k, -1)).select(-1, top_k - 1).unsqueeze(-1);
    logits = logits.masked_fill(logits < kth, -std::numeric_limits<double>::infinity());
  }
  if (top_p < 1.0) {
    auto [sorted, order] = logits.sort(-1, /*descending=*/true);
    const torch::Tensor cum = sorted.softmax(-1).cumsum(-1);
    torch::Tensor drop = (cum - sorted.softmax(-1)) >= top_p;  // tokens after the nucleus is complete
    logits = logits.masked_fill(torch::zeros_like(drop).scatter(-1, order, drop), -std::numeric_limits<double>::infinity());
  }
  return logits;
}

}  // namespace

torch::Tensor ban_tokens(const torch::Tensor& logits, const std::vector<int64_t>& banned_ids) {
  if (banned_ids.empty()) return logits;
  torch::Tensor cols = torch::zeros({logits.size(-1)}, torch::kBool);
  for (int64_t id : banned_ids) cols[id] = true;
  return logits.masked_fill(cols, -std::numeric_limits<double>::infinity());
}

PromptPositions count_real_tokens(const torch::Tensor& pad) {
  const torch::Tensor real = pad.ne(0).to(torch::kInt64);
  return {(real.cumsum(1) - 1).clamp_min(0), real.sum(1) - pad.size(1)};
}

Generation generate(Decoder& model, const std::vector<std::vector<int64_t>>& prompts, const SamplingOptions& o,
                    const BpeTokenizer* tokenizer, const PromptEmbedder& embed_prompt,
                    const PromptPositioner& position_prompt) {
  torch::NoGradGuard no_grad;
  if (prompts.empty()) return {};
  if (!o.stop.empty() && !tokenizer) raise(ErrorKind::kInvalidArgument, "generate: stop strings need a tokenizer");
  const int64_t b = static_cast<int64_t>(prompts.size());
  size_t longest = 0;
  for (const auto& p : prompts) {
    if (p.empty()) raise(ErrorKind::kInvalidArgument, "generate: empty prompt");
    longest = std::max(longest, p.size());
  }
  const int64_t t0 = static_cast<int64_t>(longest);
  // Left padding: [B, T0] ids and mask.
  torch::Tensor ids = torch::full({b, t0}, o.pad_id, torch::kInt64), pad = torch::zeros({b, t0}, torch::kInt64);
  for (int64_t i = 0; i < b; ++i) {
    const auto& p = prompts[static_cast<size_t>(i)];
    const int64_t off = t0 - static_cast<int64_t>(p.size());
    ids[i].slice(0, off) = torch::tensor(p, torch::kInt64);
    pad[i].slice(0, off).fill_(1);
  }
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  Generation out;
  out.tokens.resize(static_cast<size_t>(b));
  out.logprobs.resize(static_cast<size_t>(b));
  out.finish.assign(static_cast<size_t>(b), "length");
  std::vector<bool> done(static_cast<size_t>(b), false);

  KvCache cache;
  torch::Tensor all_ids = ids, all_pad = pad;
  const torch::Tensor prompt_embeds = embed_prompt ? embed_prompt(ids) : model->embed(ids);  // [B, T0, D]
  const PromptPositions prompt_pos = position_prompt ? position_prompt(ids, pad) : count_real_tokens(pad);
  // Positions of the tokens at row indices [from, from + n): [B, n], or [3, B, n] under M-RoPE.
  auto positions_at = [&](int64_t from, int64_t n) {
    const torch::Tensor p = torch::arange(from, from + n, torch::kInt64).unsqueeze(0) + prompt_pos.deltas.unsqueeze(1);
    return prompt_pos.positions.dim() == 3 ? p.unsqueeze(0).expand({3, -1, -1}) : p;
  };
  torch::Tensor logits =
      model->forward(prompt_embeds, prompt_pos.positions, pad, o.use_cache ? &cache : nullptr).select(1, t0 - 1);  // [B, V]
  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    const torch::Tensor scaled = ban_tokens(logits.to(torch::kFloat64), o.banned_ids) / effective_temperature(o.temperature);
    const torch::Tensor logp = scaled.log_softmax(-1);
    torch::Tensor next;
    if (o.temperature <= 0) {
      next = scaled.argmax(-1);
    } else {
      next = torch::multinomial(filter_logits(scaled, o.top_k, o.top_p).softmax(-1), 1, false, gen).squeeze(1);
    }
    for (int64_t i = 0; i < b; ++i) {
      const size_t r = static_cast<size_t>(i);
      if (done[r]) {
        next[i] = o.pad_id;
        continue;
      }
      const int64_t tok = next[i].item<int64_t>();
      out.tokens[r].push_back(tok);
      out.logprobs[r].push_back(logp[i][tok].item<double>());
      if (tok == o.eos_id) {
        done[r] = true;
        out.finish[r] = "eos";
      } else if (!o.stop.empty()) {
        const std::string text = tokenizer->decode(out.tokens[r]);
        for (const auto& s : o.stop)
          if (!s.empty() && text.find(s) != std::string::npos) {
            done[r] = true;
            out.finish[r] = "stop";
          }
      }
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; }) || step + 1 == o.max_new_tokens) break;
    const torch::Tensor step_ids = next.unsqueeze(1);                      // [B, 1]
    all_ids = torch::cat({all_ids, step_ids}, 1);
    all_pad = torch::cat({all_pad, torch::ones({b, 1}, torch::kInt64)}, 1);
    const int64_t t = all_ids.size(1);
    if (o.use_cache)
      logits = model->forward(model->embed(step_ids), positions_at(t - 1, 1), all_pad, &cache).select(1, 0);
    else
      logits = model->forward(torch::cat({prompt_embeds, model->embed(all_ids.slice(1, t0))}, 1),
                              torch::cat({prompt_pos.positions, positions_at(t0, t - t0)}, -1), all_pad)
                   .select(1, t - 1);
  }
  return out;
}

std::vector<double> score_completion(Decoder& model, const std::vector<int64_t>& prompt,
                                     const std::vector<int64_t>& completion, double temperature,
                                     const PromptEmbedder& embed_prompt, const std::vector<int64_t>& banned_ids) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> seq = prompt;
  seq.insert(seq.end(), completion.begin(), completion.end());
  const int64_t n = static_cast<int64_t>(seq.size());
  const torch::Tensor ids = torch::tensor(seq, torch::kInt64).unsqueeze(0);
  const int64_t p = static_cast<int64_t>(prompt.size());
  const torch::Tensor embeds = torch::cat(
      {embed_prompt ? embed_prompt(ids.slice(1, 0, p)) : model->embed(ids.slice(1, 0, p)), model->embed(ids.slice(1, p))}, 1);
  const torch::Tensor logp =
      (ban_tokens(model->forward(embeds, torch::arange(n).unsqueeze(0)).squeeze(0).to(torch::kFloat64), banned_ids) /
       effective_temperature(temperature))
          .log_softmax(-1);  // [n, V]
  std::vector<double> out;
  for (size_t j = 0; j < completion.size(); ++j)
    out.push_back(logp[static_cast<int64_t>(prompt.size() + j - 1)][completion[j]].item<double>());
  return out;
}

}  // namespace fasrl::models
