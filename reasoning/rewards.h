// Rule rewards for GRPO (R1-V / PA-FAS) and the KG-consistency reward (UniShield GCRO):
//  format     1 if the whole response is <think>…</think><answer>…</answer>, else 0
//  accuracy   1 if the parsed answer answers the item (label, or option letter), else 0
//  kg         cues the rationale claims (a cue is claimed when its FAKG sentence
//             appears in the <think> text): +1 for each the graph says supports the
//             sample's true class, −1 for each it contradicts, 0 otherwise; the
//             mean over claimed cues, so in [−1, 1]; 0 when none is claimed.
// total = format_weight·format + accuracy_weight·accuracy + kg_weight·kg
// (train.grpo.reward). Pure functions, shared by the rollout workers and the
// held-out evaluation.
#pragma once
#include <map>
#include <string>

#include "reasoning/fakg.h"
#include "reasoning/qa_items.h"
#include "proto/config.pb.h"

namespace fasrl::reasoning {

struct Reward {
  double format = 0, accuracy = 0, kg = 0, total = 0;
  int claimed_cues = 0, supporting_cues = 0, contradicting_cues = 0;  // of the claimed ones, by the graph
};

// `true_fine`: the sample's fine category id.
Reward score_response(const std::string& response, const QaItem& item, const std::string& true_fine,
                      const KnowledgeGraph& kg, const proto::RewardConfig& weights);

}  // namespace fasrl::reasoning
