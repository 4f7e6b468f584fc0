// Qwen2.5-VL's vision tower with HF names (visual.patch_embed.proj.weight,
// visual.blocks.N.{norm1,norm2,attn.qkv,attn.proj,mlp.{gate,up,down}_proj},
// visual.merger.{ln_q,mlp.0,mlp.2}):
//   patches [N, C*T*P*P] -> linear patch embedding (the Conv3d with
//   kernel = stride) -> tokens regrouped window by window -> blocks (RMSNorm,
//   fused qkv with bias, 2-D rotary positions, SwiGLU MLP with bias), window
//   attention except in fullatt_block_indexes, never across images -> merger
//   (RMSNorm, 2x2 neighbours concatenated, Linear, GELU, Linear) -> merged
//   tokens back in image order: [N / merge^2, out_hidden_size].
//
// Patch order in `patches` is the HF image processor's (models/qwen_image.h):
// image by image, frame by frame, merge blocks row-major, and inside a block
// its merge x merge patches row-major — so every merged token is merge^2
// consecutive rows.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "models/attention.h"
#include "models/decoder.h"
#include "proto/config.pb.h"

namespace fasrl::models {

// One image (or video) in patches: t temporal patches, h x w spatial patches
// (h and w multiples of the merge size).
struct PatchGrid {
  int64_t t = 1, h = 0, w = 0;
  int64_t patches() const { return t * h * w; }
  int64_t merged_tokens(int64_t merge) const { return t * (h / merge) * (w / merge); }
};

// How the tower walks the tokens (pure arithmetic, host side). Merged tokens
// are visited window by window: per image and frame, windows of
// `window_merged` x `window_merged` merged tokens row-major, and inside a
// window its merged tokens row-major (HF's get_window_index order).
struct VisionLayout {
  std::vector<int64_t> order;        // [N / merge^2] input merged-token index at each window-order position
  std::vector<int64_t> window_segment;  // [N] patch -> window id (1, 2, ...), window order
  std::vector<int64_t> frame_segment;   // [N] patch -> (image, frame) id (1, 2, ...), window order
  std::vector<int64_t> row, col;        // [N] patch row / column in its image, window order
};
VisionLayout vision_layout(const std::vector<PatchGrid>& grids, int64_t merge, int64_t window_merged);

class QwenVisionBlockImpl : public torch::nn::Module {
 public:
  explicit QwenVisionBlockImpl(const proto::QwenVisionConfig& c);
  // x [1, N, D]; rotary tables [1, N, head_dim]; plan = windows or whole frames.
  torch::Tensor forward(const torch::Tensor& x, const RotaryTables& rotary, const AttentionPlan& plan);

 private:
  int64_t heads_, head_dim_;
  RmsNorm norm1{nullptr}, norm2{nullptr};
  struct Attention : torch::nn::Module {
    torch::nn::Linear qkv{nullptr}, proj{nullptr};
  };
  struct Mlp : torch::nn::Module {
    torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  };
  std::shared_ptr<Attention> attn;
  std::shared_ptr<Mlp> mlp;
};
TORCH_MODULE(QwenVisionBlock);

class QwenVisionTransformerImpl : public torch::nn::Module {
 public:
  explicit QwenVisionTransformerImpl(const proto::QwenVisionConfig& c);
  // patches [N, C*T*P*P], one grid per image (sum of patches = N)
  // -> [sum of merged tokens, out_hidden_size], image order.
  torch::Tensor forward(const torch::Tensor& patches, const std::vector<PatchGrid>& grids);
  int64_t merge_size() const { return config_.spatial_merge_size(); }
  int64_t patch_values() const;  // C * T * P * P
  const proto::QwenVisionConfig& config() const { return config_; }
  // Recompute each block in backward instead of keeping its activations.
  void set_activation_checkpointing(bool on) { checkpoint_blocks_ = on; }

 private:
  proto::QwenVisionConfig config_;
  bool checkpoint_blocks_ = false;
  struct PatchEmbed : torch::nn::Module {
    torch::nn::Conv3d proj{nullptr};  // [D, C, T, P, P], applied as one matmul
  };
  struct Merger : torch::nn::Module {
    RmsNorm ln_q{nullptr};
    torch::nn::Sequential mlp{nullptr};  // 0: Linear, 1: GELU, 2: Linear
  };
  std::shared_ptr<PatchEmbed> patch_embed;
  torch::nn::ModuleList blocks{nullptr};
  std::shared_ptr<Merger> merger;
  torch::Tensor inv_freq_;  // [head_dim / 4]: rows and columns each drive half of the rotary channels
};
TORCH_MODULE(QwenVisionTransformer);

}  // namespace fasrl::models
