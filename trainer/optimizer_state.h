// The optimiser state of one rank as named tensors that do not depend on the
// world size or the ZeRO stage, so a checkpoint written by N learners resumes
// on M (DESIGN.md section 8):
//   "<param>/exp_avg", "<param>/exp_avg_sq"              the whole parameter
//   "<param>/exp_avg[lo:hi]", "<param>/exp_avg_sq[lo:hi]"  its flattened elements lo..hi-1 (a shard)
//   "step"                                              optimiser steps taken
// Checkpoints from before sharding ("<param>/step" per parameter) load too.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "comm/flat_layout.h"
#include "core/safetensors.h"
#include "trainer/optim.h"

namespace fasrl::trainer {

// What the optimiser's slices hold: slice i of `optimizer` is made of pieces[i].
struct StateLayout {
  std::vector<std::vector<comm::ShardPiece>> pieces;  // per optimiser slice
  std::vector<std::string> names;                     // per tensor
  std::vector<int64_t> numel;                         // per tensor
};

TensorMap export_optimizer_state(FlatAdam& optimizer, const StateLayout& layout);
// Fills this rank's slices from `state` (the union of every shard file); a
// piece not fully covered is an error naming the parameter and `source`.
// An empty `state` (never stepped) leaves the optimiser fresh.
void import_optimizer_state(FlatAdam& optimizer, const StateLayout& layout, const TensorMap& state, const std::string& source);

// Checks a checkpoint's whole optimiser state against the parameters (name ->
// element count) before it is chosen, as an import on any number of learners
// would need it: every key parses, each range holds its element count and lies
// inside its parameter, both moments of every parameter are fully covered, a
// step count is present. An empty state (never stepped) passes. Throws naming
// `source` and the tensor.
void check_optimizer_state(const TensorMap& state, const std::map<std::string, int64_t>& params, const std::string& source);

}  // namespace fasrl::trainer
