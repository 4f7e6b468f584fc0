#include <optional>

#include "comm/collective.h"
#include "comm/watchdog.h"
#include "comm/check.h"
#include "core/error.h"

namespace fasrl::comm {
namespace {

std::optional<MPI_Datatype> mpi_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return MPI_FLOAT;
    case torch::kFloat64: return MPI_DOUBLE;
    case torch::kInt32: return MPI_INT32_T;
    case torch::kInt64: return MPI_INT64_T;
    case torch::kUInt8: return MPI_UINT8_T;
    default: return std::nullopt;
  }
}

class MpiCollective final : public Collective {
 public:
  MpiCollective(MPI_Comm comm, const proto::CommConfig& config) : comm_(comm), timeout_s_(config.timeout_s()) {
    FASRL_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
    FASRL_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  }
  std::string backend() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  bool supports(const torch::Tensor& t) const override { return t.device().is_cpu(); }

  void all_reduce_sum(torch::Tensor& t) override {
    check_input(t, "all_reduce");
    if (size_ == 1) return;
    if (!mpi_type(t.scalar_type())) {  // bf16/half: reduce in float32
      torch::Tensor wide = t.to(torch::kFloat32);
      all_reduce_sum(wide);
      t.copy_(wide);
      return;
    }
    const std::string what = describe("all_reduce", t);
    check_arrival(comm_, ++seq_, timeout_s_, what);
    MPI_Request req;
    FASRL_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()), *mpi_type(t.scalar_type()), MPI_SUM,
                   comm_, &req));
    wait_bounded(&req, timeout_s_ * 1.5, what);
  }

  void broadcast(torch::Tensor& t, int root) override {
    check_input(t, "broadcast");
    if (size_ == 1) return;
    const std::string what = describe("broadcast", t);
    check_arrival(comm_, ++seq_, timeout_s_, what);
    MPI_Request req;
    // Bytes: any dtype broadcasts exactly.
    FASRL_MPI_CHECK(MPI_Ibcast(t.data_ptr(), static_cast<int>(t.numel() * t.element_size()), MPI_BYTE, root, comm_, &req));
    wait_bounded(&req, timeout_s_ * 1.5, what);
  }

 private:
  void check_input(const torch::Tensor& t, const char* op) const {
    if (!supports(t)) raise(ErrorKind::kInvalidArgument, "mpi ", op, ": tensor is on ", t.device().str(), ", expected CPU");
    if (!t.is_contiguous()) raise(ErrorKind::kInvalidArgument, "mpi ", op, ": tensor must be contiguous");
    if (t.numel() * t.element_size() > INT32_MAX)
      raise(ErrorKind::kInvalidArgument, "mpi ", op, ": ", t.numel(), " elements exceed MPI's int count; bucket it");
  }
  std::string describe(const char* op, const torch::Tensor& t) const {
    return std::string("mpi ") + op + " #" + std::to_string(seq_ + 1) + " (" + std::to_string(t.numel()) + " x " +
           std::string(c10::toString(t.scalar_type())) + ")";
  }

  MPI_Comm comm_;
  double timeout_s_;
  int rank_ = 0, size_ = 1;
  int64_t seq_ = 0;
};

}  // namespace

std::unique_ptr<Collective> make_mpi_collective(MPI_Comm comm, const proto::CommConfig& config) {
  return std::make_unique<MpiCollective>(comm, config);
}

}  // namespace fasrl::comm
