#include "models/kv_cache.h"

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace fasrl::models {

using torch::indexing::Slice;

SlotKvCache::SlotKvCache(int64_t layers, int64_t slots, int64_t kv_heads, int64_t capacity, int64_t head_dim,
                         const torch::TensorOptions& options)
    : slots_(slots), capacity_(capacity) {
  // Zeroed, not empty: masked keys still enter the score matmul, and an
  // uninitialised NaN there would survive the -inf mask (NaN + -inf = NaN).
  for (int64_t l = 0; l < layers; ++l) {
    keys_.push_back(torch::zeros({slots, kv_heads, capacity, head_dim}, options));
    values_.push_back(torch::zeros({slots, kv_heads, capacity, head_dim}, options));
  }
}

int64_t SlotKvCache::admit(const KvCache& prefill, int64_t row, int64_t offset, int64_t length) {
  const int64_t slot = active();
  if (slot >= slots_) raise(ErrorKind::kInternal, "SlotKvCache: all ", slots_, " slots are taken");
  if (length > capacity_) raise(ErrorKind::kInternal, "SlotKvCache: a ", length, "-token prompt exceeds capacity ", capacity_);
  for (size_t l = 0; l < keys_.size(); ++l) {
    keys_[l][slot].narrow(1, 0, length).copy_(prefill.keys[l][row].narrow(1, offset, length));
    values_[l][slot].narrow(1, 0, length).copy_(prefill.values[l][row].narrow(1, offset, length));
  }
  lengths_.push_back(length);
  return slot;
}

void SlotKvCache::remove(int64_t slot) {
  const int64_t last = active() - 1;
  if (slot < 0 || slot > last) raise(ErrorKind::kInternal, "SlotKvCache: slot ", slot, " is not active");
  if (slot != last) {
    const int64_t n = lengths_[static_cast<size_t>(last)];
    for (size_t l = 0; l < keys_.size(); ++l) {
      keys_[l][slot].narrow(1, 0, n).copy_(keys_[l][last].narrow(1, 0, n));
      values_[l][slot].narrow(1, 0, n).copy_(values_[l][last].narrow(1, 0, n));
    }
    lengths_[static_cast<size_t>(slot)] = n;
  }
  lengths_.pop_back();
}

void SlotKvCache::begin_fused_step() {
  const int64_t longest = *std::max_element(lengths_.begin(), lengths_.end());
  if (longest + 1 > capacity_) raise(ErrorKind::kInternal, "SlotKvCache: a sequence outgrew capacity ", capacity_);
  step_span_ = longest + 1;
}

AttentionPlan SlotKvCache::begin_step(torch::ScalarType dtype) {
  begin_fused_step();
  const int64_t n = active();
  const torch::Device device = keys_[0].device();
  const torch::Tensor lengths = torch::tensor(lengths_, torch::kInt64).to(device, /*non_blocking=*/true);
  rows_ = torch::arange(n, torch::TensorOptions().dtype(torch::kInt64).device(device));
  write_at_ = lengths;
  // Slot i sees its own keys [0, length_i] (the new one included): mask [n, 1, 1, span].
  const torch::Tensor visible = torch::arange(step_span_, rows_.options()).unsqueeze(0) <= lengths.unsqueeze(1);
  AttentionPlan plan;
  plan.mask = torch::zeros({n, 1, 1, step_span_}, torch::TensorOptions().dtype(dtype).device(device))
                  .masked_fill(visible.logical_not().view({n, 1, 1, step_span_}), -std::numeric_limits<double>::infinity());
  for (int64_t length : lengths_) plan.visible.push_back(length + 1);
  return plan;
}

std::pair<torch::Tensor, torch::Tensor> SlotKvCache::append(size_t layer, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t n = active();
  keys_[layer].index_put_({rows_, Slice(), write_at_}, k.squeeze(2));  // k [n, Hkv, 1, hd]
  values_[layer].index_put_({rows_, Slice(), write_at_}, v.squeeze(2));
  return {keys_[layer].narrow(0, 0, n).narrow(2, 0, step_span_), values_[layer].narrow(0, 0, n).narrow(2, 0, step_span_)};
}

void SlotKvCache::end_step() {
  for (int64_t& l : lengths_) ++l;
}

}  // namespace fasrl::models
