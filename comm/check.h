// Check macros for every external call of the data and control planes: a
// failed MPI, NCCL or CUDA call throws a fasrl::Error (kIOError) whose message
// carries the rank, file:line, the call and the library's own description.
// (MPI_COMM_WORLD returns error codes: comm/world.cpp sets MPI_ERRORS_RETURN.)
#pragma once
#include "core/error.h"

namespace fasrl::comm {
// Throws for rc != MPI_SUCCESS, with MPI_Error_string(rc).
void check_mpi(int rc, const char* call, const char* file, int line);
}  // namespace fasrl::comm

#define FASRL_MPI_CHECK(call) ::fasrl::comm::check_mpi((call), #call, __FILE__, __LINE__)

// For NCCL and CUDA code (needs <nccl.h> / <cuda_runtime.h> where used).
#define FASRL_NCCL_CHECK(call)                                                                            \
  do {                                                                                                    \
    ncclResult_t r_ = (call);                                                                             \
    if (r_ != ncclSuccess)                                                                                \
      ::fasrl::detail::fail(::fasrl::ErrorKind::kIOError, __FILE__, __LINE__,                            \
                            ::fasrl::detail::concat(#call, " failed: ", ncclGetErrorString(r_)));         \
  } while (0)
#define FASRL_CUDA_CHECK(call)                                                                            \
  do {                                                                                                    \
    cudaError_t e_ = (call);                                                                              \
    if (e_ != cudaSuccess)                                                                                \
      ::fasrl::detail::fail(::fasrl::ErrorKind::kIOError, __FILE__, __LINE__,                            \
                            ::fasrl::detail::concat(#call, " failed: ", cudaGetErrorString(e_)));         \
  } while (0)
