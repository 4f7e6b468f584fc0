// Strict weight loading: every parameter of a module must be in the tensor map
// with its shape (errors name the tensor and `source`, e.g. the file).
#pragma once
#include <torch/torch.h>

#include <string>

#include "core/safetensors.h"

namespace fasrl::models {

void copy_weights(torch::nn::Module& module, const TensorMap& tensors, const std::string& source);

}  // namespace fasrl::models
