// Rotary position embeddings (rotate-half convention, as HF Qwen2): 1-D
// positions for text decoders, and Qwen2.5-VL's multimodal M-RoPE, where each
// token has three positions (t, h, w) and `mrope_section` [s_t, s_h, s_w]
// (summing to head_dim / 2) says how many of the rotary frequencies each row
// drives. Text tokens carry three equal positions, so M-RoPE reduces to 1-D
// RoPE on text.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace fasrl::models {

// 1 / theta^(2i / dim) for i < dim / 2: [dim / 2] float64.
torch::Tensor rotary_inv_freq(int64_t dim, double theta);

struct RotaryTables {
  torch::Tensor cos, sin;  // [B, T, 2 * F] in `dtype` (F = inv_freq.size(0))
};

// positions [B, T] (1-D) or [3, B, T] (t, h, w rows; needs mrope_section).
// Computed in float64 and cast, so fp32/bf16 models see exact tables.
RotaryTables rotary_tables(const torch::Tensor& positions, const torch::Tensor& inv_freq,
                           const std::vector<int64_t>& mrope_section, torch::ScalarType dtype);

// [..., 2F] -> [-x2, x1]
torch::Tensor rotate_half(const torch::Tensor& x);
// x [B, heads, T, 2F] rotated by cos/sin [B, T, 2F].
torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& tables);

}  // namespace fasrl::models
