#include "trainer/optim.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "core/error.h"

namespace fasrl::trainer {
namespace {

struct AdamScalars {
  float beta1, beta2, eps, weight_decay, step_size, bias2_sqrt, grad_scale, decay_factor;
  bool decoupled;
};

// One pass over a float32 CPU slice: read p, g, m, v once, write p, m, v once.
// The arithmetic follows torch.optim.Adam/AdamW step by step.
void adam_cpu_float(float* p, const float* g, float* m, float* v, int64_t n, const AdamScalars& s) {
  at::parallel_for(0, n, 16384, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float grad = g[i] * s.grad_scale;
      float param = p[i];
      if (s.decoupled)
        param *= s.decay_factor;
      else if (s.weight_decay != 0.0f)
        grad += s.weight_decay * param;
      const float mi = s.beta1 * m[i] + (1.0f - s.beta1) * grad;
      const float vi = s.beta2 * v[i] + (1.0f - s.beta2) * grad * grad;
      m[i] = mi;
      v[i] = vi;
      p[i] = param - s.step_size * mi / (std::sqrt(vi) / s.bias2_sqrt + s.eps);
    }
  });
}

// Any device or dtype: the same update as whole-slice tensor operations.
void adam_tensor_ops(torch::Tensor& p, const torch::Tensor& g, torch::Tensor& m, torch::Tensor& v, const AdamScalars& s) {
  torch::Tensor grad = g * s.grad_scale;
  if (s.decoupled)
    p.mul_(s.decay_factor);
  else if (s.weight_decay != 0.0f)
    grad.add_(p, s.weight_decay);
  m.mul_(s.beta1).add_(grad, 1.0 - s.beta1);
  v.mul_(s.beta2).addcmul_(grad, grad, 1.0 - s.beta2);
  p.addcdiv_(m, (v.sqrt() / s.bias2_sqrt).add_(s.eps), -s.step_size);
}

}  // namespace

FlatAdam::FlatAdam(const proto::OptimConfig& c, std::vector<torch::Tensor> params) : config_(c), params_(std::move(params)) {
  if (c.name() != "adam" && c.name() != "adamw") raise(ErrorKind::kConfig, "optim.name: '", c.name(), "' is not one of: adam, adamw");
  decoupled_ = c.name() == "adamw";
  for (const auto& p : params_) {
    if (p.dim() != 1 || !p.is_contiguous()) raise(ErrorKind::kInvalidArgument, "FlatAdam: parameters must be contiguous 1-D slices");
    exp_avg_.push_back(torch::zeros_like(p));
    exp_avg_sq_.push_back(torch::zeros_like(p));
  }
}

void FlatAdam::step(const std::vector<torch::Tensor>& grads, double lr, double grad_scale) {
  FASRL_CHECK(grads.size() == params_.size(), "FlatAdam::step: one gradient per parameter slice");
  torch::NoGradGuard no_grad;
  ++steps_;
  const double bias1 = 1.0 - std::pow(config_.beta1(), static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(config_.beta2(), static_cast<double>(steps_));
  const AdamScalars s{config_.beta1(),
                      config_.beta2(),
                      config_.eps(),
                      config_.weight_decay(),
                      static_cast<float>(lr / bias1),
                      static_cast<float>(std::sqrt(bias2)),
                      static_cast<float>(grad_scale),
                      static_cast<float>(1.0 - lr * config_.weight_decay()),
                      decoupled_};
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    const torch::Tensor& g = grads[i];
    FASRL_CHECK(g.numel() == p.numel(), "FlatAdam::step: gradient ", i, " has ", g.numel(), " elements, parameters ", p.numel());
    if (p.is_cpu() && p.scalar_type() == torch::kFloat32 && g.scalar_type() == torch::kFloat32 && g.is_contiguous())
      adam_cpu_float(p.data_ptr<float>(), g.data_ptr<float>(), exp_avg_[i].data_ptr<float>(), exp_avg_sq_[i].data_ptr<float>(),
                     p.numel(), s);
    else
      adam_tensor_ops(p, g, exp_avg_[i], exp_avg_sq_[i], s);
  }
}

int64_t FlatAdam::state_bytes() const {
  int64_t bytes = 0;
  for (size_t i = 0; i < exp_avg_.size(); ++i)
    bytes += (exp_avg_[i].numel() + exp_avg_sq_[i].numel()) * exp_avg_[i].element_size();
  return bytes;
}

double lr_at(int64_t step, int64_t total, const proto::OptimConfig& c) {
  const double base = c.lr();
  if (c.warmup_steps() > 0 && step < c.warmup_steps()) return base * static_cast<double>(step + 1) / c.warmup_steps();
  if (c.schedule() == "constant") return base;
  if (c.schedule() == "cosine") {
    const double span = std::max<int64_t>(1, total - c.warmup_steps());
    const double t = std::min(1.0, static_cast<double>(step - c.warmup_steps()) / span);
    const double floor = base * c.min_lr_ratio();
    return floor + (base - floor) * 0.5 * (1 + std::cos(M_PI * t));
  }
  raise(ErrorKind::kConfig, "optim.schedule: '", c.schedule(), "' is not one of: constant, cosine");
}

}  // namespace fasrl::trainer
