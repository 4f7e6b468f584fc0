#include "trainer/learner.h"

#include <glog/logging.h>

#include <csignal>
#include <cstdlib>

#include "comm/world.h"
#include "core/error.h"
#include "core/io.h"
#include "core/preemption.h"
#include "models/weights.h"

namespace fasrl::trainer {
namespace {


torch::Tensor cpu_rng_state() {
  at::Generator gen = torch::globalContext().defaultGenerator(torch::kCPU);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_cpu_rng_state(const torch::Tensor& state) {
  at::Generator gen = torch::globalContext().defaultGenerator(torch::kCPU);  // a handle sharing the global state
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace

LearnerSession::LearnerSession(torch::nn::Module& model, const LearnerSpec& spec, MPI_Comm learners)
    : model_(model), spec_(spec) {
  rank_ = comm::rank_in(learners);
  world_ = comm::size_of(learners);
  if (spec.train.steps() < 1) raise(ErrorKind::kConfig, "train.steps must be >= 1, got ", spec.train.steps());
  for (auto& p : model.named_parameters()) {
    params_.emplace_back(p.key(), p.value());
    tensors_.push_back(p.value());
  }
  optimizer_ = make_optimizer(params_, spec.optim);
  comm::check_same_shapes(learners, tensors_, "model parameters");
  collective_ = comm::make_collective(learners, spec.comm, torch::kCPU);  // CPU models today

  // Resume: rank 0 picks the newest checkpoint that verifies; every rank loads that one.
  std::string chosen;
  std::optional<Checkpoint> latest;
  if (spec.train.resume() && rank_ == 0) {
    std::vector<std::string> skipped;
    latest = load_latest_checkpoint(spec.run.dir(), &skipped, &chosen);
    if (latest) LOG(INFO) << "resuming from " << chosen;
    for (const auto& s : skipped) LOG(ERROR) << s;
  }
  comm::broadcast_string(chosen, 0, learners);
  if (!chosen.empty()) {
    if (!latest) latest = load_checkpoint(chosen);  // rank 0 has it already
    models::copy_weights(model, latest->model, chosen + "/model.safetensors");
    load_optimizer_state(*optimizer_, params_, spec.optim.name(), latest->optimizer, chosen + "/optimizer.safetensors");
    set_cpu_rng_state(latest->rng_state);
    state_ = latest->state;
    resumed_ = true;
  }
  {
    torch::NoGradGuard g;
    for (auto& t : tensors_) collective_->broadcast(t, 0);
  }
  grad_sync_ = std::make_unique<comm::BucketedAllReduce>(*collective_, tensors_, spec.comm);
  if (rank_ == 0) {
    make_dirs(spec.run.dir());
    metrics_.open(join_path(spec.run.dir(), "metrics.jsonl"), std::ios::app);
  }
}

bool LearnerSession::begin_step(const data::LoaderCursor& cursor) {
  // Failure-injection hooks for tests. signal_at_step fires only in a run that
  // started from scratch, so a requeued job resumes instead of being preempted again.
  const proto::TrainConfig& tc = spec_.train;
  const int64_t step = state_.step + 1;
  if (tc.crash_at_step() > 0 && step == tc.crash_at_step()) {
    LOG(ERROR) << "train.crash_at_step=" << step << ": exiting abruptly (test hook)";
    std::_Exit(137);
  }
  if (tc.signal_at_step() > 0 && step == tc.signal_at_step() && rank_ == 0 && !resumed_) std::raise(SIGTERM);
  if (tc.kill_at_step() > 0 && step == tc.kill_at_step() && rank_ == tc.kill_rank()) std::raise(SIGKILL);
  // Preemption: every rank learns whether any rank got SIGTERM/SIGUSR1.
  torch::Tensor stop = torch::full({1}, preemption_requested() ? 1 : 0, torch::kInt32);
  collective_->all_reduce_sum(stop);
  if (stop.item<int>() == 0) return false;
  if (rank_ == 0) LOG(WARNING) << "preemption signal received: checkpointing at step " << state_.step << " and stopping";
  checkpoint(cursor);
  collective_->broadcast(stop, 0);  // a barrier: nobody exits before rank 0's checkpoint is in place
  return true;
}

double LearnerSession::apply_gradients() {
  std::vector<torch::Tensor> grads;
  for (auto& p : params_) {
    if (!p.second.grad().defined()) p.second.mutable_grad() = torch::zeros_like(p.second);
    grads.push_back(p.second.grad());
  }
  grad_sync_->average(grads);
  const double norm =
      spec_.optim.grad_clip() > 0 ? torch::nn::utils::clip_grad_norm_(tensors_, spec_.optim.grad_clip()) : 0.0;
  set_lr(*optimizer_, lr_at(state_.step, spec_.train.steps(), spec_.optim));
  optimizer_->step();
  optimizer_->zero_grad();
  ++state_.step;
  return norm;
}

std::vector<double> LearnerSession::average(const std::vector<double>& values) {
  torch::Tensor t = torch::tensor(values, torch::kFloat64);
  collective_->all_reduce_sum(t);
  t.div_(world_);
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

double LearnerSession::sum(double value) {
  torch::Tensor t = torch::tensor({value}, torch::kFloat64);
  collective_->all_reduce_sum(t);
  return t.item<double>();
}

void LearnerSession::checkpoint(const data::LoaderCursor& cursor) {
  if (rank_ != 0) return;
  TensorMap weights;
  for (const auto& [name, param] : params_) weights[name] = param.detach().clone();
  Checkpoint ck{std::move(weights), optimizer_state(*optimizer_, params_, spec_.optim.name()), cpu_rng_state(),
                spec_.config_json, {state_.step, cursor.epoch, cursor.position, state_.policy_version}};
  LOG(INFO) << "checkpoint " << save_checkpoint(spec_.run.dir(), ck, spec_.train.keep_checkpoints());
}

bool LearnerSession::checkpoint_due() const {
  const auto& tc = spec_.train;
  return tc.checkpoint_every() > 0 && state_.step % tc.checkpoint_every() == 0 && state_.step < tc.steps();
}

void LearnerSession::log(const nlohmann::json& row) {
  if (rank_ != 0) return;
  metrics_ << row.dump() << "\n" << std::flush;
  LOG(INFO) << row.dump();
}

}  // namespace fasrl::trainer
