// One collective interface for the gradient data plane; a file per backend
// (mpi_collective.cpp: CPU tensors over MPI; nccl_collective.cpp: CUDA tensors
// over NCCL, compiled when NCCL is found). comm sees flat tensors, never a model.
//
// Every call is collective: all ranks of the communicator must make the same
// calls in the same order with tensors of the same shape and dtype. A call
// that does not complete within the configured timeout throws a fasrl::Error
// (the caller ends the job with comm::abort_job).
#pragma once
#include <mpi.h>
#include <torch/torch.h>

#include <memory>
#include <string>

#include "proto/config.pb.h"

namespace fasrl::comm {

// A collective that was started and not yet waited for. wait() is bounded by
// comm.timeout_s like every blocking call; destroying an unwaited one waits.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual void wait() = 0;
  // True once the operation has certainly completed (wait() then returns at
  // once); backends that cannot tell cheaply answer false.
  virtual bool ready() { return false; }
};

class Collective {
 public:
  virtual ~Collective() = default;
  virtual std::string backend() const = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // True if this backend can reduce `tensor` where it lives (CPU vs CUDA).
  virtual bool supports(const torch::Tensor& tensor) const = 0;
  // In-place elementwise sum over ranks of a contiguous tensor.
  virtual void all_reduce_sum(torch::Tensor& tensor) = 0;
  // In-place: every rank receives root's tensor.
  virtual void broadcast(torch::Tensor& tensor, int root) = 0;

  // Non-blocking forms for the gradient path (no arrival check: a dead peer
  // shows as wait() timing out). Started in the same order on every rank.
  virtual std::unique_ptr<PendingCollective> start_all_reduce_sum(torch::Tensor& tensor) = 0;
  // input [size()*n] -> output [n]: chunk rank() of the elementwise sum over ranks.
  virtual std::unique_ptr<PendingCollective> start_reduce_scatter_sum(const torch::Tensor& input,
                                                                      torch::Tensor& output) = 0;
  // In place over buffer [size()*n]: chunk r becomes rank r's chunk r, on every rank.
  virtual void all_gather(torch::Tensor& buffer) = 0;
};

// The backend comm.backend names for tensors on `device`: "auto" = NCCL for
// CUDA when compiled in, else MPI; "mpi"; "nccl" (CUDA only: asked for on the
// CPU or in a build without NCCL it is a config error saying so).
std::unique_ptr<Collective> make_collective(MPI_Comm comm, const proto::CommConfig& config, const torch::Device& device);

// MPI backend over `comm` (CPU tensors: float32/64, int32/64, uint8; bf16 and
// half are reduced in float32).
std::unique_ptr<Collective> make_mpi_collective(MPI_Comm comm, const proto::CommConfig& config);

// NCCL backend; the NCCL unique id is bootstrapped over `comm` (MPI).
// Throws if fasrl was built without NCCL or no CUDA device is visible.
std::unique_ptr<Collective> make_nccl_collective(MPI_Comm comm, const proto::CommConfig& config, int device);
bool nccl_compiled();

}  // namespace fasrl::comm
