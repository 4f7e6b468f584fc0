// Gradient synchronisation for data-parallel learners (DESIGN.md section 12):
// parameters and gradients live in flat bucket storage (comm/flat_layout.h),
// each bucket is reduced as soon as backward has produced all of its
// gradients (overlapping the rest of backward), with no pack copy in stages 0
// and 1 (a parameter's .grad is a view of its bucket) and no averaging pass
// (the reduction yields sums; the optimiser folds 1/world into its update).
//
//   stage 0  all-reduce every bucket; every rank updates the whole bucket
//   stage 1  all-reduce every bucket; a rank updates only its shard, then all_gather_params()
//   stage 2  reduce-scatter every bucket, so a rank keeps only its shard of the
//            gradients: backward's gradients are moved into a bucket buffer as
//            they become ready and released once the bucket is reduced
//
// Also the start-up check that all ranks hold the same parameter shapes (a
// mismatch would otherwise reduce garbage or hang).
#pragma once
#include <mpi.h>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "comm/collective.h"
#include "comm/flat_layout.h"

namespace fasrl::comm {

struct GradSyncOptions {
  int zero_stage = 0;    // 0, 1 or 2
  bool overlap = true;   // reduce buckets from autograd hooks during backward
};

class GradientSync {
 public:
  // Moves `params` (contiguous, requiring grad) into flat bucket storage: each
  // becomes a view of its bucket (its values unchanged).
  GradientSync(Collective& collective, const std::vector<torch::Tensor>& params, const proto::CommConfig& config,
               const GradSyncOptions& options);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Before each backward; `reduce` = this backward ends the step (micro-batches
  // before it only accumulate, with no communication).
  void begin_backward(bool reduce);
  // After the last backward: every bucket reduced (sums over ranks).
  void finish();
  // What this rank updates, bucket by bucket (views, 1-D): stage 0 the whole
  // bucket, stages 1 and 2 the rank's shard. Gradients are sums over ranks.
  torch::Tensor param_slice(int bucket) const;
  torch::Tensor grad_slice(int bucket) const;
  // Stages 1 and 2: every rank receives every shard's updated parameters.
  void all_gather_params();
  void zero_grads();

  const FlatLayout& layout() const { return layout_; }
  int stage() const { return options_.zero_stage; }
  int rank() const { return collective_.rank(); }
  // Bytes of gradient storage this rank keeps between steps.
  int64_t persistent_grad_bytes() const;

 private:
  struct HookCell;
  void on_grad_ready(int index);
  void launch_ready();
  void launch(int bucket);
  void stage_gradient(int index);  // stage 2: .grad -> bucket buffer, then released

  Collective& collective_;
  GradSyncOptions options_;
  FlatLayout layout_;
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> param_flat_;   // per bucket [padded]
  std::vector<torch::Tensor> grad_flat_;    // stages 0/1: per bucket [padded]; stage 2: staging, undefined between steps
  std::vector<torch::Tensor> grad_shard_;   // stage 2: per bucket [shard]
  std::vector<int> pending_grads_;          // per bucket: members whose gradient is not ready yet
  std::vector<std::unique_ptr<PendingCollective>> in_flight_;
  int next_launch_ = 0;                     // buckets [0, next_launch_) are in flight
  bool armed_ = false;
  std::shared_ptr<HookCell> cell_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<uintptr_t> hook_keys_;
};

// Collective over `comm`: throws on every rank, naming the ranks whose
// tensor list differs from rank 0's (count, elements, digest of shapes+dtypes).
void check_same_shapes(MPI_Comm comm, const std::vector<torch::Tensor>& tensors, const std::string& what);

}  // namespace fasrl::comm
