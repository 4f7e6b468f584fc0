#include "models/skinny_linear.h"

#include <ATen/Parallel.h>

#include <atomic>

#include "models/cpu_kernel_inputs.h"
#include "models/skinny_gemm.h"

namespace fasrl::models {
namespace {

struct Kernel {
  const char* name = "none";
  SkinnyGemmFn fn = best_skinny_gemm(&name);
};
const Kernel& kernel() {
  static const Kernel k;
  return k;
}
std::atomic<int64_t> max_rows{kSkinnyDefaultMaxRows};

bool takes_skinny_path(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (kernel().fn == nullptr || !cpu_fp32_outside_autograd({&x, &weight, &bias})) return false;
  if (weight.dim() != 2 || !weight.is_contiguous() || (bias.defined() && !bias.is_contiguous())) return false;
  return x.dim() >= 1 && x.size(-1) == weight.size(1) && x.numel() > 0 &&
         x.numel() / x.size(-1) <= max_rows.load(std::memory_order_relaxed);
}

}  // namespace

torch::Tensor apply_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (!takes_skinny_path(x, weight, bias)) return torch::linear(x, weight, bias);
  const int64_t in = weight.size(1), out = weight.size(0);
  const torch::Tensor rows = x.reshape({-1, in}).contiguous();  // [n, in]
  const int64_t n = rows.size(0);
  std::vector<int64_t> out_shape = x.sizes().vec();
  out_shape.back() = out;
  torch::Tensor y = torch::empty({n, out}, x.options());  // [n, out]
  const float* xp = rows.data_ptr<float>();
  const float* wp = weight.data_ptr<float>();
  const float* bp = bias.defined() ? bias.data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  // Threads split the output columns in blocks of 4; a chunk streams at
  // least ~64 KB of weights so small matrices stay on one thread.
  const int64_t blocks = (out + 3) / 4;
  const int64_t grain = std::max<int64_t>(1, (64 << 10) / (4 * 4 * in));
  const SkinnyGemmFn fn = kernel().fn;
  at::parallel_for(0, blocks, grain, [&](int64_t begin, int64_t end) {
    fn(xp, n, in, wp, bp, yp, out, begin * 4, std::min(end * 4, out));
  });
  return y.view(out_shape);
}

const char* skinny_kernel() { return kernel().name; }

void set_skinny_linear_max_rows(int64_t rows) { max_rows.store(rows, std::memory_order_relaxed); }

}  // namespace fasrl::models
