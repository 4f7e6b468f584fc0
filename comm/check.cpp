#include "comm/check.h"

#include <mpi.h>

namespace fasrl::comm {

void check_mpi(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  detail::fail(ErrorKind::kIOError, file, line,
               detail::concat(call, " failed: ", length ? std::string(text, static_cast<size_t>(length)) : "MPI error " + std::to_string(rc)));
}

}  // namespace fasrl::comm
