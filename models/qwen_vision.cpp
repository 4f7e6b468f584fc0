#include "models/qwen_vision.h"

#include <algorithm>

#include "core/error.h"
#include "models/checkpointing.h"

namespace fasrl::models {

VisionLayout vision_layout(const std::vector<PatchGrid>& grids, int64_t merge, int64_t window_merged) {
  FASRL_CHECK(merge > 0 && window_merged > 0, "vision_layout: merge and window sizes must be positive");
  VisionLayout out;
  int64_t merged_base = 0, window_id = 0, frame_id = 0;
  for (size_t i = 0; i < grids.size(); ++i) {
    const PatchGrid& g = grids[i];
    if (g.t <= 0 || g.h <= 0 || g.w <= 0 || g.h % merge != 0 || g.w % merge != 0)
      raise(ErrorKind::kInvalidArgument, "qwen vision: image ", i, " has a grid of ", g.t, "x", g.h, "x", g.w,
            " patches; h and w must be positive multiples of spatial_merge_size ", merge);
    const int64_t hb = g.h / merge, wb = g.w / merge;  // merged rows and columns
    for (int64_t t = 0; t < g.t; ++t) {
      ++frame_id;
      for (int64_t r0 = 0; r0 < hb; r0 += window_merged)
        for (int64_t c0 = 0; c0 < wb; c0 += window_merged) {
          ++window_id;
          for (int64_t r = r0; r < std::min(hb, r0 + window_merged); ++r)
            for (int64_t c = c0; c < std::min(wb, c0 + window_merged); ++c) {
              out.order.push_back(merged_base + (t * hb + r) * wb + c);
              for (int64_t dr = 0; dr < merge; ++dr)
                for (int64_t dc = 0; dc < merge; ++dc) {
                  out.window_segment.push_back(window_id);
                  out.frame_segment.push_back(frame_id);
                  out.row.push_back(r * merge + dr);
                  out.col.push_back(c * merge + dc);
                }
            }
        }
    }
    merged_base += g.merged_tokens(merge);
  }
  return out;
}

QwenVisionBlockImpl::QwenVisionBlockImpl(const proto::QwenVisionConfig& c)
    : heads_(c.num_heads()), head_dim_(c.hidden_size() / c.num_heads()) {
  const int64_t d = c.hidden_size(), ff = c.intermediate_size();
  norm1 = register_module("norm1", RmsNorm(d, 1e-6));
  norm2 = register_module("norm2", RmsNorm(d, 1e-6));
  attn = register_module("attn", std::make_shared<Attention>());
  attn->qkv = attn->register_module("qkv", torch::nn::Linear(d, 3 * d));
  attn->proj = attn->register_module("proj", torch::nn::Linear(d, d));
  mlp = register_module("mlp", std::make_shared<Mlp>());
  mlp->gate_proj = mlp->register_module("gate_proj", torch::nn::Linear(d, ff));
  mlp->up_proj = mlp->register_module("up_proj", torch::nn::Linear(d, ff));
  mlp->down_proj = mlp->register_module("down_proj", torch::nn::Linear(ff, d));
}

torch::Tensor QwenVisionBlockImpl::forward(const torch::Tensor& x, const RotaryTables& rotary, const AttentionPlan& plan) {
  const int64_t n = x.size(1);
  const torch::Tensor qkv = attn->qkv(norm1(x)).view({1, n, 3, heads_, head_dim_});
  auto part = [&](int64_t i) { return qkv.select(2, i).transpose(1, 2); };  // [1, H, N, hd]
  const torch::Tensor q = apply_rotary(part(0), rotary), k = apply_rotary(part(1), rotary);
  const torch::Tensor out = x + attn->proj(attend(plan, q, k, part(2)));  // [1, N, D]
  const torch::Tensor m = norm2(out);
  return out + mlp->down_proj(torch::silu(mlp->gate_proj(m)) * mlp->up_proj(m));
}

QwenVisionTransformerImpl::QwenVisionTransformerImpl(const proto::QwenVisionConfig& c) : config_(c) {
  if (c.hidden_size() <= 0 || c.num_heads() <= 0 || c.hidden_size() % c.num_heads() != 0 ||
      (c.hidden_size() / c.num_heads()) % 4 != 0)
    raise(ErrorKind::kConfig, "vision_config: num_heads ", c.num_heads(), " must divide hidden_size ", c.hidden_size(),
          " into heads whose size is a multiple of 4 (2-D rotary positions)");
  if (c.patch_size() <= 0 || c.spatial_merge_size() <= 0 || c.temporal_patch_size() <= 0 || c.depth() <= 0 ||
      c.window_size() < c.patch_size() * c.spatial_merge_size())
    raise(ErrorKind::kConfig, "vision_config: patch_size, spatial_merge_size, temporal_patch_size and depth must be "
          "positive and window_size at least one merged token (patch_size x spatial_merge_size pixels)");
  for (int32_t i : c.fullatt_block_indexes())
    if (i < 0 || i >= c.depth())
      raise(ErrorKind::kConfig, "vision_config.fullatt_block_indexes: ", i, " is not a block (depth ", c.depth(), ")");
  const int64_t d = c.hidden_size(), p = c.patch_size(), u = c.spatial_merge_size() * c.spatial_merge_size();
  patch_embed = register_module("patch_embed", std::make_shared<PatchEmbed>());
  patch_embed->proj = patch_embed->register_module(
      "proj", torch::nn::Conv3d(torch::nn::Conv3dOptions(c.in_channels(), d, {c.temporal_patch_size(), p, p})
                                    .stride({c.temporal_patch_size(), p, p})
                                    .bias(false)));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int i = 0; i < c.depth(); ++i) blocks->push_back(QwenVisionBlock(c));
  merger = register_module("merger", std::make_shared<Merger>());
  merger->ln_q = merger->register_module("ln_q", RmsNorm(d, 1e-6));
  merger->mlp = merger->register_module(
      "mlp", torch::nn::Sequential(torch::nn::Linear(u * d, u * d), torch::nn::GELU(),
                                   torch::nn::Linear(u * d, c.out_hidden_size())));
  inv_freq_ = rotary_inv_freq(d / c.num_heads() / 2, 10000.0);
}

int64_t QwenVisionTransformerImpl::patch_values() const {
  return static_cast<int64_t>(config_.in_channels()) * config_.temporal_patch_size() * config_.patch_size() *
         config_.patch_size();
}

torch::Tensor QwenVisionTransformerImpl::forward(const torch::Tensor& patches, const std::vector<PatchGrid>& grids) {
  const int64_t merge = config_.spatial_merge_size(), u = merge * merge, d = config_.hidden_size();
  const VisionLayout layout =
      vision_layout(grids, merge, config_.window_size() / merge / config_.patch_size());
  const int64_t n = static_cast<int64_t>(layout.row.size());
  if (patches.dim() != 2 || patches.size(0) != n || patches.size(1) != patch_values())
    raise(ErrorKind::kInvalidArgument, "qwen vision: patches must be [", n, ", ", patch_values(), "] for these ",
          grids.size(), " image grids, got ", patches.sizes());
  const auto device = patches.device();
  auto index = [&](const std::vector<int64_t>& v) { return torch::tensor(v, torch::kInt64).to(device); };
  const torch::Tensor& w = patch_embed->proj->weight;  // [D, C, T, P, P]
  torch::Tensor x = torch::matmul(patches.to(w.scalar_type()), w.view({d, -1}).t());  // [N, D]
  const torch::Tensor order = index(layout.order);
  x = x.view({n / u, u, d}).index_select(0, order).view({1, n, d});  // window order
  // 2-D rotary positions: half of each head's rotary channels follow the row, half the column.
  const torch::Tensor inv = inv_freq_.to(device);
  const torch::Tensor freqs = torch::cat({index(layout.row).to(torch::kFloat64).unsqueeze(-1) * inv,
                                          index(layout.col).to(torch::kFloat64).unsqueeze(-1) * inv}, -1);
  const torch::Tensor emb = torch::cat({freqs, freqs}, -1).unsqueeze(0);  // [1, N, head_dim]
  const RotaryTables rotary{emb.cos().to(x.scalar_type()), emb.sin().to(x.scalar_type())};
  const AttentionPlan windows = segment_attention_plan(index(layout.window_segment).view({1, n}), x.scalar_type(), false);
  const AttentionPlan frames = segment_attention_plan(index(layout.frame_segment).view({1, n}), x.scalar_type(), false);
  const auto& full = config_.fullatt_block_indexes();
  for (size_t i = 0; i < blocks->size(); ++i) {
    QwenVisionBlockImpl* block = blocks[i]->as<QwenVisionBlockImpl>();
    const AttentionPlan& plan = std::find(full.begin(), full.end(), static_cast<int32_t>(i)) != full.end() ? frames : windows;
    if (checkpoint_blocks_)
      // The recompute runs in backward, after this function returned: capture copies.
      x = recompute_in_backward([block, rotary, plan = plan](const torch::Tensor& y) { return block->forward(y, rotary, plan); },
                                x);
    else
      x = block->forward(x, rotary, plan);
  }
  x = merger->mlp->forward(merger->ln_q(x).view({n / u, u * d}));  // [N / u, out], window order
  return x.index_select(0, torch::argsort(order));                  // image order
}

}  // namespace fasrl::models
