// The human progress line of a training run (rank 0): step/total, rate, ETA
// and the latest loss/reward, e.g.
//   step 120/600 (20%) | 8.1 steps/s | ETA 59s | loss 0.4210 | reward 1.250
// Redrawn in place on a terminal, one plain line per logged step otherwise
// (log files and SLURM output stay readable). metrics.jsonl keeps the numbers.
#pragma once
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "core/progress_meter.h"
#include "core/timer.h"

namespace fasrl::trainer {

using fasrl::format_duration;  // "42s", "3m05s", "1h02m" (core/progress_meter.h)

class ProgressLine {
 public:
  // start_step: the step this process began at (after a resume, not 0).
  ProgressLine(int64_t total_steps, int64_t start_step, std::FILE* out);
  // A row of metrics.jsonl with "step"; writes the line.
  void show(const nlohmann::json& row);
  // Ends a redrawn line before other output (a log line, the summary).
  void break_line();
  // The text for `row` at `elapsed` seconds since start (no output).
  std::string text(const nlohmann::json& row, double elapsed) const;

 private:
  int64_t total_, start_;
  std::FILE* out_;
  bool redraw_;
  bool open_ = false;
  Stopwatch watch_;
};

}  // namespace fasrl::trainer
