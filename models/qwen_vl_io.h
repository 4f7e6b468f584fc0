// Qwen2.5-VL checkpoints as HF writes them: config.json (model_type
// "qwen2_5_vl"; text keys at the top level or under text_config), weights in
// one file or sharded with an index, names on disk visual.* / model.* /
// lm_head.weight — or, from newer transformers, model.visual.* and
// model.language_model.*. Tied embeddings leave lm_head out; bf16, fp16 and
// fp32 files load into a model of any dtype.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "models/qwen_vl.h"
#include "proto/config.pb.h"

namespace fasrl::models {

// True when dir/config.json says model_type "qwen2_5_vl" (or architectures
// name Qwen2_5_VL...).
bool is_qwen_vl_dir(const std::string& dir);
proto::QwenVlConfig load_qwen_vl_config(const std::string& dir);
// preprocessor_config.json (min_pixels/max_pixels, or size.shortest_edge /
// size.longest_edge); absent file = the defaults.
proto::QwenImageProcessorConfig load_qwen_image_processor_config(const std::string& dir);

// Names as fasrl's QwenVl has them (visual.*, model.*, lm_head.weight);
// lm_head.weight is dropped when the config ties it to the embeddings.
TensorMap qwen_vl_canonical_names(TensorMap tensors, const proto::QwenVlConfig& config);

// Files of an HF model directory that fasrl does not read but carries along
// unchanged (into checkpoints, then exports): generation_config.json,
// chat_template.json, tokenizer_config.json.
const std::vector<std::string>& hf_side_files();

QwenVl load_qwen_vl(const std::string& dir);
// config.json + weights in `dtype` (sharded above max_shard_bytes). Other
// files of the directory (tokenizer, processor) are the caller's.
void save_qwen_vl(QwenVlImpl& model, const std::string& dir, torch::ScalarType dtype,
                  int64_t max_shard_bytes = int64_t{5} * 1000 * 1000 * 1000);

}  // namespace fasrl::models
