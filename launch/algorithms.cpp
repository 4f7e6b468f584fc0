#include "launch/algorithms.h"

#include <algorithm>
#include <iostream>

#include "core/error.h"
#include "core/io.h"
#include "core/yaml_proto.h"
#include "data/manifest.h"
#include "data/modality_selection.h"
#include "eval/mllm_eval.h"
#include "launch/summary.h"
#include "models/mllm.h"
#include "models/qwen_vl_io.h"
#include "rollout/reward_shaping.h"
#include "rollout/worker.h"
#include "trainer/grpo_loss.h"
#include "trainer/grpo_trainer.h"
#include "trainer/moae_cr_trainer.h"
#include "trainer/sft_trainer.h"

namespace fasrl::launch {
namespace {

// The learner settings of every loop: run, optimiser, loop keys, comm, and the effective config.
trainer::LearnerSpec learner_spec(const proto::JobConfig& config) {
  return {config.run(), config.optim(), loop_settings(config.train()), config.comm(), message_to_json(config), {}};
}

// MLLM runs store a self-contained config in every checkpoint, so that eval
// and export of a checkpoint need nothing else: the MLLM config resolved (a
// Qwen2.5-VL's architecture and processor read from mllm.init_from), init_from
// cleared (its weights are in the checkpoint), the tokenizer as the
// checkpoint's own tokenizer.json (with the starting model's generation and
// chat-template files when it had them), and the modalities trained on.
trainer::LearnerSpec mllm_learner_spec(const proto::JobConfig& config) {
  trainer::LearnerSpec spec = learner_spec(config);
  proto::JobConfig stored = config;
  proto::MllmConfig mllm = models::resolve_mllm_config(config.mllm());
  spec.checkpoint_files["tokenizer.json"] = read_file(mllm.tokenizer());
  const std::string& source = config.mllm().init_from();
  for (const std::string& extra : models::hf_side_files())
    if (!source.empty() && path_exists(join_path(source, extra))) spec.checkpoint_files[extra] = read_file(join_path(source, extra));
  mllm.clear_init_from();
  mllm.set_tokenizer("tokenizer.json");  // the checkpoint's own copy
  *stored.mutable_mllm() = mllm;
  stored.mutable_data()->clear_modalities();
  for (const auto& name : data::select_modalities(data::Manifest::load(config.data().dataset()), config.data()).names)
    stored.mutable_data()->add_modalities(name);
  spec.config_json = message_to_json(stored);
  return spec;
}

// The attack-type names of the job's dataset (for the summaries).
std::vector<std::string> dataset_fine_labels(const proto::JobConfig& config) {
  return data::Manifest::load(config.data().dataset()).fine_labels;
}

TrainOutcome train_moae_cr(const proto::JobConfig& config, const comm::World& world) {
  trainer::MoaeCrJob job{learner_spec(config), config.data(), config.model(), config.train().moae_cr()};
  const auto result = trainer::train_moae_cr(job, world.comm);
  if (world.rank == 0 && !result.preempted) {
    std::cout << "trained " << result.steps << " steps, last loss " << result.last_loss << "\n";
    if (result.report) {
      print_fas_summary(std::cout, "MoAE-CR after " + std::to_string(result.steps) + " steps on " + config.data().protocol(),
                        *result.report, dataset_fine_labels(config));
      print_report_path(std::cout, config.run().dir(), result.steps);
    }
  }
  return {result.steps, result.preempted};
}

TrainOutcome train_sft(const proto::JobConfig& config, const comm::World& world) {
  trainer::SftJob job{mllm_learner_spec(config), config.data(), config.mllm(), config.train().sft(),
                      config.train().mllm_eval(), config.qa()};
  const auto result = trainer::train_sft(job, world.comm);
  if (world.rank == 0 && !result.preempted) {
    std::cout << "trained " << result.steps << " SFT steps, token loss " << result.first_loss << " -> " << result.last_loss
              << "\n";
    if (result.report) {
      print_mllm_summary(std::cout, "after " + std::to_string(result.steps) + " SFT steps", *result.report,
                         dataset_fine_labels(config));
      print_report_path(std::cout, config.run().dir(), result.steps);
    }
  }
  return {result.steps, result.preempted};
}

// Learners 0..L-1 and rollout workers L..W-1.
TrainOutcome train_grpo(const proto::JobConfig& config, const comm::World& world) {
  const proto::GrpoConfig& g = config.train().grpo();
  trainer::grpo_loss_options(g);  // every rank checks the options before any work
  rollout::check_rollout_options(g);
  const comm::RoleSplit roles = comm::split_roles(world, g.learners());
  if (roles.num_rollout < 1)
    raise(ErrorKind::kConfig, "train.grpo.learners = ", roles.num_learners, " of ", world.size,
          " ranks leaves no rollout worker: start more ranks or lower train.grpo.learners");
  // Learner r reads from worker r % workers: workers beyond the learner count would never be read
  // and sit idle all run (on a cluster: idle GPUs).
  if (roles.num_rollout > roles.num_learners)
    raise(ErrorKind::kConfig, world.size, " ranks with train.grpo.learners = ", roles.num_learners, " make ",
          roles.num_rollout, " rollout workers, but each learner reads from one worker, so ",
          roles.num_rollout - roles.num_learners, " would sit idle: start ", 2 * roles.num_learners,
          " ranks, or raise train.grpo.learners to ", (world.size + 1) / 2, " or more");
  if (roles.role == comm::Role::kRollout) {
    rollout::RolloutJob job{config.run(), config.data(), config.mllm(), g, config.qa(), config.comm(), config.train().steps()};
    rollout::run_rollout_worker(job, roles, world.comm);
    return {config.train().steps(), false};
  }
  trainer::GrpoJob job{mllm_learner_spec(config), config.data(), config.mllm(), g, config.train().mllm_eval(), config.qa()};
  const auto result = trainer::train_grpo(job, roles, world.comm);
  if (world.rank == 0 && !result.preempted) {
    std::cout << "trained " << result.steps << " GRPO steps (" << roles.num_learners << " learners, "
              << roles.num_rollout << " rollout workers): " << result.samples / result.seconds
              << " samples/s; weight sync " << 1e3 * result.weight_sync_seconds / std::max<int64_t>(1, result.steps)
              << " ms/update for " << result.weight_bytes / std::max<int64_t>(1, result.steps) / 1e6 << " MB\n";
    if (result.report) {
      print_mllm_summary(std::cout, "after " + std::to_string(result.steps) + " GRPO steps", *result.report,
                         dataset_fine_labels(config));
      print_report_path(std::cout, config.run().dir(), result.steps);
    }
  }
  return {result.steps, result.preempted};
}

const Algorithm kAlgorithms[] = {
    {"moae_cr", ModelFamily::kDetector, train_moae_cr},
    {"sft", ModelFamily::kReasoningMllm, train_sft},
    {"grpo", ModelFamily::kReasoningMllm, train_grpo},
};

}  // namespace

const Algorithm& find_algorithm(const std::string& name) {
  std::string known;
  for (const Algorithm& a : kAlgorithms) {
    if (name == a.name) return a;
    known += std::string(known.empty() ? "" : ", ") + a.name;
  }
  raise(ErrorKind::kConfig, "train.algorithm: '", name, "' is not available (", known, ")");
}

proto::TrainConfig loop_settings(const proto::TrainConfig& train) {
  proto::TrainConfig loop = train;
  loop.clear_moae_cr();
  loop.clear_sft();
  loop.clear_grpo();
  loop.clear_mllm_eval();
  return loop;
}

}  // namespace fasrl::launch
