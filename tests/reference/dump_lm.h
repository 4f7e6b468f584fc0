// Shared by dump_decoder and dump_mllm: the padding-masked token
// cross-entropy of `logits`, backward, and every parameter with its gradient
// added to `out` (param/<name>, grad/<name>) next to out/logits and out/loss.
#pragma once
#include <torch/torch.h>

#include "core/safetensors.h"

inline void dump_loss_and_gradients(torch::nn::Module& model, const torch::Tensor& logits, const torch::Tensor& targets,
                                    const torch::Tensor& pad, fasrl::TensorMap& out) {
  const torch::Tensor nll = torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  const torch::Tensor loss = (nll * pad.reshape({-1}).to(torch::kFloat64)).sum() / pad.sum();
  loss.backward();
  out["out/logits"] = logits.detach();
  out["out/loss"] = loss.detach();
  for (const auto& p : model.named_parameters()) {
    out["param/" + p.key()] = p.value().detach();
    out["grad/" + p.key()] = p.value().grad();
  }
}
