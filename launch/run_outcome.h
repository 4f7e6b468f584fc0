// How the latest `fasrl train` attempt on a run directory ended, kept in
// RUN_DIR/outcome.json by rank 0: "running" when training starts, "complete"
// or "preempted" (with the signal) when it ends. A rank killed or failed
// leaves "running". `fasrl status` shows it; `fasrl status --exit-code`
// turns it into the job's exit code (0 complete, 75 preempted, 1 otherwise),
// so a job script can requeue a preempted run even where its launcher's own
// code says nothing (Open MPI's mpirun exits 1 after a SIGTERM, whatever the
// ranks did).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace fasrl::launch {

enum class RunState { kRunning, kComplete, kPreempted };

struct RunOutcome {
  RunState state = RunState::kRunning;
  int64_t step = 0;  // the step training started from (running) or stopped at
  int signal = 0;    // preempted: the signal that asked for it
  double time = 0;   // seconds since the epoch, when written
};

const char* run_state_name(RunState state);

void write_run_outcome(const std::string& run_dir, RunOutcome outcome);

// nullopt when run_dir has no outcome.json (a run from before it existed);
// a malformed file is an error naming the file and the key.
std::optional<RunOutcome> read_run_outcome(const std::string& run_dir);

// What `fasrl status --exit-code` returns for a run: 0 when it is complete,
// kPreemptedExitCode when its latest attempt was preempted, 1 otherwise
// (still running, killed, failed, or never started).
int run_exit_code(bool complete, const std::optional<RunOutcome>& outcome);

}  // namespace fasrl::launch
