// Distributed sampling order. Every rank computes the same epoch permutation
// (seeded by seed and epoch) and takes every world-th entry starting at its
// rank, truncated to floor(n / world) so all ranks run the same number of
// steps; ranks therefore read disjoint samples. The tail that does not divide
// evenly changes each epoch with the permutation.
#pragma once
#include <cstdint>
#include <vector>

namespace fasrl::data {

struct SamplerSpec {
  int64_t num_samples = 0;
  int rank = 0;
  int world = 1;
  uint64_t seed = 0;
  bool shuffle = true;
};

int64_t samples_per_rank(const SamplerSpec& spec);
// Positions (into the split's sample list) this rank reads in `epoch`, in order.
std::vector<int64_t> rank_epoch_order(const SamplerSpec& spec, int64_t epoch);

}  // namespace fasrl::data
