// The weights of an HF model directory: one model.safetensors, or shards
// listed in model.safetensors.index.json ({"weight_map": {name: file}}), as
// save_pretrained writes them for models over its shard size. Errors name the
// directory, the file and the tensor.
#pragma once
#include <cstdint>
#include <string>

#include "core/safetensors.h"

namespace fasrl::models {

// Every tensor of the directory, as stored (dtype of the file).
TensorMap load_hf_weights(const std::string& dir);

// model.safetensors when the tensors fit in max_shard_bytes, otherwise
// model-0000i-of-0000n.safetensors (whole tensors, in name order) plus the
// index. Stale weight files of an earlier save in `dir` are removed.
void save_hf_weights(const std::string& dir, const TensorMap& tensors, int64_t max_shard_bytes);

}  // namespace fasrl::models
