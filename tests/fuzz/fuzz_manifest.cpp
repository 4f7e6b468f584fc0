// Dataset manifests (data/manifest.h): manifest.json of any content loads or
// is refused naming the file and key.
#include <cstdint>

#include "data/manifest.h"
#include "fuzz_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fasrl::fuzz::write_scratch("manifest.json", data, size);
  fasrl::fuzz::expect_only_fasrl_errors([&] { fasrl::data::Manifest::load(fasrl::fuzz::scratch_dir()); });
  return 0;
}
