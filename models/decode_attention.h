#pragma once
// One decode step of attention on the CPU as a single loop: per row and query
// head, the scores over that row's visible cached keys, their softmax (fp32)
// and the weighted values, reading the slot cache in place. It replaces the
// ~15 tensor ops of the masked path (scale, two batched matmuls over the
// whole span, mask add, softmax, casts, reshapes), which dominate a batch-1
// step's non-GEMM time.
#include <torch/torch.h>

#include <vector>

namespace fasrl::models {

// CPU fp32 outside autograd, one query per row, head_dim contiguous.
bool fused_decode_attention_applies(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// q [n, H, 1, hd]; k, v [n, Hkv, S, hd] (any strides but the last); row i
// attends to keys [0, visible[i]) (visible[i] <= S); query head h uses key
// head h / (H / Hkv), HF's repeat_kv order. Returns [n, 1, H * hd].
torch::Tensor fused_decode_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const std::vector<int64_t>& visible);

// Keys or values of a decode step in memory: element (row, head, position, d)
// is at data[row * row_stride + head * head_stride + position * position_stride + d].
struct StridedKv {
  const float* data;
  int64_t row_stride, head_stride, position_stride;
};

// The same loop on raw memory: q [n, H, hd] contiguous, out [n, H * hd];
// row i attends to positions [0, visible[i]) of k and v.
void decode_attention_rows(const float* q, int64_t n, int64_t heads, int64_t hd, const StridedKv& k, const StridedKv& v,
                           int64_t kv_heads, const std::vector<int64_t>& visible, float* out);

// Off: attend() always takes the masked path (tests compare the two).
void set_fused_decode_attention_enabled(bool enabled);

}  // namespace fasrl::models
