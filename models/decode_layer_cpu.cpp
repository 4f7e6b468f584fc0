#include "models/decode_layer_cpu.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/error.h"
#include "models/cpu_kernel_inputs.h"
#include "models/decode_attention.h"
#include "models/decoder.h"
#include "models/skinny_linear.h"

namespace fasrl::models {
namespace {

std::atomic<bool> enabled{true};

const float* data_or_null(const torch::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }

// out[i] = x[i] / rms(x[i]) * weight, rows of d (HF's Qwen2RMSNorm in fp32).
void rms_norm_rows(const float* x, int64_t n, int64_t d, const float* weight, double eps, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float* row = x + i * d;
    double squares = 0;
    for (int64_t j = 0; j < d; ++j) squares += static_cast<double>(row[j]) * row[j];
    const float inv = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(d) + eps));
    for (int64_t j = 0; j < d; ++j) out[i * d + j] = weight[j] * (row[j] * inv);
  }
}

// Rotate-half rotary embedding in place on x [n, heads, hd] with row i's
// cos/sin [hd] (models/rope.h).
void rotate_rows(float* x, int64_t n, int64_t heads, int64_t hd, const float* cos, const float* sin) {
  const int64_t half = hd / 2;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (i * heads + h) * hd;
      const float* c = cos + i * hd;
      const float* s = sin + i * hd;
      for (int64_t d = 0; d < half; ++d) {
        const float a = v[d], b = v[d + half];
        v[d] = a * c[d] - b * s[d];
        v[d + half] = b * c[d + half] + a * s[d + half];
      }
    }
}

void add_into(float* x, const float* y, int64_t count) {
  for (int64_t j = 0; j < count; ++j) x[j] += y[j];
}

float* sized(std::vector<float>& buffer, int64_t count) {
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

void run_products(const float* x, int64_t n, int64_t in, const std::vector<SkinnyProduct>& products) {
  if (!skinny_products(x, n, in, products)) raise(ErrorKind::kInternal, "decode_step_cpu: no skinny kernel on this CPU");
}

}  // namespace

void set_fused_decode_layer_enabled(bool on) { enabled.store(on, std::memory_order_relaxed); }
bool fused_decode_layer_enabled() { return enabled.load(std::memory_order_relaxed); }

bool DecoderLayerImpl::decode_step_cpu_applies() const {
  for (const torch::Tensor& p : parameters())
    if (!p.is_contiguous() || !cpu_fp32_outside_autograd({&p})) return false;
  return true;
}

void DecoderLayerImpl::decode_step_cpu(float* x, int64_t n, const float* cos, const float* sin, torch::Tensor& keys,
                                       torch::Tensor& values, const std::vector<int64_t>& lengths, DecodeScratch& scratch) {
  const int64_t d = input_layernorm->weight.size(0), q_width = heads_ * head_dim_, kv_width = kv_heads_ * head_dim_;
  const int64_t ff = mlp->gate_proj->weight.size(0), capacity = keys.size(2);
  FASRL_CHECK(keys.is_contiguous() && values.is_contiguous() && keys.scalar_type() == torch::kFloat32 &&
                  static_cast<int64_t>(lengths.size()) == n,
              "decode_step_cpu: the slot cache must be contiguous fp32 with one length per row");
  float* normed = sized(scratch.normed, n * d);  // [n, D], later o_proj's and down_proj's output
  float* q = sized(scratch.q, n * q_width);        // [n, H, hd]
  float* k = sized(scratch.k, n * kv_width);       // [n, Hkv, hd]
  float* v = sized(scratch.v, n * kv_width);
  float* attention = sized(scratch.attention, n * q_width);
  float* gate = sized(scratch.gate, n * ff);  // [n, ff]
  float* up = sized(scratch.up, n * ff);

  rms_norm_rows(x, n, d, input_layernorm->weight.data_ptr<float>(), input_layernorm->eps(), normed);
  run_products(normed, n, d,
               {{self_attn->q_proj->weight.data_ptr<float>(), data_or_null(self_attn->q_proj->bias), q, q_width},
                {self_attn->k_proj->weight.data_ptr<float>(), data_or_null(self_attn->k_proj->bias), k, kv_width},
                {self_attn->v_proj->weight.data_ptr<float>(), data_or_null(self_attn->v_proj->bias), v, kv_width}});
  rotate_rows(q, n, heads_, head_dim_, cos, sin);
  rotate_rows(k, n, kv_heads_, head_dim_, cos, sin);
  // The new key and value of row i go to position lengths[i] of its slot.
  float* key_cache = keys.data_ptr<float>();
  float* value_cache = values.data_ptr<float>();
  std::vector<int64_t> visible(lengths.size());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t at = lengths[static_cast<size_t>(i)];
    FASRL_CHECK(at < capacity, "decode_step_cpu: a sequence outgrew the cache capacity ", capacity);
    for (int64_t g = 0; g < kv_heads_; ++g) {
      const int64_t to = ((i * kv_heads_ + g) * capacity + at) * head_dim_, from = (i * kv_heads_ + g) * head_dim_;
      std::copy(k + from, k + from + head_dim_, key_cache + to);
      std::copy(v + from, v + from + head_dim_, value_cache + to);
    }
    visible[static_cast<size_t>(i)] = at + 1;
  }
  const StridedKv key_view{key_cache, kv_heads_ * capacity * head_dim_, capacity * head_dim_, head_dim_};
  const StridedKv value_view{value_cache, kv_heads_ * capacity * head_dim_, capacity * head_dim_, head_dim_};
  decode_attention_rows(q, n, heads_, head_dim_, key_view, value_view, kv_heads_, visible, attention);
  run_products(attention, n, q_width, {{self_attn->o_proj->weight.data_ptr<float>(), nullptr, normed, d}});
  add_into(x, normed, n * d);  // residual

  rms_norm_rows(x, n, d, post_attention_layernorm->weight.data_ptr<float>(), post_attention_layernorm->eps(), normed);
  run_products(normed, n, d,
               {{mlp->gate_proj->weight.data_ptr<float>(), nullptr, gate, ff},
                {mlp->up_proj->weight.data_ptr<float>(), nullptr, up, ff}});
  for (int64_t j = 0; j < n * ff; ++j) gate[j] = gate[j] / (1.0f + std::exp(-gate[j])) * up[j];  // SwiGLU
  run_products(gate, n, ff, {{mlp->down_proj->weight.data_ptr<float>(), nullptr, normed, d}});
  add_into(x, normed, n * d);  // residual
}

}  // namespace fasrl::models
