#include "core/config_moves.h"

#include <map>

namespace fasrl {

std::string moved_config_key(const std::string& key) {
  static const std::map<std::string, std::string> moved = {
      {"train.sft.qa_field", "qa.field"},
      {"train.sft.eval_samples", "train.mllm_eval.samples"},
      {"train.sft.eval_max_new_tokens", "train.mllm_eval.max_new_tokens"},
      {"train.grpo.format_weight", "train.grpo.reward.format_weight"},
      {"train.grpo.accuracy_weight", "train.grpo.reward.accuracy_weight"},
      {"train.grpo.kg_weight", "train.grpo.reward.kg_weight"},
  };
  const auto it = moved.find(key);
  return it == moved.end() ? "" : it->second;
}

}  // namespace fasrl
