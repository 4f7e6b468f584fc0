// Process set-up every subcommand shares: glog, the per-rank thread budget,
// and the OpenBLAS sanity check of DESIGN.md section 3.
#pragma once
#include "proto/config.pb.h"

namespace fasrl::launch {

// Ranks on this host, from the launcher's environment (OpenMPI, SLURM); 1 if none.
int local_ranks();

// Sets torch's intra-op threads: run.threads_per_rank, or cores / local ranks.
// Returns the count set.
int configure_threads(const proto::RunConfig& run);

// Times a 512^3 fp32 matmul; warns when it is far below an OpenBLAS build's
// speed (Debian's reference BLAS is ~20x slower). Returns GFLOP/s.
double check_matmul_speed();

}  // namespace fasrl::launch
