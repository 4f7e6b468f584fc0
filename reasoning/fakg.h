// The Face Attack Knowledge Graph (UniShield's FAKG, our reading): attack
// categories (an is-a forest: binary -> coarse -> fine), diagnostic cues per
// modality, and relations — cue supports / contradicts category (inherited by
// the category's descendants), cue implies cue. Loaded from YAML
// (configs/fakg.yaml) and validated: an unknown node, a dangling edge, a
// wrong relation type, a cue that both supports and contradicts one category,
// or a cycle (is-a or implies) is an error naming the file and entry.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace fasrl::reasoning {

enum class CueRelation { kNeutral, kSupports, kContradicts };

struct KgCategory {
  std::string id, parent, text;
  int depth = 0;  // 0 root (binary), 1 coarse, 2 fine
};

struct KgCue {
  std::string id, modality, text;
};

enum class Granularity { kBinary, kCoarse, kFine };
const char* granularity_name(Granularity g);

class KnowledgeGraph {
 public:
  static KnowledgeGraph load(const std::string& path);
  static KnowledgeGraph from_yaml(const std::string& yaml, const std::string& source);

  const std::vector<std::string>& modalities() const { return modalities_; }
  const std::vector<KgCategory>& categories() const { return categories_; }
  const std::vector<KgCue>& cues() const { return cues_; }
  bool has_category(const std::string& id) const { return category_index_.count(id) > 0; }
  bool has_cue(const std::string& id) const { return cue_index_.count(id) > 0; }
  const KgCategory& category(const std::string& id) const;  // throws naming the id
  const KgCue& cue(const std::string& id) const;

  // id, its parent, ..., the root.
  std::vector<std::string> lineage(const std::string& category) const;
  // The label of a fine category at a granularity: binary = root, coarse =
  // the depth-1 ancestor, fine = itself (a root stands for itself at every level).
  std::string at_level(const std::string& category, Granularity g) const;
  // The answers at a granularity: the leaves' labels at that level (e.g. live, physical, digital).
  std::vector<std::string> labels_at(Granularity g) const;

  // What the graph says about `cue` for `category`: the relation stated for
  // the category or its nearest ancestor that has one.
  CueRelation relation(const std::string& cue, const std::string& category) const;
  // Cues `cue` implies, transitively (not including itself).
  std::vector<std::string> implied(const std::string& cue) const;
  // Categories at granularity g that `cue` supports (directly or by inheritance).
  std::vector<std::string> supported_at(const std::string& cue, Granularity g) const;

 private:
  std::string source_;
  std::vector<std::string> modalities_;
  std::vector<KgCategory> categories_;
  std::vector<KgCue> cues_;
  std::map<std::string, size_t> category_index_, cue_index_;
  std::map<std::pair<std::string, std::string>, CueRelation> cue_category_;  // (cue, category)
  std::map<std::string, std::vector<std::string>> implies_;
};

}  // namespace fasrl::reasoning
