// Reads one shard file of format v1. Opening validates the schema version,
// the presence, element types and shapes of every dataset against the
// manifest, and the row count. Errors name the file, the dataset and (for
// per-sample reads) the row and sample id. Safe to call from several threads
// (libhdf5 is built thread-safe; deflate decoding runs outside its lock).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/h5.h"
#include "data/manifest.h"
#include "data/sample.h"

namespace fasrl::data {

class ShardReader {
 public:
  // `expected_rows` < 0 skips the row-count check.
  ShardReader(const std::string& path, const Manifest& manifest, int64_t expected_rows);

  const std::string& path() const { return path_; }
  int64_t size() const { return rows_; }

  ShardIndex read_index() const;
  // Decodes modality m of row i into out (H*W*C bytes); zeros if the modality
  // is absent from this shard.
  void read_image(int m, int64_t row, uint8_t* out) const;
  std::string read_string(const std::string& dataset, int64_t row) const;
  std::vector<std::string> read_strings(const std::string& dataset) const;
  Sample read_sample(int64_t row) const;  // everything, including text fields

 private:
  struct ImageSet {
    h5::Handle set;
    int channels = 0;
    bool direct_deflate = false;  // one-sample chunks, deflate only: decode ourselves
  };
  [[noreturn]] void row_error(const std::string& dataset, int64_t row, const std::string& what) const;

  std::string path_;
  const Manifest* manifest_;
  int64_t rows_ = 0;
  h5::Handle file_;
  std::vector<ImageSet> images_;  // per manifest modality; set invalid if absent
};

}  // namespace fasrl::data
