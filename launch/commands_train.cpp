// fasrl train: MoAE-CR, SFT, or GRPO (learners + rollout workers) on every rank of the job.
#include <glog/logging.h>

#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "comm/world.h"
#include "core/error.h"
#include "core/io.h"
#include "core/preemption.h"
#include "core/yaml_proto.h"
#include "launch/runtime.h"
#include "launch/algorithms.h"
#include "launch/commands.h"

namespace fasrl::launch {

namespace {

// The step of run_dir's latest checkpoint (0 when there is none).
int64_t latest_checkpoint_step(const std::string& run_dir) {
  const std::string latest = join_path(run_dir, "checkpoints/latest");
  if (!path_exists(latest)) return 0;
  const std::string name = read_file(latest);
  return name.rfind("step-", 0) == 0 ? std::atoll(name.c_str() + 5) : 0;
}

}  // namespace

int cmd_train(const Args& args) {
  const comm::World& world = comm::init_world(nullptr, nullptr);  // MPI needs no argv
  const proto::JobConfig config = load_job_config(args);
  const int threads = configure_threads(config.run());
  const Algorithm& algorithm = find_algorithm(config.train().algorithm());
  // A finished run is reported, not retrained (rank 0 reads, every rank agrees).
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
    LOG(INFO) << "train (" << algorithm.name << "): " << world.size << " ranks x " << threads << " threads, run dir "
              << config.run().dir();
  }
  install_preemption_handlers();
  const TrainOutcome outcome = algorithm.train(config, world);
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
