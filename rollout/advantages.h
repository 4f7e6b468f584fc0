// Group-relative advantages (GRPO): A_i = (r_i − mean_G) / (std_G + eps), std
// unbiased as torch.std (R1-V / TRL); with scale = false, A_i = r_i − mean_G.
// rewards: [groups x G] flattened row-major.
#pragma once
#include <vector>

namespace fasrl::rollout {

std::vector<double> group_advantages(const std::vector<double>& rewards, int group_size, bool scale, double eps);

}  // namespace fasrl::rollout
