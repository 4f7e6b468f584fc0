// The progress line of a long non-training command (data synth/qa/pack,
// evaluation): "synth 1200/4800 (25%) | 310/s | ETA 11s". On a terminal the
// line is redrawn in place (at most 5 times a second); otherwise a plain line
// is printed at every tenth of the work and at least every 30 s, so log files
// and SLURM output stay readable. The training loop's line is
// trainer/progress.h; both format durations with format_duration.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/timer.h"

namespace fasrl {

// "42s", "3m05s", "1h02m".
std::string format_duration(double seconds);

class ProgressMeter {
 public:
  // `out` null: silent (callers pass null on ranks other than 0).
  ProgressMeter(std::string what, std::FILE* out);
  ~ProgressMeter();
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  // Resets the count and the clock; a non-empty `what` renames the line (e.g. "eval dev").
  void start(int64_t total, const std::string& what = "");
  void advance(int64_t n = 1);
  // The final line ("synth 4800/4800 (100%) in 15s | 320/s"); once.
  void finish();
  // The line for `done` of the total after `elapsed` seconds (no output).
  std::string text(int64_t done, double elapsed) const;

 private:
  void draw(bool final);
  std::string what_;
  std::FILE* out_;
  bool redraw_;
  int64_t total_ = 0, done_ = 0, next_tenth_ = 0;
  double last_draw_ = -1;
  bool open_ = false, finished_ = true;
  Stopwatch watch_;
};

}  // namespace fasrl
