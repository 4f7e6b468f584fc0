#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "models/generate.h"
#include "test_util.h"

using namespace fasrl;

namespace {
proto::DecoderConfig tiny() { return fasrl::testing::tiny_decoder(260); }

// Byte-level tokenizer with no merges: token id = byte value.
models::BpeTokenizer byte_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[models::gpt2_byte_alphabet()[static_cast<size_t>(b)]] = b;
  nlohmann::json j = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  return models::BpeTokenizer::from_json(j.dump(), "bytes");
}
const std::vector<std::vector<int64_t>> kPrompts{{5, 9, 23, 7}, {100, 3}, {44, 45, 46, 47, 48, 49}};
}  // namespace

TEST(Generate, CacheAndNoCacheGiveTheSameSamples) {
  torch::manual_seed(0);
  models::Decoder model(tiny());
  for (double temperature : {0.0, 1.0}) {
    models::SamplingOptions o;
    o.temperature = temperature;
    o.max_new_tokens = 12;
    o.seed = 7;
    const auto cached = models::generate(model, kPrompts, o);
    o.use_cache = false;
    const auto full = models::generate(model, kPrompts, o);
    EXPECT_EQ(cached.tokens, full.tokens) << "temperature " << temperature;
    for (size_t i = 0; i < kPrompts.size(); ++i)
      for (size_t t = 0; t < cached.logprobs[i].size(); ++t)
        EXPECT_NEAR(cached.logprobs[i][t], full.logprobs[i][t], 1e-5);
  }
}

TEST(Generate, LogprobsEqualTeacherForcedForwardAndSeedsReproduce) {
  torch::manual_seed(1);
  models::Decoder model(tiny());
  models::SamplingOptions o;
  o.temperature = 0.8;
  o.top_k = 50;
  o.top_p = 0.9;
  o.max_new_tokens = 10;
  o.seed = 3;
  const auto g = models::generate(model, kPrompts, o);
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    ASSERT_EQ(g.tokens[i].size(), 10u);
    const auto forced = models::score_completion(model, kPrompts[i], g.tokens[i], o.temperature);
    for (size_t t = 0; t < forced.size(); ++t) EXPECT_NEAR(g.logprobs[i][t], forced[t], 1e-5) << i << "," << t;
  }
  EXPECT_EQ(models::generate(model, kPrompts, o).tokens, g.tokens);
  o.seed = 4;
  EXPECT_NE(models::generate(model, kPrompts, o).tokens, g.tokens);
}

TEST(Generate, TopKOneIsGreedyAndStopConditionsEndRows) {
  torch::manual_seed(2);
  models::Decoder model(tiny());
  models::SamplingOptions greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = 8;
  models::SamplingOptions k1 = greedy;
  k1.temperature = 1.3;
  k1.top_k = 1;
  EXPECT_EQ(models::generate(model, kPrompts, greedy).tokens, models::generate(model, kPrompts, k1).tokens);

  const auto g = models::generate(model, kPrompts, greedy);
  models::SamplingOptions eos = greedy;
  eos.eos_id = g.tokens[0][2];  // the third token row 0 produces
  const auto e = models::generate(model, kPrompts, eos);
  EXPECT_EQ(e.finish[0], "eos");
  const auto first = std::find(g.tokens[0].begin(), g.tokens[0].end(), eos.eos_id) - g.tokens[0].begin();
  EXPECT_EQ(e.tokens[0].size(), static_cast<size_t>(first + 1));  // ends at the first EOS, inclusive
  EXPECT_EQ(std::vector<int64_t>(e.tokens[0].begin(), e.tokens[0].end()),
            std::vector<int64_t>(g.tokens[0].begin(), g.tokens[0].begin() + first + 1));

  const auto tok = byte_tokenizer();
  models::SamplingOptions stop = greedy;
  stop.stop = {tok.decode({g.tokens[1][3], g.tokens[1][4]})};
  const auto s = models::generate(model, kPrompts, stop, &tok);
  EXPECT_EQ(s.finish[1], "stop");
  EXPECT_LE(s.tokens[1].size(), 5u);
  EXPECT_EQ(s.finish[2] == "length", s.tokens[2].size() == 8u);
}
