// A rollout worker's weight inbox: versioned weights from learner 0 are
// applied in place to the policy's parameters; the newest that has arrived
// wins, and a staleness bound makes the worker wait. A stop message (end of
// training or preemption) closes it.
#pragma once
#include <mpi.h>
#include <torch/torch.h>

#include <vector>

namespace fasrl::rollout {

class WeightInbox {
 public:
  // `params` are updated in place; every wait is bounded by timeout_s.
  WeightInbox(MPI_Comm world, std::vector<torch::Tensor> params, double timeout_s);

  // Applies every message already waiting (newest last), then blocks until
  // the weights are at least `min_version` or the inbox is stopped.
  void sync(int64_t min_version);
  // Blocks for the next message (the starting weights, or the stop at the end).
  void receive();

  bool stopped() const { return stopped_; }
  int64_t version() const { return version_; }
  int64_t updates() const { return updates_; }
  double apply_seconds() const { return apply_seconds_; }  // unpacking and copying (not waiting)

 private:
  MPI_Comm world_;
  std::vector<torch::Tensor> params_;
  double timeout_s_;
  bool stopped_ = false;
  int64_t version_ = -1, updates_ = 0;
  double apply_seconds_ = 0;
};

}  // namespace fasrl::rollout
