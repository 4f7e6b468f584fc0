#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/io.h"
#include "data/dataset.h"
#include "data/fakg.h"
#include "data/qa_synthesis.h"
#include "test_util.h"

using namespace fasrl;
using data::CueRelation;
using data::Granularity;

namespace {
const std::string kGraph = std::string(FASRL_SOURCE_DIR) + "/configs/fakg.yaml";

const char* kSmall = R"(
modalities: [rgb, depth]
categories:
  - {id: live}
  - {id: attack}
  - {id: physical, parent: attack}
  - {id: print, parent: physical}
cues:
  - {id: flat, modality: depth}
  - {id: dots, modality: rgb}
relations:
  - {from: flat, relation: supports, to: print}
  - {from: dots, relation: implies, to: flat}
)";

std::string with(const std::string& extra) { return std::string(kSmall) + extra; }
}  // namespace

TEST(Fakg, ShippedGraphAnswersRelationsWithInheritance) {
  const auto kg = data::KnowledgeGraph::load(kGraph);
  EXPECT_EQ(kg.relation("flat_depth", "print"), CueRelation::kSupports);
  EXPECT_EQ(kg.relation("flat_depth", "live"), CueRelation::kContradicts);
  EXPECT_EQ(kg.relation("flat_depth", "face_swap"), CueRelation::kContradicts);      // via digital
  EXPECT_EQ(kg.relation("natural_skin_texture", "mask"), CueRelation::kContradicts);  // via attack
  EXPECT_EQ(kg.relation("facial_relief", "face_swap"), CueRelation::kNeutral);
  EXPECT_EQ(kg.at_level("replay", Granularity::kBinary), "attack");
  EXPECT_EQ(kg.at_level("replay", Granularity::kCoarse), "physical");
  EXPECT_EQ(kg.at_level("live", Granularity::kCoarse), "live");
  EXPECT_EQ(kg.labels_at(Granularity::kCoarse), (std::vector<std::string>{"live", "physical", "digital"}));
  EXPECT_EQ(kg.supported_at("flat_depth", Granularity::kFine), (std::vector<std::string>{"print", "replay"}));
  EXPECT_EQ(kg.supported_at("flat_depth", Granularity::kCoarse), std::vector<std::string>{"physical"});
  EXPECT_EQ(kg.implied("screen_bezel"), std::vector<std::string>{"flat_depth"});
  // Every label of the synthetic data is a category, every generated cue a cue.
  for (const auto& l : data::default_fine_labels()) EXPECT_TRUE(kg.has_category(l)) << l;
}

TEST(Fakg, InvalidGraphsAreRejectedWithTheEntryNamed) {
  using fasrl::testing::expect_error;
  EXPECT_NO_THROW(data::KnowledgeGraph::from_yaml(kSmall, "small.yaml"));
  expect_error([] { data::KnowledgeGraph::from_yaml(with("  - {from: flat, relation: supports, to: scren}\n"), "g.yaml"); },
               {"g.yaml", "relations[2]", "unknown node 'scren'", "dangling"});
  expect_error([] { data::KnowledgeGraph::from_yaml(with("  - {from: flat, relation: contradicts, to: print}\n"), "g.yaml"); },
               {"cue 'flat' both supports and contradicts 'print'"});
  expect_error([] { data::KnowledgeGraph::from_yaml(with("  - {from: flat, relation: implies, to: dots}\n"), "g.yaml"); },
               {"implies cycle", "flat -> dots -> flat"});
  expect_error([] { data::KnowledgeGraph::from_yaml(with("  - {from: print, relation: supports, to: flat}\n"), "g.yaml"); },
               {"supports goes from a cue to a category"});
  expect_error([] { data::KnowledgeGraph::from_yaml(with("  - {from: flat, relation: causes, to: print}\n"), "g.yaml"); },
               {"relation 'causes' is not one of"});
  std::string cyc = kSmall;
  cyc.replace(cyc.find("{id: attack}"), 12, "{id: attack, parent: print}");
  expect_error([&] { data::KnowledgeGraph::from_yaml(cyc, "g.yaml"); }, {"is-a cycle", "attack -> print -> physical -> attack"});
  std::string parent = kSmall;
  parent.replace(parent.find("parent: physical"), 16, "parent: physcal");
  expect_error([&] { data::KnowledgeGraph::from_yaml(parent, "g.yaml"); }, {"parent 'physcal' is not a category"});
  std::string modality = kSmall;
  modality.replace(modality.find("modality: rgb"), 13, "modality: ir");
  expect_error([&] { data::KnowledgeGraph::from_yaml(modality, "g.yaml"); }, {"cues[1] (dots)", "modality 'ir'"});
  expect_error([] { data::KnowledgeGraph::from_yaml(with("  - {from: flat, relaton: supports, to: print}\n"), "g.yaml"); },
               {"g.yaml", "relaton"});
}

namespace {
// Checks one item's paths against the sample: count, distinct, tags of present
// modalities only, a decisive modality, the conclusion naming the answer.
void check_paths(const data::KnowledgeGraph& kg, const data::QaItem& item, const std::vector<std::string>& present,
                 size_t want) {
  EXPECT_EQ(item.paths.size(), want) << item.kind;
  EXPECT_EQ(std::set<std::string>(item.paths.begin(), item.paths.end()).size(), item.paths.size());
  for (const auto& p : item.paths) {
    const std::string concl = kg.category(item.label).text;
    EXPECT_NE(p.rfind(concl), std::string::npos) << p;
    EXPECT_TRUE(p.find("Conclusion: ") != std::string::npos || p.find("So this is ") != std::string::npos) << p;
    for (const char* m : {"RGB", "Depth", "IR"}) {
      const bool mentioned = p.find(m) != std::string::npos;
      const std::string name = std::string(m) == "RGB" ? "rgb" : std::string(m) == "IR" ? "ir" : "depth";
      if (mentioned) {
        EXPECT_NE(std::find(present.begin(), present.end(), name), present.end()) << "absent " << name << ": " << p;
      }
    }
  }
}
}  // namespace

TEST(QaSynthesis, ItemsAndPathsFollowLabelsCuesAndPresentModalities) {
  const auto kg = data::KnowledgeGraph::load(kGraph);
  data::QaOptions o;
  o.paths_per_item = 6;
  data::QaSample replay{"s1", "replay", {"rgb", "depth", "ir"},
                        {{"rgb", {"moire_pattern", "screen_bezel"}}, {"depth", {"flat_depth"}}, {"ir", {"screen_glare"}}}};
  const auto items = data::synthesize_qa(kg, replay, o);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].answer, "attack");
  EXPECT_EQ(items[1].answer, "physical");
  EXPECT_EQ(items[2].answer, "replay");
  EXPECT_EQ(items[3].options.size(), 4u);
  EXPECT_EQ(items[3].options[items[3].answer[0] - 'A'], "replay");
  for (const auto& i : items) check_paths(kg, i, replay.present_modalities, 6);
  // Fine level: depth alone (flat: print or replay) cannot decide, so every path also looks at RGB or IR.
  for (const auto& p : items[2].paths) EXPECT_TRUE(p.find("RGB") != std::string::npos || p.find("IR") != std::string::npos) << p;

  // Missing depth and IR: only RGB can be examined; face swap needs the RGB cues.
  data::QaSample swap{"s2", "face_swap", {"rgb"}, {{"rgb", {"blending_seam", "skin_tone_mismatch"}}}};
  for (const auto& i : data::synthesize_qa(kg, swap, o)) {
    ASSERT_FALSE(i.paths.empty());
    for (const auto& p : i.paths) EXPECT_EQ(p.find("Depth"), std::string::npos);
  }
  // Same sample id and seed -> same text; another seed -> other paths.
  EXPECT_EQ(data::qa_to_json(data::synthesize_qa(kg, replay, o)), data::qa_to_json(items));
  o.seed = 2;
  EXPECT_NE(data::qa_to_json(data::synthesize_qa(kg, replay, o)), data::qa_to_json(items));
  fasrl::testing::expect_error([&] { data::synthesize_qa(kg, {"s3", "replay", {"rgb"}, {{"rgb", {"moir"}}}}, o); },
                               {"sample s3", "cue 'moir'"});
  o.kinds = {"fin"};
  fasrl::testing::expect_error([&] { data::synthesize_qa(kg, replay, o); }, {"qa.kinds: 'fin'"});
}

TEST(QaSynthesis, DatasetGetsQaFieldAndChoiceLettersAreBalanced) {
  fasrl::testing::TempDir tmp;
  auto synth = fasrl::testing::tiny_synth(tmp.sub("synth"), 12, 12, 16);
  synth.set_missing_modality_prob(0.3);
  data::synthesize_dataset(synth);
  const auto kg = data::KnowledgeGraph::load(kGraph);
  data::QaOptions o;
  o.paths_per_item = 3;
  const auto summary = data::add_qa_to_dataset(tmp.sub("synth"), tmp.sub("qa"), kg, o, "qa");
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
      const auto items = data::qa_from_json(s.text.at("qa"), s.sample_id);
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
  fasrl::testing::expect_error([&] { data::add_qa_to_dataset(tmp.sub("qa"), tmp.sub("qa"), kg, o, "qa"); },
                               {"--out must differ"});
}
