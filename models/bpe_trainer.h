// Trains a byte-level BPE on a text corpus with the Qwen2 pre-tokenizer regex
// and writes an HF tokenizer.json that BpeTokenizer (and HF tokenizers) load.
// Deterministic: ties between equally frequent pairs go to the smaller pair.
#pragma once
#include <string>
#include <vector>

namespace fasrl::models {

struct BpeTrainOptions {
  int vocab_size = 2048;  // bytes (256) + merges + special tokens
  int min_frequency = 2;
  std::vector<std::string> special_tokens;  // e.g. chat_special_tokens() (models/chat_template.h)
};

// Returns the tokenizer.json text.
std::string train_bpe(const std::vector<std::string>& documents, const BpeTrainOptions& options);

}  // namespace fasrl::models
