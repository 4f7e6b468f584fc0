#include "reasoning/response_format.h"

#include <algorithm>
#include <cctype>

namespace fasrl::reasoning {
namespace {
std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}
}  // namespace

std::vector<std::string> response_special_tokens() { return {kThinkOpen, kThinkClose, kAnswerOpen, kAnswerClose}; }

std::string format_response(const std::string& think, const std::string& answer) {
  return std::string(kThinkOpen) + think + kThinkClose + kAnswerOpen + answer + kAnswerClose;
}

std::string response_format_summary() { return format_response("...", "..."); }

// Linear-time equivalent of matching
//   full:        ^\s*<think>([\s\S]*?)</think>\s*<answer>([\s\S]*?)</answer>\s*$
//   answer only: <answer>([\s\S]*?)</answer>   (first match)
// without a backtracking regex engine, whose recursion overflowed the stack on
// responses of a few tens of KB (tests/test_sft.cpp checks both against
// std::regex on many generated strings).
ParsedResponse parse_response(const std::string& text) {
  static const std::string think_open = kThinkOpen, think_close = kThinkClose;
  static const std::string answer_open = kAnswerOpen, answer_close = kAnswerClose;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  auto skip_space = [&](size_t i) {
    while (i < text.size() && is_space(text[i])) ++i;
    return i;
  };
  auto at = [&](size_t i, const std::string& tag) { return text.compare(i, tag.size(), tag) == 0; };
  ParsedResponse out;
  // The whole text: the last </answer> must end it (up to whitespace); the
  // think ends at the first </think> followed by whitespace and <answer>.
  const size_t start = skip_space(0);
  const size_t close = text.rfind(answer_close);
  if (at(start, think_open) && close != std::string::npos && skip_space(close + answer_close.size()) == text.size()) {
    const size_t think_begin = start + think_open.size();
    for (size_t p = text.find(think_close, think_begin); p != std::string::npos; p = text.find(think_close, p + 1)) {
      const size_t a = skip_space(p + think_close.size());
      if (at(a, answer_open) && a + answer_open.size() <= close) {
        out.well_formed = true;
        out.think = text.substr(think_begin, p - think_begin);
        out.answer = text.substr(a + answer_open.size(), close - a - answer_open.size());
        break;
      }
      if (p >= close) break;
    }
  }
  if (!out.well_formed) {
    const size_t open = text.find(answer_open);
    const size_t end = open == std::string::npos ? open : text.find(answer_close, open + answer_open.size());
    if (end != std::string::npos) out.answer = text.substr(open + answer_open.size(), end - open - answer_open.size());
  }
  out.answer = trim(out.answer);
  std::transform(out.answer.begin(), out.answer.end(), out.answer.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool answer_matches(const QaItem& item, const std::string& answer) {
  if (item.kind == "choice") {
    std::string letter = item.answer;
    std::transform(letter.begin(), letter.end(), letter.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return answer == letter || answer == letter + ".";
  }
  return answer == item.label;
}

}  // namespace fasrl::reasoning
