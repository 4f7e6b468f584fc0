// Checkpoints (DESIGN.md section 8):
//   <run>/checkpoints/step-000100/
//     model.safetensors      HF-named weights
//     optimizer.safetensors  per-parameter state ("<name>/exp_avg", ...), or under ZeRO
//     optimizer-00000-of-00002.safetensors ...  one file per learner's shard
//                            (trainer/optimizer_state.h: keys name element ranges)
//     rng.safetensors        CPU generator state
//     config.json            the effective job config (MLLM runs: self-contained,
//                            see launch/algorithms.cpp mllm_learner_spec)
//     tokenizer.json         MLLM runs: the tokenizer the model was trained with
//     trainer_state.json     step, data cursor, policy version
//     manifest.json          SHA-256 of every file above
//   <run>/checkpoints/latest  "step-000100"
// A checkpoint is written into a hidden temporary directory, every file
// fsynced, then renamed into place; `latest` is replaced atomically after.
// Loading verifies every hash; a corrupt or partial checkpoint is skipped in
// favour of the previous one, with an error naming it. No pickle anywhere.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/safetensors.h"

namespace fasrl::trainer {

struct TrainerState {
  int64_t step = 0;  // optimizer steps completed
  int64_t data_epoch = 0, data_position = 0;
  int64_t policy_version = 0;
};

struct Checkpoint {
  TensorMap model;
  // Whole optimiser state, or when optimizer_shards > 0, shard r fetched by
  // optimizer_shard(r) while writing (one in memory at a time). Loading
  // merges every shard file into `optimizer`.
  TensorMap optimizer;
  int optimizer_shards = 0;
  std::function<TensorMap(int)> optimizer_shard;
  torch::Tensor rng_state;  // uint8, torch's CPU generator
  std::string config_json;
  TrainerState state;
  // Further files the checkpoint carries (name -> contents, e.g. tokenizer.json),
  // hashed in the manifest like the rest; on load they stay on disk.
  std::map<std::string, std::string> extra_files;
};

// Returns the checkpoint directory written. Keeps the newest `keep` (>= 1).
std::string save_checkpoint(const std::string& run_dir, const Checkpoint& checkpoint, int keep);
Checkpoint load_checkpoint(const std::string& checkpoint_dir);  // throws naming the file at fault

// Throws a fasrl::Error when a checkpoint that verified cannot be used by
// this job (tensor names or shapes, RNG state size, ...); dir names it.
using CheckpointCheck = std::function<void(const Checkpoint& checkpoint, const std::string& dir)>;

// The newest checkpoint that verifies and passes `usable`; `skipped` receives
// one error line per checkpoint passed over. nullopt when none exists or none
// qualifies.
std::optional<Checkpoint> load_latest_checkpoint(const std::string& run_dir, std::vector<std::string>* skipped,
                                                 std::string* loaded_dir = nullptr, const CheckpointCheck& usable = nullptr);

// Removes what interrupted writes leave in RUN/checkpoints (".step-N.tmp-PID"
// directories, "*.tmp.PID" files): called by rank 0 at start-up, before
// anything else writes there. Returns the paths removed.
std::vector<std::string> remove_partial_checkpoints(const std::string& run_dir);

std::string checkpoint_name(int64_t step);  // "step-000100"
std::string checkpoint_dir(const std::string& run_dir, int64_t step);  // "<run_dir>/checkpoints/step-000100"
std::string optimizer_shard_name(int shard, int shards);  // "optimizer-00000-of-00002.safetensors"

}  // namespace fasrl::trainer
