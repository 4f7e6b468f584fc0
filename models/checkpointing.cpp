#include "models/checkpointing.h"

#include "models/clip.h"
#include "models/decoder.h"
#include "models/mllm.h"
#include "models/qwen_vl.h"

namespace fasrl::models {

namespace {

struct BlockHolder : torch::CustomClassHolder {
  explicit BlockHolder(Block b) : block(std::move(b)) {}
  Block block;
};

struct Recompute : torch::autograd::Function<Recompute> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const c10::intrusive_ptr<BlockHolder>& holder) {
    ctx->save_for_backward({x});
    ctx->saved_data["block"] = c10::IValue::make_capsule(holder);
    return holder->block(x);  // grad mode is off inside a custom Function's forward
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto* holder = static_cast<const BlockHolder*>(ctx->saved_data["block"].toCapsule().get());
    const torch::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    torch::Tensor out;
    {
      torch::AutoGradMode enable(true);
      out = holder->block(x);
    }
    // Re-entrant backward through the recomputed block: accumulates into the
    // block's parameters (their gradient hooks fire as usual) and into x.
    torch::autograd::backward({out}, {grads[0]});
    return {x.grad(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor recompute_in_backward(const Block& block, const torch::Tensor& x) {
  if (!torch::GradMode::is_enabled() || !x.requires_grad()) return block(x);
  return Recompute::apply(x, c10::make_intrusive<BlockHolder>(block));
}

void set_activation_checkpointing(torch::nn::Module& model, bool on) {
  auto visit = [on](torch::nn::Module& m) {
    if (auto* d = dynamic_cast<DecoderImpl*>(&m)) d->set_activation_checkpointing(on);
    if (auto* e = dynamic_cast<EncoderImpl*>(&m)) e->set_activation_checkpointing(on);
    if (auto* v = dynamic_cast<QwenVisionTransformerImpl*>(&m)) v->set_activation_checkpointing(on);
    // Qwen2.5-VL registers its decoder's children under HF names, not the decoder itself.
    if (auto* q = dynamic_cast<QwenVlImpl*>(&m)) q->language_model()->set_activation_checkpointing(on);
    if (auto* mm = dynamic_cast<MllmImpl*>(&m)) mm->language_model()->set_activation_checkpointing(on);
  };
  visit(model);
  for (const auto& child : model.modules(/*include_self=*/false)) visit(*child);
}

}  // namespace fasrl::models
