#pragma once
// When fasrl's hand-written CPU kernels (models/skinny_linear.h,
// models/decode_attention.h) may stand in for torch ops: every given tensor
// that is defined lives on the CPU in float32, and autograd would record none
// of them (outside training, or nothing requires grad).
#include <torch/torch.h>

#include <initializer_list>

namespace fasrl::models {

inline bool cpu_fp32_outside_autograd(std::initializer_list<const torch::Tensor*> tensors) {
  const bool recording = torch::GradMode::is_enabled();
  for (const torch::Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!t->device().is_cpu() || t->scalar_type() != torch::kFloat32 || (recording && t->requires_grad())) return false;
  }
  return true;
}

}  // namespace fasrl::models
