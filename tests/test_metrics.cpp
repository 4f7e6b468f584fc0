#include <gtest/gtest.h>

#include "metrics/fas_metrics.h"
#include "test_util.h"

using namespace fasrl::metrics;

TEST(Metrics, PerfectSeparation) {
  ScoredSamples s;
  for (int i = 0; i < 10; ++i) s.add(0.1 + 0.01 * i, 0, 0);
  for (int i = 0; i < 10; ++i) s.add(0.8 + 0.01 * i, 1, 1 + i % 3);
  const Roc roc = roc_curve(s.scores, s.is_attack);
  EXPECT_DOUBLE_EQ(roc_auc(roc), 1.0);
  EXPECT_DOUBLE_EQ(equal_error(roc).eer, 0.0);
  const FasReport r = evaluate(s, s);
  EXPECT_DOUBLE_EQ(r.acer, 0.0);
  EXPECT_DOUBLE_EQ(r.acc, 1.0);
  EXPECT_DOUBLE_EQ(r.tpr_at_fpr_1e3, 1.0);
}

TEST(Metrics, HandWorkedIsoExample) {
  // Threshold 0.5. Live: 0.2 0.6 (one rejected) -> BPCER 1/2.
  // Print (type 1): 0.7 0.4 (one accepted) -> APCER 1/2; replay (type 2): 0.9 0.8 0.3 -> 1/3.
  ScoredSamples s;
  for (double v : {0.2, 0.6}) s.add(v, 0, 0);
  for (double v : {0.7, 0.4}) s.add(v, 1, 1);
  for (double v : {0.9, 0.8, 0.3}) s.add(v, 1, 2);
  const FasReport r = evaluate_at(s, 0.5);
  EXPECT_DOUBLE_EQ(r.bpcer, 0.5);
  EXPECT_DOUBLE_EQ(r.apcer_per_type.at(1), 0.5);
  EXPECT_DOUBLE_EQ(r.apcer_per_type.at(2), 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.apcer, 0.5);                       // worst type
  EXPECT_DOUBLE_EQ(r.acer, 0.5);
  EXPECT_DOUBLE_EQ(r.hter, (2.0 / 5 + 0.5) / 2);        // FAR pooled over attacks
  EXPECT_DOUBLE_EQ(r.acc, 4.0 / 7);
}

TEST(Metrics, TiedScoresGiveOneRocPointPerDistinctScore) {
  ScoredSamples s;
  for (double v : {0.5, 0.5, 0.5, 0.1}) s.add(v, 0, 0);
  for (double v : {0.5, 0.5, 0.9}) s.add(v, 1, 1);
  const Roc roc = roc_curve(s.scores, s.is_attack);
  ASSERT_EQ(roc.thresholds.size(), 4u);  // +inf, 0.9, 0.5, 0.1
  EXPECT_DOUBLE_EQ(roc.fpr[2], 0.75);
  EXPECT_DOUBLE_EQ(roc.tpr[2], 1.0);
  EXPECT_DOUBLE_EQ(roc_auc(roc), 0.75);  // (0,0) (0,1/3) (.75,1) (1,1): 0.75*(2/3) + 0.25
}

TEST(Metrics, OneClassIsAClearError) {
  ScoredSamples s;
  s.add(0.3, 0, 0);
  fasrl::testing::expect_error([&] { evaluate_at(s, 0.5); }, {"live and attack"});
}
