// `fasrl export` for the reasoning MLLM: an HF-style directory
//   <out>/config.json        LLaVA-style: text_config (Qwen2 keys), vision_config
//                            (CLIP keys), image_token_index, projector act, plus
//                            "fasrl": the MllmConfig, modalities and their tags,
//                            input normalisation, chat format, source, SHA-256
//   <out>/model.safetensors  HF names (vision_tower.vision_model.*,
//                            multi_modal_projector.*, language_model.*), float32
//   <out>/tokenizer.json     the tokenizer the model was trained with
// load_mllm_export() reads it back (`fasrl infer`, mllm.init_from).
#pragma once
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "models/mllm.h"
#include "proto/config.pb.h"

namespace fasrl::eval {

void export_mllm(const std::string& checkpoint_dir, const TensorMap& weights, const proto::MllmConfig& config,
                 const std::vector<std::string>& modalities, const std::vector<int>& channels,
                 const std::string& out_dir);

struct ExportedMllm {
  models::MllmBundle bundle;
  std::vector<std::string> modalities;
  std::vector<int> channels;  // per modality, as stored in the dataset
  int image_size = 0;
};
ExportedMllm load_mllm_export(const std::string& dir);
bool is_mllm_export(const std::string& dir);

}  // namespace fasrl::eval
