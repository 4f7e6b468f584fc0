// The face-attack knowledge graph file (reasoning/fakg.h): YAML of any
// content loads or is refused naming the file.
#include <cstdint>

#include "fuzz_guard.h"
#include "reasoning/fakg.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fasrl::fuzz::write_scratch("fakg.yaml", data, size);
  fasrl::fuzz::expect_only_fasrl_errors([&] { fasrl::reasoning::KnowledgeGraph::load(path); });
  return 0;
}
