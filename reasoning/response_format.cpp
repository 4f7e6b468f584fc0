#include "reasoning/response_format.h"

#include <algorithm>
#include <cctype>
#include <regex>

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

ParsedResponse parse_response(const std::string& text) {
  // [\s\S] = any character including newline (ECMAScript has no dot-all flag).
  static const std::regex full(R"(^\s*<think>([\s\S]*?)</think>\s*<answer>([\s\S]*?)</answer>\s*$)");
  static const std::regex answer_only(R"(<answer>([\s\S]*?)</answer>)");
  ParsedResponse out;
  std::smatch m;
  if (std::regex_match(text, m, full)) {
    out.well_formed = true;
    out.think = m[1];
    out.answer = m[2];
  } else if (std::regex_search(text, m, answer_only)) {
    out.answer = m[1];
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
