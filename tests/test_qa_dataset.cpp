// `fasrl data qa`'s writer: QA items in a text field of a dataset copy.
#include <gtest/gtest.h>

#include <map>

#include "data/dataset.h"
#include "data/manifest.h"
#include "qa_checks.h"
#include "synth/qa_dataset.h"
#include "synth/synth_dataset.h"
#include "test_util.h"

using namespace fasrl;
using fasrl::testing::check_paths;

TEST(QaSynthesis, EveryLabelOfTheSyntheticDataIsACategory) {
  const auto kg = reasoning::KnowledgeGraph::load(fasrl::testing::fakg_path());
  for (const auto& l : data::default_fine_labels()) EXPECT_TRUE(kg.has_category(l)) << l;
}

TEST(QaSynthesis, DatasetGetsQaFieldAndChoiceLettersAreBalanced) {
  fasrl::testing::TempDir tmp;
  auto synth = fasrl::testing::tiny_synth(tmp.sub("synth"), 12, 12, 16);
  synth.set_missing_modality_prob(0.3);
  synth::synthesize_dataset(synth);
  const auto kg = reasoning::KnowledgeGraph::load(fasrl::testing::fakg_path());
  reasoning::QaOptions o;
  o.paths_per_item = 3;
  const auto summary = synth::add_qa_to_dataset(tmp.sub("synth"), tmp.sub("qa"), kg, o, "qa");
  EXPECT_EQ(summary.samples, 144);
  EXPECT_EQ(summary.items, 144 * 4);
  const data::Dataset ds(tmp.sub("qa"));
  std::map<char, int> letters;
  int64_t paths = 0;
  for (int sh = 0; sh < ds.num_shards(); ++sh)
    for (int64_t r = 0; r < ds.shard(sh).size(); ++r) {
      const data::Sample s = ds.shard(sh).read_sample(r);
      std::vector<std::string> present;
      for (size_t k = 0; k < 3; ++k)
        if (s.modality_mask[k]) present.push_back(ds.manifest().modalities[k].name);
      const auto items = reasoning::qa_from_json(s.text.at("qa"), s.sample_id);
      ASSERT_EQ(items.size(), 4u);
      EXPECT_EQ(items[2].label, ds.manifest().fine_labels[static_cast<size_t>(s.fine)]);
      for (const auto& i : items) {
        paths += static_cast<int64_t>(i.paths.size());
        check_paths(kg, i, present, i.paths.size());
        EXPECT_GE(i.paths.size(), 1u);
      }
      ++letters[items[3].answer[0]];
    }
  EXPECT_EQ(paths, summary.paths);
  EXPECT_GE(summary.paths, 144 * 4 * 2);  // nearly every item has its 3 distinct paths
  for (char c : {'A', 'B', 'C', 'D'}) EXPECT_GE(letters[c], 144 / 4 / 2) << c;  // no letter carries the answer
  fasrl::testing::expect_error([&] { synth::add_qa_to_dataset(tmp.sub("qa"), tmp.sub("qa"), kg, o, "qa"); },
                               {"--out must differ"});
}
