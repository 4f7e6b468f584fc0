// What a run shows while it goes: the progress line (step/total, rate, ETA,
// latest loss/reward) and its TensorBoard event files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/progress_meter.h"
#include "trainer/progress.h"
#include "trainer/tensorboard_writer.h"

using fasrl::trainer::format_duration;
using fasrl::trainer::ProgressLine;

TEST(Progress, DurationsReadLikeAClock) {
  EXPECT_EQ(format_duration(0.4), "0s");
  EXPECT_EQ(format_duration(42), "42s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
}

TEST(Progress, RateAndEtaCountOnlyThisProcessSteps) {
  // Resumed at step 100 of 600; 50 steps in 10 s -> 5 steps/s, 450 left -> 90 s.
  const ProgressLine p(600, 100, nullptr);
  EXPECT_EQ(p.text({{"step", 150}, {"loss", 0.42118}, {"reward", 1.25}}, 10.0),
            "step 150/600 (25%) | 5.0 steps/s | ETA 1m30s | loss 0.4212 | reward 1.25");
  // Slow steps read as seconds per step; no rate before the first step.
  EXPECT_EQ(p.text({{"step", 101}, {"loss", 2.0}}, 4.0), "step 101/600 (16%) | 4.00 s/step | ETA 33m16s | loss 2");
  EXPECT_EQ(p.text({{"step", 100}}, 0.0), "step 100/600 (16%)");
}

TEST(Progress, PlainLinesWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ProgressLine p(10, 0, f);
  p.show({{"step", 5}, {"loss", 1.0}});
  p.break_line();  // nothing to break: plain lines already end
  p.show({{"step", 10}, {"loss", 0.5}});
  std::rewind(f);
  char buf[256] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const std::string out(buf, n);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  EXPECT_NE(out.find("step 10/10 (100%)"), std::string::npos) << out;
}

// ---- TensorBoard event files (trainer/tensorboard_writer.h) ----

TEST(TensorBoard, Crc32cMatchesTheStandardCheckValues) {
  const std::string digits = "123456789";
  EXPECT_EQ(fasrl::trainer::crc32c(digits.data(), digits.size()), 0xE3069283u);  // RFC 3720 B.4 check value
  const std::string zeros(32, '\0');
  EXPECT_EQ(fasrl::trainer::crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of 0
}

TEST(TensorBoard, RecordFramesLengthAndDataWithMaskedCrcs) {
  const std::string rec = fasrl::trainer::tfrecord("abc");
  ASSERT_EQ(rec.size(), 8u + 4u + 3u + 4u);
  EXPECT_EQ(static_cast<unsigned char>(rec[0]), 3u);  // little-endian uint64 length
  EXPECT_EQ(rec.substr(12, 3), "abc");
  uint32_t stored = 0;
  std::memcpy(&stored, rec.data() + 15, 4);
  EXPECT_EQ(stored, fasrl::trainer::masked_crc32c("abc", 3));
  EXPECT_NE(stored, fasrl::trainer::crc32c("abc", 3));  // masked, not raw
}

TEST(TensorBoard, RowsBecomeTaggedScalars) {
  const auto step = fasrl::trainer::row_scalars(
      nlohmann::json::parse(R"({"step":20,"time":1.5,"loss":0.25,"lr":0.001,"note":"x","rewards":{"format":1}})"));
  std::map<std::string, double> got(step.begin(), step.end());
  EXPECT_EQ(got, (std::map<std::string, double>{{"train/loss", 0.25}, {"train/lr", 0.001}, {"train/rewards/format", 1.0}}));
  const auto ev = fasrl::trainer::row_scalars(nlohmann::json::parse(R"({"eval":"final","step":600,"acer":0.5})"));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].first, "eval/acer");
}

// ---- The progress line of long non-training commands (core/progress_meter.h) ----

TEST(ProgressMeter, LineShowsCountRateAndEta) {
  fasrl::ProgressMeter m("synth", nullptr);
  m.start(4800);
  EXPECT_EQ(m.text(1200, 4.0), "synth 1200/4800 (25%) | 300/s | ETA 12s");
  EXPECT_EQ(m.text(4800, 15.0), "synth 4800/4800 (100%) in 15s | 320/s");
  EXPECT_EQ(m.text(0, 0.0), "synth 0/4800 (0%)");
  m.start(10, "eval dev");
  EXPECT_EQ(m.text(2, 10.0), "eval dev 2/10 (20%) | 5.0 s each | ETA 40s");
}

TEST(ProgressMeter, LogFilesGetALineEachTenthAndOneAtTheEnd) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    fasrl::ProgressMeter m("pack", f);  // a file: plain lines, never redrawn
    m.start(200);
    for (int i = 0; i < 200; ++i) m.advance();
    m.finish();
    m.finish();  // once
  }
  std::rewind(f);
  std::vector<std::string> lines;
  char buf[256];
  while (std::fgets(buf, sizeof buf, f)) lines.emplace_back(buf);
  std::fclose(f);
  ASSERT_EQ(lines.size(), 10u);  // 10%, 20%, ..., 90%, then the final line
  EXPECT_EQ(lines[0].rfind("pack 20/200 (10%)", 0), 0u) << lines[0];
  EXPECT_EQ(lines[9].rfind("pack 200/200 (100%) in ", 0), 0u) << lines[9];
  for (const auto& l : lines) EXPECT_EQ(l.find('\r'), std::string::npos);
}
