// fasrl train: MoAE-CR, SFT, or GRPO (learners + rollout workers) on every rank of the job.
#include <glog/logging.h>

#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>
#include <iostream>

#include "comm/world.h"
#include "core/error.h"
#include "core/io.h"
#include "core/strings.h"
#include "core/preemption.h"
#include "core/yaml_proto.h"
#include "launch/runtime.h"
#include "launch/algorithms.h"
#include "launch/commands.h"
#include "launch/run_outcome.h"

namespace fasrl::launch {

namespace {

// The step of run_dir's latest checkpoint (0 when there is none).
int64_t latest_checkpoint_step(const std::string& run_dir) {
  const std::string latest = join_path(run_dir, "checkpoints/latest");
  if (!path_exists(latest)) return 0;
  const std::string name = read_file(latest);
  return name.rfind("step-", 0) == 0 ? std::atoll(name.c_str() + 5) : 0;
}

// What an earlier run left in run_dir (empty when there is nothing).
std::vector<std::string> earlier_outputs(const std::string& run_dir) {
  std::vector<std::string> found;
  for (const char* name : {"checkpoints", "metrics.jsonl", "tb", "eval", "plots", "outcome.json"})
    if (path_exists(join_path(run_dir, name))) found.push_back(name);
  return found;
}

// Rank 0: --overwrite deletes an earlier run's outputs; train.resume=false in a
// used directory without it is refused (the old checkpoints and metrics would
// mix with the new run's).
void prepare_run_dir(const proto::JobConfig& config, bool overwrite) {
  const std::string& dir = config.run().dir();
  const std::vector<std::string> found = earlier_outputs(dir);
  if (found.empty()) return;
  if (overwrite) {
    for (const auto& name : found) std::filesystem::remove_all(join_path(dir, name));
    std::cout << "--overwrite: removed the earlier run's " << join(found, ", ") << " from " << dir << "\n";
    return;
  }
  if (!config.train().resume())
    raise(ErrorKind::kConfig, "run.dir '", dir, "' already holds a run (", join(found, ", "),
          "); train.resume=false would mix a fresh run with it. Pass --overwrite to delete them, or choose another run.dir");
}

// The dataset a job trains on must exist before anything is created for it.
void require_dataset(const proto::JobConfig& config) {
  const std::string& dataset = config.data().dataset();
  if (path_exists(join_path(dataset, "manifest.json"))) return;
  raise(ErrorKind::kNotFound, "data.dataset: '", dataset, "' ", path_exists(dataset) ? "has no manifest.json" : "does not exist",
        "; make a dataset with `fasrl data synth --config <config> synth.out_dir=", dataset,
        "` (then `fasrl data qa` for sft/grpo) or `fasrl data pack`, or set data.dataset to an existing one");
}

}  // namespace

int cmd_train(const Args& args) {
  const comm::World& world = comm::init_world(nullptr, nullptr);  // MPI needs no argv
  const proto::JobConfig config = load_job_config(args);
  const int threads = configure_threads(config.run());
  const Algorithm& algorithm = find_algorithm(config.train().algorithm());
  require_dataset(config);
  if (world.rank == 0) prepare_run_dir(config, args.has("overwrite"));
  // A finished run is reported, not retrained (rank 0 reads, every rank agrees).
  // (after --overwrite rank 0 has removed the checkpoints: none is found)
  int64_t done = world.rank == 0 && config.train().resume() ? latest_checkpoint_step(config.run().dir()) : 0;
  MPI_Bcast(&done, 1, MPI_INT64_T, 0, world.comm);
  if (done >= config.train().steps()) {
    if (world.rank == 0)
      std::cout << "run " << config.run().dir() << " is complete (checkpoint step-" << done << " of train.steps "
                << config.train().steps() << "); nothing to train. Continue it with a larger train.steps, or start "
                << "another run with a new run.dir (fasrl status " << config.run().dir() << " shows where it stands)\n";
    comm::finalize_world();
    return 0;
  }
  if (world.rank == 0) {
    make_dirs(config.run().dir());
    atomic_write_file(join_path(config.run().dir(), "config.json"), message_to_json(config));
    write_run_outcome(config.run().dir(), {RunState::kRunning, done});
    LOG(INFO) << "train (" << algorithm.name << "): " << world.size << " ranks x " << threads << " threads, run dir "
              << config.run().dir();
  }
  install_preemption_handlers();
  const TrainOutcome outcome = algorithm.train(config, world);
  if (world.rank == 0)
    write_run_outcome(config.run().dir(), {outcome.preempted ? RunState::kPreempted : RunState::kComplete, outcome.steps,
                                           outcome.preempted ? preemption_signal() : 0});
  if (outcome.preempted) {
    if (world.rank == 0)
      std::cout << "preempted (signal " << preemption_signal() << ") at step " << outcome.steps
                << ": checkpoint written; rerun the same command to resume (exit " << kPreemptedExitCode << ")\n";
    comm::finalize_world();
    return kPreemptedExitCode;
  }
  comm::finalize_world();
  return 0;
}

}  // namespace fasrl::launch
