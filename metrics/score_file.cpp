#include "metrics/score_file.h"

#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"

namespace fasrl::metrics {
namespace {

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',') out.emplace_back();
    else if (c != '\r') out.back() += c;
  }
  return out;
}

// A name from `fine_labels` or its index; -1 when it is neither.
int attack_type_id(const std::string& text, const std::vector<std::string>& fine_labels) {
  for (size_t i = 0; i < fine_labels.size(); ++i)
    if (text == fine_labels[i]) return static_cast<int>(i);
  if (text.empty()) return 0;
  size_t used = 0;
  try {
    const int id = std::stoi(text, &used);
    if (used == text.size() && id >= 0 && id < static_cast<int>(fine_labels.size())) return id;
  } catch (const std::exception&) {
  }
  return -1;
}

}  // namespace

ScoredSamples read_score_file(const std::string& path, const std::vector<std::string>& fine_labels) {
  std::ifstream in(path);
  if (!in) raise(ErrorKind::kNotFound, path, ": cannot open score file");
  std::string line;
  std::getline(in, line);
  if (line.rfind("score,is_attack,attack_type", 0) != 0)
    raise(ErrorKind::kInvalidArgument, path, ":1: expected header 'score,is_attack,attack_type[,sample_id]'");
  ScoredSamples out;
  for (int line_no = 2; std::getline(in, line); ++line_no) {
    if (line.empty() || line == "\r") continue;
    const std::vector<std::string> f = split_csv(line);
    double score = 0;
    size_t used = 0;
    bool ok = f.size() >= 3 && (f[1] == "0" || f[1] == "1");
    try {
      if (ok) score = std::stod(f[0], &used);
    } catch (const std::exception&) {
      ok = false;
    }
    if (!ok || used != f[0].size() || !std::isfinite(score))
      raise(ErrorKind::kInvalidArgument, path, ":", line_no, ": expected 'score,0|1,attack_type', got '", line, "'");
    const int attack = f[1] == "1";
    const int type = attack_type_id(f[2], fine_labels);
    if (type < 0)
      raise(ErrorKind::kInvalidArgument, path, ":", line_no, ": attack_type '", f[2], "' is neither a name (",
            join(fine_labels, ", "), ") nor an index below ", fine_labels.size());
    if (attack != (type != 0))
      raise(ErrorKind::kInvalidArgument, path, ":", line_no, ": is_attack ", attack, " disagrees with attack_type '",
            f[2], "' (", fine_labels[0], " is the only bona fide type)");
    out.add(score, attack, type);
  }
  return out;
}

std::string score_file_text(const ScoredSamples& samples, const std::vector<std::string>& fine_labels,
                            const std::vector<std::string>& sample_ids) {
  std::ostringstream csv;
  csv << "score,is_attack,attack_type" << (sample_ids.empty() ? "" : ",sample_id") << "\n" << std::setprecision(17);
  for (size_t i = 0; i < samples.size(); ++i) {
    const int type = samples.attack_type[i];
    csv << samples.scores[i] << "," << samples.is_attack[i] << ","
        << (type >= 0 && type < static_cast<int>(fine_labels.size()) ? fine_labels[type] : std::to_string(type));
    if (!sample_ids.empty()) csv << "," << sample_ids[i];
    csv << "\n";
  }
  return csv.str();
}

}  // namespace fasrl::metrics
