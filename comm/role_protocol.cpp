#include "comm/role_protocol.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstring>

#include "comm/check.h"
#include "comm/watchdog.h"
#include "core/error.h"

namespace fasrl::comm {
namespace {
constexpr int64_t kStopVersion = -1;
}  // namespace

// ---- Outbox -----------------------------------------------------------------

Outbox::~Outbox() {
  try {
    wait_all();
  } catch (const std::exception& e) {  // a destructor must not throw; the job is failing anyway
    LOG(ERROR) << e.what();
  }
}

void Outbox::send(int dest, int tag, std::string bytes) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX))
    raise(ErrorKind::kInvalidArgument, "message of ", bytes.size(), " bytes to rank ", dest, " exceeds MPI's 2 GiB count");
  Pending p{std::make_unique<std::string>(std::move(bytes)), MPI_REQUEST_NULL, dest};
  FASRL_MPI_CHECK(MPI_Isend(p.bytes->data(), static_cast<int>(p.bytes->size()), MPI_BYTE, dest, tag, comm_, &p.request));
  pending_.push_back(std::move(p));
}

size_t Outbox::pending() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    int done = 0;
    FASRL_MPI_CHECK(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE));
    it = done ? pending_.erase(it) : it + 1;
  }
  return pending_.size();
}

void Outbox::wait_all() {
  for (auto& p : pending_)
    wait_bounded(&p.request, timeout_s_, "sending " + std::to_string(p.bytes->size()) + " bytes to rank " + std::to_string(p.dest));
  pending_.clear();
}

// ---- receives -----------------------------------------------------------------

std::string recv_bytes(MPI_Comm comm, int source, int tag, double timeout_s, const std::string& what) {
  MPI_Status status;
  if (timeout_s <= 0) {
    FASRL_MPI_CHECK(MPI_Probe(source, tag, comm, &status));
  } else {
    // Sleeps grow to 2 ms, so a waiting rank leaves the cores to the ranks
    // that work (GRPO learners wait for a generating worker on the same host).
    const auto arrived = [&] {
      int flag = 0;
      FASRL_MPI_CHECK(MPI_Iprobe(source, tag, comm, &flag, &status));
      return flag != 0;
    };
    if (!poll_bounded(arrived, timeout_s, 2000))
      raise(ErrorKind::kIOError, "no ", what, " from rank ", source, " within ", timeout_s,
            " s (comm.timeout_s): that rank is hung, dead or far slower than this one");
  }
  int count = 0;
  FASRL_MPI_CHECK(MPI_Get_count(&status, MPI_BYTE, &count));
  std::string bytes(static_cast<size_t>(count), '\0');
  FASRL_MPI_CHECK(MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, tag, comm, MPI_STATUS_IGNORE));
  return bytes;
}

bool message_waiting(MPI_Comm comm, int source, int tag) {
  int flag = 0;
  FASRL_MPI_CHECK(MPI_Iprobe(source, tag, comm, &flag, MPI_STATUS_IGNORE));
  return flag != 0;
}

namespace {
constexpr int64_t kChunkBytes = int64_t{1} << 30;
}

void send_chunked(MPI_Comm comm, int dest, int tag, const std::string& bytes, double timeout_s, const std::string& what) {
  const int64_t size = static_cast<int64_t>(bytes.size());
  const auto send = [&](const void* data, int count) {
    MPI_Request request;
    FASRL_MPI_CHECK(MPI_Isend(data, count, MPI_BYTE, dest, tag, comm, &request));
    wait_bounded(&request, timeout_s, what + " to rank " + std::to_string(dest));
  };
  send(&size, sizeof size);
  for (int64_t at = 0; at < size; at += kChunkBytes)
    send(bytes.data() + at, static_cast<int>(std::min(kChunkBytes, size - at)));
}

std::string recv_chunked(MPI_Comm comm, int source, int tag, double timeout_s, const std::string& what) {
  const std::string head = recv_bytes(comm, source, tag, timeout_s, what);
  int64_t size = 0;
  if (head.size() != sizeof size) raise(ErrorKind::kInternal, what, " from rank ", source, ": malformed length message");
  std::memcpy(&size, head.data(), sizeof size);
  std::string bytes;
  bytes.reserve(static_cast<size_t>(size));
  while (static_cast<int64_t>(bytes.size()) < size) bytes += recv_bytes(comm, source, tag, timeout_s, what);
  if (static_cast<int64_t>(bytes.size()) != size)
    raise(ErrorKind::kInternal, what, " from rank ", source, ": got ", bytes.size(), " bytes, expected ", size);
  return bytes;
}

// ---- weights and stop ---------------------------------------------------------

std::string encode_weights(int64_t version, const std::vector<torch::Tensor>& tensors) {
  FASRL_CHECK(version >= 0, "weight versions are >= 0, got ", version);
  int64_t numel = 0;
  for (const auto& t : tensors) numel += t.numel();
  std::string out(sizeof(int64_t) + static_cast<size_t>(numel) * sizeof(float), '\0');
  std::memcpy(out.data(), &version, sizeof version);
  float* dst = reinterpret_cast<float*>(out.data() + sizeof version);
  for (const auto& t : tensors) {
    torch::from_blob(dst, t.sizes(), torch::kFloat32).copy_(t.detach());
    dst += t.numel();
  }
  return out;
}

std::string encode_stop() { return std::string(reinterpret_cast<const char*>(&kStopVersion), sizeof kStopVersion); }

WeightMessage decode_weights_into(const std::string& bytes, std::vector<torch::Tensor>& tensors, const std::string& source) {
  WeightMessage m;
  if (bytes.size() == sizeof(int64_t)) {
    std::memcpy(&m.version, bytes.data(), sizeof m.version);
    if (m.version != kStopVersion)
      raise(ErrorKind::kCorruption, source, ": an 8-byte weight message must be stop (-1), got ", m.version);
    m.stop = true;
    return m;
  }
  int64_t numel = 0;
  for (const auto& t : tensors) numel += t.numel();
  const size_t want = sizeof(int64_t) + static_cast<size_t>(numel) * sizeof(float);
  if (bytes.size() != want)
    raise(ErrorKind::kCorruption, source, ": weight message of ", bytes.size(), " bytes, expected ", want, " (8 + 4 x ",
          numel, " parameters)");
  std::memcpy(&m.version, bytes.data(), sizeof m.version);
  const float* src = reinterpret_cast<const float*>(bytes.data() + sizeof m.version);
  torch::NoGradGuard g;
  for (auto& t : tensors) {
    t.copy_(torch::from_blob(const_cast<float*>(src), t.sizes(), torch::kFloat32));
    src += t.numel();
  }
  return m;
}

double WeightPublisher::publish(int64_t version, const std::vector<torch::Tensor>& tensors) {
  outbox_.pending();  // let finished sends go
  const std::string bytes = encode_weights(version, tensors);
  for (int w : workers_) outbox_.send(w, kWeightsTag, bytes);
  return static_cast<double>(bytes.size()) * static_cast<double>(workers_.size());
}

void WeightPublisher::stop() {
  for (int w : workers_) outbox_.send(w, kWeightsTag, encode_stop());
}

// ---- rollout batches ----------------------------------------------------------

std::string encode_rollout(const proto::RolloutBatch& batch) {
  std::string bytes;
  FASRL_CHECK(batch.SerializeToString(&bytes), "RolloutBatch did not serialise");
  FASRL_CHECK(!bytes.empty(), "an empty RolloutBatch would read as the end marker");
  return bytes;
}

std::optional<proto::RolloutBatch> decode_rollout(const std::string& bytes, const std::string& source) {
  if (bytes.empty()) return std::nullopt;
  proto::RolloutBatch b;
  if (!b.ParseFromString(bytes)) raise(ErrorKind::kCorruption, source, ": malformed message (", bytes.size(), " bytes)");
  return b;
}

void RolloutSender::end(const std::vector<int>& learners) {
  for (int l : learners) outbox_.send(l, kRolloutTag, std::string());
  outbox_.wait_all();
}

std::string RolloutReceiver::next_bytes() {
  return recv_bytes(world_, worker_, kRolloutTag, timeout_s_, "RolloutBatch");
}

void RolloutReceiver::drain() {
  while (!next_bytes().empty()) {
  }
}

}  // namespace fasrl::comm
