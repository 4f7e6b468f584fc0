// Token sampling shared by every generation path, reproducible whatever the
// batch looks like: the random number a sequence uses for its k-th token is a
// hash of (seed, sequence index, k), not a draw from a generator shared by the
// batch. So a sequence samples the same tokens alone, in a static batch, or
// joining a continuously refilled batch at any moment — which is what lets
// the rollout engine reorder work freely and a resumed run regenerate exactly.
//
// Sampling is inverse-CDF over the filtered distribution: token = the first
// index whose cumulative probability reaches u·total. Log-probs are
// log softmax(logits / temperature) of the chosen token, before top-k/top-p
// truncation (what a teacher-forced forward pass computes).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace fasrl::models {

struct TokenFilter {
  double temperature = 1.0;  // 0 = greedy
  int64_t top_k = 0;         // 0 = off
  double top_p = 1.0;        // 1 = off
  std::vector<int64_t> banned_ids;
};

// u in (0, 1] for each (sequence, token index): host arithmetic, no device work.
std::vector<double> sequence_uniforms(uint64_t seed, const std::vector<int64_t>& sequences,
                                      const std::vector<int64_t>& token_index);

struct SampledTokens {
  torch::Tensor tokens;    // [N] int64
  torch::Tensor logprobs;  // [N] float64
};
// logits [N, V] (any float type, any device); u [N] (ignored when greedy).
SampledTokens sample_tokens(const torch::Tensor& logits, const TokenFilter& filter, const std::vector<double>& u);

// logits [..., V] with the banned columns set to -inf.
torch::Tensor ban_tokens(const torch::Tensor& logits, const std::vector<int64_t>& banned_ids);

}  // namespace fasrl::models
