// Dumps a tiny Qwen2.5-VL (float64): weights, a batch of three rows (two
// images of different sizes; one image after left padding; two packed
// sequences, the first with an image), the image patches and grids, logits,
// loss and every gradient, for qwen_vl_reference.py.
#include <torch/torch.h>

#include "core/safetensors.h"
#include "dump_lm.h"
#include "models/qwen_vl.h"

using namespace fasrl;

namespace {
constexpr int64_t kStart = 58, kEnd = 59, kImage = 60;

void append_image(std::vector<int64_t>& row, int64_t tokens) {
  row.push_back(kStart);
  for (int64_t i = 0; i < tokens; ++i) row.push_back(kImage);
  row.push_back(kEnd);
}
}  // namespace

int dump_qwen_vl_main(int argc, char** argv) {
  if (argc != 2) return 2;
  torch::manual_seed(11);
  proto::QwenVlConfig c;
  auto* v = c.mutable_vision_config();
  v->set_depth(3), v->set_hidden_size(32), v->set_intermediate_size(40), v->set_num_heads(2), v->set_out_hidden_size(32);
  v->set_patch_size(2), v->set_spatial_merge_size(2), v->set_temporal_patch_size(2), v->set_window_size(8);
  v->add_fullatt_block_indexes(1);
  auto* d = c.mutable_text_config();
  d->set_vocab_size(64), d->set_hidden_size(32), d->set_intermediate_size(48), d->set_num_hidden_layers(2);
  d->set_num_attention_heads(4), d->set_num_key_value_heads(2), d->set_rope_theta(10000), d->set_tie_word_embeddings(false);
  for (int s : {1, 1, 2}) d->mutable_rope_scaling()->add_mrope_section(s);
  c.set_image_token_id(kImage), c.set_vision_start_token_id(kStart), c.set_vision_end_token_id(kEnd);
  models::QwenVl model(c);
  model->to(torch::kFloat64);
  {
    torch::NoGradGuard g;
    for (auto& p : model->named_parameters()) p.value().add_(torch::randn_like(p.value()) * 0.1);
  }
  // Grids (t, h, w) in patches: A 8x12 (4x6 merged, six 2x2 windows), B 4x4,
  // C 6x4 (3x2 merged: windows of 4 and 2), D 4x4.
  const std::vector<models::PatchGrid> grids{{1, 8, 12}, {1, 4, 4}, {1, 6, 4}, {1, 4, 4}};
  std::vector<int64_t> r0{5}, r1{9}, r2{13};
  append_image(r0, 24), r0.insert(r0.end(), {6, 7}), append_image(r0, 4), r0.push_back(8);  // 36 tokens
  append_image(r1, 6), r1.insert(r1.end(), {10, 11, 12});                                  // 12 tokens
  append_image(r2, 4), r2.push_back(14);                                                   // sequence 1: 8 tokens
  const int64_t t = static_cast<int64_t>(r0.size());
  torch::Tensor ids = torch::zeros({3, t}, torch::kInt64), segments = torch::zeros({3, t}, torch::kInt64);
  for (size_t i = 0; i < r0.size(); ++i) ids[0][static_cast<int64_t>(i)] = r0[i], segments[0][static_cast<int64_t>(i)] = 1;
  const int64_t left = t - static_cast<int64_t>(r1.size());
  for (size_t i = 0; i < r1.size(); ++i) ids[1][left + static_cast<int64_t>(i)] = r1[i], segments[1][left + static_cast<int64_t>(i)] = 1;
  for (size_t i = 0; i < r2.size(); ++i) ids[2][static_cast<int64_t>(i)] = r2[i], segments[2][static_cast<int64_t>(i)] = 1;
  for (int64_t i = 0; i < 5; ++i)  // sequence 2 of row 2: text only
    ids[2][static_cast<int64_t>(r2.size()) + i] = 15 + i, segments[2][static_cast<int64_t>(r2.size()) + i] = 2;
  int64_t patches = 0;
  std::vector<int64_t> grid_values;
  for (const auto& g : grids) patches += g.patches(), grid_values.insert(grid_values.end(), {g.t, g.h, g.w});
  const torch::Tensor pixels = torch::randn({patches, model->visual()->patch_values()}, torch::kFloat64);
  const torch::Tensor targets = torch::randint(0, 58, {3, t}, torch::kInt64);
  const torch::Tensor pad = segments.ne(0).to(torch::kInt64);
  TensorMap out{{"in/ids", ids},       {"in/pad", pad},         {"in/segments", segments},
                {"in/patches", pixels}, {"in/targets", targets}, {"in/grids", torch::tensor(grid_values).view({-1, 3})}};
  out["out/positions"] = models::mrope_positions(ids, segments, grids, 2, kImage).positions;
  dump_loss_and_gradients(*model, model->forward(ids, pixels, grids, segments), targets, pad, out);
  save_safetensors(argv[1], out);
  return 0;
}
