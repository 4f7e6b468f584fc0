#include "metrics/fas_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.h"

namespace fasrl::metrics {

Roc roc_curve(const std::vector<double>& scores, const std::vector<int>& is_attack) {
  FASRL_CHECK(scores.size() == is_attack.size());
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double positives = 0, negatives = 0;
  for (int y : is_attack) (y ? positives : negatives) += 1;
  if (positives == 0 || negatives == 0)
    raise(ErrorKind::kInvalidArgument, "ROC needs both live and attack samples (got ", negatives, " live, ", positives,
          " attacks)");
  Roc roc;
  roc.fpr.push_back(0);
  roc.tpr.push_back(0);
  roc.thresholds.push_back(std::numeric_limits<double>::infinity());
  double tp = 0, fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    (is_attack[order[i]] ? tp : fp) += 1;
    // One ROC point per distinct score: emit after the last of a tie group.
    if (i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]]) {
      roc.fpr.push_back(fp / negatives);
      roc.tpr.push_back(tp / positives);
      roc.thresholds.push_back(scores[order[i]]);
    }
  }
  return roc;
}

double roc_auc(const Roc& roc) {
  double area = 0;
  for (size_t i = 1; i < roc.fpr.size(); ++i)
    area += (roc.fpr[i] - roc.fpr[i - 1]) * (roc.tpr[i] + roc.tpr[i - 1]) / 2;
  return area;
}

EqualError equal_error(const Roc& roc) {
  size_t best = 0;
  double best_gap = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < roc.fpr.size(); ++i) {
    const double gap = std::abs((1 - roc.tpr[i]) - roc.fpr[i]);
    if (gap < best_gap) best_gap = gap, best = i;  // first (highest threshold) on ties
  }
  return {(roc.fpr[best] + 1 - roc.tpr[best]) / 2, roc.thresholds[best]};
}

double tpr_at_fpr(const Roc& roc, double max_fpr) {
  double best = 0;
  for (size_t i = 0; i < roc.fpr.size(); ++i)
    if (roc.fpr[i] <= max_fpr) best = std::max(best, roc.tpr[i]);
  return best;
}

FasReport evaluate_at(const ScoredSamples& test, double threshold) {
  FasReport r;
  r.threshold = threshold;
  std::map<int, std::pair<size_t, size_t>> per_type;  // type -> (accepted as live, total)
  size_t live_rejected = 0, attacks_accepted = 0, correct = 0;
  for (size_t i = 0; i < test.size(); ++i) {
    const bool says_attack = test.scores[i] >= threshold;
    if (test.is_attack[i]) {
      ++r.num_attack;
      auto& t = per_type[test.attack_type[i]];
      ++t.second;
      if (!says_attack) ++t.first, ++attacks_accepted;
    } else {
      ++r.num_live;
      if (says_attack) ++live_rejected;
    }
    correct += says_attack == (test.is_attack[i] != 0);
  }
  if (r.num_live == 0 || r.num_attack == 0)
    raise(ErrorKind::kInvalidArgument, "FAS metrics need live and attack samples (got ", r.num_live, " live, ",
          r.num_attack, " attacks)");
  for (const auto& [type, counts] : per_type) {
    const double apcer = static_cast<double>(counts.first) / counts.second;
    r.apcer_per_type[type] = apcer;
    r.apcer = std::max(r.apcer, apcer);
  }
  r.bpcer = static_cast<double>(live_rejected) / r.num_live;
  r.acer = (r.apcer + r.bpcer) / 2;
  const double far = static_cast<double>(attacks_accepted) / r.num_attack;  // pooled over attack types
  r.hter = (far + r.bpcer) / 2;
  r.acc = static_cast<double>(correct) / test.size();
  const Roc roc = roc_curve(test.scores, test.is_attack);
  r.auc = roc_auc(roc);
  r.eer = equal_error(roc).eer;
  r.tpr_at_fpr_1e2 = tpr_at_fpr(roc, 1e-2);
  r.tpr_at_fpr_1e3 = tpr_at_fpr(roc, 1e-3);
  return r;
}

FasReport evaluate(const ScoredSamples& dev, const ScoredSamples& test) {
  return evaluate_at(test, equal_error(roc_curve(dev.scores, dev.is_attack)).threshold);
}

std::string report_to_json(const FasReport& r, const std::vector<std::string>& type_names) {
  nlohmann::json per_type = nlohmann::json::object();
  for (const auto& [type, v] : r.apcer_per_type)
    per_type[type >= 0 && static_cast<size_t>(type) < type_names.size() ? type_names[static_cast<size_t>(type)]
                                                                        : std::to_string(type)] = v;
  const double thr = std::isfinite(r.threshold) ? r.threshold : 1e300;
  nlohmann::json j = {{"threshold", thr},         {"apcer", r.apcer},   {"apcer_per_type", per_type},
                      {"bpcer", r.bpcer},         {"acer", r.acer},     {"hter", r.hter},
                      {"acc", r.acc},             {"auc", r.auc},       {"eer", r.eer},
                      {"tpr_at_fpr_1e-2", r.tpr_at_fpr_1e2}, {"tpr_at_fpr_1e-3", r.tpr_at_fpr_1e3},
                      {"num_live", r.num_live},   {"num_attack", r.num_attack}};
  return j.dump(2);
}

}  // namespace fasrl::metrics
