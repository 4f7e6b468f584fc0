// NCCL backend under mpirun -np 2: runs where fasrl was built with NCCL and
// LibTorch has CUDA with a GPU per rank; skips cleanly everywhere else.
#include <gtest/gtest.h>

#include "comm/collective.h"
#include "comm/world.h"
#include "mpi_test_main.h"
#include "core/error.h"

using namespace fasrl::comm;
using fasrl::testing::mpi_world;

TEST(NcclCollective, AllReduceAndBroadcastOnGpu) {
  if (!nccl_compiled()) GTEST_SKIP() << "fasrl built without NCCL";
  if (!torch::cuda::is_available() || torch::cuda::device_count() < 1)
    GTEST_SKIP() << "no CUDA device visible to LibTorch (CPU build or no GPU)";
  const int device = mpi_world().rank % static_cast<int>(torch::cuda::device_count());
  fasrl::proto::CommConfig config;
  auto coll = make_nccl_collective(mpi_world().comm, config, device);
  const auto opts = torch::TensorOptions().device(torch::kCUDA, device);
  torch::Tensor t = torch::full({1 << 20}, static_cast<float>(mpi_world().rank + 1), opts);
  coll->all_reduce_sum(t);
  const int n = mpi_world().size;
  EXPECT_TRUE(torch::allclose(t.cpu(), torch::full({1 << 20}, n * (n + 1) / 2.0f)));
  torch::Tensor b = torch::full({7}, static_cast<float>(mpi_world().rank), opts.dtype(torch::kBFloat16));
  coll->broadcast(b, 0);
  EXPECT_TRUE(torch::equal(b.cpu(), torch::zeros({7}, torch::kBFloat16)));
}

TEST(NcclCollective, UnavailableBackendSaysWhy) {
  if (nccl_compiled() && torch::cuda::is_available()) GTEST_SKIP() << "NCCL is usable here";
  fasrl::proto::CommConfig config;
  try {
    make_nccl_collective(mpi_world().comm, config, 0);
    FAIL() << "expected an error";
  } catch (const fasrl::Error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(what.find("built without NCCL") != std::string::npos || what.find("no CUDA device") != std::string::npos)
        << what;
  }
}
