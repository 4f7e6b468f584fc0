// Where every parameter and gradient lives in flat bucket storage, and which
// slice of each bucket a rank owns under ZeRO (a pure function of the
// tensors' sizes and dtypes, the bucket caps and the world size, so every
// rank computes the same layout).
//
// Bucket b is one flat buffer of `padded` elements: its members (in bucket
// order, last parameter first, as gradients become ready in backward) packed
// back to back from element 0, then zero padding up to a multiple of the
// world size. Rank r owns elements [r*shard, (r+1)*shard) of every bucket, so
// a reduce-scatter of the bucket hands each rank exactly its slice and an
// all-gather restores the whole bucket in place.
#pragma once
#include <cstdint>
#include <vector>

#include "comm/bucketing.h"

namespace fasrl::comm {

struct FlatBucket {
  std::vector<int> members;      // tensor indices, bucket order
  std::vector<int64_t> offsets;  // element offset of each member in the bucket
  int64_t numel = 0;             // elements of the members
  int64_t padded = 0;            // numel rounded up to a multiple of the world size
  int dtype = 0;
  int world = 1;
  int64_t shard() const { return padded / world; }
};

// One contiguous run of a tensor's elements inside a rank's shard of a bucket.
struct ShardPiece {
  int tensor = 0;              // index into the tensor list
  int64_t begin = 0, end = 0;  // element range within the tensor (flattened)
  int64_t shard_offset = 0;    // where it starts within the rank's shard
};

struct FlatLayout {
  std::vector<FlatBucket> buckets;
  std::vector<int> bucket_of;          // per tensor
  std::vector<int64_t> offset_in_bucket;  // per tensor
  int world = 1;
  // The pieces of tensors in rank's shard of bucket b, in shard order (padding left out).
  std::vector<ShardPiece> shard_pieces(int bucket, int rank) const;
  // Every member of bucket b, whole (shard_offset = its offset in the bucket).
  std::vector<ShardPiece> bucket_pieces(int bucket) const;
};

// `specs` in parameter order; numel[i] elements of tensor i.
FlatLayout make_flat_layout(const std::vector<TensorSpec>& specs, const std::vector<int64_t>& numel, int64_t cap_bytes,
                            int64_t first_cap_bytes, int world);

}  // namespace fasrl::comm
