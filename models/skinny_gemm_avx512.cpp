// The skinny GEMM for AVX-512F (compiled with -mavx512f on x86-64 only).
#include <immintrin.h>

#include "models/skinny_gemm_kernel.h"

namespace fasrl::models {
namespace {

struct Avx512 {
  using reg = __m512;
  static constexpr int lanes = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static float sum(reg v) { return _mm512_reduce_add_ps(v); }
};

}  // namespace

// 4 weight rows × 6 input rows: 24 of the 32 zmm registers accumulate;
// up to 3 input rows, 8 weight rows × 3 (24 again).
void skinny_gemm_avx512(const float* x, int64_t n, int64_t in, const float* w, const float* bias, float* y, int64_t out,
                        int64_t col_begin, int64_t col_end) {
  skinny_gemm<Avx512, 6, 3>(x, n, in, w, bias, y, out, col_begin, col_end);
}

}  // namespace fasrl::models
