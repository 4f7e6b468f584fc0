// A received RolloutBatch (decoded by comm/role_protocol.h), checked before it
// touches the model: parse errors, the end of the stream,
// wrong step, a policy version outside [step − max_staleness, step], wrong
// group size, token ids outside the vocabulary, log-prob / token count
// mismatches, non-finite values and wrong image byte counts are errors naming
// the sending rank and the group.
#pragma once
#include <torch/torch.h>

#include <string>

#include "proto/rollout.pb.h"

namespace fasrl::trainer {

proto::RolloutBatch parse_rollout_batch(const std::string& bytes, int from_rank, int64_t expected_step,
                                        int max_staleness, int group_size, int64_t vocab_size);

// A group's images as MLLM input [K, 3, H, W] in [-1, 1] (undefined when none).
torch::Tensor group_images(const proto::RolloutGroup& group);

}  // namespace fasrl::trainer
