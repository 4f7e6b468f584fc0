// Score files: CSV "score,is_attack,attack_type" with a header, one sample a
// line — what `fasrl eval scores` reads, so scores from any model can be
// evaluated with the same metric code. Errors name the file and line.
#pragma once
#include <string>

#include "metrics/fas_metrics.h"

namespace fasrl::metrics {

ScoredSamples read_score_file(const std::string& path);

}  // namespace fasrl::metrics
