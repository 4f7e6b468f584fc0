#include "trainer/optimizer_state.h"

#include <algorithm>
#include <map>

#include "core/error.h"

namespace fasrl::trainer {
namespace {

const char* kMoments[] = {"exp_avg", "exp_avg_sq"};

struct Stored {
  int64_t begin = 0, end = 0;
  torch::Tensor values;  // 1-D, end - begin elements
};

// "<param>/<moment>" or "<param>/<moment>[lo:hi]" -> (param, moment, range); false otherwise.
bool parse_key(const std::string& key, const TensorMap::mapped_type& t, std::string* param, std::string* moment, Stored* s) {
  std::string base = key;
  int64_t lo = 0, hi = -1;
  if (!key.empty() && key.back() == ']') {
    const size_t open = key.rfind('['), colon = key.rfind(':');
    if (open == std::string::npos || colon == std::string::npos || colon < open) return false;
    try {
      lo = std::stoll(key.substr(open + 1, colon - open - 1));
      hi = std::stoll(key.substr(colon + 1, key.size() - colon - 2));
    } catch (const std::exception&) {
      return false;
    }
    base = key.substr(0, open);
  }
  const size_t slash = base.rfind('/');
  if (slash == std::string::npos) return false;
  *moment = base.substr(slash + 1);
  if (*moment != kMoments[0] && *moment != kMoments[1]) return false;
  *param = base.substr(0, slash);
  s->values = t.reshape(-1);
  s->begin = lo;
  s->end = hi < 0 ? t.numel() : hi;
  return true;
}

}  // namespace

TensorMap export_optimizer_state(FlatAdam& optimizer, const StateLayout& layout) {
  TensorMap out;
  out["step"] = torch::tensor(optimizer.steps(), torch::kInt64);
  for (size_t i = 0; i < layout.pieces.size(); ++i) {
    for (const comm::ShardPiece& piece : layout.pieces[i]) {
      const std::string& name = layout.names[static_cast<size_t>(piece.tensor)];
      const bool whole = piece.begin == 0 && piece.end == layout.numel[static_cast<size_t>(piece.tensor)];
      const std::string range = whole ? "" : "[" + std::to_string(piece.begin) + ":" + std::to_string(piece.end) + "]";
      const int64_t n = piece.end - piece.begin;
      out[name + "/exp_avg" + range] = optimizer.exp_avg()[i].narrow(0, piece.shard_offset, n).clone();
      out[name + "/exp_avg_sq" + range] = optimizer.exp_avg_sq()[i].narrow(0, piece.shard_offset, n).clone();
    }
  }
  return out;
}

void import_optimizer_state(FlatAdam& optimizer, const StateLayout& layout, const TensorMap& state, const std::string& source) {
  std::map<std::string, std::vector<Stored>> stored[2];  // per moment: param -> pieces
  int64_t steps = -1;
  for (const auto& [key, tensor] : state) {
    if (key == "step" || (key.size() > 5 && key.compare(key.size() - 5, 5, "/step") == 0)) {
      steps = std::max<int64_t>(steps, tensor.item<int64_t>());
      continue;
    }
    std::string param, moment;
    Stored s;
    if (!parse_key(key, tensor, &param, &moment, &s))
      raise(ErrorKind::kCorruption, source, ": optimizer state has an unexpected tensor '", key, "'");
    if (s.begin < 0 || s.end < s.begin || s.values.numel() != s.end - s.begin)
      raise(ErrorKind::kCorruption, source, ": optimizer state '", key, "' holds ", s.values.numel(),
            " elements, not the range it names");
    stored[moment == kMoments[0] ? 0 : 1][param].push_back(s);
  }
  if (steps < 0 && stored[0].empty()) return;  // never stepped
  if (steps < 0) raise(ErrorKind::kCorruption, source, ": optimizer state has no step count");
  optimizer.set_steps(steps);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < layout.pieces.size(); ++i) {
    for (const comm::ShardPiece& piece : layout.pieces[i]) {
      const std::string& name = layout.names[static_cast<size_t>(piece.tensor)];
      const int64_t numel = layout.numel[static_cast<size_t>(piece.tensor)];
      for (int k = 0; k < 2; ++k) {
        torch::Tensor target = (k == 0 ? optimizer.exp_avg() : optimizer.exp_avg_sq())[i].narrow(
            0, piece.shard_offset, piece.end - piece.begin);
        int64_t covered = 0;
        auto found = stored[k].find(name);
        if (found != stored[k].end()) {
          for (const Stored& s : found->second) {
            if (s.end > numel)
              raise(ErrorKind::kCorruption, source, ": optimizer state of '", name, "' reaches element ", s.end,
                    " but the parameter has ", numel, " (a different model?)");
            const int64_t from = std::max(s.begin, piece.begin), to = std::min(s.end, piece.end);
            if (from >= to) continue;
            target.narrow(0, from - piece.begin, to - from).copy_(s.values.narrow(0, from - s.begin, to - from));
            covered += to - from;
          }
        }
        if (covered != piece.end - piece.begin)
          raise(ErrorKind::kCorruption, source, ": optimizer state ", kMoments[k], " of '", name, "' covers ", covered,
                " of its elements ", piece.begin, "..", piece.end, " (a shard file is missing?)");
      }
    }
  }
}

void check_optimizer_state(const TensorMap& state, const std::map<std::string, int64_t>& params, const std::string& source) {
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> ranges[2];  // per moment: param -> [begin, end)
  bool has_steps = false;
  for (const auto& [key, tensor] : state) {
    if (key == "step" || (key.size() > 5 && key.compare(key.size() - 5, 5, "/step") == 0)) {
      if (tensor.numel() != 1) raise(ErrorKind::kCorruption, source, ": optimizer state '", key, "' is not one number");
      has_steps = true;
      continue;
    }
    std::string param, moment;
    Stored s;
    if (!parse_key(key, tensor, &param, &moment, &s))
      raise(ErrorKind::kCorruption, source, ": optimizer state has an unexpected tensor '", key, "'");
    const auto p = params.find(param);
    if (p == params.end()) raise(ErrorKind::kCorruption, source, ": optimizer state '", key, "' is for no parameter of this model");
    if (s.begin < 0 || s.end < s.begin || s.values.numel() != s.end - s.begin || s.end > p->second)
      raise(ErrorKind::kCorruption, source, ": optimizer state '", key, "' holds ", s.values.numel(), " elements of a range ",
            s.begin, "..", s.end, "; the parameter has ", p->second);
    ranges[moment == kMoments[0] ? 0 : 1][param].emplace_back(s.begin, s.end);
  }
  if (!has_steps && ranges[0].empty() && ranges[1].empty()) return;  // never stepped
  if (!has_steps) raise(ErrorKind::kCorruption, source, ": optimizer state has no step count");
  for (int k = 0; k < 2; ++k)
    for (const auto& [name, numel] : params) {
      auto r = ranges[k][name];
      std::sort(r.begin(), r.end());
      int64_t reached = 0;
      for (const auto& [lo, hi] : r)
        if (lo <= reached) reached = std::max(reached, hi);
      if (reached < numel)
        raise(ErrorKind::kCorruption, source, ": optimizer state ", kMoments[k], " of '", name, "' covers elements 0..",
              reached, " of ", numel, " (a shard file is missing?)");
    }
}

}  // namespace fasrl::trainer
