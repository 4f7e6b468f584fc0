// A dataset directory opened for reading: its manifest, one reader per shard
// and the label/metadata index of every row, so protocol splits can be
// selected without touching pixels.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/manifest.h"
#include "data/shard_reader.h"

namespace fasrl::data {

// Global row address: which shard, which row in it.
struct SampleRef {
  int32_t shard = 0;
  int64_t row = 0;
  bool operator==(const SampleRef& o) const { return shard == o.shard && row == o.row; }
};

class Dataset {
 public:
  // Loads the manifest and opens every shard, checking each file's size
  // against the manifest (a truncated shard fails here, naming it).
  explicit Dataset(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const Manifest& manifest() const { return manifest_; }
  const ShardReader& shard(int i) const { return *readers_.at(static_cast<size_t>(i)); }
  int num_shards() const { return static_cast<int>(readers_.size()); }
  const ShardIndex& index(int shard) const { return indices_.at(static_cast<size_t>(shard)); }

  // Rows of a protocol split, in shard/row order.
  std::vector<SampleRef> select(const std::string& protocol, const std::string& split) const;

 private:
  std::string dir_;
  Manifest manifest_;
  std::vector<std::unique_ptr<ShardReader>> readers_;
  std::vector<ShardIndex> indices_;
};

}  // namespace fasrl::data
