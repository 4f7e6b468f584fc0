#include "data/manifest.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"

namespace fasrl::data {
using nlohmann::json;

bool SplitRule::matches(int subject, int fine_label, int domain) const {
  if (!fine.empty() && std::find(fine.begin(), fine.end(), fine_label) == fine.end()) return false;
  if (!domains.empty() && std::find(domains.begin(), domains.end(), domain) == domains.end()) return false;
  if (subjects.empty()) return true;
  for (const auto& [lo, hi] : subjects)
    if (subject >= lo && subject < hi) return true;
  return false;
}

int64_t Manifest::num_samples() const {
  int64_t n = 0;
  for (const auto& s : shards) n += s.num_samples;
  return n;
}

std::vector<std::string> Manifest::modality_names() const {
  std::vector<std::string> out;
  for (const auto& m : modalities) out.push_back(m.name);
  return out;
}

int Manifest::modality_index(const std::string& name) const {
  for (size_t i = 0; i < modalities.size(); ++i)
    if (modalities[i].name == name) return static_cast<int>(i);
  return -1;
}

const Protocol& Manifest::protocol(const std::string& protocol_name) const {
  auto it = protocols.find(protocol_name);
  if (it == protocols.end()) {
    std::string known;
    for (const auto& [k, v] : protocols) known += (known.empty() ? "" : ", ") + k;
    raise(ErrorKind::kNotFound, "dataset '", name, "': no protocol '", protocol_name, "' (known: ", known, ")");
  }
  return it->second;
}

static json rule_to_json(const SplitRule& r) {
  json j = json::object();
  if (!r.subjects.empty()) {
    j["subjects"] = json::array();
    for (const auto& [lo, hi] : r.subjects) j["subjects"].push_back({lo, hi});
  }
  if (!r.fine.empty()) j["fine"] = r.fine;
  if (!r.domains.empty()) j["domains"] = r.domains;
  return j;
}

std::string Manifest::to_json() const {
  json j;
  j["format"] = "fasrl-shards";
  j["schema_version"] = schema_version;
  j["name"] = name;
  j["image_size"] = {image_height, image_width};
  j["modalities"] = json::array();
  for (const auto& m : modalities) j["modalities"].push_back({{"name", m.name}, {"channels", m.channels}});
  j["labels"] = {{"binary", binary_labels}, {"coarse", coarse_labels}, {"fine", fine_labels},
                 {"fine_to_coarse", fine_to_coarse}};
  j["domains"] = domains;
  j["text_fields"] = text_fields;
  j["num_samples"] = num_samples();
  j["shards"] = json::array();
  for (const auto& s : shards)
    j["shards"].push_back({{"file", s.file}, {"num_samples", s.num_samples}, {"bytes", s.bytes}, {"sha256", s.sha256}});
  j["protocols"] = json::object();
  for (const auto& [pname, p] : protocols) {
    json pj = {{"description", p.description}};
    for (const auto& [split, rule] : p.splits) pj[split] = rule_to_json(rule);
    j["protocols"][pname] = pj;
  }
  return j.dump(2) + "\n";
}

namespace {
// Typed access with an error naming the source file and the key path.
template <typename T>
T get(const json& j, const std::string& key, const std::string& path, const std::string& source) {
  if (!j.is_object() || !j.contains(key)) raise(ErrorKind::kCorruption, source, ": missing key '", path, "'");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception& e) {
    raise(ErrorKind::kCorruption, source, ": key '", path, "' has the wrong type (", e.what(), ")");
  }
}

SplitRule rule_from_json(const json& j, const std::string& path, const std::string& source) {
  SplitRule r;
  if (!j.is_object()) raise(ErrorKind::kCorruption, source, ": key '", path, "' must be an object");
  if (j.contains("subjects")) {
    for (const auto& range : get<std::vector<std::vector<int>>>(j, "subjects", path + ".subjects", source)) {
      if (range.size() != 2 || range[0] > range[1])
        raise(ErrorKind::kCorruption, source, ": key '", path, ".subjects' must hold [lo, hi) pairs");
      r.subjects.emplace_back(range[0], range[1]);
    }
  }
  if (j.contains("fine")) r.fine = get<std::vector<int>>(j, "fine", path + ".fine", source);
  if (j.contains("domains")) r.domains = get<std::vector<int>>(j, "domains", path + ".domains", source);
  return r;
}
}  // namespace

Manifest Manifest::from_json(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    raise(ErrorKind::kCorruption, source, ": not valid JSON (", e.what(), ")");
  }
  Manifest m;
  m.schema_version = get<int>(j, "schema_version", "schema_version", source);
  if (m.schema_version != kSchemaVersion)
    raise(ErrorKind::kCorruption, source, ": schema_version is ", m.schema_version, ", this fasrl reads version ",
          kSchemaVersion);
  m.name = get<std::string>(j, "name", "name", source);
  auto size = get<std::vector<int>>(j, "image_size", "image_size", source);
  if (size.size() != 2 || size[0] <= 0 || size[1] <= 0)
    raise(ErrorKind::kCorruption, source, ": image_size must be [height, width] > 0");
  m.image_height = size[0];
  m.image_width = size[1];
  for (const auto& mj : get<json>(j, "modalities", "modalities", source)) {
    ModalitySpec spec{get<std::string>(mj, "name", "modalities[].name", source),
                      get<int>(mj, "channels", "modalities[].channels", source)};
    if (spec.channels != 1 && spec.channels != 3)
      raise(ErrorKind::kCorruption, source, ": modality '", spec.name, "' has ", spec.channels, " channels, expected 1 or 3");
    m.modalities.push_back(spec);
  }
  if (m.modalities.empty()) raise(ErrorKind::kCorruption, source, ": 'modalities' is empty");
  const json& labels = get<json>(j, "labels", "labels", source);
  m.binary_labels = get<std::vector<std::string>>(labels, "binary", "labels.binary", source);
  m.coarse_labels = get<std::vector<std::string>>(labels, "coarse", "labels.coarse", source);
  m.fine_labels = get<std::vector<std::string>>(labels, "fine", "labels.fine", source);
  m.fine_to_coarse = get<std::vector<int>>(labels, "fine_to_coarse", "labels.fine_to_coarse", source);
  if (m.fine_to_coarse.size() != m.fine_labels.size())
    raise(ErrorKind::kCorruption, source, ": labels.fine_to_coarse has ", m.fine_to_coarse.size(),
          " entries for ", m.fine_labels.size(), " fine labels");
  for (int c : m.fine_to_coarse)
    if (c < 0 || c >= static_cast<int>(m.coarse_labels.size()))
      raise(ErrorKind::kCorruption, source, ": labels.fine_to_coarse holds ", c, ", outside the ", m.coarse_labels.size(),
            " coarse labels");
  m.domains = get<std::vector<std::string>>(j, "domains", "domains", source);
  m.text_fields = get<std::vector<std::string>>(j, "text_fields", "text_fields", source);
  for (const auto& sj : get<json>(j, "shards", "shards", source)) {
    ShardEntry s;
    s.file = get<std::string>(sj, "file", "shards[].file", source);
    s.num_samples = get<int64_t>(sj, "num_samples", "shards[].num_samples", source);
    s.bytes = get<int64_t>(sj, "bytes", "shards[].bytes", source);
    s.sha256 = get<std::string>(sj, "sha256", "shards[].sha256", source);
    if (s.num_samples < 0 || s.bytes < 0)
      raise(ErrorKind::kCorruption, source, ": shard '", s.file, "' has a negative num_samples or bytes");
    if (s.file.find('/') != std::string::npos || s.file.find("..") != std::string::npos)
      raise(ErrorKind::kCorruption, source, ": shard file '", s.file, "' must be a plain file name in the dataset directory");
    m.shards.push_back(s);
  }
  if (m.shards.empty()) raise(ErrorKind::kCorruption, source, ": 'shards' is empty");
  const json protocols = get<json>(j, "protocols", "protocols", source);  // named: items() must not outlive it
  for (const auto& [pname, pj] : protocols.items()) {
    if (!pj.is_object()) raise(ErrorKind::kCorruption, source, ": key 'protocols.", pname, "' must be an object");
    Protocol p;
    if (pj.contains("description"))
      p.description = get<std::string>(pj, "description", "protocols." + pname + ".description", source);
    for (const auto& [split, rj] : pj.items()) {
      if (split == "description") continue;
      const std::string key = "protocols." + pname + "." + split;
      const SplitRule rule = rule_from_json(rj, key, source);
      for (int f : rule.fine)
        if (f < 0 || f >= static_cast<int>(m.fine_labels.size()))
          raise(ErrorKind::kCorruption, source, ": key '", key, ".fine' holds ", f, ", outside the ", m.fine_labels.size(),
                " fine labels");
      for (int d : rule.domains)
        if (d < 0 || d >= static_cast<int>(m.domains.size()))
          raise(ErrorKind::kCorruption, source, ": key '", key, ".domains' holds ", d, ", outside the ", m.domains.size(),
                " domains");
      p.splits[split] = rule;
    }
    m.protocols[pname] = p;
  }
  return m;
}

Manifest Manifest::load(const std::string& dataset_dir) {
  const std::string path = join_path(dataset_dir, kManifestFile);
  if (!path_exists(dataset_dir)) raise(ErrorKind::kNotFound, "dataset directory '", dataset_dir, "' does not exist");
  if (!path_exists(path))
    raise(ErrorKind::kNotFound, path, ": missing; a dataset directory needs manifest.json (make one with `fasrl data synth` or `fasrl data pack`)");
  return from_json(read_file(path), path);
}

void Manifest::save(const std::string& dataset_dir) const {
  atomic_write_file(join_path(dataset_dir, kManifestFile), to_json());
}

std::map<std::string, Protocol> standard_protocols(const std::vector<int>& sorted_subjects,
                                                   const std::vector<std::string>& domains,
                                                   const std::vector<int>& fine_to_coarse) {
  const size_t n = sorted_subjects.size();
  FASRL_CHECK(n >= 3, "need at least 3 subjects for train/dev/test folds, got ", n);
  const size_t train_end = std::max<size_t>(1, n * 6 / 10);
  const size_t dev_end = std::max(train_end + 1, n * 8 / 10);
  FASRL_CHECK(dev_end < n);
  auto fold = [&](size_t lo, size_t hi) {
    SplitRule r;
    r.subjects.emplace_back(sorted_subjects[lo], sorted_subjects[hi - 1] + 1);
    return r;
  };
  const SplitRule train = fold(0, train_end), dev = fold(train_end, dev_end), test = fold(dev_end, n);

  std::vector<int> live_physical, live_digital;
  for (size_t f = 0; f < fine_to_coarse.size(); ++f) {
    if (fine_to_coarse[f] != 2) live_physical.push_back(static_cast<int>(f));
    if (fine_to_coarse[f] != 1) live_digital.push_back(static_cast<int>(f));
  }
  auto with_fine = [](SplitRule r, const std::vector<int>& fine) {
    r.fine = fine;
    return r;
  };
  std::map<std::string, Protocol> out;
  out["P1"] = {"all attack types in train, dev and test; subject-disjoint folds",
               {{"train", train}, {"dev", dev}, {"test", test}}};
  out["P2.1"] = {"unseen physical attacks: train/dev on live+digital, test on live+physical",
                 {{"train", with_fine(train, live_digital)}, {"dev", with_fine(dev, live_digital)},
                  {"test", with_fine(test, live_physical)}}};
  out["P2.2"] = {"unseen digital attacks: train/dev on live+physical, test on live+digital",
                 {{"train", with_fine(train, live_physical)}, {"dev", with_fine(dev, live_physical)},
                  {"test", with_fine(test, live_digital)}}};
  if (domains.size() >= 2) {
    for (size_t d = 0; d < domains.size(); ++d) {
      std::vector<int> others;
      for (size_t o = 0; o < domains.size(); ++o)
        if (o != d) others.push_back(static_cast<int>(o));
      SplitRule tr = train, dv = dev, te;
      tr.domains = others;
      dv.domains = others;
      te.domains = {static_cast<int>(d)};
      out["LODO-" + domains[d]] = {"leave-one-domain-out: test on every sample of domain '" + domains[d] +
                                       "', train/dev on the other domains' train/dev folds",
                                   {{"train", tr}, {"dev", dv}, {"test", te}}};
    }
  }
  return out;
}

}  // namespace fasrl::data
