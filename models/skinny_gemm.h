#pragma once
// Few-row matrix products for decoding on x86 CPUs, without torch: the
// kernels are compiled per instruction set (skinny_gemm_avx2.cpp,
// skinny_gemm_avx512.cpp) and chosen at run time by skinny_linear.cpp.
#include <cstdint>
#include <string>

namespace fasrl::models {

// y[n, out] = x[n, in] · w[out, in]^T (+ bias[out]) for the output columns
// [col_begin, col_end); fp32, row-major, contiguous. bias may be null.
using SkinnyGemmFn = void (*)(const float* x, int64_t n, int64_t in, const float* w, const float* bias, float* y,
                              int64_t out, int64_t col_begin, int64_t col_end);

// The kernel for instruction set `isa` ("avx2" or "avx512"), or null where it
// was not built (not x86-64) or this CPU lacks it.
SkinnyGemmFn skinny_gemm_for(const std::string& isa);

// The kernel of this CPU's widest instruction set, or null; `name` gets
// "avx512", "avx2" or "none".
SkinnyGemmFn best_skinny_gemm(const char** name);

}  // namespace fasrl::models
