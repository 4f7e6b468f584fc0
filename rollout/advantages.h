// Group-relative advantages (GRPO): A_i = (r_i − mean_G) / (std_G + eps), std
// unbiased as torch.std (R1-V / TRL); with scale = false, A_i = r_i − mean_G.
// rewards: [groups x G] flattened row-major.
#pragma once
#include <vector>

namespace fasrl::rollout {

std::vector<double> group_advantages(const std::vector<double>& rewards, int group_size, bool scale, double eps);

// Class-balanced group weights (train.grpo.balance_classes): group i of class
// c gets n / (k · n_c), where the n groups span k classes and n_c are of class
// c, so every class present carries the same total weight and the weights
// average 1. group_advantages normalises within a prompt's group, so without
// this a class with 3/4 of the prompts pushes the shared answer tokens 3x as
// hard as the other: the collapse to the majority answer (docs/reasoning.md).
std::vector<double> class_balance_weights(const std::vector<int>& group_class);

}  // namespace fasrl::rollout
