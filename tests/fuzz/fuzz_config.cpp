// YAML job configs (core/yaml_proto.h, core/config_ranges.h): any text is
// parsed, range-checked and filled in, or refused naming the key.
#include <cstdint>
#include <string>

#include "core/config_ranges.h"
#include "core/yaml_proto.h"
#include "fuzz_guard.h"
#include "proto/config.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fasrl::fuzz::expect_only_fasrl_errors([&] {
    fasrl::proto::JobConfig config;
    fasrl::parse_yaml_config(text, "<fuzz>", {}, &config);
    fasrl::check_config_ranges(config, "<fuzz>");
    fasrl::fill_defaults(&config);
  });
  return 0;
}
