#include <gtest/gtest.h>

#include <fstream>

#include "core/io.h"
#include "models/decoder.h"
#include "test_util.h"

using namespace fasrl;

namespace {
proto::DecoderConfig tiny() { return fasrl::testing::tiny_decoder(40); }
}  // namespace

TEST(Decoder, IncrementalDecodingWithCacheEqualsFullForward) {
  torch::manual_seed(0);
  models::Decoder model(tiny());
  torch::NoGradGuard g;
  const torch::Tensor ids = torch::randint(0, 40, {2, 9}, torch::kInt64);
  const torch::Tensor positions = torch::arange(9).unsqueeze(0).expand({2, 9});
  const torch::Tensor full = model->forward(model->embed(ids), positions);  // [2, 9, V]
  models::KvCache cache;
  std::vector<torch::Tensor> pieces{model->forward(model->embed(ids.slice(1, 0, 5)), positions.slice(1, 0, 5), {}, &cache)};
  for (int64_t t = 5; t < 9; ++t)
    pieces.push_back(model->forward(model->embed(ids.slice(1, t, t + 1)), positions.slice(1, t, t + 1), {}, &cache));
  EXPECT_EQ(cache.length(), 9);
  EXPECT_TRUE(torch::allclose(torch::cat(pieces, 1), full, 1e-5, 1e-5));
}

TEST(Decoder, LeftPaddingDoesNotChangeTheRealTokens) {
  torch::manual_seed(1);
  models::Decoder model(tiny());
  torch::NoGradGuard g;
  const torch::Tensor ids = torch::randint(1, 40, {1, 6}, torch::kInt64);
  const torch::Tensor alone = model->forward(model->embed(ids), torch::arange(6).unsqueeze(0));
  const torch::Tensor padded_ids = torch::cat({torch::zeros({1, 3}, torch::kInt64), ids}, 1);
  const torch::Tensor pad = torch::cat({torch::zeros({1, 3}, torch::kInt64), torch::ones({1, 6}, torch::kInt64)}, 1);
  const torch::Tensor padded = model->forward(model->embed(padded_ids), (pad.cumsum(1) - 1).clamp_min(0), pad);
  EXPECT_FALSE(padded.isnan().any().item<bool>());
  EXPECT_TRUE(torch::allclose(padded.slice(1, 3), alone, 1e-5, 1e-5));
}

TEST(Decoder, TiedEmbeddingsHaveNoLmHead) {
  auto c = tiny();
  c.set_tie_word_embeddings(true);
  models::Decoder tied(c);
  for (const auto& p : tied->named_parameters()) EXPECT_EQ(p.key().find("lm_head"), std::string::npos);
  c.set_tie_word_embeddings(false);
  models::Decoder untied(c);
  bool found = false;
  for (const auto& p : untied->named_parameters()) found |= p.key() == "lm_head.weight";
  EXPECT_TRUE(found);
}

TEST(Decoder, HfDirectoryRoundTripAndForeignConfigKeys) {
  fasrl::testing::TempDir dir;
  torch::manual_seed(3);
  models::Decoder a(tiny());
  models::save_decoder(a, dir.path());
  // An HF config.json carries keys we ignore; add some, as Qwen2's does.
  std::string cfg = fasrl::read_file(dir.sub("config.json"));
  cfg.insert(cfg.find('{') + 1, "\"torch_dtype\": \"bfloat16\", \"use_sliding_window\": false, ");
  fasrl::atomic_write_file(dir.sub("config.json"), cfg);
  models::Decoder b = models::load_decoder(dir.path());
  torch::NoGradGuard g;
  const torch::Tensor ids = torch::randint(0, 40, {1, 5}, torch::kInt64);
  const torch::Tensor pos = torch::arange(5).unsqueeze(0);
  EXPECT_TRUE(torch::equal(a->forward(a->embed(ids), pos), b->forward(b->embed(ids), pos)));
  fasrl::atomic_write_file(dir.sub("config.json"), "{\"hidden_size\": 48, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, "
                                                   "\"vocab_size\": 40, \"num_hidden_layers\": 2, \"intermediate_size\": 64}");
  fasrl::testing::expect_error([&] { models::load_decoder(dir.path()); }, {"model.safetensors", "config.json implies"});
}
