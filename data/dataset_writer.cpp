#include "data/dataset_writer.h"

#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/io.h"

namespace fasrl::data {

std::vector<int64_t> even_shard_rows(int64_t total, int64_t per_shard) {
  FASRL_CHECK(per_shard > 0, "samples per shard must be > 0, got ", per_shard);
  std::vector<int64_t> rows;
  for (int64_t start = 0; start < total; start += per_shard) rows.push_back(std::min(per_shard, total - start));
  return rows;
}

DatasetWriter::DatasetWriter(std::string dir, Manifest manifest, std::vector<int64_t> shard_rows, int compression_level)
    : dir_(std::move(dir)),
      manifest_(std::move(manifest)),
      shard_rows_(std::move(shard_rows)),
      layout_{manifest_.modalities, manifest_.image_height, manifest_.image_width, manifest_.text_fields, compression_level} {
  manifest_.shards.clear();
  make_dirs(dir_);
}

DatasetWriter::~DatasetWriter() = default;  // an unfinished shard stays a .partial file (ShardWriter)

void DatasetWriter::show_progress(ProgressMeter* meter) {
  progress_ = meter;
  int64_t total = 0;
  for (int64_t rows : shard_rows_) total += rows;
  if (progress_) progress_->start(total);
}

void DatasetWriter::add(const Sample& sample) {
  if (!writer_) {
    const size_t index = manifest_.shards.size();
    if (index >= shard_rows_.size())
      raise(ErrorKind::kInternal, dir_, ": more samples than the ", written_, " the shards were sized for");
    char name[32];
    std::snprintf(name, sizeof name, "shard-%05zu.h5", index);
    manifest_.shards.push_back({name, shard_rows_[index], 0, ""});
    shard_end_ = written_ + shard_rows_[index];
    writer_ = std::make_unique<ShardWriter>(join_path(dir_, name), layout_, shard_rows_[index]);
  }
  writer_->add(sample);
  ++written_;
  if (progress_) progress_->advance();
  if (written_ == shard_end_) close_shard();
}

void DatasetWriter::close_shard() {
  writer_->finish();
  writer_.reset();
  ShardEntry& e = manifest_.shards.back();
  const std::string path = join_path(dir_, e.file);
  e.bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  e.sha256 = sha256_file(path);
}

const Manifest& DatasetWriter::finish() {
  if (progress_) progress_->finish();
  if (writer_ || manifest_.shards.size() != shard_rows_.size())
    raise(ErrorKind::kInternal, dir_, ": finished after ", written_, " samples, before the last shard was full");
  manifest_.save(dir_);
  return manifest_;
}

}  // namespace fasrl::data
