// The response format of the reasoning MLLM (R1-V / PA-FAS):
//   <think>…</think><answer>…</answer>
// Shared by SFT evaluation and the GRPO format and accuracy rewards.
#pragma once
#include <string>

#include "reasoning/qa_items.h"

namespace fasrl::reasoning {

struct ParsedResponse {
  bool well_formed = false;  // the whole text is <think>.*</think>\s*<answer>.*</answer> (dot matches newline)
  std::string think, answer;  // answer trimmed and lower-cased (letters upper-cased); empty when absent
};
ParsedResponse parse_response(const std::string& text);

// Whether `answer` (as parsed) answers `item`: the label id, or the option letter for choice.
bool answer_matches(const QaItem& item, const std::string& answer);

}  // namespace fasrl::reasoning
