#pragma once
// The skinny GEMM kernel, written once over a vector type V and compiled by
// each instruction-set file. Everything here has internal linkage: the same
// template compiled with different -m flags must not be merged by the linker.
//
// Why not torch::linear: with few rows, addmm calls OpenBLAS sgemm, which
// packs the whole weight matrix on every call; this kernel streams each
// weight row once from memory and reuses it, from registers, for all input
// rows (measured 2.3x faster at one row, 1.9x at eight; see docs/reasoning.md).
#include <cstdint>

namespace fasrl::models {
namespace {

// Dot products of R weight rows with C input rows: R×C vector accumulators,
// one weight load and C input loads per R×C fused multiply-adds. The loops
// over R and C must be unrolled for the accumulators to live in registers:
// GCC's -O2 left them in memory and ran 3-4x slower (measured), hence the
// pragmas rather than relying on the build's optimisation level.
template <typename V, int R, int C>
inline void skinny_tile(const float* w, const float* x, int64_t in, const float* bias, float* y, int64_t out, int64_t r) {
  typename V::reg acc[R][C];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < C; ++j) acc[i][j] = V::zero();
  const int64_t vec_end = in - in % V::lanes;
  for (int64_t k = 0; k < vec_end; k += V::lanes) {
    typename V::reg xv[C];
#pragma GCC unroll 8
    for (int j = 0; j < C; ++j) xv[j] = V::load(x + j * in + k);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const typename V::reg wv = V::load(w + i * in + k);
#pragma GCC unroll 8
      for (int j = 0; j < C; ++j) acc[i][j] = V::fma(wv, xv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) {
      float s = V::sum(acc[i][j]);
      for (int64_t k = vec_end; k < in; ++k) s += w[i * in + k] * x[j * in + k];
      y[j * out + r + i] = bias ? s + bias[r + i] : s;
    }
}

// The last `left` (< C) input rows in one tile of that width, so every tile
// keeps its weight loads shared across all its rows.
template <typename V, int R, int C>
inline void skinny_tail(int64_t left, const float* w, const float* x, int64_t in, const float* bias, float* y, int64_t out,
                        int64_t r) {
  if constexpr (C > 0) {
    if (left == C)
      skinny_tile<V, R, C>(w, x, in, bias, y, out, r);
    else
      skinny_tail<V, R, C - 1>(left, w, x, in, bias, y, out, r);
  }
}

// R weight rows (output columns) against all n input rows, C at a time.
template <typename V, int R, int C>
inline void skinny_rows(const float* x, int64_t n, int64_t in, const float* w, const float* bias, float* y, int64_t out,
                        int64_t r) {
  int64_t j = 0;
  for (; j + C <= n; j += C) skinny_tile<V, R, C>(w + r * in, x + j * in, in, bias, y + j * out, out, r);
  skinny_tail<V, R, C - 1>(n - j, w + r * in, x + j * in, in, bias, y + j * out, out, r);
}

// Blocks of 4 weight rows (tiles of C input rows); leftover weight rows one
// at a time. With at most C8 input rows, blocks of 8 weight rows instead: 8
// concurrent weight streams read memory faster than 4 (2 Zen 5 cores, one
// 400 MB GEMV: 62 vs 48 GB/s), which is what batch-1 decoding is bound by.
template <typename V, int C, int C8>
void skinny_gemm(const float* x, int64_t n, int64_t in, const float* w, const float* bias, float* y, int64_t out,
                 int64_t col_begin, int64_t col_end) {
  int64_t r = col_begin;
  if (n <= C8)
    for (; r + 8 <= col_end; r += 8) skinny_rows<V, 8, C8>(x, n, in, w, bias, y, out, r);
  for (; r + 4 <= col_end; r += 4) skinny_rows<V, 4, C>(x, n, in, w, bias, y, out, r);
  for (; r < col_end; ++r) skinny_rows<V, 1, C>(x, n, in, w, bias, y, out, r);
}

}  // namespace
}  // namespace fasrl::models
