#include "launch/experiment.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "core/io.h"

namespace fasrl::launch {
namespace {

// A value's name as a directory name: letters, digits, '-', '_', '.', '+'; others become '_'.
std::string dir_name(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '+') ? c : '_';
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

std::string fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

std::vector<ExperimentCell> experiment_cells(const proto::ExperimentConfig& config) {
  if (config.seeds_size() == 0) raise(ErrorKind::kConfig, "experiment: seeds: give at least one seed");
  if (config.out_dir().empty()) raise(ErrorKind::kConfig, "experiment: out_dir is required");
  for (int a = 0; a < config.axes_size(); ++a) {
    const auto& axis = config.axes(a);
    if (axis.name().empty()) raise(ErrorKind::kConfig, "experiment: axes[", a, "] has no name");
    if (axis.values_size() == 0) raise(ErrorKind::kConfig, "experiment: axis '", axis.name(), "' has no values");
    for (int v = 0; v < axis.values_size(); ++v)
      if (axis.values(v).name().empty()) raise(ErrorKind::kConfig, "experiment: axis '", axis.name(), "' value ", v, " has no name");
  }
  std::vector<std::vector<int>> combos = {{}};
  for (const auto& axis : config.axes()) {
    std::vector<std::vector<int>> next;
    for (const auto& c : combos)
      for (int v = 0; v < axis.values_size(); ++v) {
        next.push_back(c);
        next.back().push_back(v);
      }
    combos = std::move(next);
  }
  std::vector<ExperimentCell> cells;
  for (const auto& combo : combos)
    for (int seed : config.seeds()) {
      ExperimentCell cell;
      cell.seed = seed;
      cell.overrides.assign(config.overrides().begin(), config.overrides().end());
      std::string dir = config.out_dir();
      for (size_t a = 0; a < combo.size(); ++a) {
        const auto& value = config.axes(static_cast<int>(a)).values(combo[a]);
        cell.values.push_back(value.name());
        cell.overrides.insert(cell.overrides.end(), value.overrides().begin(), value.overrides().end());
        dir = join_path(dir, dir_name(value.name()));
      }
      cell.run_dir = join_path(dir, "seed-" + std::to_string(seed));
      // Placeholders: {seed} and {<axis name>} (the value's directory name), e.g. to start a
      // GRPO cell from the SFT cell of another experiment with the same values and seed.
      for (auto& o : cell.overrides) {
        replace_all(o, "{seed}", std::to_string(seed));
        for (size_t a = 0; a < combo.size(); ++a)
          replace_all(o, "{" + config.axes(static_cast<int>(a)).name() + "}", dir_name(cell.values[a]));
      }
      cell.overrides.push_back("run.seed=" + std::to_string(seed));
      cell.overrides.push_back("run.dir=" + cell.run_dir);
      cells.push_back(std::move(cell));
    }
  return cells;
}

double report_metric(const nlohmann::json& report, const std::string& key, const std::string& report_path) {
  const nlohmann::json* node = &report;
  std::istringstream parts(key);
  for (std::string part; std::getline(parts, part, '.');) {
    if (!node->is_object() || !node->contains(part))
      raise(ErrorKind::kNotFound, report_path, ": no '", key, "' (metrics: keys of report.json, dotted for nested ones)");
    node = &(*node)[part];
  }
  if (!node->is_number()) raise(ErrorKind::kInvalidArgument, report_path, ": '", key, "' is not a number");
  return node->get<double>();
}

ExperimentTable experiment_table(const proto::ExperimentConfig& config, const std::vector<ExperimentCell>& cells,
                                 const std::vector<std::map<std::string, double>>& metrics) {
  // Rows in first-seen order of the value combinations.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<size_t>> members;
  for (size_t i = 0; i < cells.size(); ++i) {
    size_t r = 0;
    while (r < rows.size() && rows[r] != cells[i].values) ++r;
    if (r == rows.size()) {
      rows.push_back(cells[i].values);
      members.emplace_back();
    }
    members[r].push_back(i);
  }
  std::ostringstream md, csv;
  md << "|";
  for (const auto& axis : config.axes()) md << " " << axis.name() << " |", csv << axis.name() << ",";
  md << " seeds |";
  csv << "seeds";
  for (const auto& m : config.metrics()) md << " " << m << " |", csv << "," << m << "_mean," << m << "_std";
  md << "\n|";
  for (int i = 0; i < config.axes_size() + 1 + config.metrics_size(); ++i) md << "---|";
  md << "\n";
  csv << "\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    md << "|";
    for (const auto& v : rows[r]) md << " " << v << " |", csv << v << ",";
    md << " " << members[r].size() << " |";
    csv << members[r].size();
    for (const auto& m : config.metrics()) {
      std::vector<double> xs;
      for (size_t i : members[r]) xs.push_back(metrics[i].at(m));
      double mean = 0, var = 0;
      for (double x : xs) mean += x / static_cast<double>(xs.size());
      for (double x : xs) var += (x - mean) * (x - mean);
      const double sd = xs.size() > 1 ? std::sqrt(var / static_cast<double>(xs.size() - 1)) : 0.0;  // sample std
      md << " " << fixed(mean, 3) << " ± " << fixed(sd, 3) << " |";
      csv << "," << fixed(mean, 6) << "," << fixed(sd, 6);
    }
    md << "\n";
    csv << "\n";
  }
  return {md.str(), csv.str()};
}

}  // namespace fasrl::launch
