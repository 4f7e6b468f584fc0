#include "trainer/grpo_trainer.h"

#include <glog/logging.h>

#include "comm/role_protocol.h"
#include "core/error.h"
#include "core/io.h"
#include "core/timer.h"
#include "data/dataset.h"
#include "data/modality_selection.h"
#include "models/generate.h"
#include "models/chat_template.h"
#include "trainer/grpo_batch.h"
#include "trainer/grpo_loss.h"
#include "trainer/grpo_metrics.h"
#include "trainer/learner.h"

namespace fasrl::trainer {
namespace {

// Completion tokens of every group, as [N, L] rows (prompt + completion, right-padded).
struct PolicyInputs {
  torch::Tensor ids, pad, targets, mask, behaviour, advantages, images;
  std::vector<int64_t> image_offset{0};  // row i's images are images[image_offset[i] .. image_offset[i+1])
  int64_t completion_tokens = 0;
};

PolicyInputs policy_inputs(const proto::RolloutBatch& b, int64_t pad_id) {
  std::vector<std::vector<int64_t>> rows;
  std::vector<size_t> prompt_len;
  std::vector<const proto::RolloutCompletion*> comps;
  std::vector<torch::Tensor> images;
  PolicyInputs in;
  for (const auto& g : b.groups()) {
    const torch::Tensor imgs = group_images(g);
    for (const auto& c : g.completions()) {
      std::vector<int64_t> seq(g.prompt_ids().begin(), g.prompt_ids().end());
      prompt_len.push_back(seq.size());
      seq.insert(seq.end(), c.tokens().begin(), c.tokens().end());
      rows.push_back(std::move(seq));
      comps.push_back(&c);
      if (imgs.defined()) images.push_back(imgs);
      in.image_offset.push_back(in.image_offset.back() + (imgs.defined() ? imgs.size(0) : 0));
    }
  }
  const int64_t n = static_cast<int64_t>(rows.size());
  int64_t len = 0;
  for (const auto& r : rows) len = std::max<int64_t>(len, static_cast<int64_t>(r.size()));
  in.ids = torch::full({n, len}, pad_id, torch::kInt64);
  in.pad = torch::zeros({n, len}, torch::kInt64);
  in.targets = torch::zeros({n, len}, torch::kInt64);
  in.mask = torch::zeros({n, len}, torch::kFloat32);
  in.behaviour = torch::zeros({n, len}, torch::kFloat32);
  in.advantages = torch::empty({n}, torch::kFloat32);
  for (int64_t i = 0; i < n; ++i) {
    const auto& r = rows[static_cast<size_t>(i)];
    const int64_t p = static_cast<int64_t>(prompt_len[static_cast<size_t>(i)]);
    in.ids[i].slice(0, 0, static_cast<int64_t>(r.size())) = torch::tensor(r, torch::kInt64);
    in.pad[i].slice(0, 0, static_cast<int64_t>(r.size())).fill_(1);
    const auto& c = *comps[static_cast<size_t>(i)];
    for (int j = 0; j < c.tokens_size(); ++j) {  // position p-1+j predicts completion token j
      in.targets[i][p - 1 + j] = c.tokens(j);
      in.mask[i][p - 1 + j] = 1;
      in.behaviour[i][p - 1 + j] = c.logprobs(j);
    }
    in.advantages[i] = c.advantage();
    in.completion_tokens += c.tokens_size();
  }
  if (!images.empty()) in.images = torch::cat(images, 0);
  return in;
}

// Rows [begin, end) of the batch, with their images.
PolicyInputs slice_rows(const PolicyInputs& in, int64_t begin, int64_t end) {
  const int64_t n = in.ids.size(0);
  if (begin == 0 && end == n) return in;
  PolicyInputs out;
  out.ids = in.ids.slice(0, begin, end);
  out.pad = in.pad.slice(0, begin, end);
  out.targets = in.targets.slice(0, begin, end);
  out.mask = in.mask.slice(0, begin, end);
  out.behaviour = in.behaviour.slice(0, begin, end);
  out.advantages = in.advantages.slice(0, begin, end);
  const int64_t first = in.image_offset[static_cast<size_t>(begin)], last = in.image_offset[static_cast<size_t>(end)];
  if (in.images.defined() && last > first) out.images = in.images.slice(0, first, last);
  out.image_offset.clear();
  for (int64_t i = begin; i <= end; ++i) out.image_offset.push_back(in.image_offset[static_cast<size_t>(i)] - first);
  out.completion_tokens = out.mask.sum().item<int64_t>();
  return out;
}

// log softmax(logits / T) of the sampled tokens [N, L], and the token entropy.
torch::Tensor token_logprobs(models::MllmImpl& m, const PolicyInputs& in, double temperature,
                             const std::vector<int64_t>& banned, torch::Tensor* entropy) {
  const torch::Tensor logits = models::ban_tokens(m.forward(in.ids, in.images, in.pad), banned);
  const torch::Tensor logp = (logits / (temperature > 0 ? temperature : 1.0)).log_softmax(-1);  // [N, L, V]
  if (entropy) {
    torch::NoGradGuard g;
    *entropy = -(logp.exp() * logp.nan_to_num(0.0, 0.0, 0.0)).sum(-1);  // banned tokens: 0 · (−inf) -> 0
  }
  return logp.gather(-1, in.targets.unsqueeze(-1)).squeeze(-1);
}

}  // namespace

GrpoResult train_grpo(const GrpoJob& job, const comm::RoleSplit& roles, MPI_Comm world) {
  const proto::GrpoConfig& g = job.grpo;
  const GrpoLossOptions loss_options = grpo_loss_options(g);  // checked before any work
  if (roles.num_rollout < 1)
    raise(ErrorKind::kConfig, "train.grpo.learners = ", roles.num_learners, " leaves no rollout rank: run GRPO on more than ",
          roles.num_learners, " ranks");
  torch::manual_seed(job.learner.run.seed());
  auto dataset = std::make_shared<const data::Dataset>(job.data.dataset());
  const std::vector<std::string> modalities = data::select_modalities(dataset->manifest(), job.data).names;
  models::MllmBundle bundle = models::load_mllm(job.model, modalities);
  models::Mllm& model = bundle.model;
  models::Mllm reference{nullptr};
  if (g.beta() > 0) {
    reference = models::load_mllm(job.model, modalities).model;  // frozen: the starting policy
    reference->eval();
    for (auto& p : reference->parameters()) p.requires_grad_(false);
  }
  const reasoning::KnowledgeGraph kg = reasoning::KnowledgeGraph::load(job.qa.knowledge_graph());
  const int64_t pad_id = bundle.tokenizer.token_id(models::kEndOfTextToken);
  const std::vector<int64_t> banned = models::policy_banned_ids(*model, bundle.tokenizer);
  proto::LoaderConfig eval_data = job.data;
  eval_data.set_image_size(job.model.vision().image_size());

  LearnerSession session(*model, job.learner, roles.role_comm);
  const int rank = session.rank(), world_size = session.world();
  TrainerState& state = session.state();
  std::vector<torch::Tensor> params;
  for (const auto& p : session.params()) params.push_back(p.second);
  std::vector<int> workers;
  for (int w = roles.num_learners; w < roles.num_learners + roles.num_rollout; ++w) workers.push_back(w);
  comm::WeightPublisher publisher(world, rank == 0 ? workers : std::vector<int>{}, job.learner.comm.timeout_s());  // learner 0 publishes
  comm::RolloutReceiver rollouts(world, roles.num_learners + rank % roles.num_rollout, job.learner.comm.timeout_s());

  GrpoResult result;
  auto publish = [&](int64_t version) {
    if (rank != 0) return;
    Stopwatch clock;
    result.weight_bytes += publisher.publish(version, params);
    result.weight_sync_seconds += clock.seconds();
  };
  auto stop_rollout = [&] {  // stop, then drain what our worker still sends until its end marker
    publisher.stop();
    rollouts.drain();
    publisher.wait_all();
  };
  auto evaluate = [&](const char* when) {
    session.end_progress_line();
    ProgressMeter progress("eval", stderr);  // rank 0 evaluates
    const auto e = eval::evaluate_mllm(model, bundle.tokenizer, kg, eval_data, job.qa.field(), job.mllm_eval, g.reward(), &progress);
    session.log(eval::mllm_eval_row(e, when, state.step));
    return e;
  };
  const bool can_eval = dataset->manifest().protocol(eval_data.protocol()).has_dev_and_test();

  state.policy_version = state.step;
  publish(state.step);
  if (rank == 0 && can_eval && job.learner.train.eval_every() > 0 && state.step == 0) evaluate("before");
  const RolloutImageSpec image_spec{job.model.vision().image_size(), model->image_pad_id(), model->tokens_per_image()};
  Stopwatch run_clock, log_clock;
  int64_t tokens_since_log = 0;
  while (state.step < job.learner.train.steps()) {
    if (session.begin_step({})) {
      stop_rollout();
      result.preempted = true;
      result.steps = state.step;
      return result;
    }
    // Receive this step's rollouts, recompute log-probs, loss, step, publish.
    const proto::RolloutBatch batch =
        parse_rollout_batch(rollouts.next_bytes(), rollouts.worker(), state.step, g.max_staleness(), g.group_size(),
                            model->language_model()->config().vocab_size(), image_spec);
    const PolicyInputs in = policy_inputs(batch, pad_id);
    // Micro-batches of rows; each loss is weighted by its share of the batch's
    // tokens (token_mean) or completions (seq_mean_*), so they add up to the batch loss.
    const int64_t rows = in.ids.size(0);
    const int k = static_cast<int>(std::min<int64_t>(session.micro_batches(), rows));
    const double total_tokens = std::max<double>(1.0, static_cast<double>(in.completion_tokens));
    GrpoLossTerms loss;
    double loss_value = 0;
    std::vector<torch::Tensor> entropies;
    for (int i = 0; i < session.micro_batches(); ++i) {
      if (i >= k) {  // fewer rows than micro-batches: the remaining backward passes carry nothing
        session.backward(torch::zeros({}, torch::requires_grad()), i);
        continue;
      }
      const PolicyInputs part = slice_rows(in, rows * i / k, rows * (i + 1) / k);
      torch::Tensor entropy;
      const torch::Tensor logp = token_logprobs(*model, part, g.temperature(), banned, &entropy);
      torch::Tensor ref;
      if (reference) {
        torch::NoGradGuard ng;
        ref = token_logprobs(*reference, part, g.temperature(), banned, nullptr);
      }
      const GrpoLossTerms terms = grpo_loss(logp, part.behaviour, ref, part.advantages, part.mask, loss_options);
      const double share = k == 1 ? 1.0
                           : aggregates_per_sequence(loss_options.aggregation)
                               ? static_cast<double>(part.ids.size(0)) / static_cast<double>(rows)
                               : static_cast<double>(part.completion_tokens) / total_tokens;
      session.backward(k == 1 ? terms.loss : terms.loss * share, i);
      const double token_share = static_cast<double>(part.completion_tokens) / total_tokens;
      loss_value += terms.loss.item<double>() * share;
      loss.clip_fraction += terms.clip_fraction * token_share;
      loss.ratio_mean += terms.ratio_mean * token_share;
      loss.kl += terms.kl * token_share;
      loss.dual_clip_fraction += terms.dual_clip_fraction * token_share;
      loss.tis_weight_mean += terms.tis_weight_mean * token_share;
      entropies.push_back(entropy);
    }
    loss.loss = torch::tensor(loss_value);
    const torch::Tensor entropy = entropies.size() == 1 ? entropies[0] : torch::cat(entropies, 0);
    const double grad_norm = session.apply_gradients();
    state.policy_version = state.step;
    if (state.step < job.learner.train.steps()) publish(state.step);
    tokens_since_log += in.completion_tokens;
    result.samples += in.advantages.size(0) * world_size;

    if (state.step % std::max(1, job.learner.train.log_every()) == 0 || state.step == job.learner.train.steps()) {
      GrpoMetrics m = measure_grpo_step(batch, loss, entropy, in.mask, state.step);
      m.set_values(session.average(m.values()));
      const double tokens = session.sum(static_cast<double>(tokens_since_log));
      nlohmann::json row = {{"step", state.step}, {"grad_norm", grad_norm}, {"tokens_per_s", tokens / log_clock.seconds()}};
      m.add_to(row);
      session.log(row);
      tokens_since_log = 0;
      log_clock.reset();
    }
    if (session.checkpoint_due()) session.checkpoint({});
  }
  session.checkpoint({});
  stop_rollout();
  result.steps = state.step;
  result.seconds = run_clock.seconds();
  if (rank == 0 && can_eval) {
    result.report = evaluate("final");
    eval::write_mllm_report(job.learner.run.dir(), {state.step, checkpoint_dir(job.learner.run.dir(), state.step)},
                            *result.report, dataset->manifest().fine_labels);
  }
  return result;
}

}  // namespace fasrl::trainer
