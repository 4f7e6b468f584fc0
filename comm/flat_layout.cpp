#include "comm/flat_layout.h"

#include <algorithm>

#include "core/error.h"

namespace fasrl::comm {

FlatLayout make_flat_layout(const std::vector<TensorSpec>& specs, const std::vector<int64_t>& numel, int64_t cap_bytes,
                            int64_t first_cap_bytes, int world) {
  FASRL_CHECK(specs.size() == numel.size(), "flat layout: one numel per tensor spec");
  FASRL_CHECK(world >= 1, "flat layout: world size must be >= 1");
  FlatLayout layout;
  layout.world = world;
  layout.bucket_of.assign(specs.size(), -1);
  layout.offset_in_bucket.assign(specs.size(), 0);
  for (auto& members : assign_buckets(specs, cap_bytes, first_cap_bytes)) {
    FlatBucket b;
    b.world = world;
    b.dtype = specs[static_cast<size_t>(members[0])].dtype;
    for (int i : members) {
      layout.bucket_of[static_cast<size_t>(i)] = static_cast<int>(layout.buckets.size());
      layout.offset_in_bucket[static_cast<size_t>(i)] = b.numel;
      b.offsets.push_back(b.numel);
      b.numel += numel[static_cast<size_t>(i)];
    }
    b.members = std::move(members);
    b.padded = (b.numel + world - 1) / world * world;
    layout.buckets.push_back(std::move(b));
  }
  return layout;
}

std::vector<ShardPiece> FlatLayout::bucket_pieces(int bucket) const {
  const FlatBucket& b = buckets.at(static_cast<size_t>(bucket));
  std::vector<ShardPiece> pieces;
  for (size_t m = 0; m < b.members.size(); ++m) {
    const int64_t stop = m + 1 < b.members.size() ? b.offsets[m + 1] : b.numel;
    pieces.push_back({b.members[m], 0, stop - b.offsets[m], b.offsets[m]});
  }
  return pieces;
}

std::vector<ShardPiece> FlatLayout::shard_pieces(int bucket, int rank) const {
  const FlatBucket& b = buckets.at(static_cast<size_t>(bucket));
  const int64_t lo = rank * b.shard(), hi = lo + b.shard();
  std::vector<ShardPiece> pieces;
  for (size_t m = 0; m < b.members.size(); ++m) {
    const int64_t start = b.offsets[m];
    const int64_t stop = m + 1 < b.members.size() ? b.offsets[m + 1] : b.numel;
    const int64_t from = std::max(start, lo), to = std::min(stop, hi);
    if (from < to) pieces.push_back({b.members[m], from - start, to - start, from - lo});
  }
  return pieces;
}

}  // namespace fasrl::comm
