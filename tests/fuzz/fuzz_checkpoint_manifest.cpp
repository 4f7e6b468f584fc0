// Checkpoint manifests and trainer state (trainer/checkpoint.h): a checkpoint
// directory whose manifest.json is the input (beside real files) loads only if
// every listed file verifies, or is refused naming the file.
#include <cstdint>
#include <string>

#include "core/io.h"
#include "fuzz_guard.h"
#include "trainer/checkpoint.h"

namespace {

// A real, small checkpoint written once; each input replaces its manifest.
std::string checkpoint_dir() {
  static const std::string dir = [] {
    fasrl::trainer::Checkpoint c;
    c.model["w"] = torch::ones({2, 2});
    c.optimizer["w/exp_avg"] = torch::zeros({2, 2});
    c.rng_state = torch::zeros({8}, torch::kUInt8);
    c.config_json = "{}";
    c.state.step = 1;
    return fasrl::trainer::save_checkpoint(fasrl::fuzz::scratch_dir() + "/run", c, 1);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = checkpoint_dir();
  fasrl::atomic_write_file(dir + "/manifest.json", std::string(reinterpret_cast<const char*>(data), size));
  fasrl::fuzz::expect_only_fasrl_errors([&] { fasrl::trainer::load_checkpoint(dir); });
  return 0;
}
