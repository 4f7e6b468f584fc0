// manifest.json: what a dataset directory holds (schema version, vocabularies,
// modalities, image size, shards with sample counts, sizes and SHA-256, and
// the protocol splits). Loading validates it and names the file and key on error.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "data/schema.h"

namespace fasrl::data {

// A split selects the samples whose fields match every present constraint.
struct SplitRule {
  std::vector<std::pair<int, int>> subjects;  // half-open [lo, hi) ranges; empty = any
  std::vector<int> fine;                      // allowed fine labels; empty = any
  std::vector<int> domains;                   // allowed domains; empty = any
  bool matches(int subject, int fine_label, int domain) const;
};

struct Protocol {
  std::string description;
  std::map<std::string, SplitRule> splits;  // "train", "dev", "test"
  bool has_dev_and_test() const { return splits.count("dev") && splits.count("test"); }  // can be evaluated
};

struct ShardEntry {
  std::string file;  // relative to the dataset directory
  int64_t num_samples = 0;
  int64_t bytes = 0;
  std::string sha256;
};

struct Manifest {
  int schema_version = kSchemaVersion;
  std::string name;
  int image_height = 0;
  int image_width = 0;
  std::vector<ModalitySpec> modalities;
  std::vector<std::string> binary_labels = default_binary_labels();
  std::vector<std::string> coarse_labels = default_coarse_labels();
  std::vector<std::string> fine_labels = default_fine_labels();
  std::vector<int> fine_to_coarse = default_fine_to_coarse();
  std::vector<std::string> domains;
  std::vector<std::string> text_fields;
  std::vector<ShardEntry> shards;
  std::map<std::string, Protocol> protocols;

  int64_t num_samples() const;
  int modality_index(const std::string& name) const;  // -1 if absent
  std::vector<std::string> modality_names() const;     // in manifest order
  const Protocol& protocol(const std::string& name) const;  // throws naming known protocols

  std::string to_json() const;
  // `source` names the file in errors.
  static Manifest from_json(const std::string& text, const std::string& source);
  static Manifest load(const std::string& dataset_dir);  // kNotFound if manifest.json is missing
  void save(const std::string& dataset_dir) const;       // atomic write
};

// Standard protocols for a dataset with the given subjects (sorted unique ids)
// and domains: P1, P2.1 (unseen physical), P2.2 (unseen digital) and one
// leave-one-domain-out protocol "LODO-<domain>" per domain. Subjects are split
// 60/20/20 into train/dev/test folds in id order.
std::map<std::string, Protocol> standard_protocols(const std::vector<int>& sorted_subjects,
                                                   const std::vector<std::string>& domains,
                                                   const std::vector<int>& fine_to_coarse);

}  // namespace fasrl::data
