// What every learner loop (MoAE-CR, SFT, GRPO) shares: parameters and
// optimiser (ZeRO stage 0/1/2 over flat buckets), the collective and the
// overlapped gradient reduction, gradient accumulation, resume from the
// newest verified checkpoint (rank 0 chooses, every rank loads the same one,
// rank 0's weights are broadcast), preemption agreement, checkpoints with the
// loader cursor, metrics.jsonl, and the failure-injection test hooks.
#pragma once
#include <mpi.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "comm/collective.h"
#include "comm/grad_sync.h"
#include "data/loader.h"
#include "proto/config.pb.h"
#include "trainer/checkpoint.h"
#include "trainer/optim.h"
#include "trainer/optimizer_state.h"
#include "trainer/progress.h"
#include "trainer/tensorboard_writer.h"

namespace fasrl::trainer {

// What every learner loop takes besides its model, data and algorithm settings.
struct LearnerSpec {
  proto::RunConfig run;
  proto::OptimConfig optim;
  proto::TrainConfig train;  // steps, logging, checkpoints, hooks (no algorithm sub-messages)
  proto::CommConfig comm;
  std::string config_json;  // stored in every checkpoint
  std::map<std::string, std::string> checkpoint_files;  // carried by every checkpoint (Checkpoint::extra_files)
};

class LearnerSession {
 public:
  // Builds the optimiser over `model`'s parameters and resumes when a
  // checkpoint verifies (train.resume). `model` must outlive the session.
  LearnerSession(torch::nn::Module& model, const LearnerSpec& spec, MPI_Comm learners);

  int rank() const { return rank_; }
  int world() const { return world_; }
  bool resumed() const { return resumed_; }
  TrainerState& state() { return state_; }
  data::LoaderCursor start_cursor() const { return {state_.data_epoch, state_.data_position}; }
  const NamedParams& params() const { return params_; }
  comm::Collective& collective() { return *collective_; }
  const std::string& run_dir() const { return spec_.run.dir(); }

  // Start of a step: test hooks, then true if any learner was asked to stop
  // (SIGTERM/SIGUSR1) — a checkpoint at `cursor` is then written and every
  // rank waits for it before returning.
  bool begin_step(const data::LoaderCursor& cursor);
  // Micro-batches per step (train.grad_accum_steps); the loop scales each
  // micro-batch's loss so that their sum is the step's loss.
  int micro_batches() const { return micro_batches_; }
  // Backward of micro-batch `index` (0-based); the last one starts the gradient reduction.
  void backward(const torch::Tensor& loss, int index);
  // After the last backward: finish the reduction (mean over learners), clip
  // to optim.grad_clip over the global norm, optimiser step at the scheduled
  // lr, all-gather the shards (ZeRO), ++step. Returns the grad norm (0 when not clipping).
  double apply_gradients();
  // This rank's optimiser state and gradient storage, in bytes (ZeRO: about 1/N of stage 0).
  int64_t optimizer_state_bytes() const { return optimizer_->state_bytes(); }
  int64_t gradient_bytes() const { return grad_sync_->persistent_grad_bytes(); }
  // Mean over learners of per-rank values.
  std::vector<double> average(const std::vector<double>& values);
  // Sum over learners.
  double sum(double value);

  void checkpoint(const data::LoaderCursor& cursor);
  bool checkpoint_due() const;  // every train.checkpoint_every, not at the last step
  // rank 0: metrics.jsonl (+ "time", and "peak_host_mb" on step rows) and its
  // TensorBoard scalars (run.dir/tb); step rows
  // (with "loss") as the progress line, other rows (evaluations) as log lines.
  void log(const nlohmann::json& row);
  // Ends the progress line on rank 0 so other output (an evaluation's progress) starts on its own line.
  void end_progress_line() {
    if (progress_) progress_->break_line();
  }

 private:
  StateLayout state_layout() const;

  torch::nn::Module& model_;
  LearnerSpec spec_;
  MPI_Comm learners_;
  int micro_batches_ = 1;
  int rank_ = 0, world_ = 1;
  bool resumed_ = false;
  TrainerState state_;
  NamedParams params_;
  std::unique_ptr<comm::Collective> collective_;
  std::unique_ptr<comm::GradientSync> grad_sync_;
  std::unique_ptr<FlatAdam> optimizer_;
  std::ofstream metrics_;
  std::unique_ptr<ProgressLine> progress_;  // rank 0
  std::unique_ptr<TensorBoardWriter> tensorboard_;  // rank 0
};

}  // namespace fasrl::trainer
