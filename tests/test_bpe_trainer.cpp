#include <gtest/gtest.h>

#include "models/bpe_trainer.h"
#include "models/chat_template.h"
#include "models/tokenizer.h"

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
