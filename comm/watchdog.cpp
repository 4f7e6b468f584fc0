#include "comm/watchdog.h"

#include <chrono>
#include <thread>
#include <vector>

#include "comm/check.h"
#include "core/error.h"
#include "core/timer.h"

namespace fasrl::comm {
namespace {
constexpr int kArrivalTag = 0x7a11;

// Progress MPI and back off gently: spin briefly, then sleep 50 us per poll.
bool poll(MPI_Request* request, int iteration) {
  int done = 0;
  FASRL_MPI_CHECK(MPI_Test(request, &done, MPI_STATUS_IGNORE));
  if (!done && iteration > 2000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  return done != 0;
}
}  // namespace

void wait_bounded(MPI_Request* request, double timeout_s, const std::string& what) {
  if (timeout_s <= 0) {
    FASRL_MPI_CHECK(MPI_Wait(request, MPI_STATUS_IGNORE));
    return;
  }
  Stopwatch clock;
  for (int i = 0; !poll(request, i); ++i) {
    if (clock.seconds() > timeout_s)
      raise(ErrorKind::kIOError, what, " did not complete within ", timeout_s,
            " s: a peer rank is hung or dead (rank 0 names ranks that never arrived)");
  }
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
  Stopwatch clock;
  std::vector<bool> arrived(static_cast<size_t>(size), false);
  arrived[0] = true;
  int missing = size - 1;
  for (int i = 0; missing > 0; ++i) {
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
    if (missing == 0) break;
    if (timeout_s > 0 && clock.seconds() > timeout_s) {
      std::string names;
      for (int r = 1; r < size; ++r)
        if (!arrived[static_cast<size_t>(r)]) names += (names.empty() ? "" : ", ") + std::to_string(r);
      raise(ErrorKind::kIOError, what, ": rank", missing > 1 ? "s " : " ", names, " did not arrive within ", timeout_s,
            " s (hung or dead)");
    }
    if (i > 2000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

}  // namespace fasrl::comm
