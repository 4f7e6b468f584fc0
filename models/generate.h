// Batched sampling from the decoder: left-padded prompts, prefill + KV-cache
// decoding (or full recomputation, for checking), temperature / top-k / top-p,
// EOS and stop strings, max new tokens, a seeded generator per call.
//
// logprobs[i][t] is log softmax(logits / temperature) of the sampled token —
// the policy's distribution before top-k/top-p truncation — which is exactly
// what a teacher-forced forward pass over prompt + completion computes
// (temperature 0 = greedy, logprobs at temperature 1).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/decoder.h"
#include "models/tokenizer.h"

namespace fasrl::models {

struct SamplingOptions {
  double temperature = 1.0;  // 0 = greedy
  int64_t top_k = 0;         // 0 = off
  double top_p = 1.0;        // 1 = off
  int64_t max_new_tokens = 64;
  int64_t eos_id = -1;       // -1 = none
  int64_t pad_id = 0;
  std::vector<std::string> stop;  // needs a tokenizer
  uint64_t seed = 0;
  bool use_cache = true;
  // Tokens the policy never emits (e.g. the MLLM's image-pad token): their
  // logits are -inf before everything else, here and in score_completion.
  std::vector<int64_t> banned_ids;
};

// Embeds the left-padded prompt ids [B, T0] -> [B, T0, D]; the MLLM uses this
// to put image features into the prompt. Default: the decoder's embedding.
using PromptEmbedder = std::function<torch::Tensor(const torch::Tensor& ids)>;

// Rotary positions of left-padded prompt ids [B, T0] (pad [B, T0], 0 =
// padding): [B, T0] (1-D) or [3, B, T0] (M-RoPE), and per row the position of
// the first generated token minus T0; token T0 + k then takes
// T0 + k + delta (on all three rows under M-RoPE).
struct PromptPositions {
  torch::Tensor positions;
  torch::Tensor deltas;  // [B] int64
};
using PromptPositioner = std::function<PromptPositions(const torch::Tensor& ids, const torch::Tensor& pad)>;
// The default: 1-D positions counting each row's real tokens.
PromptPositions count_real_tokens(const torch::Tensor& pad);

struct Generation {
  std::vector<std::vector<int64_t>> tokens;   // per prompt, the completion
  std::vector<std::vector<double>> logprobs;  // per completion token
  std::vector<std::string> finish;            // "eos" | "stop" | "length"
};

Generation generate(Decoder& model, const std::vector<std::vector<int64_t>>& prompts, const SamplingOptions& options,
                    const BpeTokenizer* tokenizer = nullptr, const PromptEmbedder& embed_prompt = nullptr,
                    const PromptPositioner& position_prompt = nullptr);

// Teacher-forced log-probs of `completion` after `prompt` (same convention).
std::vector<double> score_completion(Decoder& model, const std::vector<int64_t>& prompt,
                                     const std::vector<int64_t>& completion, double temperature,
                                     const PromptEmbedder& embed_prompt = nullptr,
                                     const std::vector<int64_t>& banned_ids = {});

// logits [..., V] with the banned columns set to -inf.
torch::Tensor ban_tokens(const torch::Tensor& logits, const std::vector<int64_t>& banned_ids);

}  // namespace fasrl::models
