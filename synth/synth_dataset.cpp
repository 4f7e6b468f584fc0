#include "synth/synth_dataset.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "core/timer.h"
#include "data/manifest.h"
#include "data/dataset_writer.h"
#include "synth/synth_face.h"

namespace fasrl::synth {
using namespace fasrl::data;  // the shard writer and manifest this generator fills

namespace {
void validate(const proto::SynthConfig& c) {
  auto bad = [](const char* key, const std::string& what) { raise(ErrorKind::kConfig, "synth.", key, ": ", what); };
  if (c.num_subjects() < 3) bad("num_subjects", "needs at least 3 (train/dev/test folds)");
  if (c.samples_per_subject() < 1) bad("samples_per_subject", "must be >= 1");
  if (c.image_size() < 16 || c.image_size() > 1024) bad("image_size", "must be in [16, 1024]");
  if (c.num_domains() < 1) bad("num_domains", "must be >= 1");
  if (c.samples_per_shard() < 1) bad("samples_per_shard", "must be >= 1");
  if (c.compression_level() < 0 || c.compression_level() > 9) bad("compression_level", "must be in [0, 9]");
  if (c.live_fraction() <= 0 || c.live_fraction() >= 1) bad("live_fraction", "must be in (0, 1)");
  if (c.missing_modality_prob() < 0 || c.missing_modality_prob() > 1) bad("missing_modality_prob", "must be in [0, 1]");
}
}  // namespace

SynthSummary synthesize_dataset(const proto::SynthConfig& c, ProgressMeter* progress) {
  validate(c);
  Stopwatch clock;
  Manifest m;
  m.name = "synth";
  m.image_height = m.image_width = c.image_size();
  m.modalities = default_modalities();
  for (int d = 0; d < c.num_domains(); ++d) m.domains.push_back("d" + std::to_string(d));
  m.text_fields = {"cues"};

  const int64_t total = static_cast<int64_t>(c.num_subjects()) * c.samples_per_subject();
  const int num_attack_types = static_cast<int>(m.fine_labels.size()) - 1;
  DatasetWriter writer(c.out_dir(), m, even_shard_rows(total, c.samples_per_shard()), c.compression_level());
  writer.show_progress(progress);

  for (int subject = 0; subject < c.num_subjects(); ++subject) {
    const SubjectLook look = make_subject_look(c.seed(), subject);
    const int domain = subject % c.num_domains();
    const DomainLook dom = make_domain_look(c.seed(), domain);
    for (int k = 0; k < c.samples_per_subject(); ++k) {
      Rng rng(derive_seed(c.seed(), static_cast<uint64_t>(subject), static_cast<uint64_t>(k)));
      const int fine = rng.bernoulli(c.live_fraction()) ? 0 : 1 + static_cast<int>(rng.below(num_attack_types));
      const int donor = static_cast<int>((subject + 1 + rng.below(c.num_subjects() - 1)) % c.num_subjects());
      RenderedFace face = render_face(c.image_size(), fine, look, make_subject_look(c.seed(), donor), dom, rng,
                                      c.adversarial_strength());

      Sample s;
      s.fine = static_cast<int16_t>(fine);
      s.coarse = static_cast<int8_t>(m.fine_to_coarse[fine]);
      s.binary = s.coarse == 0 ? 0 : 1;
      s.subject = subject;
      s.domain = domain;
      char id[48];
      std::snprintf(id, sizeof id, "synth-s%04d-%03d", subject, k);
      s.sample_id = id;
      s.images = {std::move(face.rgb), std::move(face.depth), std::move(face.ir)};
      s.modality_mask = {1, 1, 1};
      for (int mi = 1; mi < 3; ++mi) {  // depth and IR may be missing; RGB always exists
        if (rng.bernoulli(c.missing_modality_prob())) {
          s.images[mi].clear();
          s.modality_mask[mi] = 0;
          face.cues.erase(m.modalities[mi].name);
        }
      }
      s.text["cues"] = nlohmann::json(face.cues).dump();
      writer.add(s);
    }
  }
  std::vector<int> subjects(c.num_subjects());
  std::iota(subjects.begin(), subjects.end(), 0);
  writer.manifest().protocols = standard_protocols(subjects, m.domains, m.fine_to_coarse);
  const Manifest& written = writer.finish();
  return {writer.written(), static_cast<int>(written.shards.size()), clock.seconds()};
}

}  // namespace fasrl::synth
