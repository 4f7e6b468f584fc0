#include "launch/summary.h"

#include <algorithm>
#include <cstdio>

#include "core/io.h"

namespace fasrl::launch {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// Left-aligned columns, two spaces apart, indented by two.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], r[c].size());
    }
  for (const auto& r : rows) {
    std::string line = " ";
    for (size_t c = 0; c < r.size(); ++c) line += " " + r[c] + std::string(c + 1 < r.size() ? width[c] - r[c].size() + 1 : 0, ' ');
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  }
}

std::vector<std::vector<std::string>> fas_rows(const metrics::FasReport& r, const std::vector<std::string>& fine_labels) {
  std::string worst;
  for (const auto& [type, apcer] : r.apcer_per_type)
    if (apcer == r.apcer && worst.empty()) worst = type < static_cast<int>(fine_labels.size()) ? fine_labels[type] : std::to_string(type);
  return {{"ACER", num(r.acer), "(APCER + BPCER) / 2"},
          {"APCER", num(r.apcer), "worst attack type" + (worst.empty() ? "" : ": " + worst)},
          {"BPCER", num(r.bpcer), "live faces rejected"},
          {"HTER", num(r.hter), "attacks pooled"},
          {"AUC", num(r.auc), "threshold-free"},
          {"EER", num(r.eer), ""}};
}

}  // namespace

void print_fas_summary(std::ostream& out, const std::string& title, const metrics::FasReport& report,
                       const std::vector<std::string>& fine_labels) {
  out << title << " (test; threshold " << num(report.threshold) << " chosen on dev; " << report.num_live << " live, "
      << report.num_attack << " attacks)\n";
  print_table(out, fas_rows(report, fine_labels));
}

void print_mllm_summary(std::ostream& out, const std::string& title, const eval::MllmEvaluation& e,
                        const std::vector<std::string>& fine_labels) {
  out << title << " (" << e.protocol << " test, greedy answers)\n";
  std::vector<std::vector<std::string>> rows = {{"question", "accuracy", "balanced", "majority", "well formed", "reward"}};
  for (const auto& [kind, k] : e.test.kinds)
    rows.push_back({kind, num(k.accuracy()), num(k.balanced_accuracy()), num(k.majority()),
                    num(k.items ? static_cast<double>(k.well_formed) / k.items : 0), num(k.mean_reward())});
  print_table(out, rows);
  if (e.has_fas) print_fas_summary(out, "P(attack) from the binary answer", e.fas, fine_labels);
}

void print_report_path(std::ostream& out, const std::string& run_dir, int64_t step) {
  out << "report: " << join_path(eval::eval_step_dir(run_dir, step), "report.json") << "\n";
}

}  // namespace fasrl::launch
