// Process set-up every subcommand shares: glog, the per-rank thread budget,
// and the OpenBLAS sanity check of DESIGN.md section 3.
#pragma once
#include <string>

#include "proto/config.pb.h"

namespace fasrl::launch {

// Ranks on this host, from the launcher's environment (OpenMPI, SLURM); 1 if none.
int local_ranks();

// Sets torch's intra-op threads: run.threads_per_rank, or cores / local ranks.
// Returns the count set.
int configure_threads(const proto::RunConfig& run);

// The BLAS library this process has mapped, from /proc/self/maps (the real
// file behind Debian's libblas.so.3 alternative): e.g.
// ".../openblas-openmp/libblas.so.3"; empty when none is found.
std::string loaded_blas_library();

// Times a 512^3 fp32 matmul. Warns when the loaded BLAS is Debian's reference
// one (~20x slower than OpenBLAS); when the library cannot be told, warns
// only if the speed is far below OpenBLAS's and says the machine may be busy.
// Returns GFLOP/s.
double check_matmul_speed();

}  // namespace fasrl::launch
