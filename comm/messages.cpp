#include "comm/messages.h"

#include <cstring>

#include "core/error.h"

namespace fasrl::comm {

Outbox::~Outbox() { wait_all(); }

void Outbox::send(int dest, int tag, std::string bytes) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX))
    raise(ErrorKind::kInvalidArgument, "message of ", bytes.size(), " bytes to rank ", dest, " exceeds MPI's 2 GiB count");
  Pending p{std::make_unique<std::string>(std::move(bytes)), MPI_REQUEST_NULL};
  MPI_Isend(p.bytes->data(), static_cast<int>(p.bytes->size()), MPI_BYTE, dest, tag, comm_, &p.request);
  pending_.push_back(std::move(p));
}

size_t Outbox::pending() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    int done = 0;
    MPI_Test(&it->request, &done, MPI_STATUS_IGNORE);
    it = done ? pending_.erase(it) : it + 1;
  }
  return pending_.size();
}

void Outbox::wait_all() {
  for (auto& p : pending_) MPI_Wait(&p.request, MPI_STATUS_IGNORE);
  pending_.clear();
}

std::string recv_bytes(MPI_Comm comm, int source, int tag, int* from) {
  MPI_Status status;
  MPI_Probe(source, tag, comm, &status);
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::string bytes(static_cast<size_t>(count), '\0');
  MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, tag, comm, MPI_STATUS_IGNORE);
  if (from) *from = status.MPI_SOURCE;
  return bytes;
}

bool message_waiting(MPI_Comm comm, int source, int tag) {
  int flag = 0;
  MPI_Iprobe(source, tag, comm, &flag, MPI_STATUS_IGNORE);
  return flag != 0;
}

std::string pack_weights(int64_t version, const std::vector<torch::Tensor>& tensors) {
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

int64_t unpack_weights_into(const std::string& bytes, std::vector<torch::Tensor>& tensors, const std::string& source) {
  int64_t numel = 0;
  for (const auto& t : tensors) numel += t.numel();
  const size_t want = sizeof(int64_t) + static_cast<size_t>(numel) * sizeof(float);
  if (bytes.size() != want)
    raise(ErrorKind::kCorruption, source, ": weight message of ", bytes.size(), " bytes, expected ", want, " (8 + 4 x ",
          numel, " parameters)");
  int64_t version = 0;
  std::memcpy(&version, bytes.data(), sizeof version);
  const float* src = reinterpret_cast<const float*>(bytes.data() + sizeof version);
  torch::NoGradGuard g;
  for (auto& t : tensors) {
    t.copy_(torch::from_blob(const_cast<float*>(src), t.sizes(), torch::kFloat32));
    src += t.numel();
  }
  return version;
}

}  // namespace fasrl::comm
