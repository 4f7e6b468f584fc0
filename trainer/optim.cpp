#include "trainer/optim.h"

#include <cmath>
#include <sstream>
#include <type_traits>

#include "core/error.h"

namespace fasrl::trainer {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const NamedParams& params, const proto::OptimConfig& c) {
  std::vector<torch::Tensor> tensors;
  for (const auto& p : params) tensors.push_back(p.second);
  if (c.name() == "adam")
    return std::make_unique<torch::optim::Adam>(
        tensors, torch::optim::AdamOptions(c.lr()).betas({c.beta1(), c.beta2()}).eps(c.eps()).weight_decay(c.weight_decay()));
  if (c.name() == "adamw")
    return std::make_unique<torch::optim::AdamW>(
        tensors, torch::optim::AdamWOptions(c.lr()).betas({c.beta1(), c.beta2()}).eps(c.eps()).weight_decay(c.weight_decay()));
  raise(ErrorKind::kConfig, "optim.name: '", c.name(), "' is not one of: adam, adamw");
}

double lr_at(int64_t step, int64_t total, const proto::OptimConfig& c) {
  const double base = c.lr();
  if (c.warmup_steps() > 0 && step < c.warmup_steps()) return base * static_cast<double>(step + 1) / c.warmup_steps();
  if (c.schedule() == "constant") return base;
  if (c.schedule() == "cosine") {
    const double span = std::max<int64_t>(1, total - c.warmup_steps());
    const double t = std::min(1.0, static_cast<double>(step - c.warmup_steps()) / span);
    const double floor = base * c.min_lr_ratio();
    return floor + (base - floor) * 0.5 * (1 + std::cos(M_PI * t));
  }
  raise(ErrorKind::kConfig, "optim.schedule: '", c.schedule(), "' is not one of: constant, cosine");
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

namespace {
// LibTorch keys optimizer state by the parameter's TensorImpl: as a formatted
// pointer string in 1.x, as the pointer itself in later versions.
template <typename Map>
typename Map::key_type state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<typename Map::key_type, std::string>) {
    std::ostringstream os;
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}
using StateMap = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;

template <typename State>
TensorMap export_state(torch::optim::Optimizer& opt, const NamedParams& params) {
  TensorMap out;
  for (const auto& [name, p] : params) {
    auto it = opt.state().find(state_key<StateMap>(p));
    if (it == opt.state().end()) continue;
    auto& s = static_cast<State&>(*it->second);
    out[name + "/exp_avg"] = s.exp_avg();
    out[name + "/exp_avg_sq"] = s.exp_avg_sq();
    out[name + "/step"] = torch::tensor(static_cast<int64_t>(s.step()), torch::kInt64);
  }
  return out;
}

template <typename State>
void import_state(torch::optim::Optimizer& opt, const NamedParams& params, const TensorMap& state, const std::string& source) {
  for (const auto& [name, p] : params) {
    auto a = state.find(name + "/exp_avg"), b = state.find(name + "/exp_avg_sq"), st = state.find(name + "/step");
    if (a == state.end() && b == state.end()) continue;  // no state yet (never stepped)
    if (a == state.end() || b == state.end() || st == state.end())
      raise(ErrorKind::kCorruption, source, ": optimizer state of '", name, "' is incomplete");
    if (a->second.sizes() != p.sizes() || b->second.sizes() != p.sizes())
      raise(ErrorKind::kCorruption, source, ": optimizer state of '", name, "' does not match the parameter's shape");
    auto s = std::make_unique<State>();
    s->step(st->second.template item<int64_t>());
    s->exp_avg(a->second.to(p.options()).clone());
    s->exp_avg_sq(b->second.to(p.options()).clone());
    opt.state()[state_key<StateMap>(p)] = std::move(s);
  }
}
}  // namespace

TensorMap optimizer_state(torch::optim::Optimizer& opt, const NamedParams& params, const std::string& name) {
  return name == "adamw" ? export_state<torch::optim::AdamWParamState>(opt, params)
                         : export_state<torch::optim::AdamParamState>(opt, params);
}

void load_optimizer_state(torch::optim::Optimizer& opt, const NamedParams& params, const std::string& name,
                          const TensorMap& state, const std::string& source) {
  if (name == "adamw")
    import_state<torch::optim::AdamWParamState>(opt, params, state, source);
  else
    import_state<torch::optim::AdamParamState>(opt, params, state, source);
}

}  // namespace fasrl::trainer
