#include "data/sampler.h"

#include <numeric>

#include "core/error.h"
#include "core/rng.h"

namespace fasrl::data {

int64_t samples_per_rank(const SamplerSpec& spec) { return spec.num_samples / spec.world; }

std::vector<int64_t> rank_epoch_order(const SamplerSpec& spec, int64_t epoch) {
  FASRL_CHECK(spec.world >= 1 && spec.rank >= 0 && spec.rank < spec.world, "rank ", spec.rank, " world ", spec.world);
  std::vector<int64_t> perm(static_cast<size_t>(spec.num_samples));
  std::iota(perm.begin(), perm.end(), 0);
  if (spec.shuffle) {
    Rng rng(derive_seed(spec.seed, 0x5a3b1e5, static_cast<uint64_t>(epoch)));
    rng.shuffle(perm);
  }
  const int64_t per_rank = samples_per_rank(spec);
  std::vector<int64_t> out(static_cast<size_t>(per_rank));
  for (int64_t k = 0; k < per_rank; ++k) out[static_cast<size_t>(k)] = perm[static_cast<size_t>(k * spec.world + spec.rank)];
  return out;
}

}  // namespace fasrl::data
