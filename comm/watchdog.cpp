#include "comm/watchdog.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "comm/check.h"
#include "core/error.h"
#include "core/timer.h"

namespace fasrl::comm {
namespace {
constexpr int kArrivalTag = 0x7a11;

}  // namespace

bool poll_bounded(const std::function<bool()>& ready, double timeout_s, int64_t max_sleep_us) {
  Stopwatch clock;
  int64_t sleep_us = 50;
  for (int i = 0; !ready(); ++i) {
    if (timeout_s > 0 && clock.seconds() > timeout_s) return false;
    if (i > 2000) {
      std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
      sleep_us = std::min(2 * sleep_us, max_sleep_us);
    }
  }
  return true;
}

void wait_bounded(MPI_Request* request, double timeout_s, const std::string& what) {
  if (timeout_s <= 0) {
    FASRL_MPI_CHECK(MPI_Wait(request, MPI_STATUS_IGNORE));
    return;
  }
  // Sleeps stay at 50 us: MPI_Test also progresses the operation itself.
  const auto done = [&] {
    int flag = 0;
    FASRL_MPI_CHECK(MPI_Test(request, &flag, MPI_STATUS_IGNORE));
    return flag != 0;
  };
  if (!poll_bounded(done, timeout_s, 50))
    raise(ErrorKind::kIOError, what, " did not complete within ", timeout_s,
          " s: a peer rank is hung or dead (rank 0 names ranks that never arrived)");
}

void check_arrival(MPI_Comm comm, int64_t seq, double timeout_s, const std::string& what) {
  int rank = 0, size = 1;
  FASRL_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  FASRL_MPI_CHECK(MPI_Comm_size(comm, &size));
  if (size == 1) return;
  if (rank != 0) {
    FASRL_MPI_CHECK(MPI_Send(&seq, 1, MPI_INT64_T, 0, kArrivalTag, comm));
    return;
  }
  std::vector<int64_t> got(static_cast<size_t>(size), -1);
  std::vector<MPI_Request> requests(static_cast<size_t>(size), MPI_REQUEST_NULL);
  for (int r = 1; r < size; ++r)
    FASRL_MPI_CHECK(MPI_Irecv(&got[static_cast<size_t>(r)], 1, MPI_INT64_T, r, kArrivalTag, comm, &requests[static_cast<size_t>(r)]));
  std::vector<bool> arrived(static_cast<size_t>(size), false);
  arrived[0] = true;
  int missing = size - 1;
  const auto all_arrived = [&] {
    for (int r = 1; r < size; ++r) {
      if (arrived[static_cast<size_t>(r)]) continue;
      int done = 0;
      FASRL_MPI_CHECK(MPI_Test(&requests[static_cast<size_t>(r)], &done, MPI_STATUS_IGNORE));
      if (done) {
        if (got[static_cast<size_t>(r)] != seq)
          raise(ErrorKind::kInternal, what, ": rank ", r, " is at sequence point ", got[static_cast<size_t>(r)],
                ", rank 0 at ", seq, " (ranks run different programs?)");
        arrived[static_cast<size_t>(r)] = true;
        --missing;
      }
    }
    return missing == 0;
  };
  if (poll_bounded(all_arrived, timeout_s, 50)) return;
  std::string names;
  for (int r = 1; r < size; ++r)
    if (!arrived[static_cast<size_t>(r)]) names += (names.empty() ? "" : ", ") + std::to_string(r);
  raise(ErrorKind::kIOError, what, ": rank", missing > 1 ? "s " : " ", names, " did not arrive within ", timeout_s,
        " s (hung or dead)");
}

}  // namespace fasrl::comm
