#pragma once
// One decoder layer's decode step on the CPU in fp32 as a handful of loops
// instead of ~80 torch ops: RMSNorm, the q/k/v projections in one parallel
// region (models/skinny_linear.h), rotary embedding and the cache write in
// place, the fused attention over the slot cache (models/decode_attention.h),
// o_proj plus residual, RMSNorm, gate/up in one region, SiLU·up, down plus
// residual. At batch 1 on 2 cores those torch ops (each a few µs of dispatch
// and allocation) took longer than the weight streaming itself.
#include <torch/torch.h>

#include <vector>

namespace fasrl::models {

// Scratch for one decode step, sized on first use and reused by every layer.
struct DecodeScratch {
  std::vector<float> normed, q, k, v, attention, gate, up;
};

// DecoderImpl::decode_step takes this path for CPU fp32 steps of up to
// skinny_linear_max_rows() rows outside autograd; off: always the torch ops
// (tests and benchmarks compare the two).
void set_fused_decode_layer_enabled(bool enabled);
bool fused_decode_layer_enabled();

}  // namespace fasrl::models
