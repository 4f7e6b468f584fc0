#include "models/bpe_trainer.h"

#include <unicode/regex.h>
#include <unicode/unistr.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "models/tokenizer.h"

namespace fasrl::models {
namespace {

// Qwen2's pre-tokenizer (also written into the produced tokenizer.json).
const char* kPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

}  // namespace

std::string train_bpe(const std::vector<std::string>& documents, const BpeTrainOptions& o) {
  const auto& alphabet = gpt2_byte_alphabet();
  if (o.vocab_size < 256 + static_cast<int>(o.special_tokens.size()))
    raise(ErrorKind::kInvalidArgument, "tokenizer train: vocab_size ", o.vocab_size,
          " is below 256 bytes + special tokens");
  // Word counts after pre-tokenisation; each word as a list of symbols.
  UErrorCode status = U_ZERO_ERROR;
  UParseError perr;
  std::unique_ptr<icu::RegexPattern> pattern(
      icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(kPattern), perr, status));
  std::map<std::string, int64_t> counts;
  for (const auto& doc : documents) {
    const icu::UnicodeString u = icu::UnicodeString::fromUTF8(doc);
    std::unique_ptr<icu::RegexMatcher> m(pattern->matcher(u, status));
    while (m->find(status)) {
      std::string bytes, mapped;
      u.tempSubStringBetween(m->start(status), m->end(status)).toUTF8String(bytes);
      for (unsigned char c : bytes) mapped += alphabet[c];
      ++counts[mapped];
    }
  }
  if (U_FAILURE(status)) raise(ErrorKind::kInternal, "tokenizer train: ICU failure ", u_errorName(status));
  struct Word {
    std::vector<std::string> symbols;
    int64_t count;
  };
  std::vector<Word> words;
  for (const auto& [w, c] : counts) {
    words.push_back({utf8_code_points(w), c});
  }
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[alphabet[static_cast<size_t>(b)]] = b;
  nlohmann::json merges = nlohmann::json::array();
  int64_t next_id = 256;
  const int64_t target = o.vocab_size - static_cast<int64_t>(o.special_tokens.size());
  while (next_id < target) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (const auto& w : words)
      for (size_t i = 0; i + 1 < w.symbols.size(); ++i) pairs[{w.symbols[i], w.symbols[i + 1]}] += w.count;
    auto best = pairs.end();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (best == pairs.end() || it->second > best->second) best = it;  // map order: smaller pair wins ties
    if (best == pairs.end() || best->second < o.min_frequency) break;
    const auto [a, b] = best->first;
    const std::string merged = a + b;
    merges.push_back({a, b});
    if (!vocab.contains(merged)) vocab[merged] = next_id++;
    for (auto& w : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < w.symbols.size(); ++i) {
        if (i + 1 < w.symbols.size() && w.symbols[i] == a && w.symbols[i + 1] == b) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(w.symbols[i]);
        }
      }
      w.symbols = std::move(out);
    }
  }
  nlohmann::json added = nlohmann::json::array();
  for (const auto& s : o.special_tokens) {
    added.push_back({{"id", next_id},
                     {"content", s},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
    vocab[s] = next_id++;
  }
  const nlohmann::json byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  const nlohmann::json tok = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", kPattern}}}, {"behavior", "Isolated"}, {"invert", false}},
          byte_level}}}},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merges}}}};
  return tok.dump(1);
}

}  // namespace fasrl::models
