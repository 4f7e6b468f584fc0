#include <gtest/gtest.h>

#include "models/bpe_trainer.h"
#include "models/chat_template.h"
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
