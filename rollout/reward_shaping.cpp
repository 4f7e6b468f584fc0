#include "rollout/reward_shaping.h"

#include <algorithm>

#include "core/error.h"

namespace fasrl::rollout {

double overlong_penalty(int64_t length, int64_t max_new_tokens, int64_t buffer, double factor) {
  if (buffer <= 0) return 0;
  const int64_t expected = max_new_tokens - buffer;
  if (length <= expected) return 0;
  return -factor * static_cast<double>(std::min(length, max_new_tokens) - expected) / static_cast<double>(buffer);
}

bool group_has_signal(const std::vector<double>& rewards) {
  return std::any_of(rewards.begin(), rewards.end(), [&](double r) { return r != rewards.front(); });
}

void keep_informative_groups(proto::RolloutBatch& batch, int max_refills,
                             const std::function<void(int refill, proto::RolloutBatch& extra)>& refill) {
  const int wanted = batch.groups_size();
  std::vector<proto::RolloutGroup> kept, dropped;
  auto sort_groups = [&](proto::RolloutBatch& b) {
    for (auto& group : *b.mutable_groups()) {
      std::vector<double> rewards;
      for (const auto& c : group.completions()) rewards.push_back(c.reward());
      (group_has_signal(rewards) ? kept : dropped).push_back(std::move(group));
    }
    b.clear_groups();
  };
  sort_groups(batch);
  int refills = 0;
  for (; static_cast<int>(kept.size()) < wanted && refills < max_refills; ++refills) {
    proto::RolloutBatch extra;
    refill(refills, extra);
    sort_groups(extra);
  }
  batch.set_dropped_groups(static_cast<int>(dropped.size()));
  batch.set_refill_batches(refills);
  for (size_t i = 0; static_cast<int>(kept.size()) < wanted && i < dropped.size(); ++i) kept.push_back(std::move(dropped[i]));
  for (int i = 0; i < wanted; ++i) *batch.add_groups() = std::move(kept[static_cast<size_t>(i)]);
}

void check_rollout_options(const proto::GrpoConfig& g) {
  if (g.group_size() < 1) raise(ErrorKind::kConfig, "train.grpo.group_size: ", g.group_size(), " must be at least 1");
  if (g.max_new_tokens() < 1) raise(ErrorKind::kConfig, "train.grpo.max_new_tokens: ", g.max_new_tokens(), " must be at least 1");
  if (g.rollout_slots() < 0 || (g.rollout_slots() > 0 && g.rollout_slots() < g.group_size()))
    raise(ErrorKind::kConfig, "train.grpo.rollout_slots: ", g.rollout_slots(), " must be 0 (all at once) or at least group_size (",
          g.group_size(), "): a group's samples share one prefill");
  if (g.overlong_buffer_length() < 0 || g.overlong_buffer_length() > g.max_new_tokens())
    raise(ErrorKind::kConfig, "train.grpo.overlong_buffer_length: ", g.overlong_buffer_length(),
          " must be between 0 (off) and max_new_tokens (", g.max_new_tokens(), ")");
  if (g.max_staleness() < 0)
    raise(ErrorKind::kConfig, "train.grpo.max_staleness: ", g.max_staleness(), " must be 0 (on-policy) or more");
  if (g.prompts_per_batch() < 1)
    raise(ErrorKind::kConfig, "train.grpo.prompts_per_batch: ", g.prompts_per_batch(), " must be at least 1");
  if (g.max_refill_batches() < 0)
    raise(ErrorKind::kConfig, "train.grpo.max_refill_batches: ", g.max_refill_batches(), " must not be negative");
}

}  // namespace fasrl::rollout
