#include "models/skinny_linear.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <string>

#include "models/cpu_kernel_inputs.h"
#include "models/skinny_gemm.h"

namespace fasrl::models {
namespace {

// AVX-512 (4x6 tiles) beat sgemm at every batch measured up to 64 rows,
// AVX2 (4x3 tiles, 16 registers) up to 8.
int64_t measured_max_rows(const std::string& name) { return name == "avx512" ? 64 : name == "avx2" ? 8 : 0; }

struct Kernel {
  const char* name = "none";
  SkinnyGemmFn fn = best_skinny_gemm(&name);
  int64_t default_max_rows = measured_max_rows(name);  // decided once, not per call
};
const Kernel& kernel() {
  static const Kernel k;
  return k;
}
std::atomic<int64_t> max_rows{-1};  // negative: skinny_default_max_rows()

bool takes_skinny_path(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (kernel().fn == nullptr || !cpu_fp32_outside_autograd({&x, &weight, &bias})) return false;
  if (weight.dim() != 2 || !weight.is_contiguous() || (bias.defined() && !bias.is_contiguous())) return false;
  return x.dim() >= 1 && x.size(-1) == weight.size(1) && x.numel() > 0 &&
         x.numel() / x.size(-1) <= skinny_linear_max_rows();
}

}  // namespace

bool skinny_products(const float* x, int64_t n, int64_t in, const std::vector<SkinnyProduct>& products) {
  const SkinnyGemmFn fn = kernel().fn;
  if (fn == nullptr) return false;
  // Threads split the output columns of all products in blocks of 4; a chunk
  // streams at least ~64 KB of weights so small matrices stay on one thread.
  std::vector<int64_t> first_block{0};  // product p owns blocks [first_block[p], first_block[p + 1])
  for (const SkinnyProduct& p : products) first_block.push_back(first_block.back() + (p.out + 3) / 4);
  const int64_t grain = std::max<int64_t>(1, (64 << 10) / (4 * 4 * in));
  at::parallel_for(0, first_block.back(), grain, [&](int64_t begin, int64_t end) {
    for (size_t p = 0; p < products.size(); ++p) {
      const int64_t lo = std::max(begin, first_block[p]), hi = std::min(end, first_block[p + 1]);
      if (lo >= hi) continue;
      const SkinnyProduct& product = products[p];
      const int64_t col_begin = (lo - first_block[p]) * 4, col_end = std::min((hi - first_block[p]) * 4, product.out);
      fn(x, n, in, product.w, product.bias, product.y, product.out, col_begin, col_end);
    }
  });
  return true;
}

torch::Tensor apply_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (!takes_skinny_path(x, weight, bias)) return torch::linear(x, weight, bias);
  const int64_t in = weight.size(1), out = weight.size(0);
  const torch::Tensor rows = x.reshape({-1, in}).contiguous();  // [n, in]
  const int64_t n = rows.size(0);
  std::vector<int64_t> out_shape = x.sizes().vec();
  out_shape.back() = out;
  torch::Tensor y = torch::empty({n, out}, x.options());  // [n, out]
  skinny_products(rows.data_ptr<float>(), n, in,
                  {{weight.data_ptr<float>(), bias.defined() ? bias.data_ptr<float>() : nullptr, y.data_ptr<float>(), out}});
  return y.view(out_shape);
}

const char* skinny_kernel() { return kernel().name; }

void set_skinny_linear_max_rows(int64_t rows) { max_rows.store(rows, std::memory_order_relaxed); }

int64_t skinny_default_max_rows() { return kernel().default_max_rows; }

int64_t skinny_linear_max_rows() {
  if (kernel().fn == nullptr) return 0;
  const int64_t rows = max_rows.load(std::memory_order_relaxed);
  return rows < 0 ? skinny_default_max_rows() : rows;
}

}  // namespace fasrl::models
