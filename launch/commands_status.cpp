// fasrl status RUN_DIR: where a run stands, from its files alone (no MPI, no
// model): step/total, complete or not, the latest checkpoint, the last logged
// metrics, the rate and ETA from metrics.jsonl's timestamps, the evaluations,
// and how the latest attempt ended (outcome.json). With --exit-code it exits
// 0 (complete), 75 (preempted: requeue) or 1 (anything else).
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/io.h"
#include "core/json_file.h"
#include "launch/commands.h"
#include "launch/run_outcome.h"
#include "trainer/progress.h"

namespace fasrl::launch {

namespace {

std::vector<nlohmann::json> read_rows(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::vector<nlohmann::json> rows;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    try {
      rows.push_back(nlohmann::json::parse(lines[i]));
    } catch (const nlohmann::json::exception&) {
      // A run killed mid-write leaves a partial last line; anything else is damage.
      if (i + 1 < lines.size()) raise(ErrorKind::kCorruption, path, ":", i + 1, ": not a JSON row");
    }
  }
  return rows;
}

// Steps per second over the latest stretch of step rows written by one
// process (steps rising, timestamps rising); 0 when it cannot tell.
double recent_rate(const std::vector<const nlohmann::json*>& steps) {
  if (steps.size() < 2 || !steps.back()->contains("time")) return 0;
  size_t first = steps.size() - 1;
  while (first > 0 && steps.size() - first < 50) {
    const nlohmann::json& a = *steps[first - 1];
    const nlohmann::json& b = *steps[first];
    if (!a.contains("time") || a["step"] >= b["step"] || a["time"] >= b["time"]) break;
    --first;
  }
  const nlohmann::json &a = *steps[first], &b = *steps.back();
  if (&a == &b) return 0;
  return (b["step"].get<double>() - a["step"].get<double>()) / (b["time"].get<double>() - a["time"].get<double>());
}

std::string number(const nlohmann::json& v) {
  std::ostringstream s;
  if (v.is_number_float()) s << std::setprecision(4) << v.get<double>();
  else s << v.dump();
  return s.str();
}

}  // namespace

int cmd_status(const Args& args) {
  if (args.positional.size() != 1) raise(ErrorKind::kInvalidArgument, "status needs one RUN_DIR (a train run.dir)");
  const std::string dir = args.positional[0];
  const std::string config_path = join_path(dir, "config.json"), metrics_path = join_path(dir, "metrics.jsonl");
  if (!path_exists(config_path))
    raise(ErrorKind::kNotFound, config_path, ": missing; a fasrl run directory (run.dir) has config.json, metrics.jsonl "
          "and checkpoints/");
  const nlohmann::json config = read_json_file(config_path);
  const nlohmann::json train = config.value("train", nlohmann::json::object());
  const int64_t total = train.value("steps", int64_t{0});
  const std::vector<nlohmann::json> rows = path_exists(metrics_path) ? read_rows(metrics_path) : std::vector<nlohmann::json>{};
  std::vector<const nlohmann::json*> steps, evals;
  for (const auto& r : rows) (r.contains("eval") ? evals : steps).push_back(&r);
  steps.erase(std::remove_if(steps.begin(), steps.end(),
                             [](const nlohmann::json* r) { return !r->contains("step") || !r->contains("loss"); }),
              steps.end());

  const std::string latest_path = join_path(dir, "checkpoints/latest");
  std::string latest = path_exists(latest_path) ? read_file(latest_path) : "";
  latest.erase(latest.find_last_not_of(" \n\r\t") + 1);
  const int64_t logged = steps.empty() ? 0 : steps.back()->value("step", int64_t{0});
  const int64_t checkpointed = latest.rfind("step-", 0) == 0 ? std::atoll(latest.c_str() + 5) : 0;
  const int64_t step = std::max(logged, checkpointed);
  const bool complete = total > 0 && checkpointed >= total;

  std::cout << "run " << dir << " (" << train.value("algorithm", std::string("moae_cr")) << "): step " << step << "/" << total;
  if (total > 0) std::cout << " (" << 100 * step / total << "%)";
  std::cout << (complete ? ", complete" : "") << "\n";
  std::cout << "latest checkpoint: " << (latest.empty() ? "none" : join_path(dir, "checkpoints/" + latest)) << "\n";
  if (!steps.empty()) {
    const nlohmann::json& last = *steps.back();
    std::cout << "last logged step " << last["step"];
    if (last.contains("time")) {
      const double ago = static_cast<double>(std::time(nullptr)) - last["time"].get<double>();
      std::cout << ", " << trainer::format_duration(ago) << " ago";
    }
    std::cout << ":";
    for (const char* key : {"loss", "reward", "grad_norm", "lr", "target_tokens_per_s", "peak_host_mb"})
      if (last.contains(key)) std::cout << " " << key << " " << number(last[key]);
    std::cout << "\n";
    const double rate = recent_rate(steps);
    if (!complete && rate > 0)
      std::cout << "rate " << std::setprecision(3) << rate << " steps/s, ETA "
                << trainer::format_duration(static_cast<double>(total - step) / rate) << " (if it is still running)\n";
  }
  const std::optional<RunOutcome> outcome = read_run_outcome(dir);
  if (outcome) {
    std::cout << "latest attempt: ";
    switch (outcome->state) {
      case RunState::kRunning:
        std::cout << "started at step " << outcome->step << " and has not ended: still running, or killed or failed "
                  << "(see its log)";
        break;
      case RunState::kComplete:
        std::cout << "complete at step " << outcome->step;
        break;
      case RunState::kPreempted:
        std::cout << "preempted by signal " << outcome->signal << " at step " << outcome->step
                  << ", checkpoint written; rerun the same command to resume";
        break;
    }
    if (outcome->time > 0)
      std::cout << " (" << trainer::format_duration(static_cast<double>(std::time(nullptr)) - outcome->time) << " ago)";
    std::cout << "\n";
  }
  for (const nlohmann::json* e : evals) {
    std::cout << "eval " << (*e)["eval"].get<std::string>() << " at step " << e->value("step", int64_t{0}) << ":";
    for (const char* key : {"acer", "auc", "mean_reward", "fine_accuracy", "coarse_accuracy", "binary_accuracy"})
      if (e->contains(key)) std::cout << " " << key << " " << number((*e)[key]);
    std::cout << "\n";
  }
  return args.has("exit-code") ? run_exit_code(complete, outcome) : 0;
}

}  // namespace fasrl::launch
