// Multi-rank tests of comm/, run by ctest under mpirun -np 2 and -np 3.
#include <gtest/gtest.h>

#include "comm/collective.h"
#include "comm/grad_sync.h"
#include "comm/role_protocol.h"
#include "comm/world.h"
#include "mpi_test_main.h"
#include "core/timer.h"
#include "test_util.h"

using namespace fasrl::comm;
using fasrl::Stopwatch;

namespace {
const World& world() { return fasrl::testing::mpi_world(); }
fasrl::proto::CommConfig comm_config() {
  fasrl::proto::CommConfig c;
  c.set_timeout_s(60);
  return c;
}
}  // namespace

TEST(MpiCollective, AllReduceSumsEveryDtype) {
  auto coll = make_mpi_collective(world().comm, comm_config());
  const int n = world().size, r = world().rank;
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kInt64, torch::kBFloat16}) {
    torch::Tensor t = torch::arange(10, torch::TensorOptions().dtype(torch::kFloat64)).mul(r + 1).to(dtype);
    coll->all_reduce_sum(t);
    const torch::Tensor want = torch::arange(10, torch::kFloat64).mul(n * (n + 1) / 2.0);
    EXPECT_TRUE(torch::allclose(t.to(torch::kFloat64), want)) << c10::toString(dtype);
  }
}

TEST(MpiCollective, BroadcastCopiesRootBytes) {
  auto coll = make_mpi_collective(world().comm, comm_config());
  torch::Tensor t = torch::full({5, 3}, static_cast<float>(world().rank));
  coll->broadcast(t, world().size - 1);
  EXPECT_TRUE(torch::equal(t, torch::full({5, 3}, static_cast<float>(world().size - 1))));
}

TEST(MpiCollective, BucketedAverageEqualsMeanOverRanks) {
  auto coll = make_mpi_collective(world().comm, comm_config());
  std::vector<torch::Tensor> grads;
  torch::manual_seed(0);  // same shapes and base values on every rank
  for (int64_t sz : {3000, 70000, 5, 260000, 12}) grads.push_back(torch::randn({sz}));
  grads.push_back(torch::randn({64, 33}, torch::kFloat64));
  std::vector<torch::Tensor> expected;
  for (auto& g : grads) {
    expected.push_back(g.clone().mul((world().size + 1) / 2.0));  // mean of base*(r+1), r = 0..n-1
    g.mul_(world().rank + 1);
  }
  auto config = comm_config();
  config.set_bucket_cap_mb(0.5f);
  config.set_first_bucket_mb(0.1f);
  BucketedAllReduce sync(*coll, grads, config);
  EXPECT_GE(sync.buckets().size(), 3u);
  sync.average(grads);
  for (size_t i = 0; i < grads.size(); ++i) EXPECT_TRUE(torch::allclose(grads[i], expected[i], 1e-5, 1e-6)) << i;
}

TEST(ShapeCheck, PassesWhenEqualAndNamesTheDifferingRank) {
  std::vector<torch::Tensor> same{torch::zeros({4, 4}), torch::zeros({7})};
  EXPECT_NO_THROW(check_same_shapes(world().comm, same, "model"));
  std::vector<torch::Tensor> skewed = same;
  if (world().rank == 1) skewed[1] = torch::zeros({8});
  fasrl::testing::expect_error([&] { check_same_shapes(world().comm, skewed, "model"); },
                               {"model: tensor shapes differ", "rank 1 (2 tensors, 24 elements)"});
}

TEST(Roles, SplitIntoLearnersAndRolloutAndRejectImpossible) {
  const RoleSplit s = split_roles(world(), 1);
  EXPECT_EQ(s.role, world().rank == 0 ? Role::kLearner : Role::kRollout);
  EXPECT_EQ(s.role_size, world().rank == 0 ? 1 : world().size - 1);
  fasrl::testing::expect_error([&] { split_roles(world(), world().size + 1); }, {"cannot split", "learners"});
}

TEST(CollectiveFactory, HonoursCommBackendAndNamesWhatIsWrong) {
  auto config = comm_config();
  config.set_backend("auto");
  EXPECT_EQ(make_collective(world().comm, config, torch::kCPU)->backend(), "mpi");  // CPU tensors: MPI
  config.set_backend("mpi");
  EXPECT_EQ(make_collective(world().comm, config, torch::kCPU)->backend(), "mpi");
  config.set_backend("nccl");  // CUDA only: a clear error on the CPU (or without NCCL)
  fasrl::testing::expect_error([&] { make_collective(world().comm, config, torch::kCPU); }, {"comm.backend: 'nccl'"});
  config.set_backend("gloo");
  fasrl::testing::expect_error([&] { make_collective(world().comm, config, torch::kCPU); },
                               {"comm.backend: 'gloo' is not one of: auto, mpi, nccl"});
}

TEST(RoleProtocol, ReceiveIsBoundedAndNamesTheSilentPeer) {
  // Rank 1 sends one message and then nothing: rank 0's second wait times out naming rank 1.
  fasrl::proto::RolloutBatch one;
  one.set_step(1);
  if (world().rank == 1) {
    Outbox out(world().comm);
    out.send(0, kRolloutTag, encode_rollout(one));
  }
  if (world().rank == 0) {
    EXPECT_EQ(recv_bytes(world().comm, 1, kRolloutTag, 5, "RolloutBatch"), encode_rollout(one));
    Stopwatch clock;
    fasrl::testing::expect_error([&] { recv_bytes(world().comm, 1, kRolloutTag, 0.3, "RolloutBatch"); },
                                 {"no RolloutBatch from rank 1 within 0.3 s (comm.timeout_s)"});
    EXPECT_LT(clock.seconds(), 5.0);
  }
  MPI_Barrier(world().comm);
}

TEST(RoleProtocol, StopAndEndMarkersRoundTrip) {
  std::vector<torch::Tensor> params{torch::zeros({2})};
  const WeightMessage stop = decode_weights_into(encode_stop(), params, "test");
  EXPECT_TRUE(stop.stop);
  const WeightMessage w = decode_weights_into(encode_weights(3, {torch::ones({2})}), params, "test");
  EXPECT_FALSE(w.stop);
  EXPECT_EQ(w.version, 3);
  EXPECT_TRUE(torch::equal(params[0], torch::ones({2})));
  EXPECT_FALSE(decode_rollout("", "test").has_value());  // the end marker
  fasrl::proto::RolloutBatch b;
  b.set_step(4);
  EXPECT_EQ(decode_rollout(encode_rollout(b), "test")->step(), 4);
  fasrl::testing::expect_error([] { decode_rollout("\xff\xff\xff", "RolloutBatch from rank 2"); },
                               {"RolloutBatch from rank 2", "malformed"});
}
