#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <functional>
#include <map>
#include <random>

#include "models/bpe_trainer.h"
#include "models/chat_template.h"
#include "core/io.h"
#include "models/tokenizer.h"
#include "test_util.h"

#include <nlohmann/json.hpp>

using namespace fasrl::models;

TEST(BpeTrainer, LearnsFrequentWordsDeterministicallyAndRoundTrips) {
  std::vector<std::string> docs;
  for (int i = 0; i < 200; ++i)
    docs.push_back("the depth map is flat, the IR shows screen glare " + std::to_string(i % 17) + " moiré\n");
  BpeTrainOptions o;
  o.special_tokens = chat_special_tokens();
  o.vocab_size = 320;
  const std::string json = train_bpe(docs, o);
  EXPECT_EQ(json, train_bpe(docs, o));
  const auto tok = BpeTokenizer::from_json(json, "trained");
  EXPECT_LE(tok.vocab_size(), 320);
  EXPECT_GT(tok.vocab_size(), 256 + 3);
  EXPECT_EQ(tok.encode(" depth").size(), 1u);  // a frequent word became one token
  const std::string text = "<|im_start|>user\nIs the depth map flat? ünïcödé 42<|im_end|>\n";
  EXPECT_EQ(tok.decode(tok.encode(text)), text);
  EXPECT_EQ(tok.encode("<|im_end|>"), std::vector<int64_t>{tok.token_id("<|im_end|>")});
}

TEST(ChatTemplate, ChatMl) {
  EXPECT_EQ(apply_chat_template({{"system", "Be brief."}, {"user", "Live or fake?"}}, true),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nLive or fake?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(apply_chat_template({{"assistant", "fake"}}, false), "<|im_start|>assistant\nfake<|im_end|>\n");
}

// Hostile tokenizer.json ids: errors naming the file and the token, never an
// out-of-bounds write (negative id) or a huge allocation.
TEST(Tokenizer, OutOfRangeAndSharedIdsAreErrors) {
  auto with_vocab = [](const nlohmann::json& vocab) {
    return nlohmann::json{{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}}.dump();
  };
  fasrl::testing::expect_error([&] { BpeTokenizer::from_json(with_vocab({{"a", 0}, {"b", -5}}), "t.json"); },
                               {"t.json", "'b'", "id -5"});
  fasrl::testing::expect_error([&] { BpeTokenizer::from_json(with_vocab({{"a", 0}, {"b", 1LL << 40}}), "t.json"); },
                               {"t.json", "'b'", "expected 0 <= id"});
  fasrl::testing::expect_error([&] { BpeTokenizer::from_json(with_vocab({{"a", 3}, {"b", 3}}), "t.json"); },
                               {"t.json", "share id 3"});
  EXPECT_EQ(BpeTokenizer::from_json(with_vocab({{"a", 0}, {"b", 2}}), "t.json").vocab_size(), 3);  // gaps are fine
}

// The heap-based merge equals the textbook loop (rescan all pairs, merge the
// lowest rank, leftmost first) on random words, and a 20,000-letter word
// encodes in well under a second (the rescanning loop was quadratic).
TEST(Tokenizer, HeapMergeEqualsTheRescanLoopAndLongWordsAreFast) {
  const std::string path = std::string(FASRL_SOURCE_DIR) + "/configs/tokenizer.json";
  const BpeTokenizer tok = BpeTokenizer::load(path);
  const nlohmann::json j = nlohmann::json::parse(fasrl::read_file(path));
  std::map<std::pair<std::string, std::string>, int> rank;
  for (const auto& m : j["model"]["merges"]) rank.emplace(std::make_pair(m[0].get<std::string>(), m[1].get<std::string>()), static_cast<int>(rank.size()));
  auto rescan = [&](const std::string& word) {  // word: ASCII letters (byte-mapped to themselves)
    std::vector<std::string> parts;
    for (char c : word) parts.emplace_back(1, c);
    while (parts.size() > 1) {
      int best = INT_MAX;
      size_t at = 0;
      for (size_t i = 0; i + 1 < parts.size(); ++i) {
        auto it = rank.find({parts[i], parts[i + 1]});
        if (it != rank.end() && it->second < best) best = it->second, at = i;
      }
      if (best == INT_MAX) break;
      parts[at] += parts[at + 1];
      parts.erase(parts.begin() + static_cast<long>(at) + 1);
    }
    std::vector<int64_t> ids;
    for (const auto& p : parts) ids.push_back(tok.token_id(p));
    return ids;
  };
  std::mt19937 rng(3);
  const std::string letters = "aeinorsthdlcu";
  for (int n = 0; n < 3000; ++n) {
    std::string word;
    for (int i = 0, len = 1 + static_cast<int>(rng() % 14); i < len; ++i) word += letters[rng() % letters.size()];
    ASSERT_EQ(tok.encode(word), rescan(word)) << word;
  }
  std::string huge;
  for (int i = 0; i < 20000; ++i) huge += letters[rng() % letters.size()];
  const auto start = std::chrono::steady_clock::now();
  const auto ids = tok.encode(huge);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(tok.decode(ids), huge);
  EXPECT_LT(seconds, 1.0) << "a 20,000-letter word took " << seconds << " s";
}

// A tokenizer.json whose pre-tokenizer regex backtracks catastrophically: the
// encode ends with an error naming the file instead of running for hours.
TEST(Tokenizer, CatastrophicPreTokenizerRegexIsBounded) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[gpt2_byte_alphabet()[static_cast<size_t>(b)]] = b;
  const nlohmann::json j = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}},
                            {"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "(a|aa)+$"}}}, {"behavior", "Isolated"}}}};
  const BpeTokenizer tok = BpeTokenizer::from_json(j.dump(), "evil.json");
  EXPECT_EQ(tok.encode("aaaa").size(), 4u);  // harmless on short input
  const auto start = std::chrono::steady_clock::now();
  fasrl::testing::expect_error([&] { tok.encode(std::string(80, 'a') + "b"); }, {"evil.json", "time limit"});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 60.0);
}

// tokenizer.json options fasrl does not implement are refused, naming the
// file and key; ignore_merges (a whole word in the vocabulary is one token)
// is implemented.
TEST(Tokenizer, UnimplementedOptionsAreRefusedAndIgnoreMergesWorks) {
  const std::string path = std::string(FASRL_SOURCE_DIR) + "/configs/tokenizer.json";
  const nlohmann::json base = nlohmann::json::parse(fasrl::read_file(path));
  auto with = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = base;
    edit(j);
    return BpeTokenizer::from_json(j.dump(), "tok.json");
  };
  EXPECT_NO_THROW(with([](nlohmann::json&) {}));
  using fasrl::testing::expect_error;
  expect_error([&] { with([](auto& j) { j["model"]["byte_fallback"] = true; }); }, {"tok.json", "model.byte_fallback = true"});
  expect_error([&] { with([](auto& j) { j["model"]["unk_token"] = "<unk>"; }); }, {"model.unk_token"});
  expect_error([&] { with([](auto& j) { j["model"]["dropout"] = 0.1; }); }, {"model.dropout"});
  expect_error([&] { with([](auto& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed"; }); },
               {"pre_tokenizer.pretokenizers[0].behavior"});
  expect_error([&] { with([](auto& j) { j["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true; }); },
               {"pre_tokenizer.pretokenizers[1].add_prefix_space"});
  expect_error([&] { with([](auto& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; }); }, {"pre_tokenizer.type = \"Whitespace\""});
  expect_error([&] { with([](auto& j) { j["decoder"] = {{"type", "Metaspace"}}; }); }, {"decoder.type"});
  expect_error([&] { with([](auto& j) { j["post_processor"] = {{"type", "TemplateProcessing"}}; }); }, {"post_processor.type"});
  expect_error([&] { with([](auto& j) { j["added_tokens"][0]["lstrip"] = true; }); }, {"added_tokens['", "lstrip"});
  expect_error([&] { with([](auto& j) { j["truncation"] = {{"max_length", 8}}; }); }, {"truncation"});
  // ignore_merges: a word present whole in the vocabulary skips the merges.
  const BpeTokenizer plain = with([](auto& j) { j["model"]["vocab"]["Ġzqxj"] = 100000; });
  const BpeTokenizer whole = with([](auto& j) {
    j["model"]["vocab"]["Ġzqxj"] = 100000;
    j["model"]["ignore_merges"] = true;
  });
  EXPECT_GT(plain.encode(" zqxj").size(), 1u);
  EXPECT_EQ(whole.encode(" zqxj"), (std::vector<int64_t>{100000}));
  EXPECT_EQ(whole.encode(" the"), plain.encode(" the"));
}
