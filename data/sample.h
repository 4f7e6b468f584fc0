// One dataset sample as it sits in a shard row.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fasrl::data {

struct Sample {
  // images[m] is H*W*C uint8 (row-major HWC) for modality m of the manifest;
  // an absent modality may be left empty (written as zeros, mask 0).
  std::vector<std::vector<uint8_t>> images;
  std::vector<uint8_t> modality_mask;  // [M], 1 = really present
  int8_t binary = 0;                   // 0 live, 1 attack
  int8_t coarse = 0;                   // 0 live, 1 physical, 2 digital
  int16_t fine = 0;                    // attack type id (manifest vocabulary)
  int32_t subject = 0;
  int32_t domain = 0;
  std::string sample_id;
  std::map<std::string, std::string> text;  // field -> UTF-8 (e.g. "cues": JSON)
};

// Labels and metadata of every row of a shard (no pixels), for split selection.
struct ShardIndex {
  std::vector<int8_t> binary, coarse;
  std::vector<int16_t> fine;
  std::vector<int32_t> subject, domain;
  std::vector<uint8_t> modality_mask;  // [N*M]
  size_t size() const { return binary.size(); }
};

}  // namespace fasrl::data
