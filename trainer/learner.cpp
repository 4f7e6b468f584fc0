#include "trainer/learner.h"

#include <glog/logging.h>

#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdlib>
#include <set>

#include "comm/role_protocol.h"
#include "comm/world.h"
#include "core/error.h"
#include "core/host_memory.h"
#include "core/io.h"
#include "core/preemption.h"
#include "models/checkpointing.h"
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
    : model_(model), spec_(spec), learners_(learners) {
  rank_ = comm::rank_in(learners);
  world_ = comm::size_of(learners);
  if (spec.train.steps() < 1) raise(ErrorKind::kConfig, "train.steps must be >= 1, got ", spec.train.steps());
  if (spec.train.grad_accum_steps() < 1)
    raise(ErrorKind::kConfig, "train.grad_accum_steps must be >= 1, got ", spec.train.grad_accum_steps());
  micro_batches_ = spec.train.grad_accum_steps();
  models::set_activation_checkpointing(model, spec.train.activation_checkpointing());
  std::vector<torch::Tensor> tensors;
  std::set<const void*> seen;  // a tensor shared by two modules is one parameter
  for (auto& p : model.named_parameters()) {
    if (!p.value().requires_grad() || !seen.insert(p.value().unsafeGetTensorImpl()).second) continue;
    params_.emplace_back(p.key(), p.value());
    tensors.push_back(p.value());
  }
  comm::check_same_shapes(learners, tensors, "model parameters");
  collective_ = comm::make_collective(learners, spec.comm, torch::kCPU);  // CPU models today

  // Resume: rank 0 picks the newest checkpoint that verifies; every rank loads that one.
  std::string chosen;
  std::optional<Checkpoint> latest;
  if (rank_ == 0)  // interrupted writes (SIGKILL, disk full) leave temporaries that would fill the disk
    for (const auto& p : remove_partial_checkpoints(spec.run.dir())) LOG(WARNING) << "removed a partial checkpoint write: " << p;
  if (spec.train.resume() && rank_ == 0) {
    std::vector<std::string> skipped;
    // Verified bytes are not enough: the weights and the optimiser state must fit
    // this model and the RNG state this generator, or the next older checkpoint is used.
    const auto usable = [&](const Checkpoint& c, const std::string& dir) {
      for (const auto& p : model.named_parameters()) {
        const auto it = c.model.find(p.key());
        if (it == c.model.end()) raise(ErrorKind::kCorruption, dir, "/model.safetensors: tensor '", p.key(), "' is missing");
        if (it->second.sizes() != p.value().sizes())
          raise(ErrorKind::kCorruption, dir, "/model.safetensors: tensor '", p.key(), "' has shape ", it->second.sizes(),
                ", the model's is ", p.value().sizes());
      }
      std::map<std::string, int64_t> numels;
      for (const auto& [name, param] : params_) numels[name] = param.numel();
      check_optimizer_state(c.optimizer, numels, dir + "/optimizer*.safetensors");
      const torch::Tensor want = cpu_rng_state();
      if (!c.rng_state.defined() || c.rng_state.scalar_type() != want.scalar_type() || c.rng_state.numel() != want.numel())
        raise(ErrorKind::kCorruption, dir, "/rng.safetensors: the RNG state has ",
              c.rng_state.defined() ? c.rng_state.numel() : 0, " elements, this generator's has ", want.numel());
    };
    latest = load_latest_checkpoint(spec.run.dir(), &skipped, &chosen, usable);
    if (latest) LOG(INFO) << "resuming from " << chosen;
    for (const auto& s : skipped) LOG(ERROR) << s;
  }
  comm::broadcast_string(chosen, 0, learners);
  if (!chosen.empty()) {
    if (!latest) latest = load_checkpoint(chosen);  // rank 0 has it already
    models::copy_weights(model, latest->model, chosen + "/model.safetensors");
  }
  {
    torch::NoGradGuard g;
    for (auto& t : tensors) collective_->broadcast(t, 0);
  }
  grad_sync_ = std::make_unique<comm::GradientSync>(
      *collective_, tensors, spec.comm, comm::GradSyncOptions{spec.train.zero_stage(), spec.comm.overlap_grad_sync()});
  std::vector<torch::Tensor> slices;
  for (int b = 0; b < static_cast<int>(grad_sync_->layout().buckets.size()); ++b) slices.push_back(grad_sync_->param_slice(b));
  optimizer_ = std::make_unique<FlatAdam>(spec.optim, slices);
  if (latest) {
    import_optimizer_state(*optimizer_, state_layout(), latest->optimizer, chosen + "/optimizer*.safetensors");
    set_cpu_rng_state(latest->rng_state);
    state_ = latest->state;
    resumed_ = true;
  }
  if (rank_ == 0) {
    make_dirs(spec.run.dir());
    metrics_.open(join_path(spec.run.dir(), "metrics.jsonl"), std::ios::app);
    progress_ = std::make_unique<ProgressLine>(spec.train.steps(), state_.step, stderr);
    tensorboard_ = std::make_unique<TensorBoardWriter>(join_path(spec.run.dir(), "tb"));
  }
}

StateLayout LearnerSession::state_layout() const {
  StateLayout out;
  for (const auto& [name, p] : params_) {
    out.names.push_back(name);
    out.numel.push_back(p.numel());
  }
  const comm::FlatLayout& layout = grad_sync_->layout();
  for (int b = 0; b < static_cast<int>(layout.buckets.size()); ++b)
    out.pieces.push_back(grad_sync_->stage() == 0 ? layout.bucket_pieces(b) : layout.shard_pieces(b, rank_));
  return out;
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

void LearnerSession::backward(const torch::Tensor& loss, int index) {
  grad_sync_->begin_backward(index == micro_batches_ - 1);
  loss.backward();
}

double LearnerSession::apply_gradients() {
  grad_sync_->finish();  // sums over learners
  std::vector<torch::Tensor> grads;
  for (int b = 0; b < static_cast<int>(grad_sync_->layout().buckets.size()); ++b) grads.push_back(grad_sync_->grad_slice(b));
  // The mean gradient is sum / world; its norm over the whole model (shards add up under ZeRO).
  double scale = 1.0 / world_, norm = 0;
  if (spec_.optim.grad_clip() > 0) {
    torch::Tensor squares = torch::zeros({}, torch::kFloat64);
    for (const auto& g : grads) squares += g.square().sum();
    double sum_squares = squares.item<double>();  // one host sync per step
    if (grad_sync_->stage() > 0) sum_squares = sum(sum_squares);
    norm = std::sqrt(sum_squares) / world_;
    const double clip = spec_.optim.grad_clip() / (norm + 1e-6);  // as torch.nn.utils.clip_grad_norm_
    if (clip < 1) scale *= clip;
  }
  optimizer_->step(grads, lr_at(state_.step, spec_.train.steps(), spec_.optim), scale);
  grad_sync_->all_gather_params();
  grad_sync_->zero_grads();
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
  // Under ZeRO every learner sends its shard of the optimiser state to rank 0,
  // which writes it as one file per shard (one shard in memory at a time).
  constexpr int kShardTag = 0x5a01;
  const double timeout = spec_.comm.timeout_s();
  const bool sharded = grad_sync_->stage() > 0 && world_ > 1;
  if (rank_ != 0 && !sharded) return;  // rank 0 holds the whole state
  TensorMap mine = export_optimizer_state(*optimizer_, state_layout());
  if (rank_ != 0) {
    comm::send_chunked(learners_, 0, kShardTag, encode_safetensors(mine, {}, "optimizer shard"), timeout, "optimizer shard");
    return;
  }
  TensorMap weights;
  for (const auto& [name, param] : params_) weights[name] = param.detach().clone();
  Checkpoint ck{std::move(weights), {}, sharded ? world_ : 0, {}, cpu_rng_state(), spec_.config_json,
                {state_.step, cursor.epoch, cursor.position, state_.policy_version}, spec_.checkpoint_files};
  if (sharded) {
    ck.optimizer_shard = [&](int r) {
      if (r == 0) return std::move(mine);
      const std::string what = "optimizer shard of learner " + std::to_string(r);
      return decode_safetensors(comm::recv_chunked(learners_, r, kShardTag, timeout, what), what).tensors;
    };
  } else {
    ck.optimizer = std::move(mine);
  }
  if (progress_) progress_->break_line();
  LOG(INFO) << "checkpoint " << save_checkpoint(spec_.run.dir(), ck, spec_.train.keep_checkpoints());
}

bool LearnerSession::checkpoint_due() const {
  const auto& tc = spec_.train;
  return tc.checkpoint_every() > 0 && state_.step % tc.checkpoint_every() == 0 && state_.step < tc.steps();
}

void LearnerSession::log(const nlohmann::json& row) {
  if (rank_ != 0) return;
  nlohmann::json out = row;
  out["time"] = std::round(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() *
                           1000.0) / 1000.0;  // Unix seconds
  const bool step_row = out.contains("loss");
  if (step_row) out["peak_host_mb"] = std::round(peak_host_memory_mb());  // rank 0's peak RSS so far
  metrics_ << out.dump() << "\n" << std::flush;
  tensorboard_->write(out.value("step", int64_t{0}), out["time"].get<double>(), row_scalars(out));
  if (step_row) {
    progress_->show(out);  // the numbers are in metrics.jsonl; the console gets step/total, rate, ETA
  } else {
    progress_->break_line();
    LOG(INFO) << out.dump();
  }
}

}  // namespace fasrl::trainer
