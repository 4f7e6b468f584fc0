// Writes a dataset directory: samples roll over into shard-NNNNN.h5 files of
// the given row counts; as each shard closes, its name, rows, bytes and
// SHA-256 go into the manifest, and finish() writes manifest.json. Used by
// every producer of datasets (synth, pack, the QA writer).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/progress_meter.h"
#include "data/manifest.h"
#include "data/shard_writer.h"

namespace fasrl::data {

// Rows per shard: full shards of `per_shard` and a shorter last one.
std::vector<int64_t> even_shard_rows(int64_t total, int64_t per_shard);

class DatasetWriter {
 public:
  // `manifest`: everything but the shards (protocols may be set before
  // finish()); `text_fields` and `modalities` define the shard layout.
  DatasetWriter(std::string dir, Manifest manifest, std::vector<int64_t> shard_rows, int compression_level);
  ~DatasetWriter();
  void add(const Sample& sample);
  // Counts each added sample on `meter` (started here with the total rows); null: none.
  void show_progress(ProgressMeter* meter);
  Manifest& manifest() { return manifest_; }
  int64_t written() const { return written_; }
  // Every shard must be full; writes manifest.json and returns the manifest.
  const Manifest& finish();

 private:
  void close_shard();
  std::string dir_;
  Manifest manifest_;
  std::vector<int64_t> shard_rows_;
  ShardLayout layout_;
  std::unique_ptr<ShardWriter> writer_;
  int64_t written_ = 0, shard_end_ = 0;
  ProgressMeter* progress_ = nullptr;
};

}  // namespace fasrl::data
