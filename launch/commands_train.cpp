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
#include "rollout/worker.h"
#include "trainer/grpo_trainer.h"
#include "trainer/moae_cr_trainer.h"
#include "trainer/sft_trainer.h"
#include "launch/commands.h"

namespace fasrl::launch {
namespace {

int* g_argc = nullptr;
char*** g_argv = nullptr;

}  // namespace

void set_process_args(int* argc, char*** argv) {
  g_argc = argc;
  g_argv = argv;
}

int cmd_train(const Args& args) {
  const comm::World& world = comm::init_world(g_argc, g_argv);
  const proto::JobConfig config = load_job_config(args);
  const int threads = configure_threads(config.run());
  const std::string& algorithm = config.train().algorithm();
  if (algorithm != "moae_cr" && algorithm != "sft" && algorithm != "grpo")
    raise(ErrorKind::kConfig, "train.algorithm: '", algorithm, "' is not available (moae_cr, sft, grpo)");
  if (world.rank == 0) {
    make_dirs(config.run().dir());
    atomic_write_file(join_path(config.run().dir(), "config.json"), message_to_json(config));
    LOG(INFO) << "train (" << algorithm << "): " << world.size << " ranks x " << threads << " threads, run dir "
              << config.run().dir();
  }
  install_preemption_handlers();
  bool preempted = false;
  int64_t steps = 0;
  if (algorithm == "grpo") {
    const comm::RoleSplit roles = comm::split_roles(world, config.train().grpo().learners());
    if (roles.num_rollout < 1)
      raise(ErrorKind::kConfig, "train.grpo.learners = ", roles.num_learners, " of ", world.size,
            " ranks leaves no rollout worker: start more ranks or lower train.grpo.learners");
    if (roles.role == comm::Role::kRollout) {
      rollout::RolloutJob job{config.run(), config.data(), config.mllm(), config.train().grpo(),
                              config.qa(),  config.train().sft().qa_field(), config.train().steps()};
      rollout::run_rollout_worker(job, roles, world.comm);
    } else {
      trainer::GrpoJob job{config.run(),   config.data(), config.mllm(), config.optim(),
                           config.train(), config.comm(), config.qa(),   message_to_json(config)};
      const auto result = trainer::train_grpo(job, roles, world.comm);
      preempted = result.preempted;
      steps = result.steps;
      if (world.rank == 0 && !preempted) {
        std::cout << "trained " << result.steps << " GRPO steps (" << roles.num_learners << " learners, "
                  << roles.num_rollout << " rollout workers): " << result.samples / result.seconds
                  << " samples/s; weight sync " << 1e3 * result.weight_sync_seconds / std::max<int64_t>(1, result.steps)
                  << " ms/update for " << result.weight_bytes / std::max<int64_t>(1, result.steps) / 1e6 << " MB\n";
        if (result.report)
          for (const auto& [key, value] : eval::mllm_eval_summary(*result.report))
            std::cout << "test " << key << " " << value << "\n";
      }
    }
  } else if (algorithm == "sft") {
    trainer::SftJob job{config.run(),   config.data(), config.mllm(), config.optim(),
                        config.train(), config.comm(), config.qa(),   message_to_json(config)};
    const auto result = trainer::train_sft(job, world.comm);
    preempted = result.preempted;
    steps = result.steps;
    if (world.rank == 0 && !preempted) {
      std::cout << "trained " << result.steps << " SFT steps, token loss " << result.first_loss << " -> "
                << result.last_loss << "\n";
      if (result.report) {
        for (const auto& [kind, k] : result.report->test.kinds)
          std::cout << "test " << kind << ": accuracy " << k.accuracy() << " (ranked " << k.ranked_accuracy()
                    << ", majority " << k.majority() << ")\n";
        std::cout << "test FAS from P(attack): ACER " << result.report->fas.acer << "  AUC " << result.report->fas.auc
                  << "  -> " << join_path(config.run().dir(), "eval/report.json") << "\n";
      }
    }
  } else {
    trainer::MoaeCrJob job{config.run(),   config.data(), config.model(),         config.optim(),
                           config.train(), config.comm(), message_to_json(config)};
    const auto result = trainer::train_moae_cr(job, world.comm);
    preempted = result.preempted;
    steps = result.steps;
    if (world.rank == 0 && !preempted) {
      std::cout << "trained " << result.steps << " steps, last loss " << result.last_loss << "\n";
      if (result.report)
        std::cout << "test (" << config.data().protocol() << ", dev threshold " << result.report->threshold << "): ACER "
                  << result.report->acer << "  HTER " << result.report->hter << "  AUC " << result.report->auc
                  << "  EER " << result.report->eer << "  -> " << join_path(config.run().dir(), "eval/report.json")
                  << "\n";
    }
  }
  if (preempted) {
    if (world.rank == 0)
      std::cout << "preempted (signal " << preemption_signal() << ") at step " << steps
                << ": checkpoint written; rerun the same command to resume (exit " << kPreemptedExitCode << ")\n";
    comm::finalize_world();
    return kPreemptedExitCode;
  }
  comm::finalize_world();
  return 0;
}

}  // namespace fasrl::launch
