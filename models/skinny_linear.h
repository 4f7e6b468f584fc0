#pragma once
// apply_linear() for the decoder: torch::linear, except that a CPU fp32 input of at
// most skinny_linear_max_rows() rows outside autograd (a decode step) goes to the
// skinny GEMM kernel of models/skinny_gemm.h.
#include <torch/torch.h>

#include <vector>

namespace fasrl::models {

// Up to this many rows the kernel is used by default, per kernel (measured on
// Zen 4 against Debian's OpenBLAS sgemm, which runs its AVX2 kernels there:
// see docs/reasoning.md); beyond it torch decides. 0 where there is no kernel.
int64_t skinny_default_max_rows();

// x [..., in] · weight[out, in]^T + bias[out] -> [..., out].
torch::Tensor apply_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});
inline torch::Tensor apply_linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return apply_linear(x, layer->weight, layer->bias);
}

// One product of skinny_products(): y[n, out] = x · w[out, in]^T (+ bias[out]).
struct SkinnyProduct {
  const float* w;
  const float* bias;  // may be null
  float* y;
  int64_t out;
};

// Several products of the same input rows x [n, in] (fp32, contiguous) in
// one parallel region, so a layer's q/k/v (or gate/up) projections cost one
// fork/join, not three. Returns false (nothing done) where this CPU has no
// kernel; the caller must then use torch.
bool skinny_products(const float* x, int64_t n, int64_t in, const std::vector<SkinnyProduct>& products);

// The kernel in use on this CPU: "avx512", "avx2", or "none" (torch always).
const char* skinny_kernel();
// Rows up to which the kernel is used (apply_linear and the fused decode
// layer, models/decode_layer_cpu.h); 0 = torch::linear always (benchmarks
// compare both, tests check equality); negative = the default.
void set_skinny_linear_max_rows(int64_t rows);
int64_t skinny_linear_max_rows();

}  // namespace fasrl::models
