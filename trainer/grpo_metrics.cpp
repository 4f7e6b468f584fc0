#include "trainer/grpo_metrics.h"

#include <cmath>
#include <numeric>

#include "core/error.h"

namespace fasrl::trainer {
namespace {

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

double std_of(const std::vector<double>& v, double mean) {
  double s = 0;
  for (double x : v) s += (x - mean) * (x - mean);
  return v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size())) : 0;
}

}  // namespace

std::vector<double> GrpoMetrics::values() {
  std::vector<double> out;
  each([&](const char*, double& v) { out.push_back(v); });
  return out;
}

void GrpoMetrics::set_values(const std::vector<double>& values) {
  size_t i = 0;
  each([&](const char*, double& v) { v = values.at(i++); });
  FASRL_CHECK(i == values.size(), "GrpoMetrics has ", i, " fields, got ", values.size(), " values");
}

void GrpoMetrics::add_to(nlohmann::json& row) {
  each([&](const char* name, double& v) { row[name] = v; });
}

GrpoMetrics measure_grpo_step(const proto::RolloutBatch& batch, const GrpoLossTerms& loss, const torch::Tensor& entropy,
                              const torch::Tensor& mask, int64_t step) {
  std::vector<double> reward, format, accuracy, kg, overlong;
  for (const auto& group : batch.groups())
    for (const auto& c : group.completions()) {
      reward.push_back(c.reward());
      format.push_back(c.reward_terms().at("format"));
      accuracy.push_back(c.reward_terms().at("accuracy"));
      kg.push_back(c.reward_terms().at("kg"));
      const auto it = c.reward_terms().find("overlong");
      overlong.push_back(it == c.reward_terms().end() ? 0.0 : it->second);
    }
  GrpoMetrics m;
  m.reward = mean_of(reward), m.reward_std = std_of(reward, m.reward);
  m.reward_format = mean_of(format), m.reward_format_std = std_of(format, m.reward_format);
  m.reward_accuracy = mean_of(accuracy), m.reward_accuracy_std = std_of(accuracy, m.reward_accuracy);
  m.reward_kg = mean_of(kg), m.reward_kg_std = std_of(kg, m.reward_kg);
  const double mask_sum = mask.sum().item<double>();
  m.kl = loss.kl;
  m.clip_fraction = loss.clip_fraction;
  m.entropy = (entropy * mask).sum().item<double>() / mask_sum;
  m.response_length = mask_sum / static_cast<double>(mask.size(0));
  m.staleness = static_cast<double>(step - 1 - batch.policy_version());
  m.loss = loss.loss.item<double>();
  m.ratio = loss.ratio_mean;
  m.dual_clip_fraction = loss.dual_clip_fraction;
  m.tis_weight = loss.tis_weight_mean;
  m.reward_overlong = mean_of(overlong);
  m.dropped_groups = batch.dropped_groups();
  m.refill_batches = batch.refill_batches();
  return m;
}

}  // namespace fasrl::trainer
