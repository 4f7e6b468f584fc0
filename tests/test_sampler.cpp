#include <gtest/gtest.h>

#include <set>

#include "data/sampler.h"

using namespace fasrl::data;

TEST(Sampler, SameSeedAndEpochGiveTheSameOrder) {
  SamplerSpec spec{103, 1, 3, 42, true};
  EXPECT_EQ(rank_epoch_order(spec, 5), rank_epoch_order(spec, 5));
  EXPECT_NE(rank_epoch_order(spec, 5), rank_epoch_order(spec, 6));
  SamplerSpec other_seed = spec;
  other_seed.seed = 43;
  EXPECT_NE(rank_epoch_order(spec, 5), rank_epoch_order(other_seed, 5));
}

TEST(Sampler, RanksAreDisjointEqualAndCoverAllButTheRemainder) {
  for (int world : {1, 2, 3, 4}) {
    const int64_t n = 103;
    std::set<int64_t> seen;
    for (int rank = 0; rank < world; ++rank) {
      const auto order = rank_epoch_order({n, rank, world, 7, true}, 0);
      EXPECT_EQ(static_cast<int64_t>(order.size()), n / world);
      for (int64_t i : order) {
        EXPECT_TRUE(i >= 0 && i < n);
        EXPECT_TRUE(seen.insert(i).second) << "sample " << i << " read by two ranks (world " << world << ")";
      }
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), (n / world) * world);
  }
}

TEST(Sampler, UnshuffledIsStridedIdentity) {
  const auto order = rank_epoch_order({10, 1, 2, 0, false}, 3);
  EXPECT_EQ(order, (std::vector<int64_t>{1, 3, 5, 7, 9}));
}

TEST(Sampler, ShuffleIsAPermutationThatActuallyMixes) {
  const auto order = rank_epoch_order({1000, 0, 1, 1, true}, 0);
  int fixed = 0;
  for (size_t i = 0; i < order.size(); ++i) fixed += order[i] == static_cast<int64_t>(i);
  EXPECT_LT(fixed, 10);  // a random permutation has ~1 fixed point
  EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), 1000u);
}
