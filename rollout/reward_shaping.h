// What the rollout worker does to rewards and groups beyond scoring: DAPO's
// soft overlong punishment and dynamic sampling's "does this group teach
// anything" test, plus the checks of those train.grpo options.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "proto/config.pb.h"
#include "proto/rollout.pb.h"

namespace fasrl::rollout {

// DAPO soft overlong punishment of a completion of `length` tokens with at
// most max_new_tokens: 0 up to max_new_tokens - buffer, then falling linearly
// to -factor at max_new_tokens. buffer 0 = off (always 0).
double overlong_penalty(int64_t length, int64_t max_new_tokens, int64_t buffer, double factor);

// Whether a group's rewards differ at all (a group of equal rewards has zero
// advantages, so no gradient): dynamic sampling keeps only these.
bool group_has_signal(const std::vector<double>& rewards);

// Dynamic sampling (DAPO): keeps the groups of `batch` whose rewards differ,
// calling refill(r, extra) for r = 0, 1, ... (at most max_refills times) to
// append further scored groups to `extra` until there are as many as the
// batch had; if the refills run out, dropped groups (in order) complete it.
// Sets the batch's dropped_groups and refill_batches.
void keep_informative_groups(proto::RolloutBatch& batch, int max_refills,
                             const std::function<void(int refill, proto::RolloutBatch& extra)>& refill);

// Checks the rollout options of train.grpo (slots, overlong buffer, refills)
// against each other; errors name the key.
void check_rollout_options(const proto::GrpoConfig& g);

}  // namespace fasrl::rollout
