// The rollout engine (declared in models/generate.h): prompts queue; each
// turn admits as many whole groups as free slots allow (one prefill per
// prompt, its keys/values copied into the G slots of its samples), samples
// one token for every active sequence with a single host transfer, retires
// finished sequences, and decodes the rest one step in the preallocated cache.
#include <algorithm>

#include "core/error.h"
#include "models/generate.h"

namespace fasrl::models {
namespace {

// Host state of one active sequence, aligned with its cache slot.
struct Sequence {
  int64_t id = 0;        // output index: prompt * G + sample
  int64_t position = 0;  // rotary position of its next token
  std::string tail;      // recent text, for stop strings
};

}  // namespace

Generation generate_groups(Decoder& model, const std::vector<std::vector<int64_t>>& prompts, const SamplingOptions& o,
                           const BpeTokenizer* tokenizer, const PromptEmbedder& embed_prompt,
                           const PromptPositioner& position_prompt) {
  torch::NoGradGuard no_grad;
  const StopChecker stops(o, tokenizer);
  const TokenFilter filter = token_filter(o);
  const int64_t g = o.group_size, total = static_cast<int64_t>(prompts.size()) * g;
  const int64_t slots = o.slots > 0 ? std::min(o.slots, total) : total;
  if (slots < g)
    raise(ErrorKind::kInvalidArgument, "generate: ", slots, " slots cannot hold a group of ", g,
          " samples (a group shares one prefill; set the slots to at least the group size)");
  size_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, p.size());
  const int64_t capacity = static_cast<int64_t>(longest) + o.max_new_tokens;

  Generation out;
  out.tokens.resize(static_cast<size_t>(total));
  out.logprobs.resize(static_cast<size_t>(total));
  out.finish.assign(static_cast<size_t>(total), "length");
  std::unique_ptr<SlotKvCache> cache;  // made at the first prefill, with its dtype and device
  std::vector<Sequence> active;        // active[i] is in slot i
  torch::Tensor logits;                // [active, V]: each active sequence's next-token logits
  bool mrope = false;
  size_t next_prompt = 0;
  while (true) {
    // Admit whole groups while slots are free: one batched prefill.
    const size_t fit = static_cast<size_t>((slots - static_cast<int64_t>(active.size())) / g);
    const size_t admit = std::min(fit, prompts.size() - next_prompt);
    if (admit > 0) {
      const size_t first = next_prompt, last = next_prompt + admit;
      next_prompt = last;
      const auto [ids, pad] = left_pad(prompts, first, last, o.pad_id);  // [k, T0]
      std::vector<int64_t> which;
      for (size_t p = first; p < last; ++p) which.push_back(static_cast<int64_t>(p));
      const PromptPositions pos = position_prompt ? position_prompt(ids, pad) : count_real_tokens(pad);
      mrope = pos.positions.dim() == 3;
      KvCache prefill;
      const torch::Tensor embeds = embed_prompt ? embed_prompt(ids, which) : model->embed(ids);
      const int64_t t0 = ids.size(1);
      const torch::Tensor last_logits = model->forward(embeds, pos.positions, pad, &prefill).select(1, t0 - 1);  // [k, V]
      if (!cache) {
        const torch::Tensor& k0 = prefill.keys[0];  // [k, Hkv, T0, hd]
        cache = std::make_unique<SlotKvCache>(static_cast<int64_t>(prefill.keys.size()), slots, k0.size(1), capacity,
                                              k0.size(3), k0.options());
      }
      const torch::Tensor deltas = pos.deltas.to(torch::kCPU);  // one read per prefill
      std::vector<int64_t> rows;  // prefill row of each new slot
      for (size_t j = 0; j < admit; ++j) {
        const int64_t len = static_cast<int64_t>(prompts[first + j].size());
        for (int64_t c = 0; c < g; ++c) {
          cache->admit(prefill, static_cast<int64_t>(j), t0 - len, len);
          active.push_back({static_cast<int64_t>(first + j) * g + c, t0 + deltas[static_cast<int64_t>(j)].item<int64_t>(), ""});
          rows.push_back(static_cast<int64_t>(j));
        }
      }
      const torch::Tensor fresh = last_logits.index_select(0, torch::tensor(rows, torch::kInt64).to(last_logits.device()));
      logits = logits.defined() ? torch::cat({logits, fresh}, 0) : fresh;
    }
    if (active.empty()) break;

    // Sample every active sequence; one transfer brings tokens and log-probs home.
    std::vector<int64_t> ids, counts;
    for (const Sequence& s : active) {
      ids.push_back(s.id);
      counts.push_back(static_cast<int64_t>(out.tokens[static_cast<size_t>(s.id)].size()));
    }
    const SampledTokens sampled = sample_tokens(logits, filter, filter.temperature > 0 ? sequence_uniforms(o.seed, ids, counts)
                                                                                       : std::vector<double>{});
    const torch::Tensor host = torch::stack({sampled.tokens.to(torch::kFloat64), sampled.logprobs}, 1).to(torch::kCPU);
    const double* h = host.data_ptr<double>();
    std::vector<int64_t> finished;
    for (size_t i = 0; i < active.size(); ++i) {
      const size_t r = static_cast<size_t>(active[i].id);
      const int64_t tok = static_cast<int64_t>(h[2 * i]);
      out.tokens[r].push_back(tok);
      out.logprobs[r].push_back(h[2 * i + 1]);
      const char* reason = stops.check(tok, static_cast<int64_t>(out.tokens[r].size()), active[i].tail);
      if (*reason) {
        out.finish[r] = reason;
        finished.push_back(static_cast<int64_t>(i));
      }
    }
    // Retire finished sequences, highest slot first: the last active slot
    // moves into each hole. `order` tracks which old row each slot now holds.
    std::vector<int64_t> order(active.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    for (auto it = finished.rbegin(); it != finished.rend(); ++it) {
      const size_t slot = static_cast<size_t>(*it);
      cache->remove(*it);
      active[slot] = active.back();
      active.pop_back();
      order[slot] = order.back();
      order.pop_back();
    }
    if (active.empty()) {
      logits = torch::Tensor();
      if (next_prompt == prompts.size()) break;
      continue;
    }
    // One decode step for the rest.
    torch::Tensor next = sampled.tokens;
    if (!finished.empty()) next = next.index_select(0, torch::tensor(order, torch::kInt64).to(next.device()));
    std::vector<int64_t> position;
    for (Sequence& s : active) position.push_back(s.position++);
    torch::Tensor positions = torch::tensor(position, torch::kInt64).to(next.device()).unsqueeze(1);  // [n, 1]
    if (mrope) positions = positions.unsqueeze(0).expand({3, -1, -1});
    logits = model->decode_step(model->embed(next.unsqueeze(1)), positions, *cache);
  }
  return out;
}

}  // namespace fasrl::models
