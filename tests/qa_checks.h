// Assertions on QA items shared by the reasoning and synth tests.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "reasoning/fakg.h"
#include "reasoning/qa_items.h"

namespace fasrl::testing {

// Checks one item's paths against the sample: count, distinct, tags of present
// modalities only, a decisive modality, the conclusion naming the answer.
inline void check_paths(const reasoning::KnowledgeGraph& kg, const reasoning::QaItem& item, const std::vector<std::string>& present,
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

}  // namespace fasrl::testing
