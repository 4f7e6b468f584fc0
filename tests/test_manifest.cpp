#include <gtest/gtest.h>

#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/io.h"
#include "data/manifest.h"
#include "test_util.h"

using namespace fasrl::data;
using fasrl::testing::expect_error;

namespace {
Manifest sample_manifest() {
  Manifest m;
  m.name = "t";
  m.image_height = m.image_width = 32;
  m.modalities = default_modalities();
  m.domains = {"a", "b", "c"};
  m.text_fields = {"cues"};
  m.shards = {{"shard-00000.h5", 10, 1234, "ab"}, {"shard-00001.h5", 5, 99, "cd"}};
  std::vector<int> subjects{3, 4, 5, 8, 9, 10, 11, 20, 21, 30};
  m.protocols = standard_protocols(subjects, m.domains, m.fine_to_coarse);
  return m;
}
}  // namespace

TEST(Manifest, JsonRoundTrip) {
  const Manifest m = sample_manifest();
  const Manifest back = Manifest::from_json(m.to_json(), "mem");
  EXPECT_EQ(back.to_json(), m.to_json());
  EXPECT_EQ(back.num_samples(), 15);
  EXPECT_EQ(back.modality_index("ir"), 2);
  EXPECT_EQ(back.modality_index("thermal"), -1);
  EXPECT_EQ(back.protocols.size(), 3u + 3u);  // P1, P2.1, P2.2, LODO-a/b/c
}

TEST(Manifest, ErrorsNameFileAndKey) {
  const std::string good = sample_manifest().to_json();
  std::string wrong_version = good;
  wrong_version.replace(wrong_version.find("\"schema_version\": 1"), 19, "\"schema_version\": 2");
  expect_error([&] { Manifest::from_json(wrong_version, "d/manifest.json"); }, {"d/manifest.json", "schema_version is 2", "version 1"});
  std::string no_shards = good;
  no_shards.replace(no_shards.find("\"shards\""), 8, "\"shardz\"");
  expect_error([&] { Manifest::from_json(no_shards, "d/manifest.json"); }, {"d/manifest.json", "missing key 'shards'"});
  expect_error([&] { Manifest::from_json("{not json", "d/manifest.json"); }, {"d/manifest.json", "not valid JSON"});
  std::string escape = good;
  escape.replace(escape.find("shard-00000.h5"), 14, "../etc/passwd!");
  expect_error([&] { Manifest::from_json(escape, "m"); }, {"plain file name"});
  fasrl::testing::TempDir dir;
  expect_error([&] { Manifest::load(dir.path()); }, {dir.path() + "/manifest.json", "missing"});
  expect_error([&] { sample_manifest().protocol("P9"); }, {"no protocol 'P9'", "P1"});
}

TEST(Manifest, StandardProtocolsAreDisjointAndHoldOutTheRightAttacks) {
  const Manifest m = sample_manifest();
  const auto& p1 = m.protocol("P1");
  for (int subject = 0; subject < 40; ++subject) {
    int folds = 0;
    for (const char* split : {"train", "dev", "test"}) folds += p1.splits.at(split).matches(subject, 0, 0);
    EXPECT_LE(folds, 1) << "subject " << subject << " in several folds";
  }
  EXPECT_TRUE(p1.splits.at("train").matches(3, 1, 0));
  EXPECT_TRUE(p1.splits.at("test").matches(30, 1, 0));
  const auto& p21 = m.protocol("P2.1");
  for (int fine = 0; fine < 8; ++fine) {
    const int coarse = m.fine_to_coarse[static_cast<size_t>(fine)];
    EXPECT_EQ(p21.splits.at("train").matches(3, fine, 0), coarse != 1) << fine;
    EXPECT_EQ(p21.splits.at("test").matches(30, fine, 0), coarse != 2) << fine;
    EXPECT_EQ(m.protocol("P2.2").splits.at("train").matches(3, fine, 0), coarse != 2) << fine;
  }
  const auto& lodo = m.protocol("LODO-b");
  EXPECT_TRUE(lodo.splits.at("test").matches(3, 2, 1));
  EXPECT_FALSE(lodo.splits.at("test").matches(3, 2, 0));
  EXPECT_FALSE(lodo.splits.at("train").matches(3, 2, 1));
  EXPECT_TRUE(lodo.splits.at("train").matches(3, 2, 2));
}

// Values of the right type but impossible meaning are errors naming the key,
// not bare JSON exceptions or silent drops.
TEST(Manifest, ValuesAreCheckedOneByOne) {
  auto edited = [](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(sample_manifest().to_json());
    edit(j);
    return j.dump();
  };
  expect_error([&] { Manifest::from_json(edited([](auto& j) { j["shards"][1]["num_samples"] = -5; }), "m.json"); },
               {"m.json", "shard 'shard-00001.h5'", "negative"});
  expect_error([&] { Manifest::from_json(edited([](auto& j) { j["labels"]["fine_to_coarse"][2] = 7; }), "m.json"); },
               {"m.json", "fine_to_coarse holds 7"});
  expect_error([&] { Manifest::from_json(edited([](auto& j) { j["protocols"]["P1"]["description"] = 3; }), "m.json"); },
               {"m.json", "protocols.P1.description", "wrong type"});
  expect_error([&] { Manifest::from_json(edited([](auto& j) { j["protocols"]["P1"]["test"]["fine"] = {0, 99}; }), "m.json"); },
               {"m.json", "protocols.P1.test.fine' holds 99"});
  expect_error([&] { Manifest::from_json(edited([](auto& j) { j["protocols"]["LODO-a"]["test"]["domains"] = {5}; }), "m.json"); },
               {"m.json", "protocols.LODO-a.test.domains' holds 5", "3 domains"});
  expect_error([&] { Manifest::from_json(edited([](auto& j) { j["name"] = 12; }), "m.json"); }, {"m.json", "'name'"});
}
