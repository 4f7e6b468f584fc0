#include "models/weights.h"

#include <sstream>

#include "core/error.h"

namespace fasrl::models {

int copy_weights(torch::nn::Module& module, const TensorMap& tensors, const std::string& source,
                 const std::function<bool(const std::string& name)>& may_be_missing) {
  torch::NoGradGuard g;
  int copied = 0;
  for (auto& p : module.named_parameters()) {
    auto it = tensors.find(p.key());
    if (it == tensors.end()) {
      if (may_be_missing && may_be_missing(p.key())) continue;
      raise(ErrorKind::kCorruption, source, ": tensor '", p.key(), "' is missing");
    }
    if (it->second.sizes() != p.value().sizes()) {
      std::ostringstream os;
      os << source << ": tensor '" << p.key() << "' has shape " << it->second.sizes() << ", the model expects "
         << p.value().sizes();
      raise(ErrorKind::kCorruption, os.str());
    }
    p.value().copy_(it->second);
    ++copied;
  }
  return copied;
}

}  // namespace fasrl::models
