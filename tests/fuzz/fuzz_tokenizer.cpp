// tokenizer.json + encode (models/tokenizer.h). The input is a tokenizer.json,
// optionally followed by a NUL byte and a text to encode: a tokenizer that
// loads must encode any text into ids inside its vocabulary and decode them.
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_guard.h"
#include "models/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t json_size = nul ? static_cast<size_t>(nul - data) : size;
  const std::string text = nul ? std::string(reinterpret_cast<const char*>(nul + 1), size - json_size - 1)
                               : std::string("Is the face live? <|im_start|>user\n<think>ok</think>");
  const std::string path = fasrl::fuzz::write_scratch("tokenizer.json", data, json_size);
  fasrl::fuzz::expect_only_fasrl_errors([&] {
    const auto tok = fasrl::models::BpeTokenizer::load(path);
    const auto ids = tok.encode(text);
    for (int64_t id : ids)
      if (id < 0 || id >= tok.vocab_size()) __builtin_trap();
    tok.decode(ids);
  });
  return 0;
}
