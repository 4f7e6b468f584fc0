// The rollout engine's KV cache: preallocated once per generation, written in
// place, never concatenated.
//
// Each layer holds keys and values [slots, H_kv, capacity, head_dim]. A slot
// is one sequence; the active sequences always occupy slots [0, active), so
// the keys a decode step attends to are a view [active, H_kv, longest, hd] of
// the buffer (no gather, no copy). A finishing sequence leaves by moving the
// last active slot into its place (one sequence's keys, not the batch's).
// A sequence's keys start at index 0 of its slot (no left padding); its
// length grows by one per decode step.
#pragma once
#include <torch/torch.h>

#include <utility>
#include <vector>

#include "models/attention.h"

namespace fasrl::models {

// Keys and values one forward pass produced, per layer: [B, H_kv, T, hd].
struct KvCache {
  std::vector<torch::Tensor> keys, values;
  int64_t length() const { return keys.empty() || !keys[0].defined() ? 0 : keys[0].size(2); }
};

class SlotKvCache {
 public:
  SlotKvCache(int64_t layers, int64_t slots, int64_t kv_heads, int64_t capacity, int64_t head_dim,
              const torch::TensorOptions& options);

  int64_t slots() const { return slots_; }
  int64_t capacity() const { return capacity_; }
  int64_t active() const { return static_cast<int64_t>(lengths_.size()); }
  const std::vector<int64_t>& lengths() const { return lengths_; }

  // Copies tokens [offset, offset + length) of row `row` of a prefill into
  // the next free slot; returns the slot.
  int64_t admit(const KvCache& prefill, int64_t row, int64_t offset, int64_t length);
  // Frees `slot`: the last active slot moves into it (its index changes to `slot`).
  void remove(int64_t slot);

  // One decode step over the active slots: begin_step() plans the attention
  // (every slot sees its keys plus the new one); append() writes layer
  // `layer`'s new keys/values [active, H_kv, 1, hd] at each slot's length and
  // returns the views to attend to; end_step() counts the new token.
  AttentionPlan begin_step(torch::ScalarType dtype);
  // A step whose layers write the cache themselves (models/decode_layer_cpu.h):
  // only the capacity check; they write layer_keys(l)/layer_values(l) at lengths().
  void begin_fused_step();
  torch::Tensor& layer_keys(size_t layer) { return keys_[layer]; }
  torch::Tensor& layer_values(size_t layer) { return values_[layer]; }
  std::pair<torch::Tensor, torch::Tensor> append(size_t layer, const torch::Tensor& k, const torch::Tensor& v);
  void end_step();

 private:
  int64_t slots_, capacity_;
  std::vector<torch::Tensor> keys_, values_;  // per layer [slots, H_kv, capacity, hd]
  std::vector<int64_t> lengths_;              // per active slot
  torch::Tensor rows_, write_at_;             // this step: [active] slot and write index
  int64_t step_span_ = 0;                     // keys attended this step: longest length + 1
};

}  // namespace fasrl::models
