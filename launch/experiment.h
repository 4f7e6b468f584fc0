// The parts of `fasrl experiment` that need no processes: the grid of cells
// an ExperimentConfig describes, metric lookup in a report, and the results
// table (mean ± sample std over seeds) as Markdown and CSV.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "proto/experiment.pb.h"

namespace fasrl::launch {

struct ExperimentCell {
  std::vector<std::string> values;     // one value name per axis
  int seed = 0;
  std::vector<std::string> overrides;  // common, then each axis value's ({seed}, {axis} filled in), then run.seed and run.dir
  std::string run_dir;                 // out_dir/<value>/.../seed-<s>
};

// Every combination of axis values, times every seed, in axis order (the last axis varies fastest,
// seeds fastest of all). Throws naming the key for an empty or unnamed axis/value, or no seeds.
std::vector<ExperimentCell> experiment_cells(const proto::ExperimentConfig& config);

// report["a"]["b"] for "a.b"; throws naming the report and key when it is missing or not a number.
double report_metric(const nlohmann::json& report, const std::string& key, const std::string& report_path);

// The table: one row per combination of axis values, mean ± std of each metric over its cells.
struct ExperimentTable {
  std::string markdown, csv;
};
ExperimentTable experiment_table(const proto::ExperimentConfig& config, const std::vector<ExperimentCell>& cells,
                                 const std::vector<std::map<std::string, double>>& metrics);

}  // namespace fasrl::launch
