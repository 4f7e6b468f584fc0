// safetensors files (the HF format): an 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then the raw little-endian bytes. Reading never executes anything; every
// header entry is bounds-checked and errors name the file and tensor.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

namespace fasrl {

using TensorMap = std::map<std::string, torch::Tensor>;

// Writes CPU copies of the tensors (atomically: temp file, fsync, rename).
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  TensorMap tensors;  // CPU, contiguous
  std::map<std::string, std::string> metadata;
};
SafetensorsFile load_safetensors(const std::string& path);

// The same format in memory; `source` names it in errors.
std::string encode_safetensors(const TensorMap& tensors, const std::map<std::string, std::string>& metadata,
                               const std::string& source);
SafetensorsFile decode_safetensors(const std::string& bytes, const std::string& source);

}  // namespace fasrl
