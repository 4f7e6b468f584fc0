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
using fasrl::testing::mpi_world;
using fasrl::Stopwatch;

namespace {
fasrl::proto::CommConfig comm_config() {
  fasrl::proto::CommConfig c;
  c.set_timeout_s(60);
  return c;
}
}  // namespace

TEST(MpiCollective, AllReduceSumsEveryDtype) {
  auto coll = make_mpi_collective(mpi_world().comm, comm_config());
  const int n = mpi_world().size, r = mpi_world().rank;
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kInt64, torch::kBFloat16}) {
    torch::Tensor t = torch::arange(10, torch::TensorOptions().dtype(torch::kFloat64)).mul(r + 1).to(dtype);
    coll->all_reduce_sum(t);
    const torch::Tensor want = torch::arange(10, torch::kFloat64).mul(n * (n + 1) / 2.0);
    EXPECT_TRUE(torch::allclose(t.to(torch::kFloat64), want)) << c10::toString(dtype);
  }
}

TEST(MpiCollective, BroadcastCopiesRootBytes) {
  auto coll = make_mpi_collective(mpi_world().comm, comm_config());
  torch::Tensor t = torch::full({5, 3}, static_cast<float>(mpi_world().rank));
  coll->broadcast(t, mpi_world().size - 1);
  EXPECT_TRUE(torch::equal(t, torch::full({5, 3}, static_cast<float>(mpi_world().size - 1))));
}

TEST(MpiCollective, ReduceScatterAndAllGatherInPlace) {
  auto coll = make_mpi_collective(mpi_world().comm, comm_config());
  const int n = mpi_world().size, r = mpi_world().rank;
  torch::Tensor in = torch::arange(4 * n, torch::kFloat32).mul(r + 1);  // [n * 4]
  torch::Tensor out = torch::empty({4});
  coll->start_reduce_scatter_sum(in, out)->wait();
  EXPECT_TRUE(torch::allclose(out, torch::arange(4 * r, 4 * r + 4, torch::kFloat32).mul(n * (n + 1) / 2.0)));
  torch::Tensor buffer = torch::full({3 * n}, -1.0);
  buffer.narrow(0, 3 * r, 3).fill_(r);  // only this rank's chunk is set
  coll->all_gather(buffer);
  EXPECT_TRUE(torch::equal(buffer, torch::arange(n, torch::kFloat32).repeat_interleave(3)));
}

namespace {
// Parameters of mixed sizes; rank r's loss is (r+1) * sum(w_i * x_i) with x_i
// the same on every rank, so the mean gradient of w_i is x_i * (n+1)/2.
struct GradCase {
  std::vector<torch::Tensor> params, inputs;
  GradCase() {
    torch::manual_seed(0);
    for (int64_t sz : {3000, 70000, 5, 260000, 12}) {
      params.push_back(torch::randn({sz}).requires_grad_(true));
      inputs.push_back(torch::randn({sz}));
    }
  }
  void backward(int scale) {
    torch::Tensor loss = torch::zeros({});
    for (size_t i = 0; i < params.size(); ++i) loss = loss + (params[i] * inputs[i]).sum();
    (loss * scale).backward();
  }
};
}  // namespace

TEST(GradientSync, EveryStageAndModeReducesToTheSumOverRanks) {
  auto coll = make_mpi_collective(mpi_world().comm, comm_config());
  const int n = mpi_world().size, r = mpi_world().rank;
  auto config = comm_config();
  config.set_bucket_cap_mb(0.2f);
  config.set_first_bucket_mb(0.1f);
  for (int stage : {0, 1, 2}) {
    for (bool overlap : {true, false}) {
      GradCase c;
      std::vector<torch::Tensor> before;
      for (auto& p : c.params) before.push_back(p.detach().clone());
      GradientSync sync(*coll, c.params, config, {stage, overlap});
      ASSERT_GE(sync.layout().buckets.size(), 3u);
      for (size_t i = 0; i < c.params.size(); ++i) EXPECT_TRUE(torch::equal(c.params[i], before[i]));  // values kept
      for (int micro = 0; micro < 2; ++micro) {  // two micro-batches: reduced once, after the second
        sync.begin_backward(micro == 1);
        c.backward(r + 1);
      }
      sync.finish();
      for (int b = 0; b < static_cast<int>(sync.layout().buckets.size()); ++b) {
        const FlatBucket& bucket = sync.layout().buckets[static_cast<size_t>(b)];
        torch::Tensor expected = torch::zeros({bucket.padded});  // 2 micro-batches x sum over ranks of (r+1) x
        for (size_t m = 0; m < bucket.members.size(); ++m) {
          const torch::Tensor& x = c.inputs[static_cast<size_t>(bucket.members[m])];
          expected.narrow(0, bucket.offsets[m], x.numel()).copy_(x * (2.0 * n * (n + 1) / 2));
        }
        const torch::Tensor want = stage == 0 ? expected.narrow(0, 0, bucket.numel)
                                              : expected.narrow(0, r * bucket.shard(), bucket.shard());
        EXPECT_TRUE(torch::allclose(sync.grad_slice(b), want, 1e-5, 1e-4)) << "stage " << stage << " bucket " << b;
      }
      // A shard update reaches every rank through the all-gather.
      if (stage > 0) {
        for (int b = 0; b < static_cast<int>(sync.layout().buckets.size()); ++b) sync.param_slice(b).fill_(r);
        sync.all_gather_params();
        const FlatBucket& first = sync.layout().buckets[0];
        const torch::Tensor& p = c.params[static_cast<size_t>(first.members[0])];
        const int64_t owner = first.offsets[0] / first.shard();
        EXPECT_EQ(p.reshape(-1)[0].item<float>(), static_cast<float>(owner)) << "stage " << stage;
      }
      sync.zero_grads();
      EXPECT_GT(sync.persistent_grad_bytes(), 0);
    }
  }
}

TEST(GradientSync, Stage2KeepsOnlyItsShardOfTheGradients) {
  auto coll = make_mpi_collective(mpi_world().comm, comm_config());
  GradCase c0, c2;
  GradientSync zero(*coll, c0.params, comm_config(), {0, true});
  GradientSync two(*coll, c2.params, comm_config(), {2, true});
  const int64_t full = zero.persistent_grad_bytes();
  EXPECT_NEAR(static_cast<double>(two.persistent_grad_bytes()), static_cast<double>(full) / mpi_world().size,
              4.0 * mpi_world().size * two.layout().buckets.size());
  two.begin_backward(true);
  c2.backward(1);
  two.finish();
  for (const auto& p : c2.params) EXPECT_FALSE(p.grad().defined());  // released into the bucket, then reduced
}

TEST(ShapeCheck, PassesWhenEqualAndNamesTheDifferingRank) {
  std::vector<torch::Tensor> same{torch::zeros({4, 4}), torch::zeros({7})};
  EXPECT_NO_THROW(check_same_shapes(mpi_world().comm, same, "model"));
  std::vector<torch::Tensor> skewed = same;
  if (mpi_world().rank == 1) skewed[1] = torch::zeros({8});
  fasrl::testing::expect_error([&] { check_same_shapes(mpi_world().comm, skewed, "model"); },
                               {"model: tensor shapes differ", "rank 1 (2 tensors, 24 elements)"});
}

TEST(Roles, SplitIntoLearnersAndRolloutAndRejectImpossible) {
  const RoleSplit s = split_roles(mpi_world(), 1);
  EXPECT_EQ(s.role, mpi_world().rank == 0 ? Role::kLearner : Role::kRollout);
  EXPECT_EQ(s.role_size, mpi_world().rank == 0 ? 1 : mpi_world().size - 1);
  fasrl::testing::expect_error([&] { split_roles(mpi_world(), mpi_world().size + 1); }, {"cannot split", "learners"});
}

TEST(CollectiveFactory, HonoursCommBackendAndNamesWhatIsWrong) {
  auto config = comm_config();
  config.set_backend("auto");
  EXPECT_EQ(make_collective(mpi_world().comm, config, torch::kCPU)->backend(), "mpi");  // CPU tensors: MPI
  config.set_backend("mpi");
  EXPECT_EQ(make_collective(mpi_world().comm, config, torch::kCPU)->backend(), "mpi");
  config.set_backend("nccl");  // CUDA only: a clear error on the CPU (or without NCCL)
  fasrl::testing::expect_error([&] { make_collective(mpi_world().comm, config, torch::kCPU); }, {"comm.backend: 'nccl'"});
  config.set_backend("gloo");
  fasrl::testing::expect_error([&] { make_collective(mpi_world().comm, config, torch::kCPU); },
                               {"comm.backend: 'gloo' is not one of: auto, mpi, nccl"});
}

TEST(RoleProtocol, ReceiveIsBoundedAndNamesTheSilentPeer) {
  // Rank 1 sends one message and then nothing: rank 0's second wait times out naming rank 1.
  fasrl::proto::RolloutBatch one;
  one.set_step(1);
  if (mpi_world().rank == 1) {
    Outbox out(mpi_world().comm);
    out.send(0, kRolloutTag, encode_rollout(one));
  }
  if (mpi_world().rank == 0) {
    EXPECT_EQ(recv_bytes(mpi_world().comm, 1, kRolloutTag, 5, "RolloutBatch"), encode_rollout(one));
    Stopwatch clock;
    fasrl::testing::expect_error([&] { recv_bytes(mpi_world().comm, 1, kRolloutTag, 0.3, "RolloutBatch"); },
                                 {"no RolloutBatch from rank 1 within 0.3 s (comm.timeout_s)"});
    EXPECT_LT(clock.seconds(), 5.0);
  }
  MPI_Barrier(mpi_world().comm);
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
