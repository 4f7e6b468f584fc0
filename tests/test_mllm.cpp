#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "models/decode_layer_cpu.h"
#include "models/generate.h"
#include "models/mllm.h"
#include "test_util.h"

using namespace fasrl;

namespace {
const std::vector<std::string> kModalities{"rgb", "depth", "ir"};

// Byte-level tokenizer (id = byte) plus the MLLM's tag and image-pad tokens from 256.
models::BpeTokenizer tag_tokenizer(bool with_tags = true) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[models::gpt2_byte_alphabet()[static_cast<size_t>(b)]] = b;
  nlohmann::json added = nlohmann::json::array();
  if (with_tags) {
    int id = 256;
    for (const auto& t : models::mllm_special_tokens(kModalities))
      added.push_back({{"id", id++}, {"content", t}, {"special", true}});
  }
  nlohmann::json j = {{"added_tokens", added},
                      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  return models::BpeTokenizer::from_json(j.dump(), "tags");
}

proto::MllmConfig tiny_mllm() {
  proto::MllmConfig c;
  auto* v = c.mutable_vision();
  v->set_image_size(16), v->set_patch_size(8), v->set_width(16), v->set_layers(1), v->set_heads(2);
  v->mutable_moae()->set_enabled(false);
  *c.mutable_decoder() = fasrl::testing::tiny_decoder(270);
  c.set_projector_hidden(24);
  return c;
}

// Two prompts of different length (left padding), with 2 (rgb, depth) and 1
// (ir) images: images [3, 3, 16, 16] in that order.
std::vector<std::vector<int64_t>> two_image_prompts(models::MllmImpl& m, const models::BpeTokenizer& tok) {
  return {tok.encode(m.image_prompt({"rgb", "depth"}) + "Q?"), tok.encode("Hi " + m.image_prompt({"ir"}) + "Q: live?")};
}
}  // namespace

TEST(Mllm, ImageTokensSitBetweenTagsAndMissingModalitiesAreLeftOut) {
  const auto tok = tag_tokenizer();
  models::Mllm m = models::make_mllm(tiny_mllm(), tok, kModalities);
  EXPECT_EQ(m->tokens_per_image(), 4);
  const auto ids = tok.encode(m->image_prompt({"rgb", "ir"}) + "Is it live?");
  const int64_t pad = tok.token_id(models::kImagePadToken);
  ASSERT_GE(ids.size(), 12u);
  EXPECT_EQ(ids[0], tok.token_id("<rgb>"));
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(ids[i], pad);
  EXPECT_EQ(ids[5], tok.token_id("</rgb>"));
  EXPECT_EQ(ids[6], tok.token_id("<ir>"));
  EXPECT_EQ(ids[11], tok.token_id("</ir>"));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), tok.token_id("<depth>")), 0);

  // Images follow the mask: row 0 has rgb+depth+ir, row 1 rgb only; depth is one channel.
  const torch::Tensor rgb = torch::rand({2, 3, 16, 16}), depth = torch::rand({2, 1, 16, 16}), ir = torch::rand({2, 1, 16, 16});
  const torch::Tensor mask = torch::tensor({{1, 1, 1}, {1, 0, 0}}, torch::kUInt8);
  const auto in = models::mllm_images({rgb, depth, ir}, mask, kModalities);
  ASSERT_EQ(in.images.size(0), 4);
  EXPECT_EQ(in.present[1], std::vector<std::string>{"rgb"});
  EXPECT_TRUE(torch::allclose(in.images[1][2], depth[0][0] * 2 - 1));
  EXPECT_TRUE(torch::allclose(in.images[3], rgb[1] * 2 - 1));
}

TEST(Mllm, ImagesReachTheLogitsAndCountsAreChecked) {
  torch::manual_seed(0);
  const auto tok = tag_tokenizer();
  models::Mllm m = models::make_mllm(tiny_mllm(), tok, kModalities);
  const auto ids = torch::tensor(tok.encode(m->image_prompt({"rgb"}) + "x"), torch::kInt64).unsqueeze(0);
  const torch::Tensor a = torch::randn({1, 3, 16, 16}), b = torch::randn({1, 3, 16, 16});
  const torch::Tensor la = m->forward(ids, a), lb = m->forward(ids, b);
  EXPECT_GT((la - lb).abs().max().item<double>(), 1e-4);  // the image changes the prediction
  // Text before the image does not see it (causal): the first position is identical.
  EXPECT_TRUE(torch::allclose(la.select(1, 0), lb.select(1, 0)));
  fasrl::testing::expect_error([&] { m->forward(ids, torch::randn({2, 3, 16, 16})); },
                               {"4 image-pad tokens", "2 images x 4 patches = 8"});
  fasrl::testing::expect_error([&] { models::make_mllm(tiny_mllm(), tag_tokenizer(false), kModalities); },
                               {"mllm.tokenizer", "no token '<rgb>'"});
  proto::MllmConfig small = tiny_mllm();
  small.mutable_decoder()->set_vocab_size(100);
  fasrl::testing::expect_error([&] { models::make_mllm(small, tok, kModalities); }, {"mllm.decoder.vocab_size 100"});
}

TEST(Mllm, GenerationFromImagePrefixCachedEqualsUncachedAndTeacherForced) {
  torch::manual_seed(2);
  const auto tok = tag_tokenizer();
  models::Mllm m = models::make_mllm(tiny_mllm(), tok, kModalities);
  const std::vector<std::vector<int64_t>> prompts = two_image_prompts(*m, tok);
  const torch::Tensor images = torch::randn({3, 3, 16, 16});
  const models::PromptEmbedder embed = [&](const torch::Tensor& ids, const std::vector<int64_t>& which) {
    EXPECT_EQ(which.size(), 2u);  // both prompts in one prefill
    return m->embed(ids, images);
  };
  models::SamplingOptions o;
  o.temperature = 1.0;
  o.max_new_tokens = 8;
  o.seed = 11;
  o.banned_ids = {m->image_pad_id()};
  const auto cached = models::generate(m->language_model(), prompts, o, nullptr, embed);
  o.use_cache = false;
  const auto full = models::generate(m->language_model(), prompts, o, nullptr, embed);
  EXPECT_EQ(cached.tokens, full.tokens);
  for (size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_EQ(cached.tokens[i].size(), 8u);
    EXPECT_EQ(std::count(cached.tokens[i].begin(), cached.tokens[i].end(), m->image_pad_id()), 0);
    // Each prompt alone, teacher-forced with only its own images.
    const torch::Tensor own = i == 0 ? images.slice(0, 0, 2) : images.slice(0, 2, 3);
    const auto forced = models::score_completion(
        m->language_model(), prompts[i], cached.tokens[i], 1.0,
        [&](const torch::Tensor& ids, const std::vector<int64_t>&) { return m->embed(ids, own); }, o.banned_ids);
    for (size_t t = 0; t < forced.size(); ++t) {
      EXPECT_NEAR(cached.logprobs[i][t], forced[t], 1e-5) << i << "," << t;
      EXPECT_NEAR(full.logprobs[i][t], forced[t], 1e-5) << i << "," << t;
    }
  }
}

// The fused CPU decode layer (models/decode_layer_cpu.h) against torch's ops
// over a whole sampled generation: images, groups sharing a prefill, 64 steps.
TEST(Mllm, SampledGenerationWithAndWithoutTheFusedDecodeLayerAgree) {
  torch::manual_seed(2);
  const auto tok = tag_tokenizer();
  models::Mllm m = models::make_mllm(tiny_mllm(), tok, kModalities);
  const std::vector<std::vector<int64_t>> prompts = two_image_prompts(*m, tok);
  const torch::Tensor images = torch::randn({3, 3, 16, 16});
  const models::PromptEmbedder embed = [&](const torch::Tensor& ids, const std::vector<int64_t>&) {
    return m->embed(ids, images);
  };
  torch::NoGradGuard g;
  models::SamplingOptions o;
  o.temperature = 1.0;
  o.max_new_tokens = 64;
  o.seed = 11;
  o.group_size = 4;
  o.banned_ids = {m->image_pad_id()};
  const auto fused = models::generate(m->language_model(), prompts, o, nullptr, embed);
  models::set_fused_decode_layer_enabled(false);
  const auto torch_ops = models::generate(m->language_model(), prompts, o, nullptr, embed);
  models::set_fused_decode_layer_enabled(true);
  ASSERT_EQ(fused.tokens.size(), 8u);
  for (size_t i = 0; i < fused.tokens.size(); ++i) {
    ASSERT_EQ(fused.tokens[i], torch_ops.tokens[i]) << i;
    for (size_t t = 0; t < fused.logprobs[i].size(); ++t)
      EXPECT_NEAR(fused.logprobs[i][t], torch_ops.logprobs[i][t], 1e-4) << i << "," << t;
  }
}
