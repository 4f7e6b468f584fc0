#include "reasoning/fakg.h"

#include <algorithm>
#include <functional>
#include <set>

#include "core/error.h"
#include "core/io.h"
#include "core/yaml_proto.h"
#include "proto/knowledge_graph.pb.h"

namespace fasrl::reasoning {

const char* granularity_name(Granularity g) {
  switch (g) {
    case Granularity::kBinary: return "binary";
    case Granularity::kCoarse: return "coarse";
    case Granularity::kFine: return "fine";
  }
  return "?";
}

KnowledgeGraph KnowledgeGraph::load(const std::string& path) { return from_yaml(read_file(path), path); }

KnowledgeGraph KnowledgeGraph::from_yaml(const std::string& yaml, const std::string& source) {
  proto::KnowledgeGraphFile f;
  parse_yaml_config(yaml, source, {}, &f);
  KnowledgeGraph g;
  g.source_ = source;
  auto bad = [&](const auto&... what) { raise(ErrorKind::kConfig, source, ": ", what...); };

  std::set<std::string> modalities;
  for (const auto& m : f.modalities()) {
    if (!modalities.insert(m).second) bad("modalities: '", m, "' is listed twice");
    g.modalities_.push_back(m);
  }
  if (g.modalities_.empty()) bad("modalities: the graph lists no modality");
  for (int i = 0; i < f.categories_size(); ++i) {
    const auto& c = f.categories(i);
    const std::string where = "categories[" + std::to_string(i) + "]";
    if (c.id().empty()) bad(where, ": missing id");
    if (g.category_index_.count(c.id())) bad(where, ": category '", c.id(), "' is defined twice");
    g.category_index_[c.id()] = g.categories_.size();
    g.categories_.push_back({c.id(), c.parent(), c.text().empty() ? c.id() : c.text(), 0});
  }
  for (int i = 0; i < f.cues_size(); ++i) {
    const auto& c = f.cues(i);
    const std::string where = "cues[" + std::to_string(i) + "]";
    if (c.id().empty()) bad(where, ": missing id");
    if (g.cue_index_.count(c.id()) || g.category_index_.count(c.id()))
      bad(where, ": node '", c.id(), "' is defined twice");
    if (!modalities.count(c.modality()))
      bad(where, " (", c.id(), "): modality '", c.modality(), "' is not one of the graph's modalities");
    g.cue_index_[c.id()] = g.cues_.size();
    g.cues_.push_back({c.id(), c.modality(), c.text().empty() ? c.id() : c.text()});
  }
  // is-a: every parent exists and the chain ends (no cycle); depth <= 2.
  for (auto& c : g.categories_) {
    if (!c.parent.empty() && !g.category_index_.count(c.parent))
      bad("category '", c.id, "': parent '", c.parent, "' is not a category (dangling is-a edge)");
  }
  for (auto& c : g.categories_) {
    std::vector<std::string> chain{c.id};
    for (std::string p = c.parent; !p.empty(); p = g.categories_[g.category_index_.at(p)].parent) {
      if (std::find(chain.begin(), chain.end(), p) != chain.end()) {
        std::string path;
        for (const auto& x : chain) path += x + " -> ";
        bad("categories: is-a cycle ", path, p);
      }
      chain.push_back(p);
    }
    c.depth = static_cast<int>(chain.size()) - 1;
    if (c.depth > 2) bad("category '", c.id, "': is-a chain deeper than binary -> coarse -> fine");
  }
  for (int i = 0; i < f.relations_size(); ++i) {
    const auto& r = f.relations(i);
    const std::string where = "relations[" + std::to_string(i) + "] (" + r.from() + " " + r.relation() + " " + r.to() + ")";
    for (const std::string* node : {&r.from(), &r.to()})
      if (!g.cue_index_.count(*node) && !g.category_index_.count(*node))
        bad(where, ": unknown node '", *node, "' (dangling edge)");
    if (r.relation() == "supports" || r.relation() == "contradicts") {
      if (!g.cue_index_.count(r.from()) || !g.category_index_.count(r.to()))
        bad(where, ": ", r.relation(), " goes from a cue to a category");
      const CueRelation rel = r.relation() == "supports" ? CueRelation::kSupports : CueRelation::kContradicts;
      auto [it, fresh] = g.cue_category_.emplace(std::make_pair(r.from(), r.to()), rel);
      if (!fresh && it->second != rel) bad(where, ": cue '", r.from(), "' both supports and contradicts '", r.to(), "'");
    } else if (r.relation() == "implies") {
      if (!g.cue_index_.count(r.from()) || !g.cue_index_.count(r.to())) bad(where, ": implies goes from a cue to a cue");
      g.implies_[r.from()].push_back(r.to());
    } else {
      bad(where, ": relation '", r.relation(), "' is not one of supports, contradicts, implies");
    }
  }
  // implies must be acyclic: depth-first search with colours.
  std::map<std::string, int> colour;  // 0 new, 1 on stack, 2 done
  std::vector<std::string> stack;
  std::function<void(const std::string&)> visit = [&](const std::string& cue) {
    colour[cue] = 1;
    stack.push_back(cue);
    for (const auto& next : g.implies_[cue]) {
      if (colour[next] == 1) {
        std::string path;
        for (auto it = std::find(stack.begin(), stack.end(), next); it != stack.end(); ++it) path += *it + " -> ";
        bad("relations: implies cycle ", path, next);
      }
      if (colour[next] == 0) visit(next);
    }
    stack.pop_back();
    colour[cue] = 2;
  };
  for (const auto& c : g.cues_)
    if (colour[c.id] == 0) visit(c.id);
  return g;
}

const KgCategory& KnowledgeGraph::category(const std::string& id) const {
  auto it = category_index_.find(id);
  if (it == category_index_.end()) raise(ErrorKind::kNotFound, source_, ": no category '", id, "'");
  return categories_[it->second];
}

const KgCue& KnowledgeGraph::cue(const std::string& id) const {
  auto it = cue_index_.find(id);
  if (it == cue_index_.end()) raise(ErrorKind::kNotFound, source_, ": no cue '", id, "'");
  return cues_[it->second];
}

std::vector<std::string> KnowledgeGraph::lineage(const std::string& id) const {
  std::vector<std::string> out;
  for (std::string c = id; !c.empty(); c = category(c).parent) out.push_back(c);
  return out;
}

std::string KnowledgeGraph::at_level(const std::string& id, Granularity g) const {
  const auto chain = lineage(id);  // self ... root
  const size_t want = g == Granularity::kBinary ? 0 : g == Granularity::kCoarse ? 1 : 2;
  const size_t depth = chain.size() - 1;
  if (depth <= want) return chain.front();  // a shallower category stands for itself
  return chain[depth - want];
}

std::vector<std::string> KnowledgeGraph::labels_at(Granularity g) const {
  std::vector<std::string> out;
  for (const auto& c : categories_) {
    const bool leaf = std::none_of(categories_.begin(), categories_.end(), [&](const KgCategory& k) { return k.parent == c.id; });
    if (!leaf) continue;
    const std::string l = at_level(c.id, g);
    if (std::find(out.begin(), out.end(), l) == out.end()) out.push_back(l);
  }
  return out;
}

CueRelation KnowledgeGraph::relation(const std::string& cue_id, const std::string& category_id) const {
  cue(cue_id);  // names an unknown cue
  for (const auto& c : lineage(category_id)) {
    auto it = cue_category_.find({cue_id, c});
    if (it != cue_category_.end()) return it->second;
  }
  return CueRelation::kNeutral;
}

std::vector<std::string> KnowledgeGraph::implied(const std::string& cue_id) const {
  std::vector<std::string> out, todo{cue_id};
  while (!todo.empty()) {
    const std::string c = todo.back();
    todo.pop_back();
    auto it = implies_.find(c);
    if (it == implies_.end()) continue;
    for (const auto& n : it->second)
      if (std::find(out.begin(), out.end(), n) == out.end()) {
        out.push_back(n);
        todo.push_back(n);
      }
  }
  return out;
}

std::vector<std::string> KnowledgeGraph::supported_at(const std::string& cue_id, Granularity g) const {
  std::vector<std::string> out;
  for (const auto& c : categories_) {
    if (relation(cue_id, c.id) != CueRelation::kSupports) continue;
    const std::string l = at_level(c.id, g);
    if (std::find(out.begin(), out.end(), l) == out.end()) out.push_back(l);
  }
  return out;
}

}  // namespace fasrl::reasoning
