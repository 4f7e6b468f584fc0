#include "trainer/grpo_batch.h"

#include <algorithm>
#include <cmath>

#include "comm/role_protocol.h"
#include "core/error.h"
#include "models/mllm.h"

namespace fasrl::trainer {

proto::RolloutBatch parse_rollout_batch(const std::string& bytes, int from, int64_t step, int max_staleness,
                                        int group_size, int64_t vocab, const RolloutImageSpec& spec) {
  const std::string who = "RolloutBatch from rank " + std::to_string(from);
  const std::optional<proto::RolloutBatch> decoded = comm::decode_rollout(bytes, who);
  if (!decoded) raise(ErrorKind::kCorruption, who, ": the stream ended before step ", step);
  const proto::RolloutBatch& b = *decoded;
  if (b.step() != step) raise(ErrorKind::kCorruption, who, ": is for step ", b.step(), ", the learner is at step ", step);
  if (b.policy_version() > step || b.policy_version() < step - max_staleness)
    raise(ErrorKind::kCorruption, who, ": policy version ", b.policy_version(), " is outside [", step - max_staleness, ", ",
          step, "] (step ", step, ", max_staleness ", max_staleness, ")");
  if (b.groups_size() == 0) raise(ErrorKind::kCorruption, who, ": no groups");
  for (int gi = 0; gi < b.groups_size(); ++gi) {
    const auto& g = b.groups(gi);
    const std::string where = who + ", group " + std::to_string(gi) + " (" + g.sample_id() + ")";
    if (g.completions_size() != group_size)
      raise(ErrorKind::kCorruption, where, ": ", g.completions_size(), " completions, expected group_size ", group_size);
    if (g.prompt_ids_size() == 0) raise(ErrorKind::kCorruption, where, ": empty prompt");
    for (int64_t id : g.prompt_ids())
      if (id < 0 || id >= vocab) raise(ErrorKind::kCorruption, where, ": prompt token ", id, " outside [0, ", vocab, ")");
    for (const auto& img : g.images())
      if ((img.channels() != 1 && img.channels() != 3) || img.height() < 1 || img.width() < 1 ||
          img.pixels().size() != static_cast<size_t>(img.channels()) * img.height() * img.width())
        raise(ErrorKind::kCorruption, where, ": image '", img.modality(), "' has ", img.pixels().size(), " bytes for ",
              img.channels(), "x", img.height(), "x", img.width());
      else if (spec.side > 0 && (img.height() != spec.side || img.width() != spec.side))
        raise(ErrorKind::kCorruption, where, ": image '", img.modality(), "' is ", img.height(), "x", img.width(),
              ", the model takes ", spec.side, "x", spec.side);
    if (spec.image_pad_id >= 0 && spec.tokens_per_image > 0) {
      const int64_t pads = std::count(g.prompt_ids().begin(), g.prompt_ids().end(), spec.image_pad_id);
      if (pads != static_cast<int64_t>(g.images_size()) * spec.tokens_per_image)
        raise(ErrorKind::kCorruption, where, ": the prompt holds ", pads, " image-pad tokens for ", g.images_size(),
              " images of ", spec.tokens_per_image);
    }
    for (int ci = 0; ci < g.completions_size(); ++ci) {
      const auto& c = g.completions(ci);
      if (c.tokens_size() == 0 || c.tokens_size() != c.logprobs_size())
        raise(ErrorKind::kCorruption, where, ", completion ", ci, ": ", c.tokens_size(), " tokens and ", c.logprobs_size(),
              " log-probs");
      for (int64_t id : c.tokens())
        if (id < 0 || id >= vocab) raise(ErrorKind::kCorruption, where, ", completion ", ci, ": token ", id, " outside [0, ", vocab, ")");
      for (float lp : c.logprobs())
        if (!std::isfinite(lp) || lp > 0) raise(ErrorKind::kCorruption, where, ", completion ", ci, ": log-prob ", lp);
      if (!std::isfinite(c.advantage()) || !std::isfinite(c.reward()))
        raise(ErrorKind::kCorruption, where, ", completion ", ci, ": non-finite reward or advantage");
    }
  }
  return b;
}

torch::Tensor group_images(const proto::RolloutGroup& group) {
  std::vector<torch::Tensor> out;
  for (const auto& img : group.images()) {
    const torch::Tensor hwc =
        torch::from_blob(const_cast<char*>(img.pixels().data()), {img.height(), img.width(), img.channels()}, torch::kUInt8);
    out.push_back(models::mllm_image(hwc.permute({2, 0, 1}).to(torch::kFloat32).div(255)));
  }
  return out.empty() ? torch::Tensor() : torch::stack(out);
}

}  // namespace fasrl::trainer
