#include "data/pack.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/io.h"
#include "data/image_codec.h"
#include "data/manifest.h"
#include "data/dataset_writer.h"

namespace fasrl::data {
namespace {

struct Row {
  int line;
  std::string sample_id, label;
  int subject;
  std::string domain;
  std::vector<std::string> paths;  // per modality, "" = missing
};

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  for (auto& c : cells) {
    while (!c.empty() && (c.back() == '\r' || c.back() == ' ')) c.pop_back();
    while (!c.empty() && c.front() == ' ') c.erase(c.begin());
  }
  return cells;
}

}  // namespace

int64_t pack_dataset(const PackOptions& o) {
  std::ifstream in(o.csv_path);
  if (!in) raise(ErrorKind::kNotFound, o.csv_path, ": cannot open CSV list");
  const std::string root = o.image_root.empty() ? std::filesystem::path(o.csv_path).parent_path().string() : o.image_root;
  std::string line;
  if (!std::getline(in, line)) raise(ErrorKind::kInvalidArgument, o.csv_path, ": empty file, expected a header line");
  const auto header = split_csv(line);
  auto column = [&](const std::string& name) {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  for (const char* required : {"sample_id", "label", "subject", "domain", "rgb"})
    if (column(required) < 0) raise(ErrorKind::kInvalidArgument, o.csv_path, ":1: header lacks column '", required, "'");

  Manifest m;
  m.name = o.name;
  m.image_height = m.image_width = o.image_size;
  for (const auto& spec : default_modalities())
    if (column(spec.name) >= 0) m.modalities.push_back(spec);

  std::vector<Row> rows;
  std::set<std::string> ids;
  for (int line_no = 2; std::getline(in, line); ++line_no) {
    if (line.empty() || line == "\r") continue;
    const auto cells = split_csv(line);
    auto cell = [&](const std::string& name) {
      const int c = column(name);
      return c >= 0 && c < static_cast<int>(cells.size()) ? cells[static_cast<size_t>(c)] : std::string();
    };
    Row r{line_no, cell("sample_id"), cell("label"), 0, cell("domain"), {}};
    const std::string where = o.csv_path + ":" + std::to_string(line_no);
    if (r.sample_id.empty() || !ids.insert(r.sample_id).second)
      raise(ErrorKind::kInvalidArgument, where, ": sample_id '", r.sample_id, "' is empty or repeated");
    if (std::find(m.fine_labels.begin(), m.fine_labels.end(), r.label) == m.fine_labels.end())
      raise(ErrorKind::kInvalidArgument, where, ": label '", r.label, "' is not a known attack type");
    try {
      size_t used = 0;
      r.subject = std::stoi(cell("subject"), &used);
      if (used != cell("subject").size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      raise(ErrorKind::kInvalidArgument, where, ": subject '", cell("subject"), "' is not an integer");
    }
    if (r.domain.empty()) raise(ErrorKind::kInvalidArgument, where, ": domain is empty");
    if (std::find(m.domains.begin(), m.domains.end(), r.domain) == m.domains.end()) m.domains.push_back(r.domain);
    for (const auto& spec : m.modalities) r.paths.push_back(cell(spec.name));
    if (r.paths[0].empty() && m.modalities[0].name == "rgb")
      raise(ErrorKind::kInvalidArgument, where, ": rgb path is empty (RGB is required)");
    rows.push_back(r);
  }
  if (rows.empty()) raise(ErrorKind::kInvalidArgument, o.csv_path, ": no samples listed");
  std::set<int> subject_set;
  for (const auto& r : rows) subject_set.insert(r.subject);
  if (subject_set.size() < 3)
    raise(ErrorKind::kInvalidArgument, o.csv_path, ": ", subject_set.size(),
          " distinct subjects; protocols need at least 3 (train/dev/test folds)");

  DatasetWriter writer(o.out_dir, m, even_shard_rows(static_cast<int64_t>(rows.size()), o.samples_per_shard), o.compression_level);
  writer.show_progress(o.progress);
  for (const Row& r : rows) {
    Sample s;
    s.sample_id = r.sample_id;
    s.fine = static_cast<int16_t>(std::find(m.fine_labels.begin(), m.fine_labels.end(), r.label) - m.fine_labels.begin());
    s.coarse = static_cast<int8_t>(m.fine_to_coarse[static_cast<size_t>(s.fine)]);
    s.binary = s.coarse == 0 ? 0 : 1;
    s.subject = r.subject;
    s.domain = static_cast<int32_t>(std::find(m.domains.begin(), m.domains.end(), r.domain) - m.domains.begin());
    for (size_t k = 0; k < m.modalities.size(); ++k) {
      if (r.paths[k].empty()) {
        s.images.emplace_back();
        s.modality_mask.push_back(0);
        continue;
      }
      const std::string file = std::filesystem::path(r.paths[k]).is_absolute() ? r.paths[k] : join_path(root, r.paths[k]);
      if (!path_exists(file))
        raise(ErrorKind::kNotFound, o.csv_path, ":", r.line, ": ", m.modalities[k].name, " image '", file, "' does not exist");
      Image img = resize_bilinear(decode_image_file(file, m.modalities[k].channels, o.max_pixels), o.image_size, o.image_size);
      s.images.push_back(std::move(img.pixels));
      s.modality_mask.push_back(1);
    }
    writer.add(s);
  }
  writer.manifest().protocols = standard_protocols({subject_set.begin(), subject_set.end()}, m.domains, m.fine_to_coarse);
  writer.finish();
  return static_cast<int64_t>(rows.size());
}

}  // namespace fasrl::data
