#include <gtest/gtest.h>

#include <set>

#include "core/io.h"
#include "core/safetensors.h"
#include "models/clip.h"
#include "test_util.h"

using namespace fasrl;

namespace {
proto::ClipConfig tiny_clip() {
  proto::ClipConfig c;
  auto* v = c.mutable_vision();
  v->set_image_size(16), v->set_patch_size(8), v->set_width(16), v->set_layers(1), v->set_heads(2);
  v->mutable_moae()->set_experts(2);
  auto* t = c.mutable_text();
  t->set_vocab_size(20), t->set_context_length(10), t->set_width(16), t->set_layers(1), t->set_heads(2);
  c.set_projection_dim(8);
  return c;
}
}  // namespace

TEST(Models, ParameterNamesAreHfClipNames) {
  models::ClipModel m(tiny_clip());
  std::set<std::string> names;
  for (const auto& p : m->named_parameters()) names.insert(p.key());
  for (const char* want : {"vision_model.embeddings.class_embedding", "vision_model.embeddings.patch_embedding.weight",
                           "vision_model.embeddings.position_embedding.weight", "vision_model.pre_layrnorm.weight",
                           "vision_model.encoder.layers.0.self_attn.q_proj.weight",
                           "vision_model.encoder.layers.0.mlp.fc1.bias", "vision_model.encoder.layers.0.layer_norm2.weight",
                           "vision_model.post_layernorm.bias", "visual_projection.weight",
                           "text_model.embeddings.token_embedding.weight", "text_model.final_layer_norm.weight",
                           "text_projection.weight", "logit_scale", "vision_model.encoder.layers.0.moae.soft_moe.phi"})
    EXPECT_TRUE(names.count(want)) << want;
}

TEST(Models, WeightsRoundTripThroughSafetensorsAndMoaeMayBeAbsent) {
  fasrl::testing::TempDir dir;
  torch::manual_seed(1);
  models::ClipModel a(tiny_clip());
  TensorMap weights;
  for (const auto& p : a->named_parameters())
    if (p.key().find(".moae.") == std::string::npos) weights[p.key()] = p.value();  // an HF CLIP file has no MoAE
  save_safetensors(dir.sub("clip.safetensors"), weights);
  torch::manual_seed(2);
  models::ClipModel b(tiny_clip());
  EXPECT_EQ(b->load_weights(dir.sub("clip.safetensors")), static_cast<int>(weights.size()));
  for (const auto& p : b->named_parameters())
    if (weights.count(p.key())) {
      EXPECT_TRUE(torch::equal(p.value(), weights[p.key()])) << p.key();
    }
  const auto prompts = models::tokenize_prompts({"a live face", "a fake face"}, 20, 10);
  EXPECT_TRUE(torch::allclose(a->encode_text(prompts.ids, prompts.eot), b->encode_text(prompts.ids, prompts.eot)));
}

TEST(Models, MissingOrMisshapenTensorsNameTheTensorAndFile) {
  fasrl::testing::TempDir dir;
  models::ClipModel a(tiny_clip());
  TensorMap weights;
  for (const auto& p : a->named_parameters()) weights[p.key()] = p.value();
  weights.erase("text_projection.weight");
  save_safetensors(dir.sub("a.safetensors"), weights);
  fasrl::testing::expect_error([&] { a->load_weights(dir.sub("a.safetensors")); },
                               {"a.safetensors", "'text_projection.weight' is missing"});
  weights["text_projection.weight"] = torch::zeros({3, 3});
  save_safetensors(dir.sub("b.safetensors"), weights);
  fasrl::testing::expect_error([&] { a->load_weights(dir.sub("b.safetensors")); },
                               {"b.safetensors", "'text_projection.weight' has shape [3, 3]"});
  fasrl::atomic_write_file(dir.sub("c.safetensors"), std::string("\xff\xff\xff\xff\xff\xff\x00\x00{}", 10));
  fasrl::testing::expect_error([&] { load_safetensors(dir.sub("c.safetensors")); }, {"c.safetensors", "truncated"});
}

TEST(Models, SoftMoeSlotsDefaultToTokensTimesHeadsOverExperts) {
  models::ClipModel m(tiny_clip());  // 16/8 -> 4 patches + 1 = 5 tokens, 2 heads, 2 experts -> 5 slots each
  for (const auto& p : m->named_parameters())
    if (p.key() == "vision_model.encoder.layers.0.moae.soft_moe.phi") {
      EXPECT_EQ(p.value().sizes(), (std::vector<int64_t>{8, 10}));
    }
}

// Hostile safetensors headers are refused, naming the file and tensor, before
// anything is allocated: a 100-byte file cannot request terabytes.
TEST(Safetensors, HeadersAreValidatedBeforeAllocation) {
  auto file = [](const std::string& header, size_t data_bytes) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    return out + header + std::string(data_bytes, '\0');
  };
  auto expect_bad = [&](const std::string& header, size_t data, std::initializer_list<std::string> needles) {
    fasrl::testing::expect_error([&] { decode_safetensors(file(header, data), "w.safetensors"); }, needles);
  };
  expect_bad(R"({"w":{"dtype":"F32","shape":[100000000000,100000000000],"data_offsets":[0,16]}})", 16,
             {"w.safetensors", "'w'", "more than the file"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 16,
             {"overlap"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4, {"'w'", "outside the 4 data bytes"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, {"'w'", "need 12"});
  expect_bad(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", 8, {"'w'", "non-negative integer"});
  expect_bad(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-1,8]}})", 8, {"'w'", "data_offsets"});
  expect_bad(R"({"w":[1,2]})", 8, {"'w'", "must be an object"});
  expect_bad(R"({"__metadata__":"x"})", 0, {"__metadata__"});
  const auto ok = decode_safetensors(file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})", 8), "ok");
  EXPECT_EQ(ok.tensors.at("w").numel(), 2);
  EXPECT_EQ(ok.tensors.at("e").numel(), 0);
}
