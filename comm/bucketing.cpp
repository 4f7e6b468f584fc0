#include "comm/bucketing.h"

#include <map>

#include "core/error.h"

namespace fasrl::comm {

std::vector<std::vector<int>> assign_buckets(const std::vector<TensorSpec>& tensors, int64_t cap_bytes,
                                             int64_t first_cap_bytes) {
  FASRL_CHECK(cap_bytes > 0 && first_cap_bytes > 0, "bucket caps must be positive");
  struct Open {
    std::vector<int> members;
    int64_t bytes = 0;
  };
  std::map<int, Open> open;  // dtype -> bucket being filled
  std::vector<std::vector<int>> done;
  for (int i = static_cast<int>(tensors.size()) - 1; i >= 0; --i) {
    const TensorSpec& t = tensors[static_cast<size_t>(i)];
    Open& b = open[t.dtype];
    b.members.push_back(i);
    b.bytes += t.bytes;
    const int64_t cap = done.empty() ? first_cap_bytes : cap_bytes;
    if (b.bytes >= cap) {
      done.push_back(std::move(b.members));
      open.erase(t.dtype);
    }
  }
  for (auto& [dtype, b] : open)
    if (!b.members.empty()) done.push_back(std::move(b.members));
  return done;
}

}  // namespace fasrl::comm
