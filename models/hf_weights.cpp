#include "models/hf_weights.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/io.h"

namespace fasrl::models {

namespace {
constexpr const char* kSingle = "model.safetensors";
constexpr const char* kIndex = "model.safetensors.index.json";

std::string shard_name(size_t i, size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i + 1, n);
  return buf;
}
}  // namespace

TensorMap load_hf_weights(const std::string& dir) {
  const std::string single = join_path(dir, kSingle), index = join_path(dir, kIndex);
  if (path_exists(single)) return load_safetensors(single).tensors;
  if (!path_exists(index))
    raise(ErrorKind::kNotFound, dir, ": has neither ", kSingle, " nor ", kIndex, " (an HF model directory has one)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(index));
  } catch (const nlohmann::json::exception& e) {
    raise(ErrorKind::kCorruption, index, ": not JSON: ", e.what());
  }
  if (!j.contains("weight_map") || !j["weight_map"].is_object())
    raise(ErrorKind::kCorruption, index, ": has no \"weight_map\" object");
  std::map<std::string, std::set<std::string>> names_of_file;
  for (const auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string()) raise(ErrorKind::kCorruption, index, ": weight_map[\"", name, "\"] is not a file name");
    const std::string f = file.get<std::string>();
    if (f.empty() || f.find('/') != std::string::npos || f.find("..") != std::string::npos)
      raise(ErrorKind::kCorruption, index, ": weight_map[\"", name, "\"] names '", f, "', not a file in this directory");
    names_of_file[f].insert(name);
  }
  TensorMap out;
  for (const auto& [file, names] : names_of_file) {
    const std::string path = join_path(dir, file);
    if (!path_exists(path)) raise(ErrorKind::kNotFound, index, ": lists ", file, " which does not exist");
    TensorMap shard = load_safetensors(path).tensors;
    for (const std::string& name : names) {
      auto it = shard.find(name);
      if (it == shard.end()) raise(ErrorKind::kCorruption, path, ": tensor '", name, "' is listed in ", kIndex, " but missing");
      out[name] = std::move(it->second);
    }
  }
  return out;
}

void save_hf_weights(const std::string& dir, const TensorMap& tensors, int64_t max_shard_bytes) {
  make_dirs(dir);
  std::vector<TensorMap> shards(1);
  int64_t in_shard = 0, total = 0;
  for (const auto& [name, t] : tensors) {
    const int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
    if (in_shard > 0 && in_shard + bytes > max_shard_bytes) shards.emplace_back(), in_shard = 0;
    shards.back()[name] = t;
    in_shard += bytes;
    total += bytes;
  }
  // Remove weight files an earlier save left (a sharded model saved again whole, or with fewer shards).
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string f = entry.path().filename().string();
    if (f == kSingle || f == kIndex || (f.rfind("model-", 0) == 0 && f.size() > 12 && f.substr(f.size() - 12) == ".safetensors"))
      std::filesystem::remove(entry.path());
  }
  if (shards.size() == 1) {
    save_safetensors(join_path(dir, kSingle), shards[0], {{"format", "pt"}});
    return;
  }
  nlohmann::json map = nlohmann::json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string file = shard_name(i, shards.size());
    save_safetensors(join_path(dir, file), shards[i], {{"format", "pt"}});
    for (const auto& kv : shards[i]) map[kv.first] = file;
  }
  const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", map}};
  atomic_write_file(join_path(dir, kIndex), index.dump(2) + "\n");
}

}  // namespace fasrl::models
