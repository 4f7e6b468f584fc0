#include "models/generate.h"

#include "core/error.h"

namespace fasrl::models {

PromptPositions count_real_tokens(const torch::Tensor& pad) {
  const torch::Tensor real = pad.ne(0).to(torch::kInt64);
  return {(real.cumsum(1) - 1).clamp_min(0), real.sum(1) - pad.size(1)};
}

TokenFilter token_filter(const SamplingOptions& o) { return {o.temperature, o.top_k, o.top_p, o.banned_ids}; }

std::pair<torch::Tensor, torch::Tensor> left_pad(const std::vector<std::vector<int64_t>>& prompts, size_t first, size_t last,
                                                 int64_t pad_id) {
  size_t longest = 0;
  for (size_t i = first; i < last; ++i) longest = std::max(longest, prompts[i].size());
  const int64_t k = static_cast<int64_t>(last - first), t0 = static_cast<int64_t>(longest);
  torch::Tensor ids = torch::full({k, t0}, pad_id, torch::kInt64), pad = torch::zeros({k, t0}, torch::kInt64);
  for (int64_t i = 0; i < k; ++i) {
    const auto& p = prompts[first + static_cast<size_t>(i)];
    const int64_t off = t0 - static_cast<int64_t>(p.size());
    ids[i].slice(0, off) = torch::tensor(p, torch::kInt64);
    pad[i].slice(0, off).fill_(1);
  }
  return {ids, pad};
}

StopChecker::StopChecker(const SamplingOptions& options, const BpeTokenizer* tokenizer)
    : options_(options), tokenizer_(tokenizer) {
  if (!options.stop.empty() && !tokenizer) raise(ErrorKind::kInvalidArgument, "generate: stop strings need a tokenizer");
  for (const auto& s : options.stop) longest_stop_ = std::max(longest_stop_, s.size());
}

const char* StopChecker::check(int64_t token, int64_t count, std::string& tail) const {
  if (token == options_.eos_id) return "eos";
  if (longest_stop_ > 0) {
    // Only the new token's text can complete a stop string: search the
    // previous longest-1 characters plus it, then keep that much.
    tail += tokenizer_->decode({token});
    for (const auto& s : options_.stop)
      if (!s.empty() && tail.find(s) != std::string::npos) return "stop";
    if (tail.size() >= longest_stop_) tail.erase(0, tail.size() - (longest_stop_ - 1));
  }
  return count >= options_.max_new_tokens ? "length" : "";
}

namespace {

// The reference path: every step recomputes every sequence from its prompt.
Generation generate_recomputing(Decoder& model, const std::vector<std::vector<int64_t>>& prompts, const SamplingOptions& o,
                                const BpeTokenizer* tokenizer, const PromptEmbedder& embed_prompt,
                                const PromptPositioner& position_prompt) {
  const StopChecker stops(o, tokenizer);
  const int64_t g = o.group_size, n = static_cast<int64_t>(prompts.size()) * g;
  const auto [prompt_ids, prompt_pad] = left_pad(prompts, 0, prompts.size(), o.pad_id);
  // Every sample as its own row: [N, T0].
  const torch::Tensor rows = torch::arange(n, torch::kInt64).div(g, "floor");
  std::vector<int64_t> which(prompts.size());
  for (size_t p = 0; p < which.size(); ++p) which[p] = static_cast<int64_t>(p);
  const torch::Tensor prompt_embeds =
      (embed_prompt ? embed_prompt(prompt_ids, which) : model->embed(prompt_ids)).index_select(0, rows);  // [N, T0, D]
  const torch::Tensor pad = prompt_pad.index_select(0, rows);
  PromptPositions pos = position_prompt ? position_prompt(prompt_ids, prompt_pad) : count_real_tokens(prompt_pad);
  pos.positions = pos.positions.index_select(pos.positions.dim() - 2, rows);
  pos.deltas = pos.deltas.index_select(0, rows);
  const int64_t t0 = pad.size(1);

  Generation out;
  out.tokens.resize(static_cast<size_t>(n));
  out.logprobs.resize(static_cast<size_t>(n));
  out.finish.assign(static_cast<size_t>(n), "");
  std::vector<std::string> tails(static_cast<size_t>(n));
  torch::Tensor generated = torch::empty({n, 0}, torch::kInt64);
  std::vector<int64_t> sequences(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) sequences[static_cast<size_t>(i)] = i;
  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    const int64_t t = t0 + step;
    torch::Tensor p = torch::arange(t0, t, torch::kInt64).unsqueeze(0) + pos.deltas.unsqueeze(1);  // [N, step]
    if (pos.positions.dim() == 3) p = p.unsqueeze(0).expand({3, -1, -1});
    const torch::Tensor logits =
        model->forward(torch::cat({prompt_embeds, model->embed(generated)}, 1), torch::cat({pos.positions, p}, -1),
                       torch::cat({pad, torch::ones({n, step}, torch::kInt64)}, 1))
            .select(1, t - 1);  // [N, V]
    const SampledTokens s =
        sample_tokens(logits, token_filter(o), sequence_uniforms(o.seed, sequences, std::vector<int64_t>(static_cast<size_t>(n), step)));
    torch::Tensor next = s.tokens.clone();
    bool all_done = true;
    for (int64_t i = 0; i < n; ++i) {
      const size_t r = static_cast<size_t>(i);
      if (!out.finish[r].empty()) {
        next[i] = o.pad_id;
        continue;
      }
      const int64_t tok = s.tokens[i].item<int64_t>();
      out.tokens[r].push_back(tok);
      out.logprobs[r].push_back(s.logprobs[i].item<double>());
      out.finish[r] = stops.check(tok, static_cast<int64_t>(out.tokens[r].size()), tails[r]);
      all_done = all_done && !out.finish[r].empty();
    }
    if (all_done) break;
    generated = torch::cat({generated, next.unsqueeze(1)}, 1);
  }
  return out;
}

}  // namespace

Generation generate(Decoder& model, const std::vector<std::vector<int64_t>>& prompts, const SamplingOptions& o,
                    const BpeTokenizer* tokenizer, const PromptEmbedder& embed_prompt,
                    const PromptPositioner& position_prompt) {
  torch::NoGradGuard no_grad;
  if (prompts.empty()) return {};
  for (const auto& p : prompts)
    if (p.empty()) raise(ErrorKind::kInvalidArgument, "generate: empty prompt");
  if (o.group_size < 1) raise(ErrorKind::kInvalidArgument, "generate: group_size ", o.group_size, " must be at least 1");
  if (o.max_new_tokens < 1) raise(ErrorKind::kInvalidArgument, "generate: max_new_tokens ", o.max_new_tokens, " must be at least 1");
  return o.use_cache ? generate_groups(model, prompts, o, tokenizer, embed_prompt, position_prompt)
                     : generate_recomputing(model, prompts, o, tokenizer, embed_prompt, position_prompt);
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
      {embed_prompt ? embed_prompt(ids.slice(1, 0, p), {0}) : model->embed(ids.slice(1, 0, p)), model->embed(ids.slice(1, p))}, 1);
  const torch::Tensor logp =
      (ban_tokens(model->forward(embeds, torch::arange(n).unsqueeze(0)).squeeze(0).to(torch::kFloat64), banned_ids) /
       (temperature > 0 ? temperature : 1.0))
          .log_softmax(-1);  // [n, V]
  std::vector<double> out;
  for (size_t j = 0; j < completion.size(); ++j)
    out.push_back(logp[static_cast<int64_t>(prompt.size() + j - 1)][completion[j]].item<double>());
  return out;
}

}  // namespace fasrl::models
