// The chat contract of the reasoning MLLM: ChatML messages and special
// tokens, the prompt a generation starts from, and one chat-generation helper
// used by the rollout worker, evaluation and `fasrl infer`.
//   <|im_start|>{role}\n{content}<|im_end|>\n  per message
//   <|im_start|>assistant\n                      then, to generate
// A completion ends with <|im_end|> (eos; also the padding of generation);
// training rows are padded with <|endoftext|>.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/mllm.h"
#include "models/tokenizer.h"

namespace fasrl::models {

inline constexpr const char* kEndOfTextToken = "<|endoftext|>";
inline constexpr const char* kImStartToken = "<|im_start|>";
inline constexpr const char* kImEndToken = "<|im_end|>";
inline constexpr const char* kQwenDefaultSystemPrompt = "You are a helpful assistant.";
// The ChatML special tokens, in the order the default tokenizer lists them.
std::vector<std::string> chat_special_tokens();

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};
std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt);

// The user turn (image blocks of the present modalities, newline, question)
// through the template with the assistant header: what generation starts from.
// Qwen2.5-VL prompts open with its default system turn, as its template does.
std::vector<int64_t> chat_prompt_ids(const BpeTokenizer& tok, MllmImpl& mllm, const std::vector<std::string>& present,
                                     const std::string& question);
// A completion's token ids: `text` followed by <|im_end|> (teacher forcing).
std::vector<int64_t> chat_completion_ids(const BpeTokenizer& tok, const std::string& text);

struct ChatSampling {
  double temperature = 0;  // 0 = greedy
  double top_p = 1.0;
  int64_t top_k = 0;
  int64_t max_new_tokens = 64;
  uint64_t seed = 0;
  int64_t group_size = 1;  // completions per prompt (prompt-major)
  int64_t slots = 0;       // sequences decoded at once; 0 = all (models/generate.h)
};

struct ChatCompletion {
  std::vector<int64_t> tokens;    // as sampled, <|im_end|> included when it ended the completion
  std::vector<double> logprobs;   // per token of `tokens`
  std::vector<int64_t> content;   // `tokens` without the closing <|im_end|>
  std::string text;               // `content` decoded
  std::string finish;             // "eos" | "length"
};

// Samples group_size completions per prompt (completion q belongs to prompt
// q / group_size) with eos = pad = <|im_end|> and the policy's banned ids
// (models/mllm.h). images: [K, 3, S, S] of every prompt's image blocks,
// row-major (undefined when none).
std::vector<ChatCompletion> generate_chat(MllmImpl& mllm, const BpeTokenizer& tok,
                                          const std::vector<std::vector<int64_t>>& prompts, const torch::Tensor& images,
                                          const ChatSampling& sampling);

}  // namespace fasrl::models
