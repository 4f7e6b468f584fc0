#include <gtest/gtest.h>

#include <fstream>

#include "core/config_ranges.h"
#include "core/io.h"
#include "core/yaml_proto.h"
#include "proto/config.pb.h"
#include "test_util.h"

using fasrl::proto::JobConfig;
using fasrl::testing::expect_error;

TEST(Config, YamlFillsNestedKeysAndSchemaDefaultsStay) {
  JobConfig c;
  fasrl::parse_yaml_config("data:\n  batch_size: 7\n  modalities: [rgb, ir]\n  augment: {hflip: false}\nrun: {seed: 99}\n",
                           "a.yaml", {}, &c);
  EXPECT_EQ(c.data().batch_size(), 7);
  ASSERT_EQ(c.data().modalities_size(), 2);
  EXPECT_EQ(c.data().modalities(1), "ir");
  EXPECT_FALSE(c.data().augment().hflip());
  EXPECT_EQ(c.run().seed(), 99u);
  EXPECT_EQ(c.data().workers(), 2);  // schema default
  EXPECT_FALSE(c.data().has_workers());
  fasrl::fill_defaults(&c);
  EXPECT_TRUE(c.data().has_workers());
  EXPECT_NE(fasrl::message_to_json(c).find("\"workers\": 2"), std::string::npos);
}

TEST(Config, OverridesApplyInOrderAndCreateSections) {
  JobConfig c;
  fasrl::parse_yaml_config("data: {batch_size: 7}\n", "a.yaml",
                           {"data.batch_size=9", "synth.image_size=48", "data.modalities=[depth]", "run.dir=out/x"}, &c);
  EXPECT_EQ(c.data().batch_size(), 9);
  EXPECT_EQ(c.synth().image_size(), 48);
  EXPECT_EQ(c.data().modalities(0), "depth");
  EXPECT_EQ(c.run().dir(), "out/x");
}

TEST(Config, UnknownKeyNamesKeyAndFile) {
  JobConfig c;
  expect_error([&] { fasrl::parse_yaml_config("data:\n  batchsize: 3\n", "cfg/x.yaml", {}, &c); },
               {"cfg/x.yaml", "data.batchsize", "unknown key", "batch_size"});
  expect_error([&] { fasrl::parse_yaml_config("", "x.yaml", {"data.batchsize=3"}, &c); },
               {"override 'data.batchsize=3'", "data.batchsize"});
  expect_error([&] { fasrl::parse_yaml_config("", "x.yaml", {"data.batch_size.x=3"}, &c); }, {"not a section"});
}

TEST(Config, WrongTypeNamesKeyAndFile) {
  JobConfig c;
  expect_error([&] { fasrl::parse_yaml_config("data:\n  batch_size: many\n", "b.yaml", {}, &c); },
               {"b.yaml", "data.batch_size", "expected an integer", "many"});
  expect_error([&] { fasrl::parse_yaml_config("data:\n  shuffle: maybe\n", "b.yaml", {}, &c); },
               {"data.shuffle", "true or false"});
  expect_error([&] { fasrl::parse_yaml_config("run:\n  seed: -1\n", "b.yaml", {}, &c); }, {"run.seed", "non-negative"});
  expect_error([&] { fasrl::parse_yaml_config("data: 3\n", "b.yaml", {}, &c); }, {"b.yaml", "'data'", "mapping"});
  expect_error([&] { fasrl::parse_yaml_config("data:\n  modalities: rgb\n", "b.yaml", {}, &c); },
               {"data.modalities", "expected a list"});
  expect_error([&] { fasrl::parse_yaml_config("", "b.yaml", {"data.augment.contrast=high"}, &c); },
               {"override", "data.augment.contrast", "expected a number"});
  expect_error([&] { fasrl::parse_yaml_config("data: {batch_size: 99999999999}\n", "b.yaml", {}, &c); },
               {"data.batch_size"});
}

TEST(Config, MissingFileAndSyntaxErrorAreNamed) {
  JobConfig c;
  expect_error([&] { fasrl::load_yaml_config("/nonexistent/q.yaml", {}, &c); }, {"/nonexistent/q.yaml", "does not exist"});
  expect_error([&] { fasrl::parse_yaml_config("data:\n  batch_size: [1,\n", "s.yaml", {}, &c); }, {"s.yaml:", "YAML syntax error"});
  fasrl::testing::TempDir dir;
  const std::string path = dir.sub("ok.yaml");
  fasrl::atomic_write_file(path, "synth:\n  num_subjects: 5\n");
  fasrl::load_yaml_config(path, {}, &c);
  EXPECT_EQ(c.synth().num_subjects(), 5);
}

TEST(Config, ShippedConfigsParse) {
  for (const char* name : {"quickstart.yaml", "tiny_loader.yaml"}) {
    JobConfig c;
    EXPECT_NO_THROW(fasrl::load_yaml_config(std::string(FASRL_SOURCE_DIR) + "/configs/" + name, {}, &c)) << name;
  }
}

// Ranges are checked over the whole config before any work, naming the key.
TEST(Config, RangesAreCheckedWithSourceAndKey) {
  auto check = [](const std::string& yaml) {
    JobConfig c;
    fasrl::parse_yaml_config(yaml, "job.yaml", {}, &c);
    fasrl::check_config_ranges(c, "job.yaml");
  };
  fasrl::testing::expect_error([&] { check("model: {vision: {patch_size: 0}}"); }, {"job.yaml", "model.vision.patch_size = 0", "positive"});
  fasrl::testing::expect_error([&] { check("mllm: {decoder: {num_attention_heads: 0}}"); }, {"mllm.decoder.num_attention_heads"});
  fasrl::testing::expect_error([&] { check("comm: {timeout_s: -1}"); }, {"comm.timeout_s = -1", "not negative"});
  fasrl::testing::expect_error([&] { check("synth: {missing_modality_prob: 1.5}"); }, {"synth.missing_modality_prob", "between 0 and 1"});
  fasrl::testing::expect_error([&] { check("train: {grpo: {max_staleness: -1}}"); }, {"train.grpo.max_staleness"});
  fasrl::testing::expect_error([&] { check("mllm: {qwen: {vision_config: {fullatt_block_indexes: [7, -1]}}}"); },
                               {"fullatt_block_indexes = -1"});
  EXPECT_NO_THROW(check("comm: {timeout_s: 0}\ntrain: {grpo: {reward: {kg_weight: -0.5}}, eval_every: 0}"));
  EXPECT_NO_THROW(check("data: {image_size: 0}"));  // 0 = the dataset's size
  fasrl::testing::expect_error([&] { check("synth: {image_size: 0}"); }, {"synth.image_size = 0"});
  for (const char* name : {"quickstart.yaml", "tiny_loader.yaml", "moae_cr_tiny.yaml", "sft_tiny.yaml", "grpo_tiny.yaml",
                           "sft_qwen_tiny.yaml", "grpo_qwen_tiny.yaml", "qwen2_5_vl_3b_sft.yaml", "qwen2_5_vl_3b_grpo.yaml"}) {
    JobConfig c;
    fasrl::load_yaml_config(std::string(FASRL_SOURCE_DIR) + "/configs/" + name, {}, &c);
    EXPECT_NO_THROW(fasrl::check_config_ranges(c, name)) << name;
  }
}

// Found by tests/fuzz/fuzz_config: invalid UTF-8 in a YAML string used to end
// in a bare json.exception from the JSON step; now the key is named.
TEST(Config, InvalidUtf8IsAnErrorNamingTheKey) {
  JobConfig c;
  fasrl::testing::expect_error([&] { fasrl::parse_yaml_config("run: {dir: \"runs/\x96x\"}", "job.yaml", {}, &c); },
                               {"job.yaml", "run.dir", "not valid UTF-8"});
  fasrl::testing::expect_error([&] { fasrl::parse_yaml_config("train: {grpo: {reward: {kg_weight: 1}}}\nrun: {dir: \"\xed\xa0\x80\"}", "job.yaml", {}, &c); },
                               {"run.dir", "UTF-8"});  // an encoded surrogate
  EXPECT_NO_THROW(fasrl::parse_yaml_config("run: {dir: \"runs/caf\xc3\xa9-\xe4\xb8\xad\"}", "job.yaml", {}, &c));
  EXPECT_EQ(c.run().dir(), "runs/caf\xc3\xa9-\xe4\xb8\xad");
}
