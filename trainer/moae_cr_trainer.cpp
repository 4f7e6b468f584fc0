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
#include "eval/moae_cr_eval.h"
#include "trainer/checkpoint.h"
#include "trainer/learner.h"
#include "trainer/losses.h"
#include "trainer/optim.h"

namespace fasrl::trainer {
namespace {


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

}  // namespace

MoaeCrResult train_moae_cr(const MoaeCrJob& job, MPI_Comm learners) {
  const proto::MoaeCrConfig& lc = job.moae_cr;
  // Model, data, optimiser: identical seeds on every rank; rank 0's weights are broadcast anyway.
  torch::manual_seed(job.learner.run.seed());
  const proto::ClipConfig model_config = eval::resolve_model_config(job.model, job.data);
  models::ClipModel model(model_config);
  const models::PromptTokens prompts = eval::class_prompts(model_config, lc);
  proto::LoaderConfig data_config = job.data;
  data_config.set_image_size(model_config.vision().image_size());
  auto dataset = std::make_shared<const data::Dataset>(data_config.dataset());
  LearnerSession session(*model, job.learner, learners);
  const int rank = session.rank(), world = session.world();
  TrainerState& state = session.state();
  data::Loader loader(dataset, data_config, rank, world, job.learner.run.seed(), session.start_cursor());

  MoaeCrResult result;
  Stopwatch clock;
  int64_t samples_since_log = 0;
  while (state.step < job.learner.train.steps()) {
    if (session.begin_step(loader.cursor())) {
      result.preempted = true;
      result.steps = state.step;
      return result;
    }
    // Micro-batches: each loss is scaled by 1/k so the gradients add up to the step's mean.
    const int k = session.micro_batches();
    std::vector<double> terms(5, 0.0);
    int64_t samples = 0;
    for (int i = 0; i < k; ++i) {
      const data::Batch batch = loader.next();
      const torch::Tensor img = model->encode_image(eval::model_input(batch.images));  // [B, proj]
      const torch::Tensor text = model->encode_text(prompts.ids, prompts.eot);   // [2, proj]
      const LossTerms loss = compute_loss(img, text, model->logit_scale, batch.binary, lc);
      session.backward(k == 1 ? loss.total : loss.total / k, i);
      const double parts[5] = {value(loss.total), value(loss.ce), value(loss.dm), value(loss.cdm), value(loss.baseline)};
      for (int t = 0; t < 5; ++t) terms[static_cast<size_t>(t)] += parts[t] / k;
      samples += batch.size();
    }
    const double lr = lr_at(state.step, job.learner.train.steps(), job.learner.optim);
    const double grad_norm = session.apply_gradients();
    samples_since_log += samples * world;
    if (state.step % std::max(1, job.learner.train.log_every()) == 0 || state.step == job.learner.train.steps()) {
      // Loss terms averaged over the learners (every rank takes part).
      terms = session.average(terms);
      result.last_loss = terms[0];
      session.log({{"step", state.step},
                   {"loss", terms[0]},
                   {"ce", terms[1]},
                   {"dm", terms[2]},
                   {"cdm", terms[3]},
                   {"baseline", terms[4]},
                   {"lr", lr},
                   {"grad_norm", grad_norm},
                   {"samples_per_s", samples_since_log / clock.seconds()}});
      samples_since_log = 0;
      clock.reset();
    }
    if (session.checkpoint_due()) session.checkpoint(loader.cursor());
    if (rank == 0 && job.learner.train.eval_every() > 0 && state.step % job.learner.train.eval_every() == 0 && state.step < job.learner.train.steps()) {
      const auto report = eval::evaluate_moae_cr(model, prompts, data_config);
      LOG(INFO) << "step " << state.step << " test ACER " << report.acer << " AUC " << report.auc;
    }
  }
  session.checkpoint(loader.cursor());
  result.steps = state.step;
  if (rank == 0) {
    const data::Manifest& m = dataset->manifest();
    if (m.protocol(data_config.protocol()).has_dev_and_test()) {
      std::vector<eval::SampleScore> scores;
      result.report = eval::evaluate_moae_cr(model, prompts, data_config, &scores);
      eval::write_moae_cr_report(job.learner.run.dir(), {state.step, checkpoint_dir(job.learner.run.dir(), state.step)},
                                 *result.report, scores, m.fine_labels);
    }
  }
  return result;
}

}  // namespace fasrl::trainer
