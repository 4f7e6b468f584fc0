// The training progress line: step/total, rate, ETA, latest loss/reward.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "trainer/progress.h"

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
