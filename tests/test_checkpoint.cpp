#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/io.h"
#include "trainer/checkpoint.h"
#include "trainer/optim.h"
#include "trainer/optimizer_state.h"
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

namespace {
// Two parameters ([4, 3] and [5]) as views of one flat buffer, as the learner lays them out.
struct FlatParams {
  torch::Tensor flat = torch::randn({17});
  torch::Tensor grad = torch::zeros({17});
};

fasrl::proto::OptimConfig adam_config(const char* name, float weight_decay) {
  fasrl::proto::OptimConfig c;
  c.set_name(name);
  c.set_lr(0.01f);
  c.set_weight_decay(weight_decay);
  return c;
}
}  // namespace

TEST(Optim, FlatAdamMatchesTorchAdamAndAdamW) {
  for (const char* name : {"adam", "adamw"}) {
    torch::manual_seed(0);
    FlatParams f;
    torch::Tensor w1 = f.flat.narrow(0, 0, 12).view({4, 3}).clone().requires_grad_(true);
    torch::Tensor w2 = f.flat.narrow(0, 12, 5).clone().requires_grad_(true);
    const auto c = adam_config(name, 0.1f);
    std::unique_ptr<torch::optim::Optimizer> ref;
    if (std::string(name) == "adam")
      ref = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{w1, w2},
                                                 torch::optim::AdamOptions(0.01).weight_decay(0.1));
    else
      ref = std::make_unique<torch::optim::AdamW>(std::vector<torch::Tensor>{w1, w2},
                                                  torch::optim::AdamWOptions(0.01).weight_decay(0.1));
    // Two slices (the second spans the tail of w1 and all of w2), stepped with grad_scale 0.5.
    FlatAdam flat(c, {f.flat.narrow(0, 0, 7), f.flat.narrow(0, 7, 10)});
    for (int step = 0; step < 5; ++step) {
      f.grad.normal_();
      w1.mutable_grad() = f.grad.narrow(0, 0, 12).view({4, 3}) * 0.5;
      w2.mutable_grad() = f.grad.narrow(0, 12, 5) * 0.5;
      ref->step();
      flat.step({f.grad.narrow(0, 0, 7), f.grad.narrow(0, 7, 10)}, 0.01, 0.5);
    }
    EXPECT_TRUE(torch::allclose(f.flat.narrow(0, 0, 12), w1.detach().reshape(-1), 1e-5, 1e-7)) << name;
    EXPECT_TRUE(torch::allclose(f.flat.narrow(0, 12, 5), w2.detach(), 1e-5, 1e-7)) << name;
    EXPECT_EQ(flat.state_bytes(), 2 * 17 * 4);
  }
}

TEST(Optim, StateSavedWholeLoadsIntoShardsAndBack) {
  torch::manual_seed(1);
  FlatParams f;
  const auto c = adam_config("adamw", 0.0f);
  FlatAdam whole(c, {f.flat});
  f.grad.normal_();
  whole.step({f.grad}, 0.01, 1.0);
  whole.step({f.grad}, 0.01, 1.0);
  using fasrl::comm::ShardPiece;
  StateLayout one{{{{0, 0, 12, 0}, {1, 0, 5, 12}}}, {"w1", "w2"}, {12, 5}};
  const fasrl::TensorMap saved = export_optimizer_state(whole, one);
  EXPECT_TRUE(saved.count("w1/exp_avg") && saved.count("w2/exp_avg_sq") && saved.count("step"));
  // Two "ranks": rank 0 owns w1[0:9], rank 1 owns w1[9:12] and w2 (shard offsets within each slice).
  StateLayout rank0{{{{0, 0, 9, 0}}}, {"w1", "w2"}, {12, 5}}, rank1{{{{0, 9, 12, 0}, {1, 0, 5, 3}}}, {"w1", "w2"}, {12, 5}};
  FlatAdam a(c, {torch::zeros({9})}), b(c, {torch::zeros({8})});
  import_optimizer_state(a, rank0, saved, "mem");
  import_optimizer_state(b, rank1, saved, "mem");
  EXPECT_EQ(a.steps(), 2);
  EXPECT_TRUE(torch::equal(a.exp_avg()[0], whole.exp_avg()[0].narrow(0, 0, 9)));
  EXPECT_TRUE(torch::equal(b.exp_avg_sq()[0], whole.exp_avg_sq()[0].narrow(0, 9, 8)));
  // ... and the shards, saved with their ranges, load back into one whole slice.
  fasrl::TensorMap merged = export_optimizer_state(a, rank0);
  for (auto& [k, t] : export_optimizer_state(b, rank1)) merged[k] = t;
  EXPECT_TRUE(merged.count("w1/exp_avg[0:9]") && merged.count("w1/exp_avg[9:12]") && merged.count("w2/exp_avg"));
  FlatAdam again(c, {torch::zeros({17})});
  import_optimizer_state(again, one, merged, "mem");
  EXPECT_TRUE(torch::equal(again.exp_avg()[0], whole.exp_avg()[0]));
  EXPECT_TRUE(torch::equal(again.exp_avg_sq()[0], whole.exp_avg_sq()[0]));
  // A missing shard is named.
  fasrl::TensorMap partial = export_optimizer_state(a, rank0);
  fasrl::testing::expect_error([&] { import_optimizer_state(again, one, partial, "ckpt"); },
                               {"ckpt: optimizer state exp_avg of 'w1' covers 9 of its elements 0..12"});
}

TEST(Checkpoint, ShardedOptimizerFilesAreVerifiedAndMerged) {
  TempDir dir;
  Checkpoint c = make(4);
  c.optimizer.clear();
  c.optimizer_shards = 2;
  c.optimizer_shard = [](int r) {
    fasrl::TensorMap m;
    m["step"] = torch::tensor(int64_t{4});
    m["w/exp_avg[" + std::to_string(3 * r) + ":" + std::to_string(3 * r + 3) + "]"] = torch::full({3}, float(r));
    return m;
  };
  const std::string written = save_checkpoint(dir.path(), c, 2);
  EXPECT_TRUE(std::filesystem::exists(written + "/optimizer-00001-of-00002.safetensors"));
  const Checkpoint back = load_checkpoint(written);
  EXPECT_EQ(back.optimizer.size(), 3u);
  EXPECT_TRUE(torch::equal(back.optimizer.at("w/exp_avg[3:6]"), torch::full({3}, 1.0f)));
  std::filesystem::remove(written + "/optimizer-00001-of-00002.safetensors");
  fasrl::testing::expect_error([&] { load_checkpoint(written); }, {"optimizer-00001-of-00002.safetensors is missing"});
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

// Interrupted writes leave nothing behind: a failed save removes its
// temporary directory, and start-up removes what a killed writer left.
TEST(Checkpoint, PartialWritesAreRemovedOnFailureAndAtStartUp) {
  TempDir dir;
  save_checkpoint(dir.path(), make(10), 2);
  Checkpoint bad = make(20);
  bad.model["z"] = torch::zeros({2}, torch::kComplexFloat);  // safetensors cannot hold it: the write fails midway
  EXPECT_THROW(save_checkpoint(dir.path(), bad, 2), fasrl::Error);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.sub("checkpoints"))) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"latest", "step-000010"}));
  // What a SIGKILL during a write leaves: a temporary directory and a temporary file.
  std::filesystem::create_directories(dir.sub("checkpoints/.step-000020.tmp-4242"));
  std::ofstream(dir.sub("checkpoints/.step-000020.tmp-4242/model.safetensors")) << "partial";
  std::ofstream(dir.sub("checkpoints/latest.tmp.4242")) << "step-0000";
  EXPECT_EQ(remove_partial_checkpoints(dir.path()).size(), 2u);
  EXPECT_FALSE(fasrl::path_exists(dir.sub("checkpoints/.step-000020.tmp-4242")));
  EXPECT_FALSE(fasrl::path_exists(dir.sub("checkpoints/latest.tmp.4242")));
  EXPECT_TRUE(load_latest_checkpoint(dir.path(), nullptr).has_value());
  EXPECT_TRUE(remove_partial_checkpoints(dir.sub("absent")).empty());
}

// A checkpoint whose hashes verify but which this job cannot use (here: an RNG
// state of the wrong size; a negative step in trainer_state.json) is skipped
// for the next older one, named, instead of ending the job.
TEST(Checkpoint, VerifiedButUnusableCheckpointsFallBack) {
  TempDir dir;
  save_checkpoint(dir.path(), make(10), 3);
  Checkpoint wrong_rng = make(20);
  wrong_rng.rng_state = torch::arange(8, torch::kUInt8);
  save_checkpoint(dir.path(), wrong_rng, 3);
  const CheckpointCheck usable = [](const Checkpoint& c, const std::string& where) {
    if (c.rng_state.numel() != 16) fasrl::raise(fasrl::ErrorKind::kCorruption, where, "/rng.safetensors: wrong RNG state size");
  };
  std::vector<std::string> skipped;
  std::string loaded;
  auto c = load_latest_checkpoint(dir.path(), &skipped, &loaded, usable);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state.step, 10);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("step-000020/rng.safetensors: wrong RNG state size"), std::string::npos) << skipped[0];

  save_checkpoint(dir.path(), make(30), 3);
  const std::string state_path = dir.sub("checkpoints/step-000030/trainer_state.json");
  std::string state = fasrl::read_file(state_path);
  state.replace(state.find("\"step\": 30"), 10, "\"step\": -3");
  fasrl::atomic_write_file(state_path, state);
  // Re-hash so that only the value, not the bytes, is wrong.
  const std::string manifest_path = dir.sub("checkpoints/step-000030/manifest.json");
  nlohmann::json m = nlohmann::json::parse(fasrl::read_file(manifest_path));
  m["files"]["trainer_state.json"] = fasrl::sha256_file(state_path);
  fasrl::atomic_write_file(manifest_path, m.dump(2));
  skipped.clear();
  c = load_latest_checkpoint(dir.path(), &skipped, &loaded, usable);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state.step, 10);
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_NE(skipped[0].find("must not be negative"), std::string::npos) << skipped[0];
}

// The optimiser state is checked with the rest before a checkpoint is chosen
// (it used to be checked only on import, after the choice, ending the job).
TEST(Checkpoint, OptimizerStateIsCheckedBeforeTheChoice) {
  const std::map<std::string, int64_t> params = {{"w", 6}, {"b", 2}};
  fasrl::TensorMap whole = {{"step", torch::tensor(int64_t{4})},
                            {"w/exp_avg", torch::zeros({6})}, {"w/exp_avg_sq", torch::zeros({6})},
                            {"b/exp_avg", torch::zeros({2})}, {"b/exp_avg_sq", torch::zeros({2})}};
  EXPECT_NO_THROW(check_optimizer_state(whole, params, "ck"));
  EXPECT_NO_THROW(check_optimizer_state({}, params, "ck"));  // never stepped
  fasrl::TensorMap sharded = whole;  // w in two ranges, as ZeRO writes it
  sharded.erase("w/exp_avg");
  sharded["w/exp_avg[0:4]"] = torch::zeros({4});
  sharded["w/exp_avg[4:6]"] = torch::zeros({2});
  EXPECT_NO_THROW(check_optimizer_state(sharded, params, "ck"));

  auto refused = [&](const fasrl::TensorMap& state, std::initializer_list<std::string> words) {
    fasrl::testing::expect_error([&] { check_optimizer_state(state, params, "ck/optimizer*.safetensors"); }, words);
  };
  fasrl::TensorMap gap = sharded;
  gap.erase("w/exp_avg[4:6]");  // a shard file missing
  refused(gap, {"ck/optimizer*.safetensors", "exp_avg of 'w' covers elements 0..4 of 6"});
  fasrl::TensorMap beyond = whole;
  beyond["b/exp_avg_sq[0:3]"] = torch::zeros({3});
  refused(beyond, {"'b/exp_avg_sq[0:3]'", "the parameter has 2"});
  fasrl::TensorMap stranger = whole;
  stranger["encoder.x/exp_avg"] = torch::zeros({1});
  refused(stranger, {"'encoder.x/exp_avg' is for no parameter"});
  fasrl::TensorMap no_step = whole;
  no_step.erase("step");
  refused(no_step, {"no step count"});
  fasrl::TensorMap wrong_count = whole;
  wrong_count["w/exp_avg[0:6]"] = torch::zeros({5});
  refused(wrong_count, {"holds 5 elements of a range 0..6"});
}
