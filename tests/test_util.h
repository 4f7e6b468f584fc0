// Helpers shared by the test executables: a self-deleting temporary
// directory and a tiny synthetic dataset.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "proto/config.pb.h"

namespace fasrl::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fasrl-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }

 private:
  std::string path_;
};

inline proto::SynthConfig tiny_synth(const std::string& out_dir, int subjects = 12, int per_subject = 8, int size = 32) {
  proto::SynthConfig c;
  c.set_out_dir(out_dir);
  c.set_num_subjects(subjects);
  c.set_samples_per_subject(per_subject);
  c.set_image_size(size);
  c.set_samples_per_shard(40);
  return c;
}

#ifdef FASRL_SOURCE_DIR
// The knowledge graph fasrl ships (configs/fakg.yaml).
inline std::string fakg_path() { return std::string(FASRL_SOURCE_DIR) + "/configs/fakg.yaml"; }
#endif

inline proto::DecoderConfig tiny_decoder(int vocab) {
  proto::DecoderConfig c;
  c.set_vocab_size(vocab), c.set_hidden_size(32), c.set_intermediate_size(64), c.set_num_hidden_layers(2);
  c.set_num_attention_heads(4), c.set_num_key_value_heads(2), c.set_rope_theta(10000);
  return c;
}

// Runs `body`, expects a fasrl::Error whose message contains every `needle`.
template <typename Body>
void expect_error(Body body, std::initializer_list<std::string> needles) {
  try {
    body();
    ADD_FAILURE() << "expected a fasrl::Error";
  } catch (const Error& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "message: " << e.what() << "\nmissing: " << n;
  }
}

}  // namespace fasrl::testing
