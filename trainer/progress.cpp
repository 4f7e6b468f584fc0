#include "trainer/progress.h"

#include <unistd.h>

#include <cmath>
#include <sstream>

namespace fasrl::trainer {

ProgressLine::ProgressLine(int64_t total_steps, int64_t start_step, std::FILE* out)
    : total_(total_steps), start_(start_step), out_(out), redraw_(out && isatty(fileno(out))) {}

std::string ProgressLine::text(const nlohmann::json& row, double elapsed) const {
  const int64_t step = row.value("step", int64_t{0});
  std::ostringstream line;
  line << "step " << step << "/" << total_ << " (" << (total_ > 0 ? 100 * step / total_ : 0) << "%)";
  const int64_t done = step - start_;
  if (done > 0 && elapsed > 0) {
    const double rate = static_cast<double>(done) / elapsed;
    char r[32];
    std::snprintf(r, sizeof r, rate >= 1 ? "%.1f steps/s" : "%.2f s/step", rate >= 1 ? rate : 1.0 / rate);
    line << " | " << r << " | ETA " << format_duration(static_cast<double>(total_ - step) / rate);
  }
  char v[48];
  for (const char* key : {"loss", "reward"})
    if (row.contains(key) && row[key].is_number()) {
      std::snprintf(v, sizeof v, " | %s %.4g", key, row[key].get<double>());
      line << v;
    }
  return line.str();
}

void ProgressLine::show(const nlohmann::json& row) {
  if (!out_) return;
  const std::string line = text(row, watch_.seconds());
  if (redraw_) {
    std::fprintf(out_, "\r\033[K%s", line.c_str());
    open_ = row.value("step", int64_t{0}) < total_;
    if (!open_) std::fputc('\n', out_);
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void ProgressLine::break_line() {
  if (open_ && out_) std::fputc('\n', out_);
  open_ = false;
}

}  // namespace fasrl::trainer
