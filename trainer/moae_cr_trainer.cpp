#include "trainer/moae_cr_trainer.h"

#include <glog/logging.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>

#include "comm/collective.h"
#include "comm/grad_sync.h"
#include "core/error.h"
#include "core/io.h"
#include "core/preemption.h"
#include "core/timer.h"
#include "data/loader.h"
#include "trainer/checkpoint.h"
#include "trainer/losses.h"
#include "trainer/optim.h"

namespace fasrl::trainer {
namespace {


NamedParams named_params(models::ClipModel& model) {
  NamedParams out;
  for (auto& p : model->named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

TensorMap model_tensors(models::ClipModel& model) {
  TensorMap out;
  for (auto& p : model->named_parameters()) out[p.key()] = p.value().detach().clone();
  return out;
}

struct LossTerms {
  torch::Tensor total, ce, dm, cdm, baseline;
};

LossTerms compute_loss(const torch::Tensor& img, const torch::Tensor& text, const torch::Tensor& logit_scale,
                       const torch::Tensor& labels, const proto::MoaeCrConfig& c) {
  LossTerms t;
  t.ce = clip_ce_loss(img, text, logit_scale, labels);
  t.total = t.ce;
  if (c.loss() == "moae_cr") {
    t.dm = dm_loss(img, labels, c.dm_threshold());
    t.cdm = cdm_loss(img, labels);
    t.total = t.total + c.dm_weight() * t.dm + c.cdm_weight() * t.cdm;
  } else if (c.loss() == "triplet") {
    t.baseline = triplet_loss(img, labels);
  } else if (c.loss() == "hard_triplet") {
    t.baseline = hard_triplet_loss(img, labels);
  } else if (c.loss() == "npair") {
    t.baseline = npair_loss(img, labels);
  } else if (c.loss() == "supcon") {
    t.baseline = supcon_loss(img, labels);
  } else if (c.loss() != "ce") {
    raise(ErrorKind::kConfig, "train.moae_cr.loss: '", c.loss(),
          "' is not one of: moae_cr, ce, triplet, hard_triplet, npair, supcon");
  }
  if (t.baseline.defined()) t.total = t.total + c.baseline_weight() * t.baseline;
  return t;
}

double value(const torch::Tensor& t) { return t.defined() ? t.item<double>() : 0.0; }

// Failure-injection hooks for tests (train.crash_at_step, signal_at_step, kill_at_step).
// signal_at_step fires only in a run that started from scratch, so a requeued
// job resumes instead of being preempted again.
void run_test_hooks(const proto::TrainConfig& tc, int64_t step, int rank, bool resumed) {
  if (tc.crash_at_step() > 0 && step == tc.crash_at_step()) {
    LOG(ERROR) << "train.crash_at_step=" << step << ": exiting abruptly (test hook)";
    std::_Exit(137);
  }
  if (tc.signal_at_step() > 0 && step == tc.signal_at_step() && rank == 0 && !resumed) std::raise(SIGTERM);
  if (tc.kill_at_step() > 0 && step == tc.kill_at_step() && rank == tc.kill_rank()) std::raise(SIGKILL);
}

void broadcast_string(std::string& s, MPI_Comm comm) {
  int64_t n = static_cast<int64_t>(s.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm);
  s.resize(static_cast<size_t>(n));
  MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, comm);
}

torch::Tensor cpu_rng_state() {
  at::Generator gen = torch::globalContext().defaultGenerator(torch::kCPU);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void restore(models::ClipModel& model, torch::optim::Optimizer& opt, const Checkpoint& ck,
             const std::string& optim_name, const std::string& source) {
  torch::NoGradGuard g;
  for (auto& p : model->named_parameters()) {
    auto it = ck.model.find(p.key());
    if (it == ck.model.end() || it->second.sizes() != p.value().sizes())
      raise(ErrorKind::kCorruption, source, "/model.safetensors: tensor '", p.key(),
            "' is missing or has the wrong shape");
    p.value().copy_(it->second);
  }
  load_optimizer_state(opt, named_params(model), optim_name, ck.optimizer, source + "/optimizer.safetensors");
  at::Generator gen = torch::globalContext().defaultGenerator(torch::kCPU);  // a handle sharing the global state
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(ck.rng_state);
}

}  // namespace

proto::ClipConfig resolve_model_config(const proto::ClipConfig& model, const proto::LoaderConfig& data) {
  const data::Manifest manifest = data::Manifest::load(data.dataset());
  int channels = 0;
  if (data.modalities().empty()) {
    for (const auto& m : manifest.modalities) channels += m.channels;
  } else {
    for (const auto& name : data.modalities()) {
      const int idx = manifest.modality_index(name);
      if (idx < 0) raise(ErrorKind::kConfig, "data.modalities: '", name, "' is not a modality of ", data.dataset());
      channels += manifest.modalities[static_cast<size_t>(idx)].channels;
    }
  }
  proto::ClipConfig out = model;
  out.mutable_vision()->set_in_channels(channels);
  return out;
}

torch::Tensor model_input(const std::vector<torch::Tensor>& images) { return torch::cat(images, 1).sub(0.5).div(0.5); }

models::PromptTokens class_prompts(const proto::ClipConfig& model, const proto::MoaeCrConfig& c) {
  return models::tokenize_prompts({c.live_prompt(), c.fake_prompt()}, model.text().vocab_size(),
                                  model.text().context_length());
}

eval::FasReport evaluate_moae_cr(models::ClipModel& model, const models::PromptTokens& prompts,
                                 const proto::LoaderConfig& data, std::vector<SampleScore>* scores) {
  torch::NoGradGuard no_grad;
  model->eval();
  auto dataset = std::make_shared<const data::Dataset>(data.dataset());
  const torch::Tensor text = model->encode_text(prompts.ids, prompts.eot);  // [2, proj]
  auto score = [&](const std::string& split) {
    proto::LoaderConfig lc = data;
    lc.set_split(split);
    lc.set_shuffle(false);
    lc.set_drop_last(false);
    data::Loader loader(dataset, lc, 0, 1, 0);
    eval::ScoredSamples out;
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
      const data::Batch batch = loader.next();
      const torch::Tensor probs =
          torch::softmax(clip_logits(model->encode_image(model_input(batch.images)), text, model->logit_scale), 1);
      for (int64_t i = 0; i < batch.size(); ++i) {  // score = P(fake)
        const double p = probs[i][1].item<double>();
        const int attack = static_cast<int>(batch.binary[i].item<int64_t>()), fine = static_cast<int>(batch.fine[i].item<int64_t>());
        out.add(p, attack, fine);
        if (scores) scores->push_back({split, batch.sample_ids[static_cast<size_t>(i)], p, attack, fine});
      }
    }
    return out;
  };
  const auto dev = score("dev"), test = score("test");
  model->train();
  return eval::evaluate(dev, test);
}

MoaeCrResult train_moae_cr(const MoaeCrJob& job, MPI_Comm learners) {
  int rank = 0, world = 1;
  MPI_Comm_rank(learners, &rank);
  MPI_Comm_size(learners, &world);
  const proto::TrainConfig& tc = job.train;
  const proto::MoaeCrConfig& lc = tc.moae_cr();
  if (tc.steps() < 1) raise(ErrorKind::kConfig, "train.steps must be >= 1, got ", tc.steps());

  // Model, data, optimiser: identical seeds on every rank; rank 0's weights are broadcast anyway.
  torch::manual_seed(job.run.seed());
  const proto::ClipConfig model_config = resolve_model_config(job.model, job.data);
  models::ClipModel model(model_config);
  const models::PromptTokens prompts = class_prompts(model_config, lc);
  proto::LoaderConfig data_config = job.data;
  data_config.set_image_size(model_config.vision().image_size());
  auto dataset = std::make_shared<const data::Dataset>(data_config.dataset());
  const NamedParams params = named_params(model);
  auto optimizer = make_optimizer(params, job.optim);

  std::vector<torch::Tensor> tensors;
  for (const auto& p : params) tensors.push_back(p.second);
  comm::check_same_shapes(learners, tensors, "model parameters");
  auto collective = comm::make_mpi_collective(learners, job.comm);

  // Resume: rank 0 picks the newest checkpoint that verifies; every rank loads that one.
  TrainerState state;
  std::string chosen;
  std::optional<Checkpoint> latest;
  if (tc.resume() && rank == 0) {
    std::vector<std::string> skipped;
    latest = load_latest_checkpoint(job.run.dir(), &skipped, &chosen);
    if (latest) LOG(INFO) << "resuming from " << chosen;
    for (const auto& s : skipped) LOG(ERROR) << s;
  }
  broadcast_string(chosen, learners);
  if (!chosen.empty()) {
    if (!latest) latest = load_checkpoint(chosen);  // rank 0 has it already
    restore(model, *optimizer, *latest, job.optim.name(), chosen);
    state = latest->state;
    latest.reset();
  }
  {
    torch::NoGradGuard g;
    for (auto& t : tensors) collective->broadcast(t, 0);
  }
  data::Loader loader(dataset, data_config, rank, world, job.run.seed(), {state.data_epoch, state.data_position});
  comm::BucketedAllReduce grad_sync(*collective, tensors, job.comm);

  std::ofstream metrics;
  if (rank == 0) {
    make_dirs(job.run.dir());
    metrics.open(join_path(job.run.dir(), "metrics.jsonl"), std::ios::app);
  }
  auto checkpoint = [&] {
    if (rank != 0) return;
    const data::LoaderCursor cursor = loader.cursor();
    Checkpoint ck{model_tensors(model),
                  optimizer_state(*optimizer, params, job.optim.name()),
                  cpu_rng_state(),
                  job.config_json,
                  {state.step, cursor.epoch, cursor.position, state.policy_version}};
    LOG(INFO) << "checkpoint " << save_checkpoint(job.run.dir(), ck, tc.keep_checkpoints());
  };

  MoaeCrResult result;
  Stopwatch clock;
  int64_t samples_since_log = 0;
  while (state.step < tc.steps()) {
    run_test_hooks(tc, state.step + 1, rank, !chosen.empty());
    // Preemption: every rank learns whether any rank got SIGTERM/SIGUSR1.
    torch::Tensor stop = torch::full({1}, preemption_requested() ? 1 : 0, torch::kInt32);
    collective->all_reduce_sum(stop);
    if (stop.item<int>() > 0) {
      if (rank == 0) LOG(WARNING) << "preemption signal received: checkpointing at step " << state.step << " and stopping";
      checkpoint();
      collective->broadcast(stop, 0);  // a barrier: nobody exits before rank 0's checkpoint is in place
      result.preempted = true;
      result.steps = state.step;
      return result;
    }
    set_lr(*optimizer, lr_at(state.step, tc.steps(), job.optim));
    const data::Batch batch = loader.next();
    const torch::Tensor img = model->encode_image(model_input(batch.images));        // [B, proj]
    const torch::Tensor text = model->encode_text(prompts.ids, prompts.eot);  // [2, proj]
    const LossTerms loss = compute_loss(img, text, model->logit_scale, batch.binary, lc);
    optimizer->zero_grad();
    loss.total.backward();
    for (auto& p : params)
      if (!p.second.grad().defined()) p.second.mutable_grad() = torch::zeros_like(p.second);
    std::vector<torch::Tensor> grads;
    for (const auto& p : params) grads.push_back(p.second.grad());
    grad_sync.average(grads);
    const double grad_norm =
        job.optim.grad_clip() > 0 ? torch::nn::utils::clip_grad_norm_(tensors, job.optim.grad_clip()) : 0.0;
    optimizer->step();
    ++state.step;
    samples_since_log += batch.size() * world;
    if (state.step % std::max(1, tc.log_every()) == 0 || state.step == tc.steps()) {
      // Loss terms averaged over the learners (every rank takes part).
      torch::Tensor terms = torch::tensor(
          {value(loss.total), value(loss.ce), value(loss.dm), value(loss.cdm), value(loss.baseline)}, torch::kFloat64);
      collective->all_reduce_sum(terms);
      terms.div_(world);
      result.last_loss = terms[0].item<double>();
      if (rank == 0) {
        const nlohmann::json row = {{"step", state.step},
                                    {"loss", result.last_loss},
                                    {"ce", terms[1].item<double>()},
                                    {"dm", terms[2].item<double>()},
                                    {"cdm", terms[3].item<double>()},
                                    {"baseline", terms[4].item<double>()},
                                    {"lr", lr_at(state.step - 1, tc.steps(), job.optim)},
                                    {"grad_norm", grad_norm},
                                    {"samples_per_s", samples_since_log / clock.seconds()}};
        metrics << row.dump() << "\n" << std::flush;
        LOG(INFO) << row.dump();
      }
      samples_since_log = 0;
      clock.reset();
    }
    if (tc.checkpoint_every() > 0 && state.step % tc.checkpoint_every() == 0 && state.step < tc.steps()) checkpoint();
    if (rank == 0 && tc.eval_every() > 0 && state.step % tc.eval_every() == 0 && state.step < tc.steps()) {
      const auto report = evaluate_moae_cr(model, prompts, data_config);
      LOG(INFO) << "step " << state.step << " test ACER " << report.acer << " AUC " << report.auc;
    }
  }
  checkpoint();
  result.steps = state.step;
  if (rank == 0) {
    const data::Manifest& m = dataset->manifest();
    const auto& splits = m.protocol(data_config.protocol()).splits;
    if (splits.count("dev") && splits.count("test")) {
      result.report = evaluate_moae_cr(model, prompts, data_config);
      make_dirs(join_path(job.run.dir(), "eval"));
      atomic_write_file(join_path(job.run.dir(), "eval/report.json"),
                        eval::report_to_json(*result.report, m.fine_labels) + "\n");
    }
  }
  return result;
}

}  // namespace fasrl::trainer
