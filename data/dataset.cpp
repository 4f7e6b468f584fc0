#include "data/dataset.h"

#include <filesystem>

#include "core/error.h"
#include "core/io.h"

namespace fasrl::data {

Dataset::Dataset(const std::string& dir) : dir_(dir), manifest_(Manifest::load(dir)) {
  for (const auto& entry : manifest_.shards) {
    const std::string path = join_path(dir, entry.file);
    if (!path_exists(path)) raise(ErrorKind::kNotFound, path, ": shard listed in the manifest does not exist");
    const auto bytes = static_cast<int64_t>(std::filesystem::file_size(path));
    if (bytes != entry.bytes)
      raise(ErrorKind::kCorruption, path, ": file is ", bytes, " bytes, the manifest says ", entry.bytes,
            bytes < entry.bytes ? " (truncated?)" : "");
    readers_.push_back(std::make_unique<ShardReader>(path, manifest_, entry.num_samples));
    indices_.push_back(readers_.back()->read_index());
  }
}

std::vector<SampleRef> Dataset::select(const std::string& protocol, const std::string& split) const {
  const Protocol& p = manifest_.protocol(protocol);
  auto it = p.splits.find(split);
  if (it == p.splits.end())
    raise(ErrorKind::kNotFound, dir_, ": protocol '", protocol, "' has no split '", split, "'");
  std::vector<SampleRef> refs;
  for (int s = 0; s < num_shards(); ++s) {
    const ShardIndex& idx = indices_[static_cast<size_t>(s)];
    for (size_t r = 0; r < idx.size(); ++r)
      if (it->second.matches(idx.subject[r], idx.fine[r], idx.domain[r])) refs.push_back({s, static_cast<int64_t>(r)});
  }
  return refs;
}

}  // namespace fasrl::data
