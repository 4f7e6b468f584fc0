// Scaled dot-product attention for the decoder, planned once per forward and
// shared by every layer.
//
// Dense plan: one additive mask [B, 1, T, S] (causal, cached keys visible,
// padding hidden). Segment plan (no cache, rows holding one or more
// sequences told apart by segment ids, as SFT packing and left-padded GRPO
// rows do): each sequence's queries and keys are gathered into its own
// [Lmax] slot and attend only to themselves, so the cost is
// sum(len^2) instead of rows x T^2 (a 1024-token row packed with five
// 200-token answers: 5x fewer scores), and padding never enters a score.
// Grouped-query attention views the query heads as [Hkv, rep] groups, so
// keys and values are never repeated in memory.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace fasrl::models {

struct AttentionPlan {
  torch::Tensor mask;  // additive: dense [B, 1, T, S]; segment [N, 1, Lmax, Lmax]
  // Segment plan only (undefined for dense):
  torch::Tensor gather;       // [N * Lmax] flat token index (b * T + t) of each slot; empty slots repeat a real one
  torch::Tensor slot_of_token;  // [M] slot (n * Lmax + i) of each real token
  torch::Tensor token_index;    // [M] flat token index of the same tokens
  int64_t sequences = 0, slot_length = 0;
  // Slot-cache decode step only (one query per row): row i sees keys
  // [0, visible[i]). Lets attend() use the fused CPU kernel
  // (models/decode_attention.h) instead of the mask.
  std::vector<int64_t> visible;
  bool segmented() const { return gather.defined(); }
};

// key_padding [B, past + T]: 0 = padding, non-zero = real (undefined: all real).
AttentionPlan dense_attention_plan(int64_t batch, int64_t t, int64_t past, const torch::Tensor& key_padding,
                                   torch::ScalarType dtype, const torch::Device& device);
// segments [B, T] int64: 0 padding, equal non-zero ids in a run = one sequence.
// causal = false: every token of a sequence sees all of it (vision towers).
AttentionPlan segment_attention_plan(const torch::Tensor& segments, torch::ScalarType dtype, bool causal = true);

// q [B, H, T, hd]; k, v [B, Hkv, S, hd] (S = T for a segment plan).
// Returns [B, T, H * hd]; rows of padding tokens are zero under a segment plan.
torch::Tensor attend(const AttentionPlan& plan, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

}  // namespace fasrl::models
