#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/io.h"
#include "trainer/checkpoint.h"
#include "trainer/optim.h"
#include "test_util.h"

using namespace fasrl::trainer;
using fasrl::testing::TempDir;

namespace {
Checkpoint make(int64_t step) {
  Checkpoint c;
  c.model["w"] = torch::full({3, 2}, static_cast<float>(step));
  c.optimizer["w/exp_avg"] = torch::ones({3, 2});
  c.rng_state = torch::arange(16, torch::kUInt8);
  c.config_json = "{\"run\": {}}";
  c.state = {step, 2, 17, 0};
  return c;
}
}  // namespace

TEST(Checkpoint, RoundTripKeepsNewestAndUpdatesLatest) {
  TempDir dir;
  for (int64_t s : {10, 20, 30, 40}) save_checkpoint(dir.path(), make(s), 2);
  EXPECT_FALSE(fasrl::path_exists(dir.sub("checkpoints/step-000010")));
  EXPECT_FALSE(fasrl::path_exists(dir.sub("checkpoints/step-000020")));
  EXPECT_EQ(fasrl::read_file(dir.sub("checkpoints/latest")), "step-000040\n");
  std::vector<std::string> skipped;
  auto c = load_latest_checkpoint(dir.path(), &skipped);
  ASSERT_TRUE(c);
  EXPECT_TRUE(skipped.empty());
  EXPECT_EQ(c->state.step, 40);
  EXPECT_EQ(c->state.data_position, 17);
  EXPECT_TRUE(torch::equal(c->model["w"], torch::full({3, 2}, 40.0f)));
  EXPECT_TRUE(torch::equal(c->rng_state, torch::arange(16, torch::kUInt8)));
  for (const auto& e : std::filesystem::directory_iterator(dir.sub("checkpoints")))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << "temporary left behind";
}

TEST(Checkpoint, CorruptOrPartialLatestIsSkippedWithItsName) {
  TempDir dir;
  for (int64_t s : {1, 2, 3}) save_checkpoint(dir.path(), make(s), 5);
  {
    std::fstream f(dir.sub("checkpoints/step-000003/model.safetensors"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.write("XXXX", 4);
  }
  std::filesystem::remove(dir.sub("checkpoints/step-000002/manifest.json"));  // as if the writer died
  std::vector<std::string> skipped;
  std::string loaded;
  auto c = load_latest_checkpoint(dir.path(), &skipped, &loaded);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state.step, 1);
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_NE(skipped[0].find("step-000003/model.safetensors: SHA-256 does not match"), std::string::npos) << skipped[0];
  EXPECT_NE(skipped[1].find("step-000002: manifest.json is missing"), std::string::npos) << skipped[1];
  EXPECT_NE(loaded.find("step-000001"), std::string::npos);
}

TEST(Checkpoint, NoCheckpointIsNotAnError) {
  TempDir dir;
  std::vector<std::string> skipped;
  EXPECT_FALSE(load_latest_checkpoint(dir.path(), &skipped));
}

TEST(Optim, AdamStateRoundTripGivesTheSameNextStep) {
  auto run = [](bool via_checkpoint) {
    torch::manual_seed(0);
    torch::Tensor w = torch::randn({4, 3}, torch::requires_grad());
    NamedParams params{{"w", w}};
    fasrl::proto::OptimConfig c;
    c.set_lr(0.01f);
    auto opt = make_optimizer(params, c);
    for (int step = 0; step < 3; ++step) {
      if (via_checkpoint && step == 2) {  // rebuild the optimiser from its saved state
        const auto state = optimizer_state(*opt, params, "adam");
        opt = make_optimizer(params, c);
        load_optimizer_state(*opt, params, "adam", state, "mem");
      }
      opt->zero_grad();
      (w * w * static_cast<float>(step + 1)).sum().backward();
      opt->step();
    }
    return w.detach().clone();
  };
  EXPECT_TRUE(torch::equal(run(false), run(true)));
}

TEST(Optim, ScheduleWarmsUpThenDecays) {
  fasrl::proto::OptimConfig c;
  c.set_lr(1.0f);
  c.set_warmup_steps(4);
  c.set_schedule("cosine");
  EXPECT_DOUBLE_EQ(lr_at(0, 100, c), 0.25);
  EXPECT_DOUBLE_EQ(lr_at(3, 100, c), 1.0);
  EXPECT_NEAR(lr_at(52, 100, c), 0.5, 1e-9);
  EXPECT_NEAR(lr_at(100, 100, c), 0.0, 1e-12);
  c.set_schedule("linear-ish");
  fasrl::testing::expect_error([&] { lr_at(10, 100, c); }, {"optim.schedule", "linear-ish"});
}
