#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/io.h"
#include "reasoning/fakg.h"
#include "reasoning/qa_items.h"
#include "qa_checks.h"
#include "test_util.h"

using namespace fasrl;
using reasoning::CueRelation;
using reasoning::Granularity;

namespace {

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
  const auto kg = reasoning::KnowledgeGraph::load(fasrl::testing::fakg_path());
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
}

TEST(Fakg, InvalidGraphsAreRejectedWithTheEntryNamed) {
  using fasrl::testing::expect_error;
  EXPECT_NO_THROW(reasoning::KnowledgeGraph::from_yaml(kSmall, "small.yaml"));
  expect_error([] { reasoning::KnowledgeGraph::from_yaml(with("  - {from: flat, relation: supports, to: scren}\n"), "g.yaml"); },
               {"g.yaml", "relations[2]", "unknown node 'scren'", "dangling"});
  expect_error([] { reasoning::KnowledgeGraph::from_yaml(with("  - {from: flat, relation: contradicts, to: print}\n"), "g.yaml"); },
               {"cue 'flat' both supports and contradicts 'print'"});
  expect_error([] { reasoning::KnowledgeGraph::from_yaml(with("  - {from: flat, relation: implies, to: dots}\n"), "g.yaml"); },
               {"implies cycle", "flat -> dots -> flat"});
  expect_error([] { reasoning::KnowledgeGraph::from_yaml(with("  - {from: print, relation: supports, to: flat}\n"), "g.yaml"); },
               {"supports goes from a cue to a category"});
  expect_error([] { reasoning::KnowledgeGraph::from_yaml(with("  - {from: flat, relation: causes, to: print}\n"), "g.yaml"); },
               {"relation 'causes' is not one of"});
  std::string cyc = kSmall;
  cyc.replace(cyc.find("{id: attack}"), 12, "{id: attack, parent: print}");
  expect_error([&] { reasoning::KnowledgeGraph::from_yaml(cyc, "g.yaml"); }, {"is-a cycle", "attack -> print -> physical -> attack"});
  std::string parent = kSmall;
  parent.replace(parent.find("parent: physical"), 16, "parent: physcal");
  expect_error([&] { reasoning::KnowledgeGraph::from_yaml(parent, "g.yaml"); }, {"parent 'physcal' is not a category"});
  std::string modality = kSmall;
  modality.replace(modality.find("modality: rgb"), 13, "modality: ir");
  expect_error([&] { reasoning::KnowledgeGraph::from_yaml(modality, "g.yaml"); }, {"cues[1] (dots)", "modality 'ir'"});
  expect_error([] { reasoning::KnowledgeGraph::from_yaml(with("  - {from: flat, relaton: supports, to: print}\n"), "g.yaml"); },
               {"g.yaml", "relaton"});
}

using fasrl::testing::check_paths;

TEST(QaSynthesisFromGraph, ItemsAndPathsFollowLabelsCuesAndPresentModalities) {
  const auto kg = reasoning::KnowledgeGraph::load(fasrl::testing::fakg_path());
  reasoning::QaOptions o;
  o.paths_per_item = 6;
  reasoning::QaSample replay{"s1", "replay", {"rgb", "depth", "ir"},
                        {{"rgb", {"moire_pattern", "screen_bezel"}}, {"depth", {"flat_depth"}}, {"ir", {"screen_glare"}}}};
  const auto items = reasoning::synthesize_qa(kg, replay, o);
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
  reasoning::QaSample swap{"s2", "face_swap", {"rgb"}, {{"rgb", {"blending_seam", "skin_tone_mismatch"}}}};
  for (const auto& i : reasoning::synthesize_qa(kg, swap, o)) {
    ASSERT_FALSE(i.paths.empty());
    for (const auto& p : i.paths) EXPECT_EQ(p.find("Depth"), std::string::npos);
  }
  // Same sample id and seed -> same text; another seed -> other paths.
  EXPECT_EQ(reasoning::qa_to_json(reasoning::synthesize_qa(kg, replay, o)), reasoning::qa_to_json(items));
  o.seed = 2;
  EXPECT_NE(reasoning::qa_to_json(reasoning::synthesize_qa(kg, replay, o)), reasoning::qa_to_json(items));
  fasrl::testing::expect_error([&] { reasoning::synthesize_qa(kg, {"s3", "replay", {"rgb"}, {{"rgb", {"moir"}}}}, o); },
                               {"sample s3", "cue 'moir'"});
  o.kinds = {"fin"};
  fasrl::testing::expect_error([&] { reasoning::synthesize_qa(kg, replay, o); }, {"qa.kinds: 'fin'"});
}
