// Point-to-point messages between roles over MPI_COMM_WORLD: serialized
// rollout batches (worker -> learner) and versioned flat weights (learner 0
// -> every rollout worker). Sends are non-blocking with owned buffers, so a
// rollout worker can run ahead of the learners (bounded by the caller).
#pragma once
#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace fasrl::comm {

inline constexpr int kRolloutTag = 101;
inline constexpr int kWeightsTag = 102;

// Non-blocking sends whose buffers live until MPI is done with them.
class Outbox {
 public:
  explicit Outbox(MPI_Comm comm) : comm_(comm) {}
  ~Outbox();  // waits for every pending send
  void send(int dest, int tag, std::string bytes);
  size_t pending();  // completes what it can, returns what is left
  void wait_all();

 private:
  struct Pending {
    std::unique_ptr<std::string> bytes;
    MPI_Request request;
  };
  MPI_Comm comm_;
  std::deque<Pending> pending_;
};

// Blocking receive of one message of `tag` from `source` (MPI_ANY_SOURCE ok);
// *from receives the sender's rank.
std::string recv_bytes(MPI_Comm comm, int source, int tag, int* from = nullptr);
// True when a message of `tag` from `source` is waiting.
bool message_waiting(MPI_Comm comm, int source, int tag);

// Weights as [int64 version][float32 values of every tensor, in order], packed
// and unpacked with one copy each way (no intermediate flat tensor).
std::string pack_weights(int64_t version, const std::vector<torch::Tensor>& tensors);
// Copies the values into `tensors` (same order and sizes); returns the version.
// A message of the wrong size is an error naming `source`.
int64_t unpack_weights_into(const std::string& bytes, std::vector<torch::Tensor>& tensors, const std::string& source);

}  // namespace fasrl::comm
