// The short human summaries that end `fasrl train` and `fasrl eval`: a small
// aligned table of the key figures and where the full report is. The numbers
// themselves live in eval/report.json and metrics.jsonl; this is for people.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "eval/mllm_eval.h"
#include "metrics/fas_metrics.h"

namespace fasrl::launch {

// FAS metrics on test at the dev threshold. `fine_labels` names the attack types.
void print_fas_summary(std::ostream& out, const std::string& title, const metrics::FasReport& report,
                       const std::vector<std::string>& fine_labels);

// Answer accuracy per question kind (against the majority baseline) and, when
// defined, the FAS metrics of P(attack).
void print_mllm_summary(std::ostream& out, const std::string& title, const eval::MllmEvaluation& e,
                        const std::vector<std::string>& fine_labels);

// "report: <run_dir>/eval/step-NNNNNN/report.json".
void print_report_path(std::ostream& out, const std::string& run_dir, int64_t step);

}  // namespace fasrl::launch
