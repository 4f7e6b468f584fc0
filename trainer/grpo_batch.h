// A received RolloutBatch (decoded by comm/role_protocol.h), checked before it
// touches the model: parse errors, the end of the stream,
// wrong step, a policy version outside [step − max_staleness, step], wrong
// group size, token ids outside the vocabulary, log-prob / token count
// mismatches, non-finite values, wrong image byte counts and (when the model's
// numbers are given) images of another size than the model's or a prompt
// whose image-pad tokens do not match its images are errors naming the
// sending rank and the group.
#pragma once
#include <torch/torch.h>

#include <string>

#include "proto/rollout.pb.h"

namespace fasrl::trainer {

// What the learner's model takes (0 / -1: not checked).
struct RolloutImageSpec {
  int64_t side = 0;              // image height and width
  int64_t image_pad_id = -1;     // the image-pad token
  int64_t tokens_per_image = 0;  // image-pad tokens per image
};
proto::RolloutBatch parse_rollout_batch(const std::string& bytes, int from_rank, int64_t expected_step,
                                        int max_staleness, int group_size, int64_t vocab_size,
                                        const RolloutImageSpec& images = {});

// A group's images as MLLM input [K, 3, H, W] in [-1, 1] (undefined when none).
torch::Tensor group_images(const proto::RolloutGroup& group);

}  // namespace fasrl::trainer
