// The <think>/<answer> response parser (reasoning/response_format.h), fed by
// generated text of any length: never throws, never recurses deeply.
#include <cstdint>
#include <string>

#include "fuzz_guard.h"
#include "reasoning/response_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fasrl::fuzz::expect_only_fasrl_errors([&] {
    const auto parsed = fasrl::reasoning::parse_response(text);
    if (parsed.well_formed && parsed.answer.size() > text.size()) __builtin_trap();  // parts come from the text
  });
  return 0;
}
