// Gradient synchronisation for data-parallel learners: bucketed all-reduce
// with averaging, and the start-up check that all ranks hold the same
// parameter shapes (a mismatch would otherwise reduce garbage or hang).
#pragma once
#include <mpi.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "comm/collective.h"

namespace fasrl::comm {

class BucketedAllReduce {
 public:
  // Buckets are fixed from `like` (sizes and dtypes, in parameter order).
  BucketedAllReduce(Collective& collective, const std::vector<torch::Tensor>& like, const proto::CommConfig& config);
  // In place: each tensor becomes the mean over ranks. Tensors must match
  // `like` in count, shape and dtype.
  void average(const std::vector<torch::Tensor>& tensors);
  const std::vector<std::vector<int>>& buckets() const { return buckets_; }

 private:
  Collective& collective_;
  std::vector<std::vector<int>> buckets_;
  std::vector<torch::Tensor> buffers_;  // one flat buffer per bucket, reused every step
};

// Collective over `comm`: throws on every rank, naming the ranks whose
// tensor list differs from rank 0's (count, elements, digest of shapes+dtypes).
void check_same_shapes(MPI_Comm comm, const std::vector<torch::Tensor>& tensors, const std::string& what);

}  // namespace fasrl::comm
