#include "core/progress_meter.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace fasrl {

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s / 60 % 60));
  return buf;
}

ProgressMeter::ProgressMeter(std::string what, std::FILE* out)
    : what_(std::move(what)), out_(out), redraw_(out && isatty(fileno(out))) {}

ProgressMeter::~ProgressMeter() {
  if (open_ && out_) std::fputc('\n', out_);  // an error mid-way: leave the line, end it
}

void ProgressMeter::start(int64_t total, const std::string& what) {
  if (!what.empty()) what_ = what;
  total_ = std::max<int64_t>(0, total);
  done_ = 0;
  next_tenth_ = 1;
  last_draw_ = -1;
  finished_ = false;
  watch_.reset();
}

std::string ProgressMeter::text(int64_t done, double elapsed) const {
  std::ostringstream line;
  line << what_ << " " << done << "/" << total_ << " (" << (total_ > 0 ? 100 * done / total_ : 100) << "%)";
  if (done > 0 && elapsed > 0) {
    const double rate = static_cast<double>(done) / elapsed;
    char r[32];
    std::snprintf(r, sizeof r, rate >= 1 ? "%.0f/s" : "%.1f s each", rate >= 1 ? rate : 1.0 / rate);
    if (done >= total_) line << " in " << format_duration(elapsed) << " | " << r;
    else line << " | " << r << " | ETA " << format_duration(static_cast<double>(total_ - done) / rate);
  }
  return line.str();
}

void ProgressMeter::advance(int64_t n) {
  done_ += n;
  if (!out_ || finished_) return;
  const double now = watch_.seconds();
  if (redraw_) {
    if (now - last_draw_ >= 0.2) draw(false);
  } else if (done_ >= total_) {
    // the last line is finish()'s
  } else if (done_ * 10 >= next_tenth_ * total_) {  // each tenth of the work
    draw(false);
    next_tenth_ = done_ * 10 / total_ + 1;
  } else if (now - last_draw_ >= 30) {
    draw(false);
  }
}

void ProgressMeter::finish() {
  if (finished_) return;
  if (out_) draw(true);
  finished_ = true;
}

void ProgressMeter::draw(bool final) {
  const double now = watch_.seconds();
  const std::string line = text(done_, now);
  if (redraw_) {
    std::fprintf(out_, "\r\033[K%s", line.c_str());
    open_ = !final;
    if (final) std::fputc('\n', out_);
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
  last_draw_ = now;
}

}  // namespace fasrl
