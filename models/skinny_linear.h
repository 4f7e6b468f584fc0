#pragma once
// apply_linear() for the decoder: torch::linear, except that a CPU fp32 input of at
// most kSkinnyDefaultMaxRows rows outside autograd (a decode step) goes to the
// skinny GEMM kernel of models/skinny_gemm.h.
#include <torch/torch.h>

namespace fasrl::models {

// Up to this many rows the kernel is used (measured on 2 Zen 4 cores against
// OpenBLAS sgemm: see docs/reasoning.md); beyond it torch decides.
inline constexpr int64_t kSkinnyDefaultMaxRows = 8;

// x [..., in] · weight[out, in]^T + bias[out] -> [..., out].
torch::Tensor apply_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});
inline torch::Tensor apply_linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return apply_linear(x, layer->weight, layer->bias);
}

// The kernel in use on this CPU: "avx512", "avx2", or "none" (torch always).
const char* skinny_kernel();
// Rows up to which the kernel is used; 0 = torch::linear always (benchmarks
// compare both, tests check equality).
void set_skinny_linear_max_rows(int64_t rows);

}  // namespace fasrl::models
