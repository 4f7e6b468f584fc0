// Trains a byte-level BPE on a text corpus with the Qwen2 pre-tokenizer regex
// and writes an HF tokenizer.json that BpeTokenizer (and HF tokenizers) load.
// Deterministic: ties between equally frequent pairs go to the smaller pair.
// Also: the ChatML chat template Qwen models use.
#pragma once
#include <string>
#include <vector>

namespace fasrl::models {

struct BpeTrainOptions {
  int vocab_size = 2048;  // bytes (256) + merges + special tokens
  int min_frequency = 2;
  std::vector<std::string> special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
};

// Returns the tokenizer.json text.
std::string train_bpe(const std::vector<std::string>& documents, const BpeTrainOptions& options);

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};
// "<|im_start|>{role}\n{content}<|im_end|>\n" per message, then
// "<|im_start|>assistant\n" when add_generation_prompt.
std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt);

}  // namespace fasrl::models
