#include "trainer/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "core/strings.h"

namespace fasrl::trainer {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
const char* kFiles[] = {"model.safetensors", "rng.safetensors", "config.json", "trainer_state.json"};
const char* kWholeOptimizer = "optimizer.safetensors";

std::vector<std::string> checkpoint_dirs(const std::string& root) {  // newest first
  std::vector<std::string> out;
  if (!fs::exists(root)) return out;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && e.path().filename().string().rfind("step-", 0) == 0) out.push_back(e.path().filename().string());
  std::sort(out.rbegin(), out.rend());
  return out;
}
}  // namespace

std::string checkpoint_name(int64_t step) { return step_name(step); }

std::string checkpoint_dir(const std::string& run_dir, int64_t step) {
  return join_path(run_dir, "checkpoints/" + checkpoint_name(step));
}

std::string optimizer_shard_name(int shard, int shards) {
  char name[64];
  std::snprintf(name, sizeof name, "optimizer-%05d-of-%05d.safetensors", shard, shards);
  return name;
}

std::vector<std::string> remove_partial_checkpoints(const std::string& run_dir) {
  const std::string root = join_path(run_dir, "checkpoints");
  std::vector<std::string> removed;
  if (!fs::exists(root)) return removed;
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    const bool partial_dir = name.rfind(".step-", 0) == 0 && name.find(".tmp-") != std::string::npos;
    const bool partial_file = name.find(".tmp.") != std::string::npos;
    if (partial_dir || partial_file) {
      std::error_code ec;
      fs::remove_all(e.path(), ec);
      if (!ec) removed.push_back(e.path().string());
    }
  }
  return removed;
}

namespace {
void write_checkpoint_files(const std::string& tmp, const Checkpoint& c);
}  // namespace

std::string save_checkpoint(const std::string& run_dir, const Checkpoint& c, int keep) {
  const std::string root = join_path(run_dir, "checkpoints");
  make_dirs(root);
  const std::string name = checkpoint_name(c.state.step);
  const std::string tmp = join_path(root, "." + name + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  make_dirs(tmp);
  try {
    write_checkpoint_files(tmp, c);
  } catch (...) {  // a failed write (disk full) leaves nothing behind
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  const std::string final_dir = join_path(root, name);
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  atomic_write_file(join_path(root, "latest"), name + "\n");  // also fsyncs the directory
  const auto dirs = checkpoint_dirs(root);
  for (size_t i = static_cast<size_t>(std::max(1, keep)); i < dirs.size(); ++i) fs::remove_all(join_path(root, dirs[i]));
  return final_dir;
}

namespace {
void write_checkpoint_files(const std::string& tmp, const Checkpoint& c) {
  save_safetensors(join_path(tmp, "model.safetensors"), c.model, {{"format", "pt"}});
  std::vector<std::string> files(std::begin(kFiles), std::end(kFiles));
  if (c.optimizer_shards > 0) {
    for (int r = 0; r < c.optimizer_shards; ++r) {
      files.push_back(optimizer_shard_name(r, c.optimizer_shards));
      save_safetensors(join_path(tmp, files.back()), c.optimizer_shard(r));
    }
  } else {
    files.push_back(kWholeOptimizer);
    save_safetensors(join_path(tmp, kWholeOptimizer), c.optimizer);
  }
  save_safetensors(join_path(tmp, "rng.safetensors"), {{"cpu", c.rng_state}});
  atomic_write_file(join_path(tmp, "config.json"), c.config_json);
  for (const auto& [name, contents] : c.extra_files) {
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.' || name == "manifest.json" ||
        std::find(files.begin(), files.end(), name) != files.end())
      raise(ErrorKind::kInternal, "checkpoint extra file '", name, "' is not a free plain name");
    atomic_write_file(join_path(tmp, name), contents);
    files.push_back(name);
  }
  const json state = {{"step", c.state.step},
                      {"data_cursor", {{"epoch", c.state.data_epoch}, {"position", c.state.data_position}}},
                      {"policy_version", c.state.policy_version}};
  atomic_write_file(join_path(tmp, "trainer_state.json"), state.dump(2) + "\n");
  json manifest = {{"format", "fasrl-checkpoint"}, {"version", 1}, {"files", json::object()}};
  for (const auto& f : files) manifest["files"][f] = sha256_file(join_path(tmp, f));
  atomic_write_file(join_path(tmp, "manifest.json"), manifest.dump(2) + "\n");
}
}  // namespace

Checkpoint load_checkpoint(const std::string& dir) {
  const std::string manifest_path = join_path(dir, "manifest.json");
  if (!path_exists(manifest_path)) raise(ErrorKind::kCorruption, "checkpoint ", dir, ": manifest.json is missing (partial write?)");
  json manifest;
  try {
    manifest = json::parse(read_file(manifest_path));
  } catch (const json::exception& e) {
    raise(ErrorKind::kCorruption, manifest_path, ": not valid JSON (", e.what(), ")");
  }
  if (!manifest.contains("files") || !manifest["files"].is_object())
    raise(ErrorKind::kCorruption, manifest_path, ": no \"files\" object");
  // Every file the manifest lists must verify; the fixed ones must be listed.
  std::vector<std::string> optimizer_files;
  for (const auto& [f, hash] : manifest["files"].items()) {
    if (f.find('/') != std::string::npos || f.empty() || f[0] == '.')
      raise(ErrorKind::kCorruption, manifest_path, ": file name '", f, "' is not a plain name");
    if (f.rfind("optimizer", 0) == 0) optimizer_files.push_back(f);
  }
  for (const char* f : kFiles)
    if (!manifest["files"].contains(f)) raise(ErrorKind::kCorruption, manifest_path, ": no hash for ", f);
  if (optimizer_files.empty()) raise(ErrorKind::kCorruption, manifest_path, ": no hash for optimizer.safetensors or its shards");
  for (const auto& [f, hash] : manifest["files"].items()) {
    const std::string path = join_path(dir, f);
    if (!path_exists(path)) raise(ErrorKind::kCorruption, "checkpoint ", dir, ": ", f, " is missing");
    if (!hash.is_string() || sha256_file(path) != hash.get<std::string>())
      raise(ErrorKind::kCorruption, path, ": SHA-256 does not match the checkpoint manifest (corrupt)");
  }
  Checkpoint c;
  c.model = load_safetensors(join_path(dir, "model.safetensors")).tensors;
  for (const auto& f : optimizer_files) {
    for (auto& [key, t] : load_safetensors(join_path(dir, f)).tensors) {
      if (key != "step" && c.optimizer.count(key))
        raise(ErrorKind::kCorruption, dir, "/", f, ": optimizer tensor '", key, "' also appears in another shard");
      c.optimizer[key] = t;
    }
  }
  auto rng = load_safetensors(join_path(dir, "rng.safetensors")).tensors;
  if (!rng.count("cpu")) raise(ErrorKind::kCorruption, dir, "/rng.safetensors: tensor 'cpu' is missing");
  c.rng_state = rng["cpu"];
  c.config_json = read_file(join_path(dir, "config.json"));
  try {
    const json s = json::parse(read_file(join_path(dir, "trainer_state.json")));
    c.state.step = s.at("step").get<int64_t>();
    c.state.data_epoch = s.at("data_cursor").at("epoch").get<int64_t>();
    c.state.data_position = s.at("data_cursor").at("position").get<int64_t>();
    c.state.policy_version = s.at("policy_version").get<int64_t>();
  } catch (const json::exception& e) {
    raise(ErrorKind::kCorruption, dir, "/trainer_state.json: ", e.what());
  }
  if (c.state.step < 0 || c.state.data_epoch < 0 || c.state.data_position < 0 || c.state.policy_version < 0)
    raise(ErrorKind::kCorruption, dir, "/trainer_state.json: step, data_cursor and policy_version must not be negative");
  return c;
}

std::optional<Checkpoint> load_latest_checkpoint(const std::string& run_dir, std::vector<std::string>* skipped,
                                                 std::string* loaded_dir, const CheckpointCheck& usable) {
  const std::string root = join_path(run_dir, "checkpoints");
  std::vector<std::string> order = checkpoint_dirs(root);
  // `latest` first when it names a directory, then every other newest-first.
  if (path_exists(join_path(root, "latest"))) {
    std::string latest = read_file(join_path(root, "latest"));
    while (!latest.empty() && (latest.back() == '\n' || latest.back() == ' ')) latest.pop_back();
    auto it = std::find(order.begin(), order.end(), latest);
    if (it != order.end()) std::rotate(order.begin(), it, it + 1);
  }
  for (const auto& name : order) {
    try {
      Checkpoint c = load_checkpoint(join_path(root, name));
      if (usable) usable(c, join_path(root, name));
      if (loaded_dir) *loaded_dir = join_path(root, name);
      return c;
    } catch (const Error& e) {
      if (skipped) skipped->push_back(std::string("skipping checkpoint: ") + e.what());
    }
  }
  return std::nullopt;
}

}  // namespace fasrl::trainer
