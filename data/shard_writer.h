// Writes one shard file in format v1. Rows are written in order with add();
// finish() writes labels, metadata and text and closes the file. The file is
// created under a temporary name and renamed on finish(), so a crashed writer
// never leaves a plausible-looking shard behind.
#pragma once
#include <string>
#include <vector>

#include "data/h5.h"
#include "data/sample.h"
#include "data/schema.h"

namespace fasrl::data {

struct ShardLayout {
  std::vector<ModalitySpec> modalities;
  int height = 0, width = 0;
  std::vector<std::string> text_fields;
  int compression_level = 4;  // deflate 0-9; one chunk per sample and modality
};

class ShardWriter {
 public:
  ShardWriter(const std::string& path, const ShardLayout& layout, int64_t num_samples);
  ~ShardWriter();
  void add(const Sample& sample);  // throws if the sample does not fit the layout
  void finish();

 private:
  std::string path_, tmp_path_;
  ShardLayout layout_;
  int64_t capacity_, count_ = 0;
  h5::Handle file_;
  std::vector<h5::Handle> image_sets_;
  ShardIndex rows_;
  std::vector<std::string> sample_ids_;
  std::vector<std::vector<std::string>> texts_;  // [field][row]
};

}  // namespace fasrl::data
