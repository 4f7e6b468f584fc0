#include "models/weights.h"

#include "core/error.h"

namespace fasrl::models {

void copy_weights(torch::nn::Module& module, const TensorMap& tensors, const std::string& source) {
  torch::NoGradGuard g;
  for (auto& p : module.named_parameters()) {
    auto it = tensors.find(p.key());
    if (it == tensors.end() || it->second.sizes() != p.value().sizes())
      raise(ErrorKind::kCorruption, source, ": tensor '", p.key(), "' is missing or has the wrong shape");
    p.value().copy_(it->second);
  }
}

}  // namespace fasrl::models
