// Held-out evaluation of the reasoning MLLM on a protocol's dev and test
// splits. For every QA item of a sample (binary / coarse / fine / choice):
//  - generated: greedy decoding from the image prompt, the answer parsed from
//    <answer>…</answer>; accuracy and the well-formed rate;
//  - ranked: after the model's own rationale, which candidate answer (every
//    label of that granularity, or every option letter) is most likely —
//    defined for any model, so an untrained one sits at chance;
//  - the GRPO reward (format + accuracy + KG consistency) of the greedy responses;
//  - FAS metrics (dev-EER threshold applied to test) with the score
//    P(attack) = softmax over the binary candidates "live" / "attack".
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress_meter.h"
#include "eval/eval_outputs.h"
#include "metrics/fas_metrics.h"
#include "reasoning/fakg.h"
#include "models/mllm.h"
#include "models/tokenizer.h"
#include "proto/config.pb.h"

namespace fasrl::eval {

struct KindScore {
  int64_t items = 0, correct = 0, ranked_correct = 0, well_formed = 0;
  double reward_sum = 0;  // GRPO reward of the greedy responses (data/rewards.h)
  // Knowledge-graph cues the rationales claim, and how many of those the
  // graph says support / contradict the sample's true class (UniShield's
  // KG consistency of the reasoning, reasoning/rewards.h).
  int64_t claimed_cues = 0, supporting_cues = 0, contradicting_cues = 0;
  std::map<std::string, int64_t> labels;  // answer label counts (for the majority baseline)
  std::map<std::string, int64_t> correct_by_label;
  // Record one item: its true label and whether the generated answer matched.
  void add(const std::string& label, bool is_correct);
  double accuracy() const { return items ? static_cast<double>(correct) / items : 0; }
  // Mean over the true labels present of the share answered right (sklearn's
  // balanced_accuracy_score): 1/classes for a constant answer, whatever the
  // class shares, where accuracy equals the majority baseline.
  double balanced_accuracy() const;
  double ranked_accuracy() const { return items ? static_cast<double>(ranked_correct) / items : 0; }
  double majority() const;
  double mean_reward() const { return items ? reward_sum / items : 0; }
  double kg_support_share() const { return claimed_cues ? static_cast<double>(supporting_cues) / claimed_cues : 0; }
  double kg_contradict_share() const { return claimed_cues ? static_cast<double>(contradicting_cues) / claimed_cues : 0; }
};

struct SplitScore {
  std::map<std::string, KindScore> kinds;
  metrics::ScoredSamples binary_scores;
  std::vector<std::string> examples;  // a few generated responses, for the report
};

struct MllmEvaluation {
  std::string protocol;
  SplitScore dev, test;
  bool has_fas = false;  // both classes present in dev and test
  metrics::FasReport fas;
};

// QA items come from text field `qa_field` (qa.field). `progress` counts the
// samples of each split ("eval dev", "eval test"); null: silent.
MllmEvaluation evaluate_mllm(models::Mllm& model, const models::BpeTokenizer& tokenizer, const reasoning::KnowledgeGraph& kg,
                             const proto::LoaderConfig& data, const std::string& qa_field,
                             const proto::MllmEvalConfig& settings, const proto::RewardConfig& reward,
                             ProgressMeter* progress = nullptr);
// One flat metrics row: <kind>_accuracy, _ranked_accuracy, _reward per kind of
// the test split, mean_reward over kinds, auc and acer.
std::map<std::string, double> mllm_eval_summary(const MllmEvaluation& e);
std::string mllm_report_json(const MllmEvaluation& e, const std::vector<std::string>& fine_labels);
// The metrics.jsonl row of an evaluation during training: {"eval": when, "step": step, summary...}.
nlohmann::json mllm_eval_row(const MllmEvaluation& e, const std::string& when, int64_t step);
// Writes the report and, when it has FAS metrics, the P(attack) score files
// scores-{dev,test}.csv where eval/eval_outputs.h says; returns the report text.
std::string write_mllm_report(const std::string& run_dir, const EvalSource& source, const MllmEvaluation& e,
                              const std::vector<std::string>& fine_labels);

}  // namespace fasrl::eval
