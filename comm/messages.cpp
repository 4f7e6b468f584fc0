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

std::string pack_weights(int64_t version, const torch::Tensor& flat) {
  const torch::Tensor f = flat.to(torch::kFloat32).contiguous();
  std::string out(sizeof(int64_t) + static_cast<size_t>(f.numel()) * sizeof(float), '\0');
  std::memcpy(out.data(), &version, sizeof version);
  std::memcpy(out.data() + sizeof version, f.data_ptr<float>(), static_cast<size_t>(f.numel()) * sizeof(float));
  return out;
}

torch::Tensor unpack_weights(const std::string& bytes, int64_t expected, int64_t* version, const std::string& source) {
  if (bytes.size() != sizeof(int64_t) + static_cast<size_t>(expected) * sizeof(float))
    raise(ErrorKind::kCorruption, source, ": weight message of ", bytes.size(), " bytes, expected ",
          sizeof(int64_t) + static_cast<size_t>(expected) * sizeof(float), " (8 + 4 x ", expected, " parameters)");
  std::memcpy(version, bytes.data(), sizeof(int64_t));
  torch::Tensor t = torch::empty({expected}, torch::kFloat32);
  std::memcpy(t.data_ptr<float>(), bytes.data() + sizeof(int64_t), static_cast<size_t>(expected) * sizeof(float));
  return t;
}

torch::Tensor flatten_tensors(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> flat;
  for (const auto& t : tensors) flat.push_back(t.detach().to(torch::kFloat32).reshape({-1}));
  return torch::cat(flat);
}

void unflatten_into(const torch::Tensor& flat, std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard g;
  int64_t off = 0;
  for (auto& t : tensors) {
    t.copy_(flat.slice(0, off, off + t.numel()).view(t.sizes()));
    off += t.numel();
  }
  FASRL_CHECK(off == flat.numel(), "unflatten_into: ", flat.numel(), " values for ", off, " parameters");
}

}  // namespace fasrl::comm
