// Score files: CSV "score,is_attack,attack_type[,sample_id]" with a header,
// one sample a line — what `fasrl eval` writes and `fasrl eval scores` reads,
// so scores from any model can be evaluated with the same metric code.
// attack_type is the attack's name from the label list (e.g. "print",
// "face_swap"; "live" or empty for bona fide samples) or its index in that
// list. Errors name the file and line.
#pragma once
#include <string>
#include <vector>

#include "metrics/fas_metrics.h"

namespace fasrl::metrics {

// `fine_labels`: index -> attack name (index 0 is live).
ScoredSamples read_score_file(const std::string& path, const std::vector<std::string>& fine_labels);

// The file's text: attack types by name, sample ids when given (same length as `samples`).
std::string score_file_text(const ScoredSamples& samples, const std::vector<std::string>& fine_labels,
                            const std::vector<std::string>& sample_ids = {});

}  // namespace fasrl::metrics
