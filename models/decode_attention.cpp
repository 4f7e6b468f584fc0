#include "models/decode_attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "models/cpu_kernel_inputs.h"

namespace fasrl::models {
namespace {

std::atomic<bool> enabled{true};

// out[hd] = softmax_j(q · k_j * scale) weighted sum of v_j, j < len.
void attend_one(const float* q, const float* k, int64_t k_stride, const float* v, int64_t v_stride, int64_t len, int64_t hd,
                float scale, float* scores, float* out) {
  float best = -INFINITY;
  for (int64_t j = 0; j < len; ++j) {
    const float* kj = k + j * k_stride;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < hd; ++d) s += q[d] * kj[d];
    scores[j] = s * scale;
    best = std::max(best, scores[j]);
  }
  float total = 0;
  for (int64_t j = 0; j < len; ++j) total += scores[j] = std::exp(scores[j] - best);
  std::fill(out, out + hd, 0.0f);
  for (int64_t j = 0; j < len; ++j) {
    const float p = scores[j] / total;
    const float* vj = v + j * v_stride;
#pragma omp simd
    for (int64_t d = 0; d < hd; ++d) out[d] += p * vj[d];
  }
}

}  // namespace

bool fused_decode_attention_applies(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  if (!enabled.load(std::memory_order_relaxed) || !cpu_fp32_outside_autograd({&q, &k, &v})) return false;
  for (const torch::Tensor* t : {&q, &k, &v})
    if (t->dim() != 4 || t->stride(3) != 1) return false;
  return q.size(2) == 1;
}

torch::Tensor fused_decode_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const std::vector<int64_t>& visible) {
  const int64_t n = q.size(0), heads = q.size(1), hd = q.size(3), kv_heads = k.size(1), span = k.size(2);
  TORCH_CHECK(static_cast<int64_t>(visible.size()) == n && heads % kv_heads == 0, "fused_decode_attention: shapes");
  for (int64_t len : visible) TORCH_CHECK(len >= 1 && len <= span, "fused_decode_attention: visible ", len, " of ", span);
  const torch::Tensor qc = q.contiguous();  // [n, H, 1, hd]
  torch::Tensor out = torch::empty({n, 1, heads * hd}, q.options());
  decode_attention_rows(qc.data_ptr<float>(), n, heads, hd, {k.data_ptr<float>(), k.stride(0), k.stride(1), k.stride(2)},
                        {v.data_ptr<float>(), v.stride(0), v.stride(1), v.stride(2)}, kv_heads, visible,
                        out.data_ptr<float>());
  return out;
}

void decode_attention_rows(const float* q, int64_t n, int64_t heads, int64_t hd, const StridedKv& k, const StridedKv& v,
                           int64_t kv_heads, const std::vector<int64_t>& visible, float* out) {
  const int64_t rep = heads / kv_heads;
  const int64_t span = *std::max_element(visible.begin(), visible.end());
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Tasks are (row, head) pairs; a chunk should hold ~64 K multiply-adds.
  const int64_t grain = std::max<int64_t>(1, (64 << 10) / (2 * hd * std::max<int64_t>(1, span)));
  at::parallel_for(0, n * heads, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(span));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t i = task / heads, h = task % heads, g = h / rep;
      attend_one(q + task * hd, k.data + i * k.row_stride + g * k.head_stride, k.position_stride,
                 v.data + i * v.row_stride + g * v.head_stride, v.position_stride, visible[static_cast<size_t>(i)], hd, scale,
                 scores.data(), out + task * hd);
    }
  });
}

void set_fused_decode_attention_enabled(bool on) { enabled.store(on, std::memory_order_relaxed); }

}  // namespace fasrl::models
