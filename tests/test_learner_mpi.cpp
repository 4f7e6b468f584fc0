// Multi-rank tests of the learner's ZeRO stages, gradient accumulation and
// resharded resume, run by ctest under mpirun -np 3. Every rank trains a toy
// model on the same inputs, so the mean gradient and the whole trajectory do
// not depend on the number of learners: a run on 1 learner is the reference
// for runs on 2 and 3 at any stage.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "comm/check.h"
#include "comm/world.h"
#include "models/decoder.h"
#include "mpi_test_main.h"
#include "test_util.h"
#include "trainer/learner.h"

using namespace fasrl;
using fasrl::testing::mpi_world;
using namespace fasrl::trainer;

namespace {

struct Toy : torch::nn::Module {
  torch::nn::Linear a{nullptr}, b{nullptr};
  Toy() {
    torch::manual_seed(7);
    a = register_module("a", torch::nn::Linear(9, 33));
    b = register_module("b", torch::nn::Linear(33, 4));
  }
  torch::Tensor loss(int64_t step, int64_t rows_from, int64_t rows_to) {
    torch::manual_seed(1000 + step);  // the same batch on every rank
    const torch::Tensor x = torch::randn({8, 9}), y = torch::randn({8, 4});
    const torch::Tensor out = b(torch::tanh(a(x.slice(0, rows_from, rows_to))));
    return (out - y.slice(0, rows_from, rows_to)).square().sum() / 32.0;  // mean over the 8 x 4 targets
  }
};

// A two-layer decoder over packed rows (for activation checkpointing).
struct DecoderToy : torch::nn::Module {
  models::Decoder decoder{nullptr};
  DecoderToy() {
    torch::manual_seed(11);
    decoder = register_module("decoder", models::Decoder(fasrl::testing::tiny_decoder(50)));
  }
  torch::Tensor loss(int64_t step, int64_t rows_from, int64_t rows_to) {
    torch::manual_seed(2000 + step);
    const torch::Tensor ids = torch::randint(50, {8, 24}).slice(0, rows_from, rows_to);
    const torch::Tensor segments = torch::cat({torch::full({ids.size(0), 10}, 1), torch::full({ids.size(0), 14}, 2)}, 1);
    const torch::Tensor positions = torch::cat({torch::arange(10), torch::arange(14)}).unsqueeze(0).expand({ids.size(0), 24});
    const torch::Tensor logits = decoder->forward(decoder->embed(ids), positions.contiguous(), segments);  // [b, 24, 50]
    // Sum over this micro-batch's rows / all 8 rows: micro-batches add up to the batch mean.
    return torch::nn::functional::cross_entropy(logits.reshape({-1, 50}), ids.reshape({-1}),
                                                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
           (8.0 * 24.0);
  }
};

LearnerSpec spec(const std::string& dir, int steps, int stage, int accum) {
  LearnerSpec s;
  s.run.set_dir(dir);
  s.optim.set_name("adamw");
  s.optim.set_lr(0.05f);
  s.optim.set_weight_decay(0.01f);
  s.optim.set_grad_clip(0.5f);  // exercised: the toy's early norms exceed it
  s.train.set_steps(steps);
  s.train.set_zero_stage(stage);
  s.train.set_grad_accum_steps(accum);
  s.train.set_checkpoint_every(0);
  s.comm.set_timeout_s(60);
  s.comm.set_bucket_cap_mb(0.001f);  // several buckets even for the toy
  s.comm.set_first_bucket_mb(0.0005f);
  s.config_json = "{}";
  return s;
}

// Trains `learners` (MPI_COMM_NULL: not taking part) up to `steps`, resuming
// from dir; checkpoints at the end. Returns the flattened parameters.
template <typename Model = Toy>
torch::Tensor train(MPI_Comm learners, const std::string& dir, int steps, int stage, int accum = 1,
                    int64_t* optimizer_bytes = nullptr, bool activation_checkpointing = false) {
  if (learners == MPI_COMM_NULL) return {};
  Model model;
  LearnerSpec s = spec(dir, steps, stage, accum);
  s.train.set_activation_checkpointing(activation_checkpointing);
  LearnerSession session(model, s, learners);
  while (session.state().step < steps) {
    const int64_t step = session.state().step;
    for (int i = 0; i < accum; ++i) session.backward(model.loss(step, 8 * i / accum, 8 * (i + 1) / accum), i);
    session.apply_gradients();
  }
  session.checkpoint({});
  if (optimizer_bytes) *optimizer_bytes = session.optimizer_state_bytes();
  std::vector<torch::Tensor> flat;
  for (const auto& p : model.parameters()) flat.push_back(p.detach().reshape(-1).clone());
  return torch::cat(flat);
}

// A run directory every rank agrees on.
std::string shared_dir(const std::string& name) {
  std::string dir = "/tmp/fasrl_learner_mpi_" + std::to_string(::getppid()) + "_" + name;
  if (mpi_world().rank == 0) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  FASRL_MPI_CHECK(MPI_Barrier(mpi_world().comm));
  return dir;
}

MPI_Comm first_ranks(int n) {  // ranks 0..n-1, MPI_COMM_NULL elsewhere
  MPI_Comm c;
  FASRL_MPI_CHECK(MPI_Comm_split(mpi_world().comm, mpi_world().rank < n ? 0 : MPI_UNDEFINED, mpi_world().rank, &c));
  return c;
}
}  // namespace

TEST(Zero, StagesOneAndTwoFollowStageZero) {
  const torch::Tensor reference = train(MPI_COMM_SELF, shared_dir("ref") + "/r" + std::to_string(mpi_world().rank), 5, 0);
  for (int stage : {0, 1, 2}) {
    const torch::Tensor got = train(mpi_world().comm, shared_dir("stage" + std::to_string(stage)), 5, stage);
    EXPECT_TRUE(torch::allclose(got, reference, 1e-5, 1e-6))
        << "stage " << stage << ": max diff " << (got - reference).abs().max().item<float>();
  }
}

TEST(Zero, OptimizerStateIsAboutOneNthOfStageZero) {
  int64_t full = 0, sharded = 0;
  train(mpi_world().comm, shared_dir("bytes0"), 1, 0, 1, &full);
  train(mpi_world().comm, shared_dir("bytes1"), 1, 1, 1, &sharded);
  // Padding adds at most world - 1 elements per bucket (x 2 moments x 4 bytes).
  const double ideal = static_cast<double>(full) / mpi_world().size;
  EXPECT_NEAR(static_cast<double>(sharded), ideal, 8.0 * mpi_world().size * 20) << full << " vs " << sharded;
  EXPECT_LT(sharded, full);
}

TEST(Zero, AccumulatedMicroBatchesEqualOneLargeBatch) {
  const torch::Tensor one = train(mpi_world().comm, shared_dir("accum1"), 4, 1, 1);
  const torch::Tensor four = train(mpi_world().comm, shared_dir("accum4"), 4, 2, 4);
  EXPECT_TRUE(torch::allclose(one, four, 1e-5, 1e-6)) << (one - four).abs().max().item<float>();
}

TEST(Zero, ResumesAtAnotherWorldSize) {
  ASSERT_EQ(mpi_world().size, 3) << "run under mpirun -np 3";
  const torch::Tensor reference = train(MPI_COMM_SELF, shared_dir("cont") + "/r" + std::to_string(mpi_world().rank), 9, 0);
  const std::string dir = shared_dir("reshard");
  MPI_Comm two = first_ranks(2), one = first_ranks(1);
  train(two, dir, 3, 1);                 // 2 learners, stage 1: 2 shard files
  train(mpi_world().comm, dir, 6, 2);        // resumed on 3, stage 2: 3 shard files
  const torch::Tensor got = train(one, dir, 9, 0);  // resumed on 1, stage 0: one whole file
  if (mpi_world().rank == 0) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoints/step-000003/optimizer-00001-of-00002.safetensors"));
    EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoints/step-000006/optimizer-00002-of-00003.safetensors"));
    EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoints/step-000009/optimizer.safetensors"));
    EXPECT_TRUE(torch::allclose(got, reference, 1e-5, 1e-6)) << (got - reference).abs().max().item<float>();
  }
  for (MPI_Comm* c : {&two, &one})
    if (*c != MPI_COMM_NULL) MPI_Comm_free(c);
}

TEST(Zero, ActivationCheckpointingFollowsKeptActivations) {
  // Stage 2 with overlap: the recomputing backward fires the bucket hooks too.
  const torch::Tensor kept = train<DecoderToy>(mpi_world().comm, shared_dir("kept"), 3, 2, 2, nullptr, false);
  const torch::Tensor recomputed = train<DecoderToy>(mpi_world().comm, shared_dir("recomputed"), 3, 2, 2, nullptr, true);
  EXPECT_TRUE(torch::allclose(kept, recomputed, 1e-6, 1e-7)) << (kept - recomputed).abs().max().item<float>();
  DecoderToy untrained;
  std::vector<torch::Tensor> initial;
  for (const auto& p : untrained.parameters()) initial.push_back(p.detach().reshape(-1));
  EXPECT_GT((kept - torch::cat(initial)).abs().max().item<float>(), 1e-3);  // it did train
}
