#include "launch/runtime.h"

#include <glog/logging.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "core/timer.h"

namespace fasrl::launch {

int local_ranks() {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE", "MPI_LOCALNRANKS"}) {
    if (const char* v = std::getenv(var)) {
      const int n = std::atoi(v);
      if (n > 0) return n;
    }
  }
  return 1;
}

int configure_threads(const proto::RunConfig& run) {
  int threads = run.threads_per_rank();
  if (threads <= 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::max(1, cores / local_ranks());
  }
  torch::set_num_threads(threads);
  return threads;
}

std::string loaded_blas_library() {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string file = path.substr(path.rfind('/') + 1);
    if (file.find("blas") != std::string::npos || file.find("libmkl") != std::string::npos) return path;
  }
  return "";
}

double check_matmul_speed() {
  torch::NoGradGuard guard;
  const int64_t n = 512;
  auto a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::mm(a, b);  // warm-up
  Stopwatch clock;
  int reps = 0;
  while (clock.seconds() < 0.05 || reps < 2) {
    torch::mm(a, b);
    ++reps;
  }
  const double gflops = 2.0 * n * n * n * reps / clock.seconds() / 1e9;
  // OpenBLAS gives ~97 GFLOP/s per core here, reference BLAS ~5.
  const std::string blas = loaded_blas_library();
  const bool reference = blas.find("/blas/libblas") != std::string::npos;  // Debian's libblas3 (netlib)
  const bool known_fast = blas.find("openblas") != std::string::npos || blas.find("mkl") != std::string::npos ||
                          blas.find("blis") != std::string::npos || blas.find("atlas") != std::string::npos;
  if (reference)
    LOG(WARNING) << "fp32 matmul runs at " << gflops << " GFLOP/s on the reference BLAS (" << blas
                 << "): install libopenblas0-openmp (DESIGN.md section 3)";
  else if (!known_fast && gflops < 15.0 * torch::get_num_threads() / 2.0 && gflops < 20.0)
    LOG(WARNING) << "fp32 matmul runs at " << gflops << " GFLOP/s and the BLAS library could not be identified ("
                 << (blas.empty() ? "none mapped" : blas) << "): either the machine is busy or LibTorch uses a slow "
                 << "BLAS; OpenBLAS (libopenblas0-openmp) gives ~100 GFLOP/s per core";
  return gflops;
}

}  // namespace fasrl::launch
