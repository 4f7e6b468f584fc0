// The response format of the reasoning MLLM (R1-V / PA-FAS), the one owner of
// its tags:
//   <think>…</think><answer>…</answer>
// Written by SFT data, parsed by evaluation, inference and the GRPO format and
// accuracy rewards.
#pragma once
#include <string>
#include <vector>

#include "reasoning/qa_items.h"

namespace fasrl::reasoning {

inline constexpr const char* kThinkOpen = "<think>";
inline constexpr const char* kThinkClose = "</think>";
inline constexpr const char* kAnswerOpen = "<answer>";
inline constexpr const char* kAnswerClose = "</answer>";
// The four tags, as the tokenizer's special tokens (in this order).
std::vector<std::string> response_special_tokens();
// A well-formed response: <think>{think}</think><answer>{answer}</answer>.
std::string format_response(const std::string& think, const std::string& answer);
// How a response's format is described to downstream consumers (export).
std::string response_format_summary();

struct ParsedResponse {
  bool well_formed = false;  // the whole text is <think>.*</think>\s*<answer>.*</answer> (dot matches newline)
  std::string think, answer;  // answer trimmed and lower-cased (letters upper-cased); empty when absent
};
ParsedResponse parse_response(const std::string& text);

// Whether `answer` (as parsed) answers `item`: the label id, or the option letter for choice.
bool answer_matches(const QaItem& item, const std::string& answer);

}  // namespace fasrl::reasoning
