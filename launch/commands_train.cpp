// fasrl train: MoAE-CR, SFT, or GRPO (learners + rollout workers) on every rank of the job.
#include <glog/logging.h>

#include <algorithm>
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

int cmd_train(const Args& args) {
  const comm::World& world = comm::init_world(nullptr, nullptr);  // MPI needs no argv
  const proto::JobConfig config = load_job_config(args);
  const int threads = configure_threads(config.run());
  const Algorithm& algorithm = find_algorithm(config.train().algorithm());
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
