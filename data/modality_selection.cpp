#include "data/modality_selection.h"

#include "core/error.h"

namespace fasrl::data {

int ModalitySelection::total_channels() const {
  int sum = 0;
  for (int c : channels) sum += c;
  return sum;
}

ModalitySelection select_modalities(const Manifest& manifest, const proto::LoaderConfig& config) {
  ModalitySelection s;
  auto take = [&](int index) {
    const ModalitySpec& spec = manifest.modalities[static_cast<size_t>(index)];
    s.indices.push_back(index);
    s.names.push_back(spec.name);
    s.channels.push_back(spec.channels);
  };
  if (config.modalities().empty()) {
    for (size_t i = 0; i < manifest.modalities.size(); ++i) take(static_cast<int>(i));
    return s;
  }
  for (const auto& name : config.modalities()) {
    const int index = manifest.modality_index(name);
    if (index < 0) raise(ErrorKind::kConfig, "data.modalities: '", name, "' is not a modality of ", config.dataset());
    take(index);
  }
  return s;
}

}  // namespace fasrl::data
