#include "launch/run_outcome.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "core/json_file.h"
#include "core/preemption.h"

namespace fasrl::launch {

namespace {

constexpr RunState kStates[] = {RunState::kRunning, RunState::kComplete, RunState::kPreempted};

std::string outcome_path(const std::string& run_dir) { return join_path(run_dir, "outcome.json"); }

}  // namespace

const char* run_state_name(RunState state) {
  switch (state) {
    case RunState::kRunning:
      return "running";
    case RunState::kComplete:
      return "complete";
    case RunState::kPreempted:
      return "preempted";
  }
  return "?";
}

void write_run_outcome(const std::string& run_dir, RunOutcome outcome) {
  outcome.time = static_cast<double>(std::time(nullptr));
  nlohmann::json j = {{"state", run_state_name(outcome.state)}, {"step", outcome.step}, {"time", outcome.time}};
  if (outcome.state == RunState::kPreempted) j["signal"] = outcome.signal;
  atomic_write_file(outcome_path(run_dir), j.dump() + "\n");
}

std::optional<RunOutcome> read_run_outcome(const std::string& run_dir) {
  const std::string path = outcome_path(run_dir);
  if (!path_exists(path)) return std::nullopt;
  const nlohmann::json j = read_json_file(path);
  if (!j.is_object()) raise(ErrorKind::kCorruption, path, ": expected a JSON object");
  RunOutcome out;
  const auto state = j.find("state");
  if (state == j.end() || !state->is_string())
    raise(ErrorKind::kCorruption, path, ": 'state' must be a string (running, complete or preempted)");
  bool known = false;
  for (RunState s : kStates)
    if (*state == run_state_name(s)) out.state = s, known = true;
  if (!known) raise(ErrorKind::kCorruption, path, ": 'state' is ", state->dump(), "; expected running, complete or preempted");
  const auto number = [&](const char* key, bool required) -> double {
    const auto v = j.find(key);
    if (v == j.end()) {
      if (required) raise(ErrorKind::kCorruption, path, ": '", key, "' is missing");
      return 0;
    }
    // Bounded so that the casts below are exact (a step or signal beyond 2^53 is damage).
    if (!v->is_number() || v->get<double>() < 0 || v->get<double>() > 9.0e15)
      raise(ErrorKind::kCorruption, path, ": '", key, "' must be a number in [0, 9e15], not ", v->dump());
    return v->get<double>();
  };
  out.step = static_cast<int64_t>(number("step", true));
  out.time = number("time", false);
  out.signal = static_cast<int>(number("signal", out.state == RunState::kPreempted));
  return out;
}

int run_exit_code(bool complete, const std::optional<RunOutcome>& outcome) {
  if (complete) return 0;
  if (outcome && outcome->state == RunState::kPreempted) return kPreemptedExitCode;
  return 1;
}

}  // namespace fasrl::launch
