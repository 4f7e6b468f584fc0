#include <gtest/gtest.h>

#include <set>

#include "comm/bucketing.h"

using namespace fasrl::comm;

TEST(Bucketing, ReverseOrderFirstBucketSmallThenCap) {
  // 10 float tensors of 400 KB: first bucket closes at >= 1 MB (3 tensors), then >= 2 MB (5 each).
  std::vector<TensorSpec> t(10, {400'000, 6});
  const auto b = assign_buckets(t, 2'000'000, 1'000'000);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], (std::vector<int>{9, 8, 7}));
  EXPECT_EQ(b[1], (std::vector<int>{6, 5, 4, 3, 2}));
  EXPECT_EQ(b[2], (std::vector<int>{1, 0}));
}

TEST(Bucketing, DtypesNeverShareABucketAndHugeTensorsStandAlone) {
  std::vector<TensorSpec> t{{100, 6}, {100, 15}, {50'000'000, 6}, {100, 15}, {100, 6}};
  const auto b = assign_buckets(t, 25 << 20, 1 << 20);
  std::set<int> seen;
  for (const auto& bucket : b) {
    for (int i : bucket) {
      EXPECT_TRUE(seen.insert(i).second);
      EXPECT_EQ(t[static_cast<size_t>(i)].dtype, t[static_cast<size_t>(bucket[0])].dtype);
    }
  }
  EXPECT_EQ(seen.size(), t.size());
  bool huge_alone = false;
  for (const auto& bucket : b) huge_alone |= bucket == std::vector<int>{2} || (bucket.size() == 2 && bucket[1] == 2);
  EXPECT_TRUE(huge_alone);
}

TEST(Bucketing, DependsOnlyOnSizes) {
  std::vector<TensorSpec> t;
  for (int i = 0; i < 200; ++i) t.push_back({(i * 7919) % 300'000 + 1, i % 3 == 0 ? 6 : 5});
  EXPECT_EQ(assign_buckets(t, 1 << 20, 1 << 18), assign_buckets(t, 1 << 20, 1 << 18));
}
