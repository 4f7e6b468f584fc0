// Bounded waiting on MPI requests, so a hung or dead peer ends the job with a
// message instead of blocking every rank forever.
#pragma once
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>

namespace fasrl::comm {

// Calls `ready` until it returns true: a brief spin, then a sleep between
// calls that starts at 50 us and doubles up to max_sleep_us. Returns false
// when timeout_s (> 0) passed first.
bool poll_bounded(const std::function<bool()>& ready, double timeout_s, int64_t max_sleep_us);

// Polls `request` until it completes. Past timeout_s (> 0) it throws a
// fasrl::Error built from `what`. timeout_s <= 0 waits forever.
void wait_bounded(MPI_Request* request, double timeout_s, const std::string& what);

// Sequence point: every rank of `comm` reports `seq` to rank 0; rank 0 waits
// at most timeout_s and, if some ranks never arrive, throws an Error naming
// them. Other ranks return at once (their send is small and eager).
void check_arrival(MPI_Comm comm, int64_t seq, double timeout_s, const std::string& what);

}  // namespace fasrl::comm
