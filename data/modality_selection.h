// Which modalities a job uses: data.modalities in the order given, or every
// modality of the dataset when it is empty. The one selection the loader, the
// MoAE-CR model, the MLLM (SFT, GRPO learners and rollout workers), evaluation
// and export all follow.
#pragma once
#include <string>
#include <vector>

#include "data/manifest.h"
#include "proto/config.pb.h"

namespace fasrl::data {

struct ModalitySelection {
  std::vector<int> indices;          // into manifest.modalities
  std::vector<std::string> names;
  std::vector<int> channels;         // as stored in the dataset
  int total_channels() const;
};

// An unknown name is a config error naming data.modalities and the dataset.
ModalitySelection select_modalities(const Manifest& manifest, const proto::LoaderConfig& config);

}  // namespace fasrl::data
