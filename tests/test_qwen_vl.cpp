#include <gtest/gtest.h>

#include <filesystem>

#include "core/io.h"
#include "models/hf_weights.h"
#include "models/qwen_image.h"
#include "models/qwen_vl.h"
#include "models/qwen_vl_io.h"
#include "test_util.h"

using namespace fasrl;
using models::PatchGrid;

namespace {
constexpr int64_t kStart = 58, kEnd = 59, kImage = 60;

proto::QwenVlConfig tiny_qwen_vl(bool tied = false) {
  proto::QwenVlConfig c;
  auto* v = c.mutable_vision_config();
  v->set_depth(2), v->set_hidden_size(16), v->set_intermediate_size(24), v->set_num_heads(2), v->set_out_hidden_size(32);
  v->set_patch_size(2), v->set_spatial_merge_size(2), v->set_temporal_patch_size(2), v->set_window_size(8);
  v->add_fullatt_block_indexes(1);
  auto* d = c.mutable_text_config();
  d->set_vocab_size(64), d->set_hidden_size(32), d->set_intermediate_size(48), d->set_num_hidden_layers(2);
  d->set_num_attention_heads(4), d->set_num_key_value_heads(2), d->set_rope_theta(10000), d->set_tie_word_embeddings(tied);
  for (int s : {1, 1, 2}) d->mutable_rope_scaling()->add_mrope_section(s);
  c.set_image_token_id(kImage), c.set_vision_start_token_id(kStart), c.set_vision_end_token_id(kEnd);
  return c;
}

std::vector<int64_t> with_image(std::vector<int64_t> before, int64_t tokens, std::vector<int64_t> after) {
  before.push_back(kStart);
  before.insert(before.end(), static_cast<size_t>(tokens), kImage);
  before.push_back(kEnd);
  before.insert(before.end(), after.begin(), after.end());
  return before;
}
}  // namespace

TEST(QwenVisionLayout, WindowsFollowHfOrderAndStopAtTheImageEdge) {
  // 2 x 4 merged tokens, windows of 2 x 2: [0 1 4 5] then [2 3 6 7].
  const models::VisionLayout a = models::vision_layout({{1, 4, 8}}, 2, 2);
  EXPECT_EQ(a.order, (std::vector<int64_t>{0, 1, 4, 5, 2, 3, 6, 7}));
  // 3 x 2 merged tokens (rows 0-1 one window, row 2 another), then a second image in its own window.
  const models::VisionLayout b = models::vision_layout({{1, 6, 4}, {1, 2, 2}}, 2, 2);
  EXPECT_EQ(b.order, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  std::vector<int64_t> windows;
  for (size_t i = 0; i < b.window_segment.size(); i += 4) windows.push_back(b.window_segment[i]);
  EXPECT_EQ(windows, (std::vector<int64_t>{1, 1, 1, 1, 2, 2, 3}));
  EXPECT_EQ(b.frame_segment.front(), 1);
  EXPECT_EQ(b.frame_segment.back(), 2);
  // Patches of merged token 1 of image 0: rows 0-1, columns 2-3.
  EXPECT_EQ(std::vector<int64_t>(b.row.begin() + 4, b.row.begin() + 8), (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(std::vector<int64_t>(b.col.begin() + 4, b.col.begin() + 8), (std::vector<int64_t>{2, 3, 2, 3}));
  EXPECT_THROW(models::vision_layout({{1, 5, 4}}, 2, 2), Error);
}

TEST(QwenVl, MropePositionsByHand) {
  // text, <vs>, 2x3 merged image, <ve>, text; left-padded by 2.
  const std::vector<int64_t> row = with_image({5}, 6, {7});
  torch::Tensor ids = torch::zeros({1, 12}, torch::kInt64), pad = torch::zeros({1, 12}, torch::kInt64);
  for (size_t i = 0; i < row.size(); ++i) ids[0][2 + static_cast<int64_t>(i)] = row[i], pad[0][2 + static_cast<int64_t>(i)] = 1;
  const models::MropePositions mp = models::mrope_positions(ids, pad, {{1, 4, 6}}, 2, kImage);
  const std::vector<std::vector<int64_t>> expected{{0, 1, 2, 2, 2, 2, 2, 2, 5, 6},
                                                   {0, 1, 2, 2, 2, 3, 3, 3, 5, 6},
                                                   {0, 1, 2, 3, 4, 2, 3, 4, 5, 6}};
  for (int64_t k = 0; k < 3; ++k)
    for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(mp.positions[k][0][2 + i].item<int64_t>(), expected[k][i]) << k << " " << i;
  EXPECT_EQ(mp.deltas[0].item<int64_t>(), 7 - 12);  // the next token (index 12) takes position 7
  // A truncated image and a grid with no image are errors naming the image.
  EXPECT_THROW(models::mrope_positions(ids, pad, {{1, 4, 8}}, 2, kImage), Error);
  EXPECT_THROW(models::mrope_positions(ids, pad, {{1, 4, 6}, {1, 2, 2}}, 2, kImage), Error);
}

TEST(QwenVl, CachedDecodingEqualsFullForwardWithImagesAndLeftPadding) {
  torch::manual_seed(3);
  models::QwenVl model(tiny_qwen_vl());
  model->to(torch::kFloat64);
  torch::NoGradGuard g;
  // Row 0: a 2x2-merged image; row 1: left padding, a 1x2-merged image.
  const std::vector<int64_t> r0 = with_image({5}, 4, {6, 7}), r1 = with_image({8}, 2, {9});
  const int64_t t0 = static_cast<int64_t>(r0.size());
  torch::Tensor ids = torch::zeros({2, t0}, torch::kInt64), pad = torch::zeros({2, t0}, torch::kInt64);
  for (size_t i = 0; i < r0.size(); ++i) ids[0][static_cast<int64_t>(i)] = r0[i], pad[0][static_cast<int64_t>(i)] = 1;
  const int64_t left = t0 - static_cast<int64_t>(r1.size());
  for (size_t i = 0; i < r1.size(); ++i) ids[1][left + static_cast<int64_t>(i)] = r1[i], pad[1][left + static_cast<int64_t>(i)] = 1;
  const std::vector<PatchGrid> grids{{1, 4, 4}, {1, 2, 4}};
  const torch::Tensor patches = torch::randn({16 + 8, model->visual()->patch_values()}, torch::kFloat64);
  models::KvCache cache;
  torch::Tensor deltas;
  torch::Tensor logits = model->forward(ids, patches, grids, pad, &cache, &deltas);
  torch::Tensor all_ids = ids, all_pad = pad;
  std::vector<torch::Tensor> stepped{logits.select(1, t0 - 1)};
  for (int step = 0; step < 4; ++step) {  // greedy
    const torch::Tensor next = stepped.back().argmax(-1).unsqueeze(1);  // [2, 1]
    all_ids = torch::cat({all_ids, next}, 1);
    all_pad = torch::cat({all_pad, torch::ones({2, 1}, torch::kInt64)}, 1);
    const torch::Tensor pos = models::mrope_decode_positions(deltas, cache.length(), 1);
    stepped.push_back(model->language_model()->forward(model->language_model()->embed(next), pos, all_pad, &cache).select(1, 0));
  }
  const torch::Tensor full = model->forward(all_ids, patches, grids, all_pad);  // [2, t0 + 4, V]
  for (int step = 0; step <= 4; ++step)
    EXPECT_TRUE(torch::allclose(stepped[static_cast<size_t>(step)], full.select(1, t0 - 1 + step), 1e-9, 1e-9)) << step;
}

TEST(QwenVlIo, SavesAndLoadsShardedAndBothNameLayouts) {
  fasrl::testing::TempDir tmp;
  torch::manual_seed(4);
  models::QwenVl model(tiny_qwen_vl(/*tied=*/true));
  const std::string dir = tmp.path() + "/ckpt";
  models::save_qwen_vl(*model, dir, torch::kFloat32, /*max_shard_bytes=*/20000);
  EXPECT_TRUE(path_exists(dir + "/model.safetensors.index.json"));
  EXPECT_FALSE(path_exists(dir + "/model.safetensors"));
  int shards = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) shards += e.path().filename().string().rfind("model-", 0) == 0;
  EXPECT_GE(shards, 2);
  EXPECT_TRUE(models::is_qwen_vl_dir(dir));
  const TensorMap on_disk = models::load_hf_weights(dir);
  EXPECT_EQ(on_disk.count("lm_head.weight"), 0u);  // tied
  EXPECT_EQ(on_disk.count("visual.patch_embed.proj.weight"), 1u);
  EXPECT_EQ(on_disk.count("visual.merger.mlp.2.bias"), 1u);
  models::QwenVl loaded = models::load_qwen_vl(dir);
  for (const auto& p : model->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), loaded->named_parameters()[p.key()])) << p.key();
  // Newer transformers' names, bf16, one file: loads into the same parameters (bf16-rounded).
  TensorMap renamed;
  for (const auto& [name, t] : on_disk)
    renamed[name.rfind("visual.", 0) == 0 ? "model." + name : "model.language_model." + name.substr(6)] = t.to(torch::kBFloat16);
  const std::string dir2 = tmp.path() + "/new_names";
  make_dirs(dir2);
  std::filesystem::copy_file(dir + "/config.json", dir2 + "/config.json");
  models::save_hf_weights(dir2, renamed, int64_t{1} << 40);
  models::QwenVl again = models::load_qwen_vl(dir2);
  for (const auto& p : model->named_parameters())
    EXPECT_TRUE(torch::equal(p.value().to(torch::kBFloat16).to(torch::kFloat32), again->named_parameters()[p.key()]))
        << p.key();
  // A missing tensor names itself and the directory.
  renamed.erase("model.visual.merger.ln_q.weight");
  models::save_hf_weights(dir2, renamed, int64_t{1} << 40);
  try {
    models::load_qwen_vl(dir2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("visual.merger.ln_q.weight"), std::string::npos) << e.what();
  }
}

TEST(QwenImage, SmartResizeMatchesTheHfRule) {
  auto eq = [](models::ImageSize s, int64_t h, int64_t w) { return s.height == h && s.width == w; };
  EXPECT_TRUE(eq(models::smart_resize(64, 64, 28, 3136, 12845056), 56, 56));
  EXPECT_TRUE(eq(models::smart_resize(1000, 500, 28, 3136, 12845056), 1008, 504));
  EXPECT_TRUE(eq(models::smart_resize(30, 40, 28, 3136, 12845056), 56, 84));      // raised to min_pixels
  EXPECT_TRUE(eq(models::smart_resize(2000, 3000, 28, 3136, 200704), 364, 532));  // lowered to max_pixels
  EXPECT_TRUE(eq(models::smart_resize(448, 448, 28, 3136, 12845056), 448, 448));
  EXPECT_THROW(models::smart_resize(10, 3000, 28, 3136, 12845056), Error);  // aspect ratio > 200
}

TEST(QwenImage, PatchesFollowTheProcessorLayout) {
  proto::QwenImageProcessorConfig c;
  c.set_min_pixels(1), c.set_patch_size(2), c.set_merge_size(2);
  for (float v : {0.5f, 0.5f, 0.5f}) c.add_image_mean(v), c.add_image_std(v);
  // 8 x 4 image (no resize: multiples of 4), pixel value = (row * 4 + col) / 32 in every channel.
  const torch::Tensor img = (torch::arange(32, torch::kFloat32) / 32).view({1, 8, 4}).expand({3, 8, 4});
  const models::QwenImagePatches out = models::qwen_image_patches(img, c);
  EXPECT_EQ(out.grid.h, 4);
  EXPECT_EQ(out.grid.w, 2);
  ASSERT_EQ(out.patches.sizes(), torch::IntArrayRef({8, 3 * 2 * 2 * 2}));
  auto value = [](int64_t row, int64_t col) { return ((row * 4 + col) / 32.0f - 0.5f) / 0.5f; };
  // Patch k: merge block k / 4 (row-major over 2 x 1 blocks), inside it patch k % 4 row-major;
  // its values [C, T, P, P] repeat the frame over T.
  for (int64_t k = 0; k < 8; ++k) {
    const int64_t pr = (k / 4) * 2 + (k % 4) / 2, pc = (k % 4) % 2;
    const torch::Tensor patch = out.patches[k].view({3, 2, 2, 2});
    for (int64_t ch = 0; ch < 3; ++ch)
      for (int64_t tt = 0; tt < 2; ++tt)
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t j = 0; j < 2; ++j)
            EXPECT_FLOAT_EQ(patch[ch][tt][i][j].item<float>(), value(pr * 2 + i, pc * 2 + j)) << k;
  }
}

TEST(QwenVlIo, ReleasedConfigJsonParsesAndCountsThePublishedParameters) {
  fasrl::testing::TempDir tmp;
  std::filesystem::copy_file(std::string(FASRL_SOURCE_DIR) + "/tests/data/qwen2_5_vl_3b_config.json",
                             tmp.path() + "/config.json");
  ASSERT_TRUE(models::is_qwen_vl_dir(tmp.path()));
  const proto::QwenVlConfig c = models::load_qwen_vl_config(tmp.path());
  EXPECT_EQ(c.text_config().hidden_size(), 2048);
  EXPECT_EQ(c.text_config().num_hidden_layers(), 36);
  EXPECT_TRUE(c.text_config().tie_word_embeddings());
  EXPECT_EQ(c.vision_config().fullatt_block_indexes_size(), 4);
  EXPECT_EQ(c.vision_config().out_hidden_size(), 2048);
  EXPECT_EQ(c.image_token_id(), 151655);
  EXPECT_EQ(c.vision_start_token_id(), 151652);
  EXPECT_EQ(c.text_config().rope_scaling().mrope_section(1), 24);
  EXPECT_EQ(models::qwen_vl_parameter_count(c), 3754622976);  // Qwen2.5-VL-3B: 3.75B
  // The count is the module's: a tiny model, tied and untied.
  for (bool tied : {true, false}) {
    models::QwenVl m(tiny_qwen_vl(tied));
    int64_t n = 0;
    for (const auto& p : m->parameters()) n += p.numel();
    EXPECT_EQ(models::qwen_vl_parameter_count(m->config()), n) << tied;
  }
}
