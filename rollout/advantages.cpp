#include "rollout/advantages.h"

#include <cmath>
#include <map>

#include "core/error.h"

namespace fasrl::rollout {

std::vector<double> group_advantages(const std::vector<double>& rewards, int g, bool scale, double eps) {
  if (g < 1 || rewards.size() % static_cast<size_t>(g) != 0)
    raise(ErrorKind::kInvalidArgument, "group_advantages: ", rewards.size(), " rewards do not split into groups of ", g);
  std::vector<double> out(rewards.size());
  for (size_t start = 0; start < rewards.size(); start += static_cast<size_t>(g)) {
    double mean = 0;
    for (int i = 0; i < g; ++i) mean += rewards[start + static_cast<size_t>(i)];
    mean /= g;
    double var = 0;
    for (int i = 0; i < g; ++i) var += std::pow(rewards[start + static_cast<size_t>(i)] - mean, 2);
    const double std = g > 1 ? std::sqrt(var / (g - 1)) : 0.0;
    for (int i = 0; i < g; ++i) {
      const double a = rewards[start + static_cast<size_t>(i)] - mean;
      out[start + static_cast<size_t>(i)] = scale ? a / (std + eps) : a;
    }
  }
  return out;
}

std::vector<double> class_balance_weights(const std::vector<int>& group_class) {
  std::map<int, int> count;
  for (int c : group_class) ++count[c];
  const double n = static_cast<double>(group_class.size()), k = static_cast<double>(count.size());
  std::vector<double> out;
  out.reserve(group_class.size());
  for (int c : group_class) out.push_back(n / (k * count[c]));
  return out;
}

}  // namespace fasrl::rollout
