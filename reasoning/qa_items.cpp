#include "reasoning/qa_items.h"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"

namespace fasrl::reasoning {
namespace {

template <typename T>
const T& pick(const std::vector<T>& v, Rng& rng) {
  return v[rng.below(v.size())];
}

std::string join(const std::vector<std::string>& v, const std::string& sep, const std::string& last_sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i == 0 ? "" : i + 1 == v.size() ? last_sep : sep) + v[i];
  return out;
}

std::string modality_label(const std::string& m) {
  if (m == "rgb") return "RGB";
  if (m == "ir") return "IR";
  std::string s = m;
  s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string question_text(const KnowledgeGraph& kg, const std::string& kind, Rng& rng) {
  if (kind == "binary")
    return pick<std::string>({"Is the face in these images live or an attack? Answer live or attack.",
                              "Decide whether this face is live or an attack. Answer live or attack."},
                             rng);
  if (kind == "coarse")
    return pick<std::string>({"Is this face live, a physical attack or a digital attack? Answer live, physical or digital.",
                              "Classify the face as live, physical or digital."},
                             rng);
  const std::string labels = join(kg.labels_at(Granularity::kFine), ", ", " or ");
  return pick<std::string>({"What kind of face is this: " + labels + "?", "Which of " + labels + " is this face?"}, rng);
}

struct Evidence {
  std::string modality;
  std::vector<std::string> cues;
  std::set<std::string> supports;  // categories at the asked level its cues support
};

std::string step_text(const KnowledgeGraph& kg, const Evidence& e, const std::string& answer, Rng& rng) {
  std::vector<std::string> said, fits;
  for (const auto& c : e.cues) said.push_back(kg.cue(c).text);
  for (const auto& s : e.supports) fits.push_back(kg.category(s).text);
  std::string verdict;
  if (e.supports.count(answer) && e.supports.size() == 1)
    verdict = ", so it points to " + kg.category(answer).text;
  else if (e.supports.count(answer))
    verdict = ", which fits " + join(fits, ", ", " or ");
  else
    verdict = ", which does not rule out " + kg.category(answer).text;
  const std::string opener = pick<std::string>({modality_label(e.modality) + ": ", "Looking at " + modality_label(e.modality) + ", ",
                                                "In the " + modality_label(e.modality) + " image, "},
                                               rng);
  return opener + join(said, "; ", " and ") + verdict + ".";
}

std::string path_text(const KnowledgeGraph& kg, const std::vector<Evidence>& order, const std::string& answer,
                      const std::string& answer_suffix, Rng& rng) {
  std::vector<std::string> parts;
  std::vector<std::string> decisive, others;
  for (const auto& e : order) {
    parts.push_back(step_text(kg, e, answer, rng));
    (e.supports.size() == 1 && e.supports.count(answer) ? decisive : others).push_back(modality_label(e.modality));
  }
  if (order.size() > 1) {
    if (decisive.size() >= 2)
      parts.push_back(pick<std::string>({"Cross-check: " + join(decisive, ", ", " and ") + " agree.",
                                         "Checking across modalities, " + join(decisive, ", ", " and ") + " agree."},
                                        rng));
    else if (!decisive.empty())
      parts.push_back("Cross-check: " + decisive[0] + " decides and " + join(others, ", ", " and ") +
                      (others.size() > 1 ? " do not contradict it." : " does not contradict it."));
    else
      parts.push_back("Cross-check: no modality contradicts the others.");
  }
  parts.push_back(pick<std::string>({"Conclusion: ", "So this is "}, rng) + kg.category(answer).text + answer_suffix + ".");
  return join(parts, " ", " ");
}

// All ordered subsets of `items` (non-empty).
void ordered_subsets(const std::vector<size_t>& items, std::vector<size_t>& current, std::vector<bool>& used,
                     std::vector<std::vector<size_t>>& out) {
  if (!current.empty()) out.push_back(current);
  for (size_t i = 0; i < items.size(); ++i) {
    if (used[i]) continue;
    used[i] = true;
    current.push_back(items[i]);
    ordered_subsets(items, current, used, out);
    current.pop_back();
    used[i] = false;
  }
}

}  // namespace

Granularity kind_granularity(const std::string& kind) {
  if (kind == "binary") return Granularity::kBinary;
  if (kind == "coarse") return Granularity::kCoarse;
  if (kind == "fine" || kind == "choice") return Granularity::kFine;
  raise(ErrorKind::kConfig, "qa.kinds: '", kind, "' is not one of binary, coarse, fine, choice");
}

std::vector<QaItem> synthesize_qa(const KnowledgeGraph& kg, const QaSample& s, const QaOptions& o) {
  if (!kg.has_category(s.fine_label))
    raise(ErrorKind::kInvalidArgument, "sample ", s.sample_id, ": label '", s.fine_label, "' is not a category of the FAKG");
  if (o.paths_per_item < 1) raise(ErrorKind::kConfig, "qa.paths_per_sample must be >= 1, got ", o.paths_per_item);
  Rng rng(derive_seed(o.seed, fnv1a64(s.sample_id)));
  std::vector<QaItem> items;
  for (const auto& kind : o.kinds) {
    const Granularity g = kind_granularity(kind);
    QaItem item;
    item.kind = kind;
    item.label = kg.at_level(s.fine_label, g);
    item.answer = item.label;
    std::string suffix;
    if (kind == "choice") {
      std::vector<std::string> distractors;
      for (const auto& l : kg.labels_at(g))
        if (l != item.label) distractors.push_back(l);
      rng.shuffle(distractors);
      distractors.resize(std::min<size_t>(distractors.size(), static_cast<size_t>(std::max(1, o.choice_options - 1))));
      item.options = distractors;
      item.options.push_back(item.label);
      rng.shuffle(item.options);  // answer shuffling: the letter carries no signal
      item.question = "Which option describes this face?";
      for (size_t i = 0; i < item.options.size(); ++i)
        item.question += std::string("\n") + static_cast<char>('A' + i) + ". " + item.options[i];
      item.question += "\nAnswer with the letter.";
      const size_t pos = static_cast<size_t>(std::find(item.options.begin(), item.options.end(), item.label) - item.options.begin());
      item.answer = std::string(1, static_cast<char>('A' + pos));
      suffix = ", option " + item.answer;
    } else {
      item.question = question_text(kg, kind, rng);
    }
    // Evidence per present modality, and which modalities decide the answer.
    std::vector<Evidence> evidence;
    std::vector<size_t> all, decisive;
    for (const auto& m : s.present_modalities) {
      auto it = s.cues.find(m);
      if (it == s.cues.end() || it->second.empty()) continue;
      Evidence e{m, it->second, {}};
      for (const auto& c : e.cues) {
        if (!kg.has_cue(c))
          raise(ErrorKind::kInvalidArgument, "sample ", s.sample_id, ": cue '", c, "' (", m, ") is not in the FAKG");
        for (const auto& l : kg.supported_at(c, g)) e.supports.insert(l);
      }
      if (e.supports.size() == 1 && e.supports.count(item.label)) decisive.push_back(evidence.size());
      all.push_back(evidence.size());
      evidence.push_back(std::move(e));
    }
    if (evidence.empty()) raise(ErrorKind::kInvalidArgument, "sample ", s.sample_id, ": no cue annotations to reason from");
    std::vector<std::vector<size_t>> orders;
    {
      std::vector<size_t> cur;
      std::vector<bool> used(all.size(), false);
      ordered_subsets(all, cur, used, orders);
    }
    // Keep orders that include a decisive modality (all of them when none decides alone).
    std::vector<std::vector<size_t>> valid;
    for (const auto& ord : orders) {
      const bool has = decisive.empty() ? ord.size() == all.size()
                                        : std::any_of(ord.begin(), ord.end(), [&](size_t i) {
                                            return std::find(decisive.begin(), decisive.end(), i) != decisive.end();
                                          });
      if (has) valid.push_back(ord);
    }
    std::set<std::string> seen;
    for (int attempt = 0; attempt < 50 * o.paths_per_item && static_cast<int>(item.paths.size()) < o.paths_per_item; ++attempt) {
      std::vector<Evidence> path;
      for (size_t i : pick(valid, rng)) path.push_back(evidence[i]);
      std::string text = path_text(kg, path, item.label, suffix, rng);
      if (seen.insert(text).second) item.paths.push_back(std::move(text));
    }
    items.push_back(std::move(item));
  }
  return items;
}

std::string qa_to_json(const std::vector<QaItem>& items) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& i : items)
    j.push_back({{"kind", i.kind}, {"question", i.question}, {"options", i.options}, {"answer", i.answer},
                 {"label", i.label}, {"paths", i.paths}});
  return j.dump();
}

std::vector<QaItem> qa_from_json(const std::string& text, const std::string& source) {
  std::vector<QaItem> out;
  try {
    for (const auto& j : nlohmann::json::parse(text)) {
      QaItem i;
      i.kind = j.at("kind").get<std::string>();
      i.question = j.at("question").get<std::string>();
      i.options = j.at("options").get<std::vector<std::string>>();
      i.answer = j.at("answer").get<std::string>();
      i.label = j.at("label").get<std::string>();
      i.paths = j.at("paths").get<std::vector<std::string>>();
      if (i.paths.empty()) raise(ErrorKind::kCorruption, source, ": a QA item has no reasoning path");
      out.push_back(std::move(i));
    }
  } catch (const nlohmann::json::exception& e) {
    raise(ErrorKind::kCorruption, source, ": QA items are not the expected JSON (", e.what(), ")");
  }
  return out;
}

}  // namespace fasrl::reasoning
