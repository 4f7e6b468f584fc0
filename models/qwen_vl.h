// Qwen2.5-VL (Qwen2_5_VLForConditionalGeneration) with the HF on-disk names:
// visual.* (models/qwen_vision.h), model.* and lm_head (the Qwen2 decoder of
// models/decoder.h, with M-RoPE).
//
// A prompt holds each image as <|vision_start|> <|image_pad|> x N
// <|vision_end|>, N = the image's merged-token count; embed() puts the
// vision tower's tokens into the image-pad slots in row-major order, and
// mrope_positions() gives every token its (t, h, w) position: text tokens
// count up with three equal rows, an image's tokens take p + (0, row, col) of
// their merged grid, and the text after an image resumes at p + max(rows,
// cols). Rows may be left-padded, or packed with several sequences (each
// restarts at position 0).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "models/decoder.h"
#include "models/qwen_vision.h"
#include "proto/config.pb.h"

namespace fasrl::models {

struct MropePositions {
  torch::Tensor positions;  // [3, B, T] int64 (padding: 1, as HF)
  torch::Tensor deltas;     // [B] int64: next position of the row's last sequence minus T
};

// ids [B, T]; segments [B, T] (0 = padding, equal non-zero ids = one sequence)
// or undefined (every token real, one sequence per row); grids: one per run of
// image tokens, in row-major order. Errors name the row and image when the
// image tokens and the grids disagree.
MropePositions mrope_positions(const torch::Tensor& ids, const torch::Tensor& segments, const std::vector<PatchGrid>& grids,
                               int64_t merge, int64_t image_token_id);

// Parameters of a model of this config, counted from its shapes without
// building it (equal to the module's numel: tested).
int64_t qwen_vl_parameter_count(const proto::QwenVlConfig& config);

// Positions [3, B, T] of T new tokens after `past` cached ones (decoding).
torch::Tensor mrope_decode_positions(const torch::Tensor& deltas, int64_t past, int64_t t);

class QwenVlImpl : public torch::nn::Module {
 public:
  explicit QwenVlImpl(const proto::QwenVlConfig& config);

  const proto::QwenVlConfig& config() const { return config_; }
  Decoder& language_model() { return decoder_; }
  QwenVisionTransformer& visual() { return visual_; }
  int64_t image_token_id() const { return config_.image_token_id(); }

  // patches [N, C*T*P*P] of `grids` -> [sum merged tokens, hidden]
  torch::Tensor encode_images(const torch::Tensor& patches, const std::vector<PatchGrid>& grids);
  // ids [B, T] -> embeddings [B, T, hidden] with the image tokens' slots filled.
  torch::Tensor embed(const torch::Tensor& ids, const torch::Tensor& patches, const std::vector<PatchGrid>& grids);
  // Logits [B, T, V]. key_padding as Decoder::forward (0 = padding; segment
  // ids when packed). With a cache (prefill), *deltas receives the rows'
  // M-RoPE deltas for mrope_decode_positions.
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& patches, const std::vector<PatchGrid>& grids,
                        const torch::Tensor& key_padding = {}, KvCache* cache = nullptr, torch::Tensor* deltas = nullptr);

 private:
  proto::QwenVlConfig config_;
  QwenVisionTransformer visual_{nullptr};
  Decoder decoder_{nullptr};  // its children (model, lm_head) are registered here directly
};
TORCH_MODULE(QwenVl);

}  // namespace fasrl::models
