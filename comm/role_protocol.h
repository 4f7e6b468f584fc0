// The role protocol of a GRPO job: point-to-point messages over
// MPI_COMM_WORLD between learner 0, the other learners and the rollout
// workers. Every message is encoded and decoded here and nowhere else.
//
//   learner 0 -> every rollout worker (kWeightsTag):
//     weights  [int64 version >= 0][float32 values of every tensor, in order]
//     stop     [int64 -1]  (end of training or preemption)
//   rollout worker -> each learner it serves (kRolloutTag):
//     a serialized proto::RolloutBatch per learner step, then
//     end      an empty message, after every batch already sent
//
// Sends are non-blocking with owned buffers (a worker may run ahead of the
// learners, bounded by its caller). Every blocking receive is bounded by
// comm.timeout_s and names the peer it waited for.
#pragma once
#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/rollout.pb.h"

namespace fasrl::comm {

inline constexpr int kRolloutTag = 101;
inline constexpr int kWeightsTag = 102;

// Non-blocking sends whose buffers live until MPI is done with them.
class Outbox {
 public:
  // wait_all() waits at most timeout_s (> 0) per send (a large message needs
  // its receiver), then throws naming the destination.
  explicit Outbox(MPI_Comm comm, double timeout_s = 0) : comm_(comm), timeout_s_(timeout_s) {}
  ~Outbox();  // waits for every pending send
  void send(int dest, int tag, std::string bytes);
  size_t pending();  // completes what it can, returns what is left
  void wait_all();

 private:
  struct Pending {
    std::unique_ptr<std::string> bytes;
    MPI_Request request;
    int dest;
  };
  MPI_Comm comm_;
  double timeout_s_;
  std::deque<Pending> pending_;
};

// One message of `tag` from `source`. Past timeout_s (> 0) without one it
// throws an Error naming `what` and the source rank; <= 0 waits forever.
std::string recv_bytes(MPI_Comm comm, int source, int tag, double timeout_s, const std::string& what);
// True when a message of `tag` from `source` is waiting.
bool message_waiting(MPI_Comm comm, int source, int tag);

// A byte string of any size (MPI counts are int): its length, then chunks of
// at most 1 GiB. Both sides bounded by timeout_s, naming the peer.
void send_chunked(MPI_Comm comm, int dest, int tag, const std::string& bytes, double timeout_s, const std::string& what);
std::string recv_chunked(MPI_Comm comm, int source, int tag, double timeout_s, const std::string& what);

// ---- weights and stop (learner 0 -> rollout workers) ----------------------
// Packed and unpacked with one copy each way (no intermediate flat tensor).
std::string encode_weights(int64_t version, const std::vector<torch::Tensor>& tensors);
std::string encode_stop();
struct WeightMessage {
  bool stop = false;
  int64_t version = -1;  // of the weights now in the tensors (not set for stop)
};
// Copies the values of a weights message into `tensors` (same order and
// sizes); a message of the wrong size is an error naming `source`.
WeightMessage decode_weights_into(const std::string& bytes, std::vector<torch::Tensor>& tensors, const std::string& source);

// Learner 0's side: the same bytes to every rollout worker.
class WeightPublisher {
 public:
  WeightPublisher(MPI_Comm world, std::vector<int> workers, double timeout_s)
      : outbox_(world, timeout_s), workers_(std::move(workers)) {}
  // Returns the bytes sent in all.
  double publish(int64_t version, const std::vector<torch::Tensor>& tensors);
  void stop();
  void wait_all() { outbox_.wait_all(); }

 private:
  Outbox outbox_;
  std::vector<int> workers_;
};

// ---- rollout batches (rollout worker -> learner) --------------------------
std::string encode_rollout(const proto::RolloutBatch& batch);
// The batch, or nullopt for the end-of-stream marker; bytes that do not
// parse are an error naming `source`.
std::optional<proto::RolloutBatch> decode_rollout(const std::string& bytes, const std::string& source);

// A worker's side: batches to the learners it serves, then the end marker.
class RolloutSender {
 public:
  RolloutSender(MPI_Comm world, double timeout_s) : outbox_(world, timeout_s) {}
  void send(int learner, const proto::RolloutBatch& batch) { outbox_.send(learner, kRolloutTag, encode_rollout(batch)); }
  void end(const std::vector<int>& learners);  // the end marker to each, then waits for every send

 private:
  Outbox outbox_;
};

// A learner's side: the stream of its one rollout worker.
class RolloutReceiver {
 public:
  RolloutReceiver(MPI_Comm world, int worker, double timeout_s) : world_(world), worker_(worker), timeout_s_(timeout_s) {}
  // The next message's bytes (decode with decode_rollout), waiting at most timeout_s.
  std::string next_bytes();
  // Discards batches until the end marker (after the stop message).
  void drain();
  int worker() const { return worker_; }

 private:
  MPI_Comm world_;
  int worker_;
  double timeout_s_;
};

}  // namespace fasrl::comm
