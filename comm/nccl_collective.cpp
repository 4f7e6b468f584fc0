// NCCL backend for CUDA tensors. Compiled only when CMake found NCCL
// (FASRL_HAVE_NCCL); otherwise make_nccl_collective explains what is missing.
// Works against CPU and CUDA LibTorch builds alike: it uses only the tensor's
// data pointer and CUDA's runtime API, reducing on the legacy default stream
// and synchronising it, so it orders correctly with torch's default stream.
#include <optional>

#include "comm/collective.h"
#include "comm/check.h"
#include "core/error.h"

#ifdef FASRL_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>

#include "comm/watchdog.h"
#include "core/timer.h"
#endif

namespace fasrl::comm {

bool nccl_compiled() {
#ifdef FASRL_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

#ifdef FASRL_HAVE_NCCL
namespace {

std::optional<ncclDataType_t> nccl_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return ncclFloat32;
    case torch::kFloat64: return ncclFloat64;
    case torch::kFloat16: return ncclFloat16;
    case torch::kBFloat16: return ncclBfloat16;
    case torch::kInt32: return ncclInt32;
    case torch::kInt64: return ncclInt64;
    case torch::kUInt8: return ncclUint8;
    default: return std::nullopt;
  }
}

class NcclCollective;

// Work queued on the default stream; wait() polls it with the communicator's bound.
class NcclPending final : public PendingCollective {
 public:
  NcclPending(NcclCollective& owner, const char* op) : owner_(owner), op_(op) {}
  ~NcclPending() override;
  void wait() override;

 private:
  NcclCollective& owner_;
  const char* op_;
  bool done_ = false;
};

class NcclCollective final : public Collective {
 public:
  NcclCollective(MPI_Comm comm, const proto::CommConfig& config, int device)
      : comm_(comm), timeout_s_(config.timeout_s()), device_(device) {
    FASRL_MPI_CHECK(MPI_Comm_rank(comm, &rank_));
    FASRL_MPI_CHECK(MPI_Comm_size(comm, &size_));
    FASRL_CUDA_CHECK(cudaSetDevice(device));
    ncclUniqueId id;
    if (rank_ == 0) FASRL_NCCL_CHECK(ncclGetUniqueId(&id));
    FASRL_MPI_CHECK(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm));  // bootstrap over the control plane
    FASRL_NCCL_CHECK(ncclCommInitRank(&nccl_, size_, id, rank_));
  }
  ~NcclCollective() override {
    if (nccl_) ncclCommDestroy(nccl_);
  }
  std::string backend() const override { return "nccl"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  bool supports(const torch::Tensor& t) const override { return t.device().is_cuda(); }

  void all_reduce_sum(torch::Tensor& t) override {
    auto type = check_input(t, "all_reduce");
    const int64_t seq = ++seq_;
    check_arrival(comm_, seq, timeout_s_, "nccl all_reduce #" + std::to_string(seq));
    FASRL_NCCL_CHECK(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()), type, ncclSum, nccl_, nullptr));
    wait("all_reduce");
  }
  void broadcast(torch::Tensor& t, int root) override {
    check_input(t, "broadcast");
    const int64_t seq = ++seq_;
    check_arrival(comm_, seq, timeout_s_, "nccl broadcast #" + std::to_string(seq));
    FASRL_NCCL_CHECK(ncclBroadcast(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel() * t.element_size()), ncclUint8,
                                   root, nccl_, nullptr));
    wait("broadcast");
  }

  std::unique_ptr<PendingCollective> start_all_reduce_sum(torch::Tensor& t) override {
    auto type = check_input(t, "all_reduce");
    ++seq_;
    FASRL_NCCL_CHECK(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()), type, ncclSum, nccl_, nullptr));
    return std::make_unique<NcclPending>(*this, "all_reduce");
  }
  std::unique_ptr<PendingCollective> start_reduce_scatter_sum(const torch::Tensor& in, torch::Tensor& out) override {
    auto type = check_input(in, "reduce_scatter");
    check_input(out, "reduce_scatter");
    if (in.numel() != out.numel() * size_ || in.scalar_type() != out.scalar_type())
      raise(ErrorKind::kInvalidArgument, "nccl reduce_scatter: input has ", in.numel(), " elements, expected ", size_,
            " x ", out.numel(), " of the output's dtype");
    ++seq_;
    FASRL_NCCL_CHECK(ncclReduceScatter(in.data_ptr(), out.data_ptr(), static_cast<size_t>(out.numel()), type, ncclSum,
                                       nccl_, nullptr));
    return std::make_unique<NcclPending>(*this, "reduce_scatter");
  }
  void all_gather(torch::Tensor& buffer) override {
    check_input(buffer, "all_gather");
    if (buffer.numel() % size_ != 0)
      raise(ErrorKind::kInvalidArgument, "nccl all_gather: ", buffer.numel(), " elements do not split into ", size_, " chunks");
    ++seq_;
    const size_t chunk_bytes = static_cast<size_t>(buffer.numel() / size_ * buffer.element_size());
    char* base = static_cast<char*>(buffer.data_ptr());
    // In place: this rank's chunk already sits at its offset of the output.
    FASRL_NCCL_CHECK(ncclAllGather(base + rank_ * chunk_bytes, base, chunk_bytes, ncclUint8, nccl_, nullptr));
    wait("all_gather");
  }

 private:
  friend class NcclPending;
  ncclDataType_t check_input(const torch::Tensor& t, const char* op) const {
    if (!supports(t)) raise(ErrorKind::kInvalidArgument, "nccl ", op, ": tensor is on ", t.device().str(), ", expected CUDA");
    if (!t.is_contiguous()) raise(ErrorKind::kInvalidArgument, "nccl ", op, ": tensor must be contiguous");
    auto type = nccl_type(t.scalar_type());
    if (!type) raise(ErrorKind::kInvalidArgument, "nccl ", op, ": unsupported dtype ", c10::toString(t.scalar_type()));
    return *type;
  }
  // Polls the stream; past the timeout aborts the communicator (NCCL's way
  // out of a hung collective) and reports it.
  void wait(const char* op) {
    Stopwatch clock;
    while (true) {
      const cudaError_t q = cudaStreamQuery(nullptr);
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) FASRL_CUDA_CHECK(q);
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(nccl_, &async);
      if (async != ncclSuccess || (timeout_s_ > 0 && clock.seconds() > timeout_s_ * 1.5)) {
        ncclCommAbort(nccl_);
        nccl_ = nullptr;
        raise(ErrorKind::kIOError, "nccl ", op, " #", seq_, async != ncclSuccess ? " failed: " : " timed out",
              async != ncclSuccess ? ncclGetErrorString(async) : "", " (a peer rank is hung or dead)");
      }
    }
  }

  MPI_Comm comm_;
  double timeout_s_;
  int device_;
  int rank_ = 0, size_ = 1;
  int64_t seq_ = 0;
  ncclComm_t nccl_ = nullptr;
};

NcclPending::~NcclPending() {
  try {
    wait();
  } catch (...) {  // already failing: the job is ending
  }
}

void NcclPending::wait() {
  if (done_) return;
  done_ = true;
  owner_.wait(op_);
}

}  // namespace

std::unique_ptr<Collective> make_nccl_collective(MPI_Comm comm, const proto::CommConfig& config, int device) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
    raise(ErrorKind::kInvalidArgument, "comm.backend nccl: no CUDA device is visible on this rank");
  return std::make_unique<NcclCollective>(comm, config, device);
}
#else
std::unique_ptr<Collective> make_nccl_collective(MPI_Comm, const proto::CommConfig&, int) {
  raise(ErrorKind::kInvalidArgument,
        "comm.backend nccl: this fasrl was built without NCCL (configure with NCCL under /usr/local/cuda or NCCL_ROOT)");
}
#endif

}  // namespace fasrl::comm
