// RolloutBatch validation (trainer/grpo_batch.h): bytes from a rollout worker
// are parsed and checked (step, staleness, group size, token ids, log-probs,
// images) or refused naming the sending rank — never used unchecked.
#include <cstdint>
#include <string>

#include "fuzz_guard.h"
#include "trainer/grpo_batch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  fasrl::fuzz::expect_only_fasrl_errors([&] {
    const auto batch = fasrl::trainer::parse_rollout_batch(bytes, 1, 3, 1, 2, 64, {8, 60, 4});
    for (const auto& group : batch.groups()) fasrl::trainer::group_images(group);
  });
  return 0;
}
