#include "trainer/sft_trainer.h"

#include <glog/logging.h>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "core/timer.h"
#include "data/loader.h"
#include "data/modality_selection.h"
#include "reasoning/qa_items.h"
#include "trainer/learner.h"
#include "trainer/sft_data.h"
#include "models/chat_template.h"

namespace fasrl::trainer {
SftResult train_sft(const SftJob& job, MPI_Comm learners) {
  const proto::SftConfig& sft = job.sft;
  torch::manual_seed(job.learner.run.seed());
  auto dataset = std::make_shared<const data::Dataset>(job.data.dataset());
  proto::LoaderConfig data_config = job.data;
  data_config.set_image_size(job.model.vision().image_size());
  data_config.clear_text_fields();
  data_config.add_text_fields(job.qa.field());
  models::MllmBundle bundle = models::load_mllm(job.model, data::select_modalities(dataset->manifest(), data_config).names);
  models::Mllm& model = bundle.model;
  const reasoning::KnowledgeGraph kg = reasoning::KnowledgeGraph::load(job.qa.knowledge_graph());
  const int64_t pad_id = bundle.tokenizer.token_id(models::kEndOfTextToken);

  LearnerSession session(*model, job.learner, learners);
  const int rank = session.rank(), world = session.world();
  TrainerState& state = session.state();
  data::Loader loader(dataset, data_config, rank, world, job.learner.run.seed(), session.start_cursor());

  auto evaluate = [&](const char* when) {
    session.end_progress_line();
    ProgressMeter progress("eval", stderr);  // rank 0 evaluates
    const auto e = eval::evaluate_mllm(model, bundle.tokenizer, kg, data_config, job.qa.field(), job.mllm_eval,
                                       proto::RewardConfig(), &progress);
    session.log(eval::mllm_eval_row(e, when, state.step));
    return e;
  };
  const bool can_eval = dataset->manifest().protocol(data_config.protocol()).has_dev_and_test();
  if (rank == 0 && can_eval && job.learner.train.eval_every() > 0 && state.step == 0) evaluate("before");

  SftResult result;
  Stopwatch clock;
  int64_t tokens_since_log = 0;
  while (state.step < job.learner.train.steps()) {
    if (session.begin_step(loader.cursor())) {
      result.preempted = true;
      result.steps = state.step;
      return result;
    }
    // The step's micro-batches are collated first: the loss is the mean over
    // the target tokens of all of them on all learners (gradient averaging divides by world again).
    std::vector<SequenceBatch> micro;
    int64_t step_tokens = 0;
    for (int i = 0; i < session.micro_batches(); ++i) {
      const data::Batch batch = loader.next();
      const models::MllmImages in = models::mllm_images(batch.images, batch.modality_mask, batch.modalities);
      const auto seqs = sft_batch_sequences(batch, in, bundle.tokenizer, *model, job.qa.field(), sft, job.learner.run.seed());
      micro.push_back(collate(seqs, sft.max_length(), sft.packing(), pad_id));
      step_tokens += micro.back().target_tokens;
    }
    const double global_tokens = session.sum(static_cast<double>(step_tokens));
    double nll_total = 0;
    for (size_t i = 0; i < micro.size(); ++i) {
      const SequenceBatch& sb = micro[i];
      const torch::Tensor logits = model->forward(sb.ids, sb.images, sb.segments, sb.positions);  // [R, L, V]
      const torch::Tensor nll_sum = torch::nn::functional::cross_entropy(
          logits.reshape({-1, logits.size(-1)}), sb.targets.reshape({-1}),
          torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum));
      session.backward(nll_sum * (static_cast<double>(world) / std::max(1.0, global_tokens)), static_cast<int>(i));
      nll_total += nll_sum.item<double>();
    }
    const SequenceBatch& sb = micro.back();
    const double lr = lr_at(state.step, job.learner.train.steps(), job.learner.optim);
    const double grad_norm = session.apply_gradients();
    tokens_since_log += step_tokens;
    const bool log_now = state.step % std::max(1, job.learner.train.log_every()) == 0 || state.step == job.learner.train.steps();
    if (state.step == 1 || log_now) {  // the loss over every learner's tokens costs a collective: only when reported
      result.last_loss = session.sum(nll_total) / std::max(1.0, global_tokens);
      if (state.step == 1) result.first_loss = result.last_loss;
    }
    if (log_now) {
      const double token_loss = result.last_loss;
      const double tokens = session.sum(static_cast<double>(tokens_since_log));
      session.log({{"step", state.step},
                   {"loss", token_loss},
                   {"lr", lr},
                   {"grad_norm", grad_norm},
                   {"rows", sb.ids.size(0)},
                   {"row_length", sb.ids.size(1)},
                   {"target_tokens_per_s", tokens / clock.seconds()}});
      tokens_since_log = 0;
      clock.reset();
    }
    if (session.checkpoint_due()) session.checkpoint(loader.cursor());
    if (rank == 0 && can_eval && job.learner.train.eval_every() > 0 && state.step % job.learner.train.eval_every() == 0 &&
        state.step < job.learner.train.steps())
      evaluate("during");
  }
  session.checkpoint(loader.cursor());
  result.steps = state.step;
  if (rank == 0 && can_eval) {
    result.report = evaluate("final");
    eval::write_mllm_report(job.learner.run.dir(), {state.step, checkpoint_dir(job.learner.run.dir(), state.step)},
                            *result.report, dataset->manifest().fine_labels);
  }
  return result;
}

}  // namespace fasrl::trainer
