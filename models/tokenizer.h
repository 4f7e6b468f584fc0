// Byte-level BPE tokenizer read from a HF tokenizer.json (GPT-2 / Qwen2 /
// Qwen3 style): added (special) tokens are split out first, the rest is
// NFC-normalised (when the file says so), split by the pre-tokenizer regex
// (ICU: \p{L}, \p{N}, look-ahead, case-insensitive groups), mapped byte by byte
// to the GPT-2 printable alphabet, and merged by BPE rank.
// Errors name the file and the key at fault.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace fasrl::models {

// GPT-2's reversible byte -> printable code point map: entry b is the UTF-8
// of the character that stands for byte b in byte-level BPE vocabularies.
const std::vector<std::string>& gpt2_byte_alphabet();

// A UTF-8 string split into its code points (each as UTF-8).
std::vector<std::string> utf8_code_points(const std::string& s);

class BpeTokenizer {
 public:
  static BpeTokenizer load(const std::string& tokenizer_json_path);
  static BpeTokenizer from_json(const std::string& json_text, const std::string& source);
  ~BpeTokenizer();
  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;

  // Text (UTF-8) -> ids; added tokens in the text map to their ids.
  std::vector<int64_t> encode(const std::string& text) const;
  std::string decode(const std::vector<int64_t>& ids) const;
  int64_t vocab_size() const;
  int64_t token_id(const std::string& token) const;  // -1 if unknown

 private:
  BpeTokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fasrl::models
