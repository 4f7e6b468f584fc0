#include "synth/qa_dataset.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "data/dataset.h"
#include "data/dataset_writer.h"

namespace fasrl::synth {
using namespace fasrl::data;
using namespace fasrl::reasoning;

QaDatasetSummary add_qa_to_dataset(const std::string& in_dir, const std::string& out_dir, const reasoning::KnowledgeGraph& kg,
                                   const reasoning::QaOptions& options, const std::string& field,
                                   ProgressMeter* progress) {
  if (std::filesystem::weakly_canonical(in_dir) == std::filesystem::weakly_canonical(out_dir))
    raise(ErrorKind::kInvalidArgument, "data qa: --out must differ from --dataset (", in_dir, ")");
  const Dataset in(in_dir);
  Manifest m = in.manifest();
  if (std::find(m.text_fields.begin(), m.text_fields.end(), "cues") == m.text_fields.end())
    raise(ErrorKind::kInvalidArgument, in_dir, ": the dataset has no /text/cues annotations to build QA from");
  for (const auto& l : m.fine_labels)
    if (!kg.has_category(l)) raise(ErrorKind::kConfig, "qa.knowledge_graph: no category for the dataset's label '", l, "'");
  if (std::find(m.text_fields.begin(), m.text_fields.end(), field) == m.text_fields.end()) m.text_fields.push_back(field);
  std::vector<int64_t> shard_rows;  // the input's shards, one to one
  for (int sh = 0; sh < in.num_shards(); ++sh) shard_rows.push_back(in.shard(sh).size());
  DatasetWriter writer(out_dir, m, shard_rows, 4);
  writer.show_progress(progress);
  QaDatasetSummary summary;
  for (int sh = 0; sh < in.num_shards(); ++sh) {
    const ShardReader& reader = in.shard(sh);
    for (int64_t row = 0; row < reader.size(); ++row) {
      Sample s = reader.read_sample(row);
      QaSample q{s.sample_id, m.fine_labels.at(static_cast<size_t>(s.fine)), {}, {}};
      for (size_t k = 0; k < m.modalities.size(); ++k)
        if (s.modality_mask[k]) q.present_modalities.push_back(m.modalities[k].name);
      try {
        q.cues = nlohmann::json::parse(s.text.at("cues")).get<std::map<std::string, std::vector<std::string>>>();
      } catch (const nlohmann::json::exception& e) {
        raise(ErrorKind::kCorruption, reader.path(), ": /text/cues of ", s.sample_id, " is not {modality: [cue]} JSON");
      }
      const auto items = synthesize_qa(kg, q, options);
      for (const auto& i : items) summary.paths += static_cast<int64_t>(i.paths.size());
      summary.items += static_cast<int64_t>(items.size());
      s.text[field] = qa_to_json(items);
      writer.add(s);
      ++summary.samples;
    }
  }
  writer.finish();
  return summary;
}

}  // namespace fasrl::synth
