#include "metrics/score_file.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace fasrl::metrics {

ScoredSamples read_score_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) raise(ErrorKind::kNotFound, path, ": cannot open score file");
  std::string line;
  std::getline(in, line);
  if (line.rfind("score,is_attack,attack_type", 0) != 0)
    raise(ErrorKind::kInvalidArgument, path, ":1: expected header 'score,is_attack,attack_type'");
  ScoredSamples out;
  for (int line_no = 2; std::getline(in, line); ++line_no) {
    if (line.empty() || line == "\r") continue;
    std::istringstream ss(line);
    double score = 0;
    int attack = 0, type = 0;
    char c1 = 0, c2 = 0;
    if (!(ss >> score >> c1 >> attack >> c2 >> type) || c1 != ',' || c2 != ',' || !std::isfinite(score) ||
        (attack != 0 && attack != 1))
      raise(ErrorKind::kInvalidArgument, path, ":", line_no, ": expected 'score,0|1,type', got '", line, "'");
    out.add(score, attack, type);
  }
  return out;
}

}  // namespace fasrl::metrics
