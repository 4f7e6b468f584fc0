// safetensors bytes (core/safetensors.h): any file decodes into tensors whose
// bytes lie inside it, or is refused naming it — before anything is allocated
// from its header's claims.
#include <cstdint>
#include <string>

#include "core/safetensors.h"
#include "fuzz_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  fasrl::fuzz::expect_only_fasrl_errors([&] {
    const auto file = fasrl::decode_safetensors(bytes, "<fuzz>");
    size_t total = 0;
    for (const auto& [name, t] : file.tensors) total += t.nbytes();
    if (total > size) __builtin_trap();  // tensors are views of, or copies from, the input
  });
  return 0;
}
