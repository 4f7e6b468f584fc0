// Batched sampling from the decoder: temperature / top-k / top-p, EOS and
// stop strings, max new tokens, G samples per prompt, reproducible per seed.
//
// generate() with use_cache (the default) runs the rollout engine
// (models/continuous_batching.cpp): each prompt is prefilled once and its
// keys/values copied into the G slots of its samples in a preallocated KV
// cache (models/kv_cache.h); finished sequences leave the batch at once and
// queued prompts join when enough slots are free (`slots`); one host
// transfer per step carries every sequence's token and log-prob. Without
// use_cache every step recomputes the whole sequence (the reference path,
// for checking). Both draw each sequence's k-th token with the same
// counter-based random number (models/sampling.h), so for a seed they give
// the same samples, whatever the batching.
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
#include "models/sampling.h"
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
  int64_t group_size = 1;  // samples per prompt; results are prompt-major
  int64_t slots = 0;       // sequences decoded at once (>= group_size); 0 = all
};

// Embeds left-padded prompt ids [k, T0] -> [k, T0, D]; `which` are the
// prompts' indices in the list given to generate (the engine prefills
// prompts in turns). The MLLM uses this to put each prompt's image features
// into it. Default: the decoder's embedding.
using PromptEmbedder = std::function<torch::Tensor(const torch::Tensor& ids, const std::vector<int64_t>& which)>;

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
  std::vector<std::vector<int64_t>> tokens;   // per sequence (prompt p, sample c at p * G + c), the completion
  std::vector<std::vector<double>> logprobs;  // per completion token
  std::vector<std::string> finish;            // "eos" | "stop" | "length"
};

// The rollout engine behind generate(options.use_cache = true).
Generation generate_groups(Decoder& model, const std::vector<std::vector<int64_t>>& prompts, const SamplingOptions& options,
                           const BpeTokenizer* tokenizer, const PromptEmbedder& embed_prompt,
                           const PromptPositioner& position_prompt);

// Ends sequences on eos, stop strings (matched incrementally on each new
// token's text) and max_new_tokens; shared by both generation paths.
class StopChecker {
 public:
  StopChecker(const SamplingOptions& options, const BpeTokenizer* tokenizer);
  // The finish reason after appending `token` as the `count`-th token of a
  // sequence whose recent text is `tail` (updated), or "" to go on.
  const char* check(int64_t token, int64_t count, std::string& tail) const;

 private:
  const SamplingOptions& options_;
  const BpeTokenizer* tokenizer_;
  size_t longest_stop_ = 0;
};
TokenFilter token_filter(const SamplingOptions& options);
// Left-pads prompts [first, last) of `prompts`: ids [k, T0] (pad_id) and mask [k, T0] (1 = real).
std::pair<torch::Tensor, torch::Tensor> left_pad(const std::vector<std::vector<int64_t>>& prompts, size_t first, size_t last,
                                                 int64_t pad_id);

Generation generate(Decoder& model, const std::vector<std::vector<int64_t>>& prompts, const SamplingOptions& options,
                    const BpeTokenizer* tokenizer = nullptr, const PromptEmbedder& embed_prompt = nullptr,
                    const PromptPositioner& position_prompt = nullptr);

// Teacher-forced log-probs of `completion` after `prompt` (same convention).
std::vector<double> score_completion(Decoder& model, const std::vector<int64_t>& prompt,
                                     const std::vector<int64_t>& completion, double temperature,
                                     const PromptEmbedder& embed_prompt = nullptr,
                                     const std::vector<int64_t>& banned_ids = {});


}  // namespace fasrl::models
