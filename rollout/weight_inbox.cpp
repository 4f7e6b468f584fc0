#include "rollout/weight_inbox.h"

#include "comm/role_protocol.h"
#include "core/timer.h"

namespace fasrl::rollout {

WeightInbox::WeightInbox(MPI_Comm world, std::vector<torch::Tensor> params, double timeout_s)
    : world_(world), params_(std::move(params)), timeout_s_(timeout_s) {}

void WeightInbox::receive() {
  const std::string bytes = comm::recv_bytes(world_, 0, comm::kWeightsTag, timeout_s_, "weights or stop message");
  Stopwatch clock;
  const comm::WeightMessage m = comm::decode_weights_into(bytes, params_, "weights from learner 0");
  if (m.stop) {
    stopped_ = true;
    return;
  }
  apply_seconds_ += clock.seconds();
  version_ = m.version;
  ++updates_;
}

void WeightInbox::sync(int64_t min_version) {
  while (!stopped_ && comm::message_waiting(world_, 0, comm::kWeightsTag)) receive();
  while (!stopped_ && version_ < min_version) receive();
}

}  // namespace fasrl::rollout
