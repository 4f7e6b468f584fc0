#include "models/sampling.h"

#include <limits>

namespace fasrl::models {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Keeps the k largest logits and the smallest set whose probability reaches p.
torch::Tensor filter_logits(torch::Tensor logits, int64_t top_k, double top_p) {  // [N, V]
  if (top_k > 0 && top_k < logits.size(-1)) {
    const torch::Tensor kth = std::get<0>(logits.topk(top_k, -1)).select(-1, top_k - 1).unsqueeze(-1);
    logits = logits.masked_fill(logits < kth, -kInf);
  }
  if (top_p < 1.0) {
    auto [sorted, order] = logits.sort(-1, /*descending=*/true);
    const torch::Tensor probs = sorted.softmax(-1);
    const torch::Tensor drop = (probs.cumsum(-1) - probs) >= top_p;  // tokens after the nucleus is complete
    logits = logits.masked_fill(torch::zeros_like(drop).scatter(-1, order, drop), -kInf);
  }
  return logits;
}

}  // namespace

std::vector<double> sequence_uniforms(uint64_t seed, const std::vector<int64_t>& sequences,
                                      const std::vector<int64_t>& token_index) {
  std::vector<double> u(sequences.size());
  for (size_t i = 0; i < sequences.size(); ++i) {
    const uint64_t h = splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(sequences[i])) ^
                                  static_cast<uint64_t>(token_index[i]));
    u[i] = static_cast<double>((h >> 11) + 1) * 0x1.0p-53;  // (0, 1]
  }
  return u;
}

torch::Tensor ban_tokens(const torch::Tensor& logits, const std::vector<int64_t>& banned_ids) {
  if (banned_ids.empty()) return logits;
  // One index_fill, not an indexing op per id: a decoder vocabulary padded far
  // past the tokenizer's bans tens of thousands of ids.
  const torch::Tensor cols = torch::zeros({logits.size(-1)}, torch::TensorOptions().dtype(torch::kBool).device(logits.device()))
                                 .index_fill_(0, torch::tensor(banned_ids, torch::kInt64).to(logits.device()), true);
  return logits.masked_fill(cols, -kInf);
}

SampledTokens sample_tokens(const torch::Tensor& logits, const TokenFilter& f, const std::vector<double>& u) {
  const torch::Tensor scaled = ban_tokens(logits.to(torch::kFloat64), f.banned_ids) / (f.temperature > 0 ? f.temperature : 1.0);
  const torch::Tensor logp = scaled.log_softmax(-1);  // [N, V]
  SampledTokens out;
  if (f.temperature <= 0) {
    out.tokens = scaled.argmax(-1);
  } else {
    const torch::Tensor cum = filter_logits(scaled, f.top_k, f.top_p).softmax(-1).cumsum(-1);  // [N, V]
    const torch::Tensor threshold =
        torch::tensor(u, torch::kFloat64).to(logits.device(), /*non_blocking=*/true).unsqueeze(1) * cum.narrow(1, cum.size(1) - 1, 1);
    out.tokens = (cum < threshold).sum(-1).clamp_max(cum.size(1) - 1);  // first index reaching u
  }
  out.logprobs = logp.gather(1, out.tokens.unsqueeze(1)).squeeze(1);
  return out;
}

}  // namespace fasrl::models
