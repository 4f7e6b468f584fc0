// Instruction data for the MLLM (PA-FAS path augmentation, UniShield-style
// KG question answering), built from the FAKG and each sample's labels and
// cue annotations.
//
// Items per sample: binary, coarse and fine free-form questions and a
// multiple-choice question whose option order is permuted per sample (answer
// shuffling: the correct letter carries no signal). Each item carries N
// reasoning paths: the present modalities examined in different orders and
// subsets (every path includes at least one modality whose cues decide the
// answer at the asked granularity), a cross-modal check when a path looks at
// more than one modality, then the conclusion. Seeded per sample id, so the
// same inputs give the same text on any machine.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reasoning/fakg.h"

namespace fasrl::reasoning {

struct QaItem {
  std::string kind;                  // binary | coarse | fine | choice
  std::string question;
  std::vector<std::string> options;  // choice: category ids in presented order (A, B, ...)
  std::string answer;                // the text inside <answer>: a category id, or a letter for choice
  std::string label;                 // the category id the answer stands for
  std::vector<std::string> paths;    // rationales (the text inside <think>)
};

// What QA synthesis needs to know about one sample.
struct QaSample {
  std::string sample_id;
  std::string fine_label;  // a category of the graph
  std::vector<std::string> present_modalities;
  std::map<std::string, std::vector<std::string>> cues;  // modality -> cue ids
};

struct QaOptions {
  int paths_per_item = 4;
  std::vector<std::string> kinds = {"binary", "coarse", "fine", "choice"};
  uint64_t seed = 1;
  int choice_options = 4;  // correct answer + distractors (fine labels)
};

// Errors name the sample and the unknown label / cue / kind.
std::vector<QaItem> synthesize_qa(const KnowledgeGraph& kg, const QaSample& sample, const QaOptions& options);

Granularity kind_granularity(const std::string& kind);  // choice -> fine
std::string qa_to_json(const std::vector<QaItem>& items);
std::vector<QaItem> qa_from_json(const std::string& text, const std::string& source);

}  // namespace fasrl::reasoning
