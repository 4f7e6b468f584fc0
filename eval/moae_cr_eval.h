// Evaluation of a MoAE-CR model on a protocol's dev and test splits, and the
// pieces of its input and prompts that training, evaluation and export share.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "eval/eval_outputs.h"
#include "metrics/fas_metrics.h"
#include "models/clip.h"
#include "proto/config.pb.h"

namespace fasrl::eval {

// Scores dev and test of data.protocol with `model` (P(fake) from the two
// prompts) and evaluates test at dev's EER threshold.
// Per-sample scores, when the caller wants them (score files, export checks).
struct SampleScore {
  std::string split, sample_id;
  double score;
  int is_attack, fine;
};

metrics::FasReport evaluate_moae_cr(models::ClipModel& model, const models::PromptTokens& prompts,
                                 const proto::LoaderConfig& data, std::vector<SampleScore>* scores = nullptr);

// [B, ΣC, S, S] model input from loader images: modalities stacked on channels,
// [0,1] mapped to [-1,1] (masked modalities are zeros -> -1).
torch::Tensor model_input(const std::vector<torch::Tensor>& modality_images);

// Tokens of the live and fake prompts for `model`'s text encoder.
models::PromptTokens class_prompts(const proto::ClipConfig& model, const proto::MoaeCrConfig& config);

// The model a job's config and data selection describe (vision.in_channels
// and image_size follow the loaded modalities and loader size).
proto::ClipConfig resolve_model_config(const proto::ClipConfig& model, const proto::LoaderConfig& data);

// Writes the report and the per-sample score files scores-{dev,test}.csv
// (what `fasrl eval scores` reads back) where eval/eval_outputs.h says; returns the report text.
std::string write_moae_cr_report(const std::string& run_dir, const EvalSource& source, const metrics::FasReport& report,
                                 const std::vector<SampleScore>& scores, const std::vector<std::string>& fine_labels);

}  // namespace fasrl::eval
