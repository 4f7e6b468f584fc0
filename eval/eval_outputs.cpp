#include "eval/eval_outputs.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "core/strings.h"

namespace fasrl::eval {
namespace {

// The step of an existing <dir>/report.json; -1 when there is none or it has no step.
int64_t reported_step(const std::string& dir) {
  const std::string path = join_path(dir, "report.json");
  if (!path_exists(path)) return -1;
  const auto j = nlohmann::json::parse(read_file(path), nullptr, false);
  return j.is_object() && j.contains("step") && j["step"].is_number_integer() ? j["step"].get<int64_t>() : -1;
}

}  // namespace

std::string eval_step_dir(const std::string& run_dir, int64_t step) {
  return join_path(run_dir, "eval/" + step_name(step));
}

std::string write_eval_outputs(const std::string& run_dir, const EvalSource& source, const std::string& report_json,
                               const std::map<std::string, std::string>& files) {
  nlohmann::json report = nlohmann::json::parse(report_json);
  report["step"] = source.step;
  report["checkpoint"] = source.checkpoint;
  const std::string text = report.dump(2);
  const std::string eval_dir = join_path(run_dir, "eval");
  std::vector<std::string> dirs = {eval_step_dir(run_dir, source.step)};
  if (reported_step(eval_dir) <= source.step) dirs.push_back(eval_dir);
  for (const auto& dir : dirs) {
    make_dirs(dir);
    for (const auto& [name, contents] : files) atomic_write_file(join_path(dir, name), contents);
    atomic_write_file(join_path(dir, "report.json"), text + "\n");
  }
  return text;
}

}  // namespace fasrl::eval
