// Where the evaluation of a checkpoint is written, for every model family:
//   <run_dir>/eval/step-NNNNNN/report.json   (+ scores-dev.csv, scores-test.csv)
// and the same files directly in <run_dir>/eval/ — the run's current report —
// unless that report is of a later step (evaluating an old checkpoint never
// replaces the final report). Every report.json records the "step" and the
// "checkpoint" directory it evaluated.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace fasrl::eval {

struct EvalSource {
  int64_t step = 0;
  std::string checkpoint;  // the checkpoint directory evaluated
};

// "<run_dir>/eval/step-NNNNNN": where the evaluation of step `step` goes.
std::string eval_step_dir(const std::string& run_dir, int64_t step);

// `report_json`: a JSON object; `files`: name -> contents (score files).
// Returns the report text as written (with step and checkpoint).
std::string write_eval_outputs(const std::string& run_dir, const EvalSource& source, const std::string& report_json,
                               const std::map<std::string, std::string>& files);

}  // namespace fasrl::eval
