// `fasrl data inspect` and `fasrl data verify`.
#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace fasrl::data {

// Prints the manifest summary and sample counts per label, per protocol split.
void inspect_dataset(const std::string& dir, std::ostream& out);

struct VerifyReport {
  int shards_checked = 0;
  int64_t samples_checked = 0;
  std::vector<std::string> problems;  // each names the file (and sample) at fault
  bool ok() const { return problems.empty(); }
};

// Checks the manifest, every shard's size and SHA-256, its schema and labels;
// with `deep`, also decodes every image of every sample. Never throws for a
// bad dataset: each problem becomes a line of the report.
VerifyReport verify_dataset(const std::string& dir, bool deep);

}  // namespace fasrl::data
