// The skinny GEMM for AVX2 + FMA (compiled with -mavx2 -mfma on x86-64 only).
#include <immintrin.h>

#include "models/skinny_gemm_kernel.h"

namespace fasrl::models {
namespace {

struct Avx2 {
  using reg = __m256;
  static constexpr int lanes = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static float sum(reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(_mm_hadd_ps(s, s));
  }
};

}  // namespace

// 4 weight rows × 3 input rows: 12 accumulators + 3 inputs + 1 weight = the 16 ymm registers;
// for one input row, 8 weight rows × 1 (8 + 1 + 1).
void skinny_gemm_avx2(const float* x, int64_t n, int64_t in, const float* w, const float* bias, float* y, int64_t out,
                      int64_t col_begin, int64_t col_end) {
  skinny_gemm<Avx2, 3, 1>(x, n, in, w, bias, y, out, col_begin, col_end);
}

}  // namespace fasrl::models
