// Strict weight loading: every parameter of a module must be in the tensor map
// with its shape (errors name the tensor and `source`, e.g. the file), except
// those `may_be_missing` allows (they keep their initialisation).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>

#include "core/safetensors.h"

namespace fasrl::models {

// Returns the number of parameters copied.
int copy_weights(torch::nn::Module& module, const TensorMap& tensors, const std::string& source,
                 const std::function<bool(const std::string& name)>& may_be_missing = nullptr);

}  // namespace fasrl::models
