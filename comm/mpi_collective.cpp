#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "comm/collective.h"
#include "comm/watchdog.h"
#include "comm/check.h"
#include "comm/world.h"
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

// Measured with bench_allreduce on OpenMPI 4.1 (shared memory, 2 ranks): one
// MPI_Allreduce of 40 MiB takes ~20x longer per byte than calls of 16-25 MiB,
// so large buffers are reduced in pieces of at most this many bytes.
constexpr int64_t kMaxReduceBytes = int64_t{16} << 20;

int all_reduce_in_pieces(void* data, int64_t count, MPI_Datatype type, int64_t element_size, MPI_Comm comm) {
  const int64_t piece = std::max<int64_t>(1, kMaxReduceBytes / element_size);
  for (int64_t at = 0; at < count; at += piece) {
    const int code = MPI_Allreduce(MPI_IN_PLACE, static_cast<char*>(data) + at * element_size,
                                   static_cast<int>(std::min(piece, count - at)), type, MPI_SUM, comm);
    if (code != MPI_SUCCESS) return code;
  }
  return MPI_SUCCESS;
}

class DonePending final : public PendingCollective {
 public:
  void wait() override {}
  bool ready() override { return true; }
};

// One thread that runs blocking collectives in the order they were queued, on
// its own duplicate of the communicator (MPI_THREAD_MULTIPLE), so a gradient
// bucket is reduced while the main thread carries on with backward. OpenMPI's
// blocking algorithms are also several times faster than its non-blocking
// (libnbc) ones for large buffers.
class CollectiveThread {
 public:
  explicit CollectiveThread(MPI_Comm comm) {
    FASRL_MPI_CHECK(MPI_Comm_dup(comm, &comm_));
    thread_ = std::thread([this] { run(); });
  }
  ~CollectiveThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_one();
    thread_.join();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  // `job` gets this thread's communicator and returns an MPI error code.
  std::shared_future<int> submit(std::function<int(MPI_Comm)> job) {
    std::packaged_task<int()> task([job = std::move(job), this] { return job(comm_); });
    std::shared_future<int> done = task.get_future().share();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
    return done;
  }

 private:
  void run() {
    while (true) {
      std::packaged_task<int()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<int()>> queue_;
  bool stopping_ = false;
};

class ThreadPending final : public PendingCollective {
 public:
  ThreadPending(std::shared_future<int> done, double timeout_s, std::string what)
      : done_(std::move(done)), timeout_s_(timeout_s), what_(std::move(what)) {}
  ~ThreadPending() override {
    if (done_.valid()) done_.wait();  // the thread may still read the caller's buffers
  }
  bool ready() override {
    return !done_.valid() || done_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }
  void wait() override {
    if (!done_.valid()) return;
    const bool finished = timeout_s_ <= 0 || done_.wait_for(std::chrono::duration<double>(timeout_s_)) == std::future_status::ready;
    if (!finished)
      raise(ErrorKind::kIOError, what_, " did not complete within ", timeout_s_, " s: a peer rank is hung or dead");
    const int code = done_.get();
    done_ = {};
    check_mpi(code, what_.c_str(), __FILE__, __LINE__);
  }

 private:
  std::shared_future<int> done_;
  double timeout_s_;
  std::string what_;
};

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
    drain();
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
    drain();
    if (size_ == 1) return;
    const std::string what = describe("broadcast", t);
    check_arrival(comm_, ++seq_, timeout_s_, what);
    MPI_Request req;
    // Bytes: any dtype broadcasts exactly.
    FASRL_MPI_CHECK(MPI_Ibcast(t.data_ptr(), static_cast<int>(t.numel() * t.element_size()), MPI_BYTE, root, comm_, &req));
    wait_bounded(&req, timeout_s_ * 1.5, what);
  }

  std::unique_ptr<PendingCollective> start_all_reduce_sum(torch::Tensor& t) override {
    check_input(t, "all_reduce");
    if (size_ == 1) return std::make_unique<DonePending>();
    if (!mpi_type(t.scalar_type())) {  // bf16/half: synchronously, in float32
      all_reduce_sum(t);
      return std::make_unique<DonePending>();
    }
    void* data = t.data_ptr();
    const int64_t count = t.numel(), element_size = t.element_size();
    const MPI_Datatype type = *mpi_type(t.scalar_type());
    return start([=](MPI_Comm c) { return all_reduce_in_pieces(data, count, type, element_size, c); },
                 describe("all_reduce", t));
  }

  std::unique_ptr<PendingCollective> start_reduce_scatter_sum(const torch::Tensor& in, torch::Tensor& out) override {
    check_input(in, "reduce_scatter");
    check_input(out, "reduce_scatter");
    if (in.numel() != out.numel() * size_ || in.scalar_type() != out.scalar_type())
      raise(ErrorKind::kInvalidArgument, "mpi reduce_scatter: input has ", in.numel(), " elements, expected ", size_,
            " x ", out.numel(), " of the output's dtype");
    if (size_ == 1 || !mpi_type(in.scalar_type())) {  // one rank, or bf16/half (reduced in float32)
      torch::Tensor sum = in.to(torch::kFloat32).contiguous();
      if (size_ > 1) all_reduce_sum(sum);
      out.copy_(sum.narrow(0, rank_ * out.numel(), out.numel()));
      return std::make_unique<DonePending>();
    }
    const void* from = in.data_ptr();
    void* to = out.data_ptr();
    const int count = static_cast<int>(out.numel());
    const MPI_Datatype type = *mpi_type(in.scalar_type());
    return start([=](MPI_Comm c) { return MPI_Reduce_scatter_block(from, to, count, type, MPI_SUM, c); },
                 describe("reduce_scatter", in));
  }

  void all_gather(torch::Tensor& buffer) override {
    check_input(buffer, "all_gather");
    drain();
    if (buffer.numel() % size_ != 0)
      raise(ErrorKind::kInvalidArgument, "mpi all_gather: ", buffer.numel(), " elements do not split into ", size_, " chunks");
    if (size_ == 1) return;
    const std::string what = describe("all_gather", buffer);
    const int chunk_bytes = static_cast<int>(buffer.numel() / size_ * buffer.element_size());
    MPI_Request req;  // bytes: any dtype gathers exactly
    FASRL_MPI_CHECK(MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buffer.data_ptr(), chunk_bytes, MPI_BYTE, comm_, &req));
    wait_bounded(&req, timeout_s_ * 1.5, what);
  }

 private:
  // Runs `job` on the collective thread (MPI_THREAD_MULTIPLE) or, without
  // one, at once on this thread with this communicator.
  std::unique_ptr<PendingCollective> start(std::function<int(MPI_Comm)> job, const std::string& what) {
    if (!mpi_thread_multiple()) {
      check_mpi(job(comm_), what.c_str(), __FILE__, __LINE__);
      return std::make_unique<DonePending>();
    }
    if (!thread_) thread_ = std::make_unique<CollectiveThread>(comm_);
    last_ = thread_->submit(std::move(job));
    return std::make_unique<ThreadPending>(last_, timeout_s_ * 1.5, what);
  }
  // Blocking calls on the main thread wait for queued ones first (the ranks' order).
  void drain() {
    if (!last_.valid()) return;
    ThreadPending(last_, timeout_s_ * 1.5, "queued collective").wait();
    last_ = {};
  }

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
  std::unique_ptr<CollectiveThread> thread_;
  std::shared_future<int> last_;  // newest queued job
};

}  // namespace

std::unique_ptr<Collective> make_mpi_collective(MPI_Comm comm, const proto::CommConfig& config) {
  return std::make_unique<MpiCollective>(comm, config);
}

}  // namespace fasrl::comm
