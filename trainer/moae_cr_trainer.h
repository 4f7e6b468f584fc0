// The MoAE-CR learner loop (data-parallel over the learner ranks):
//   batch -> image/text embeddings -> CE (+ DM + CDM | + baseline) -> backward
//   -> bucketed gradient average -> clip -> Adam step -> log / checkpoint / eval.
// Rank 0 owns the run directory: metrics.jsonl, checkpoints, eval reports.
#pragma once
#include <mpi.h>

#include <optional>
#include <string>

#include "eval/fas_metrics.h"
#include "models/clip.h"
#include "proto/config.pb.h"

namespace fasrl::trainer {

// The sub-messages this trainer reads (never the whole job config) and the
// effective config text it stores in every checkpoint.
struct MoaeCrJob {
  proto::RunConfig run;
  proto::LoaderConfig data;
  proto::ClipConfig model;
  proto::OptimConfig optim;
  proto::TrainConfig train;
  proto::CommConfig comm;
  std::string config_json;
};

struct MoaeCrResult {
  int64_t steps = 0;
  double last_loss = 0;
  bool preempted = false;  // stopped on SIGTERM/SIGUSR1 after writing a checkpoint
  std::optional<eval::FasReport> report;  // rank 0, when the protocol has dev and test
};

MoaeCrResult train_moae_cr(const MoaeCrJob& job, MPI_Comm learners);

// Scores dev and test of data.protocol with `model` (P(fake) from the two
// prompts) and evaluates test at dev's EER threshold.
// Per-sample scores, when the caller wants them (score files, export checks).
struct SampleScore {
  std::string split, sample_id;
  double score;
  int is_attack, fine;
};

eval::FasReport evaluate_moae_cr(models::ClipModel& model, const models::PromptTokens& prompts,
                                 const proto::LoaderConfig& data, std::vector<SampleScore>* scores = nullptr);

// [B, ΣC, S, S] model input from loader images: modalities stacked on channels,
// [0,1] mapped to [-1,1] (masked modalities are zeros -> -1).
torch::Tensor model_input(const std::vector<torch::Tensor>& modality_images);

// Tokens of the live and fake prompts for `model`'s text encoder.
models::PromptTokens class_prompts(const proto::ClipConfig& model, const proto::MoaeCrConfig& config);

// The model a job's config and data selection describe (vision.in_channels
// and image_size follow the loaded modalities and loader size).
proto::ClipConfig resolve_model_config(const proto::ClipConfig& model, const proto::LoaderConfig& data);

}  // namespace fasrl::trainer
