// Activation checkpointing (train.activation_checkpointing): a block runs
// without keeping its intermediate activations, and backward recomputes them
// from the block's saved input before back-propagating through it — memory
// for one block's activations plus the block inputs, at the price of a
// second forward. The recompute is the same computation on the same input,
// so gradients are identical (the blocks here draw no random numbers).
#pragma once
#include <torch/torch.h>

#include <functional>

namespace fasrl::models {

using Block = std::function<torch::Tensor(const torch::Tensor&)>;

// block(x) [any shape] with only x saved for backward. Plain block(x) when
// no gradient will flow (grad mode off or x not requiring grad).
torch::Tensor recompute_in_backward(const Block& block, const torch::Tensor& x);

// Switches checkpointing of every decoder layer and ViT/text encoder block
// inside `model` (the model itself or any submodule).
void set_activation_checkpointing(torch::nn::Module& model, bool on);

}  // namespace fasrl::models
