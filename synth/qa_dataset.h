// `fasrl data qa`: a copy of a dataset with every sample's QA items
// (reasoning/qa_items.h) in a text field, built from its /text/cues
// annotations and the FAKG.
#pragma once
#include <string>

#include "core/progress_meter.h"
#include "reasoning/fakg.h"
#include "reasoning/qa_items.h"

namespace fasrl::synth {

// Writes a copy of dataset `in_dir` to `out_dir` with every sample's QA items
// in text field `field` (JSON list); labels, splits and pixels unchanged.
struct QaDatasetSummary {
  int64_t samples = 0, items = 0, paths = 0;
};
QaDatasetSummary add_qa_to_dataset(const std::string& in_dir, const std::string& out_dir, const reasoning::KnowledgeGraph& kg,
                                   const reasoning::QaOptions& options, const std::string& field,
                                   ProgressMeter* progress = nullptr);

}  // namespace fasrl::synth
