#include "reasoning/rewards.h"

#include <algorithm>
#include <cctype>

#include "reasoning/response_format.h"

namespace fasrl::reasoning {
namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}
}  // namespace

Reward score_response(const std::string& response, const QaItem& item, const std::string& true_fine,
                      const KnowledgeGraph& kg, const proto::RewardConfig& w) {
  Reward r;
  const ParsedResponse parsed = parse_response(response);
  r.format = parsed.well_formed ? 1 : 0;
  r.accuracy = answer_matches(item, parsed.answer) ? 1 : 0;
  // Cues claimed in the rationale (the think part; the whole text when malformed).
  const std::string think = lower(parsed.well_formed ? parsed.think : response);
  double sum = 0;
  for (const auto& cue : kg.cues()) {
    if (think.find(lower(cue.text)) == std::string::npos) continue;
    ++r.claimed_cues;
    switch (kg.relation(cue.id, true_fine)) {
      case CueRelation::kSupports: sum += 1, ++r.supporting_cues; break;
      case CueRelation::kContradicts: sum -= 1, ++r.contradicting_cues; break;
      case CueRelation::kNeutral: break;
    }
  }
  r.kg = r.claimed_cues ? sum / r.claimed_cues : 0;
  r.total = w.format_weight() * r.format + w.accuracy_weight() * r.accuracy + w.kg_weight() * r.kg;
  return r;
}

}  // namespace fasrl::reasoning
