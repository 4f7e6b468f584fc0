#include "data/dataset_tools.h"

#include <filesystem>
#include <iomanip>
#include <map>

#include "core/error.h"
#include "core/io.h"
#include "data/dataset.h"

namespace fasrl::data {

void inspect_dataset(const std::string& dir, std::ostream& out) {
  Dataset ds(dir);
  const Manifest& m = ds.manifest();
  out << "dataset " << dir << "  name=" << m.name << "  schema v" << m.schema_version << "  samples=" << m.num_samples()
      << "  shards=" << m.shards.size() << "  image=" << m.image_height << "x" << m.image_width << "\n";
  out << "modalities:";
  for (const auto& mod : m.modalities) out << " " << mod.name << "(" << mod.channels << "ch)";
  out << "\ndomains:";
  for (const auto& d : m.domains) out << " " << d;
  out << "\n";

  // Presence of each modality over all rows.
  std::vector<int64_t> present(m.modalities.size(), 0);
  for (int s = 0; s < ds.num_shards(); ++s) {
    const auto& idx = ds.index(s);
    for (size_t r = 0; r < idx.size(); ++r)
      for (size_t k = 0; k < m.modalities.size(); ++k) present[k] += idx.modality_mask[r * m.modalities.size() + k];
  }
  out << "present:";
  for (size_t k = 0; k < present.size(); ++k) out << " " << m.modalities[k].name << "=" << present[k];
  out << "\n\n";

  // Table: rows = protocol/split, columns = fine labels, then coarse totals.
  out << std::left << std::setw(22) << "protocol/split" << std::right << std::setw(7) << "total";
  for (const auto& f : m.fine_labels) out << std::setw(std::max<int>(8, static_cast<int>(f.size()) + 1)) << f;
  out << "\n";
  for (const auto& [pname, p] : m.protocols) {
    for (const char* split : {"train", "dev", "test"}) {
      if (!p.splits.count(split)) continue;
      std::vector<int64_t> counts(m.fine_labels.size(), 0);
      const auto refs = ds.select(pname, split);
      for (const auto& ref : refs) ++counts[static_cast<size_t>(ds.index(ref.shard).fine[static_cast<size_t>(ref.row)])];
      out << std::left << std::setw(22) << (pname + "/" + split) << std::right << std::setw(7) << refs.size();
      for (size_t f = 0; f < counts.size(); ++f)
        out << std::setw(std::max<int>(8, static_cast<int>(m.fine_labels[f].size()) + 1)) << counts[f];
      out << "\n";
    }
  }
}

VerifyReport verify_dataset(const std::string& dir, bool deep) {
  VerifyReport report;
  Manifest m;
  try {
    m = Manifest::load(dir);
  } catch (const Error& e) {
    report.problems.push_back(e.what());
    return report;
  }
  for (const auto& entry : m.shards) {
    const std::string path = join_path(dir, entry.file);
    ++report.shards_checked;
    try {
      if (!path_exists(path)) raise(ErrorKind::kNotFound, path, ": listed in the manifest but missing");
      // A size or hash mismatch is reported, and the structural and deep
      // checks still run so the damaged sample can be named.
      const auto bytes = static_cast<int64_t>(std::filesystem::file_size(path));
      if (bytes != entry.bytes)
        report.problems.push_back(path + ": " + std::to_string(bytes) + " bytes, the manifest says " + std::to_string(entry.bytes));
      const std::string sha = sha256_file(path);
      if (sha != entry.sha256)
        report.problems.push_back(path + ": SHA-256 " + sha + " does not match the manifest's " + entry.sha256);
      ShardReader reader(path, m, entry.num_samples);
      reader.read_index();
      if (deep) {
        for (int64_t row = 0; row < reader.size(); ++row) {
          for (size_t k = 0; k < m.modalities.size(); ++k) {
            std::vector<uint8_t> px(static_cast<size_t>(m.image_height) * m.image_width * m.modalities[k].channels);
            reader.read_image(static_cast<int>(k), row, px.data());
          }
        }
      }
      report.samples_checked += reader.size();
    } catch (const Error& e) {
      report.problems.push_back(e.what());
    }
  }
  return report;
}

}  // namespace fasrl::data
