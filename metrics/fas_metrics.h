// Face anti-spoofing metrics (ISO/IEC 30107-3 names, DESIGN.md section 9).
//
// Convention: a score is "how much of an attack" — higher means more likely an
// attack; a sample is classified as an attack when score >= threshold.
// Positive class = attack. Thresholds are chosen on the dev split and applied
// to test; nothing here ever looks at test labels to pick a threshold.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace fasrl::metrics {

struct ScoredSamples {
  std::vector<double> scores;
  std::vector<int> is_attack;    // 0 bona fide (live), 1 attack
  std::vector<int> attack_type;  // fine label id (0 for live), for per-type APCER
  void add(double score, int attack, int type) {
    scores.push_back(score);
    is_attack.push_back(attack);
    attack_type.push_back(type);
  }
  size_t size() const { return scores.size(); }
};

// ROC over every distinct score (as sklearn's roc_curve with
// drop_intermediate=False): thresholds descending, the first one +inf.
struct Roc {
  std::vector<double> fpr, tpr, thresholds;
};
Roc roc_curve(const std::vector<double>& scores, const std::vector<int>& is_attack);
double roc_auc(const Roc& roc);  // trapezoids over (fpr, tpr)

// Equal error rate: at the ROC point where |FNR - FPR| is smallest,
// EER = (FPR + FNR) / 2; `threshold` is that point's threshold.
struct EqualError {
  double eer = 0;
  double threshold = 0;
};
EqualError equal_error(const Roc& roc);

// Largest TPR among ROC points whose FPR <= max_fpr.
double tpr_at_fpr(const Roc& roc, double max_fpr);

struct FasReport {
  double threshold = 0;                        // from dev
  double apcer = 0;                            // worst attack type
  std::map<int, double> apcer_per_type;        // attack type -> APCER
  double bpcer = 0, acer = 0, hter = 0, acc = 0;
  double auc = 0, eer = 0;                     // threshold-free, on test
  double tpr_at_fpr_1e2 = 0, tpr_at_fpr_1e3 = 0;
  size_t num_live = 0, num_attack = 0;
};

// Threshold at dev's EER point, then every metric on test.
FasReport evaluate(const ScoredSamples& dev, const ScoredSamples& test);
// Every metric on test at a given threshold.
FasReport evaluate_at(const ScoredSamples& test, double threshold);

// JSON object; `type_names[i]` names attack type i in apcer_per_type.
std::string report_to_json(const FasReport& report, const std::vector<std::string>& type_names);

}  // namespace fasrl::metrics
