// `fasrl export` for MoAE-CR: what downstream consumers load.
//   <out>/model.safetensors  HF CLIP names (+ MoAE), float32
//   <out>/config.json        architecture, input spec (modalities, size,
//                            normalisation), prompts and their token ids,
//                            label map, the dev-set threshold and the test
//                            metrics at it, SHA-256 of model.safetensors
// load_export() reads it back for `fasrl infer`.
#pragma once
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "models/clip.h"
#include "proto/config.pb.h"

namespace fasrl::eval {

// `weights`: the checkpoint's model tensors; `checkpoint_dir` is recorded as
// the source. Returns the dev threshold written.
double export_moae_cr(const std::string& checkpoint_dir, const TensorMap& weights, const proto::ClipConfig& model,
                      const proto::LoaderConfig& data,
                      const proto::MoaeCrConfig& prompts, const std::string& out_dir);

struct ExportedModel {
  models::ClipModel model{nullptr};
  models::PromptTokens prompts;
  std::vector<std::string> modalities;
  std::vector<int> channels;
  int image_size = 0;
  double threshold = 0.5;
};
ExportedModel load_export(const std::string& dir);

// images[m]: [C_m, S, S] float in [0,1] for each exported modality (zeros if
// missing). Returns P(fake).
double score_sample(ExportedModel& exported, const std::vector<torch::Tensor>& images);

}  // namespace fasrl::eval
