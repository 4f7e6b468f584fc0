// Small text helpers shared by error messages, reports and run-directory names.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace fasrl {

// "a, b, c" for separator ", "; "" for no items.
inline std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

// "step-000100": how a step names its directory (checkpoints, evaluations).
inline std::string step_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%06lld", static_cast<long long>(step));
  return name;
}

}  // namespace fasrl
