#include "comm/grad_sync.h"

#include <cstring>

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <functional>

#include "comm/bucketing.h"
#include "comm/check.h"
#include "core/error.h"
#include "core/io.h"

namespace fasrl::comm {

// The hooks may outlive the sync: they reach it through this cell, which
// the destructor empties before removing them.
struct GradientSync::HookCell {
  GradientSync* sync = nullptr;
};

namespace {
class GradReadyHook final : public torch::autograd::FunctionPostHook {
 public:
  explicit GradReadyHook(std::function<void()> fire) : fire_(std::move(fire)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    fire_();
    return outputs;
  }

 private:
  std::function<void()> fire_;
};
}  // namespace

GradientSync::GradientSync(Collective& collective, const std::vector<torch::Tensor>& params,
                           const proto::CommConfig& config, const GradSyncOptions& options)
    : collective_(collective), options_(options), params_(params), cell_(std::make_shared<HookCell>()) {
  if (options.zero_stage < 0 || options.zero_stage > 2)
    raise(ErrorKind::kConfig, "train.zero_stage: ", options.zero_stage, " is not one of 0, 1, 2");
  std::vector<TensorSpec> specs;
  std::vector<int64_t> numel;
  for (size_t i = 0; i < params.size(); ++i) {
    const torch::Tensor& p = params[i];
    if (!p.is_contiguous()) raise(ErrorKind::kInvalidArgument, "gradient sync: parameter ", i, " is not contiguous");
    specs.push_back({p.numel() * p.element_size(), static_cast<int>(p.scalar_type())});
    numel.push_back(p.numel());
  }
  const auto mib = [](float mb) { return static_cast<int64_t>(static_cast<double>(mb) * (1 << 20)); };
  layout_ = make_flat_layout(specs, numel, mib(config.bucket_cap_mb()), mib(config.first_bucket_mb()), collective.size());

  torch::NoGradGuard no_grad;
  for (const FlatBucket& b : layout_.buckets) {
    const auto options_of = params_[static_cast<size_t>(b.members[0])].options();
    torch::Tensor flat = torch::zeros({b.padded}, options_of);
    torch::Tensor grads = options.zero_stage < 2 ? torch::zeros({b.padded}, options_of) : torch::Tensor();
    for (size_t m = 0; m < b.members.size(); ++m) {
      torch::Tensor& p = params_[static_cast<size_t>(b.members[m])];
      torch::Tensor view = flat.narrow(0, b.offsets[m], p.numel()).view(p.sizes());
      view.copy_(p);
      p.set_data(view);  // the parameter now lives in its bucket
      if (grads.defined()) p.mutable_grad() = grads.narrow(0, b.offsets[m], p.numel()).view(p.sizes());
    }
    param_flat_.push_back(flat);
    grad_flat_.push_back(grads);
    grad_shard_.push_back(options.zero_stage == 2 ? torch::zeros({b.shard()}, options_of) : torch::Tensor());
  }
  pending_grads_.assign(layout_.buckets.size(), 0);
  in_flight_.resize(layout_.buckets.size());

  cell_->sync = this;
  if (options.overlap) {
    for (size_t i = 0; i < params_.size(); ++i) {
      auto accumulator = torch::autograd::impl::grad_accumulator(params_[i]);
      if (!accumulator) raise(ErrorKind::kInvalidArgument, "gradient sync: parameter ", i, " does not require grad");
      std::shared_ptr<HookCell> cell = cell_;
      const int index = static_cast<int>(i);
      hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<GradReadyHook>([cell, index] {
        if (cell->sync) cell->sync->on_grad_ready(index);
      })));
      accumulators_.push_back(std::move(accumulator));  // the parameter keeps only a weak reference
    }
  }
}

GradientSync::~GradientSync() {
  cell_->sync = nullptr;
  for (size_t i = 0; i < accumulators_.size(); ++i) accumulators_[i]->del_post_hook(hook_keys_[i]);
}

void GradientSync::begin_backward(bool reduce) {
  armed_ = reduce && options_.overlap;
  if (!reduce) return;
  for (size_t b = 0; b < layout_.buckets.size(); ++b) pending_grads_[b] = static_cast<int>(layout_.buckets[b].members.size());
  next_launch_ = 0;
}

void GradientSync::on_grad_ready(int index) {
  if (!armed_) return;
  const int b = layout_.bucket_of[static_cast<size_t>(index)];
  if (options_.zero_stage == 2) stage_gradient(index);
  if (--pending_grads_[static_cast<size_t>(b)] == 0) launch_ready();
}

void GradientSync::stage_gradient(int index) {
  torch::NoGradGuard no_grad;
  const size_t b = static_cast<size_t>(layout_.bucket_of[static_cast<size_t>(index)]);
  if (!grad_flat_[b].defined()) grad_flat_[b] = torch::zeros({layout_.buckets[b].padded}, param_flat_[b].options());
  torch::Tensor& p = params_[static_cast<size_t>(index)];
  torch::Tensor target = grad_flat_[b].narrow(0, layout_.offset_in_bucket[static_cast<size_t>(index)], p.numel());
  if (p.grad().defined()) target.copy_(p.grad().reshape(-1));
  p.mutable_grad() = torch::Tensor();  // released: the bucket holds it now
}

// Buckets start in bucket order on every rank (collectives must match), each
// as soon as it and every bucket before it is ready: buckets below
// next_launch_ are in flight.
void GradientSync::launch_ready() {
  while (next_launch_ < static_cast<int>(layout_.buckets.size()) && pending_grads_[static_cast<size_t>(next_launch_)] == 0)
    launch(next_launch_++);
}

void GradientSync::launch(int bucket) {
  const size_t b = static_cast<size_t>(bucket);
  if (options_.zero_stage < 2) {
    in_flight_[b] = collective_.start_all_reduce_sum(grad_flat_[b]);
    return;
  }
  in_flight_[b] = collective_.start_reduce_scatter_sum(grad_flat_[b], grad_shard_[b]);
  // Stage 2: free the staging buffers of buckets whose reduce-scatter is done,
  // so backward does not hold every bucket's whole gradient until finish().
  for (size_t d = 0; d < b; ++d)
    if (in_flight_[d] && in_flight_[d]->ready()) {
      in_flight_[d]->wait();  // reports a failed operation
      in_flight_[d].reset();
      grad_flat_[d] = torch::Tensor();
    }
}

void GradientSync::finish() {
  armed_ = false;
  for (; next_launch_ < static_cast<int>(layout_.buckets.size()); ++next_launch_) {
    if (options_.zero_stage == 2)  // gradients that never came back through a hook (unused, or no overlap)
      for (int i : layout_.buckets[static_cast<size_t>(next_launch_)].members) stage_gradient(i);
    launch(next_launch_);
  }
  next_launch_ = 0;
  for (size_t b = 0; b < layout_.buckets.size(); ++b) {
    if (in_flight_[b]) in_flight_[b]->wait();  // (stage 2 may have finished it already)
    in_flight_[b].reset();
    if (options_.zero_stage == 2) grad_flat_[b] = torch::Tensor();  // only the shard stays
  }
}

torch::Tensor GradientSync::param_slice(int bucket) const {
  const FlatBucket& b = layout_.buckets.at(static_cast<size_t>(bucket));
  if (options_.zero_stage == 0) return param_flat_[static_cast<size_t>(bucket)].narrow(0, 0, b.numel);
  return param_flat_[static_cast<size_t>(bucket)].narrow(0, rank() * b.shard(), b.shard());
}

torch::Tensor GradientSync::grad_slice(int bucket) const {
  const FlatBucket& b = layout_.buckets.at(static_cast<size_t>(bucket));
  if (options_.zero_stage == 0) return grad_flat_[static_cast<size_t>(bucket)].narrow(0, 0, b.numel);
  if (options_.zero_stage == 1) return grad_flat_[static_cast<size_t>(bucket)].narrow(0, rank() * b.shard(), b.shard());
  return grad_shard_[static_cast<size_t>(bucket)];
}

void GradientSync::all_gather_params() {
  if (options_.zero_stage == 0) return;
  torch::NoGradGuard no_grad;
  for (auto& flat : param_flat_) collective_.all_gather(flat);
}

void GradientSync::zero_grads() {
  torch::NoGradGuard no_grad;
  if (options_.zero_stage < 2) {
    for (auto& g : grad_flat_) g.zero_();
    return;
  }
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

int64_t GradientSync::persistent_grad_bytes() const {
  int64_t bytes = 0;
  for (const auto& g : options_.zero_stage < 2 ? grad_flat_ : grad_shard_) bytes += g.numel() * g.element_size();
  return bytes;
}

void check_same_shapes(MPI_Comm comm, const std::vector<torch::Tensor>& tensors, const std::string& what) {
  struct Summary {
    char digest[65];
    int64_t count;
    int64_t numel;
  };
  std::string descriptor;
  Summary mine{};
  for (const auto& t : tensors) {
    descriptor += std::string(c10::toString(t.scalar_type())) + ":";
    for (int64_t d : t.sizes()) descriptor += std::to_string(d) + ",";
    descriptor += ";";
    mine.numel += t.numel();
  }
  mine.count = static_cast<int64_t>(tensors.size());
  const std::string digest = sha256_hex(descriptor.data(), descriptor.size());
  std::memcpy(mine.digest, digest.c_str(), 65);
  int size = 1;
  FASRL_MPI_CHECK(MPI_Comm_size(comm, &size));
  std::vector<Summary> all(static_cast<size_t>(size));
  FASRL_MPI_CHECK(MPI_Allgather(&mine, sizeof mine, MPI_BYTE, all.data(), sizeof mine, MPI_BYTE, comm));
  std::string differ;
  for (int r = 1; r < size; ++r) {
    const Summary& s = all[static_cast<size_t>(r)];
    if (std::strcmp(s.digest, all[0].digest) != 0)
      differ += " rank " + std::to_string(r) + " (" + std::to_string(s.count) + " tensors, " + std::to_string(s.numel) +
                " elements)";
  }
  if (!differ.empty())
    raise(ErrorKind::kInvalidArgument, what, ": tensor shapes differ across ranks; rank 0 has ", all[0].count,
          " tensors, ", all[0].numel, " elements; differing:", differ);
}

}  // namespace fasrl::comm
