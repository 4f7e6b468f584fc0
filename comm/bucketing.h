// Gradient bucketing as a pure function (after PyTorch's
// compute_bucket_assignment_by_size): tensors are taken in reverse order —
// gradients become ready from the last layer back — and packed greedily into
// buckets of one dtype, the first capped at first_cap_bytes, the rest at
// cap_bytes. A tensor larger than the cap gets a bucket of its own. The result
// depends only on the (size, dtype) list, so every rank with the same
// parameters computes the same buckets in the same order.
#pragma once
#include <cstdint>
#include <vector>

namespace fasrl::comm {

struct TensorSpec {
  int64_t bytes = 0;
  int dtype = 0;  // any id that tells dtypes apart (e.g. c10::ScalarType)
};

// Each bucket lists indices into `tensors`.
std::vector<std::vector<int>> assign_buckets(const std::vector<TensorSpec>& tensors, int64_t cap_bytes,
                                             int64_t first_cap_bytes);

}  // namespace fasrl::comm
