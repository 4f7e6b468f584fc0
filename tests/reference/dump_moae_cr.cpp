// Dumps a tiny MoAE-CLIP's weights, inputs, outputs, losses and every
// gradient (float64) to safetensors, for tests/reference/moae_cr_reference.py
// to recompute independently in PyTorch.  usage: dump_moae_cr OUT.safetensors
#include <torch/torch.h>

#include "core/safetensors.h"
#include "models/clip.h"
#include "trainer/losses.h"

using namespace fasrl;

int dump_moae_cr_main(int argc, char** argv) {
  if (argc != 2) return 2;
  torch::manual_seed(3);
  proto::ClipConfig c;
  auto* v = c.mutable_vision();
  v->set_image_size(16), v->set_patch_size(8), v->set_in_channels(5), v->set_width(32), v->set_layers(2), v->set_heads(4);
  v->mutable_moae()->set_experts(4), v->mutable_moae()->set_heads(2), v->mutable_moae()->set_expert_mlp_ratio(2);
  auto* t = c.mutable_text();
  t->set_vocab_size(32), t->set_context_length(12), t->set_width(24), t->set_layers(1), t->set_heads(2);
  c.set_projection_dim(16);
  models::ClipModel model(c);
  model->to(torch::kFloat64);
  {  // give LayerNorms, biases and the MoAE scale non-trivial values so they are really checked
    torch::NoGradGuard g;
    for (auto& p : model->named_parameters())
      if (p.key().find("norm") != std::string::npos || p.key().find("bias") != std::string::npos ||
          p.key().find(".scale") != std::string::npos)
        p.value().add_(torch::randn_like(p.value()) * 0.1);
  }
  const torch::Tensor images = torch::randn({6, 5, 16, 16}, torch::kFloat64);
  const torch::Tensor labels = torch::tensor({0, 1, 1, 0, 1, 1}, torch::kInt64);
  const auto prompts = models::tokenize_prompts({"This is an image of a live face", "This is an image of a fake face"}, 32, 12);

  const torch::Tensor img = model->encode_image(images), text = model->encode_text(prompts.ids, prompts.eot);
  const torch::Tensor ce = trainer::clip_ce_loss(img, text, model->logit_scale, labels);
  const torch::Tensor dm = trainer::dm_loss(img, labels, 0.0);  // threshold 0 so DM is active on random weights
  const torch::Tensor cdm = trainer::cdm_loss(img, labels);
  const torch::Tensor total = ce + dm + cdm;
  total.backward();

  TensorMap out{{"in/images", images}, {"in/labels", labels}, {"in/ids", prompts.ids}, {"in/eot", prompts.eot},
                {"out/img", img.detach()}, {"out/text", text.detach()}, {"out/ce", ce.detach()},
                {"out/dm", dm.detach()}, {"out/cdm", cdm.detach()}};
  for (const auto& p : model->named_parameters()) {
    out["param/" + p.key()] = p.value().detach();
    out["grad/" + p.key()] = p.value().grad();
  }
  // Baselines and CR losses on free features with mixed classes.
  torch::Tensor f = torch::randn({10, 7}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor fl = torch::tensor({0, 1, 1, 0, 1, 0, 1, 1, 0, 1}, torch::kInt64);
  out["feat/f"] = f.detach();
  out["feat/labels"] = fl;
  const std::vector<std::pair<std::string, std::function<torch::Tensor()>>> losses = {
      {"dm", [&] { return trainer::dm_loss(f, fl, 0.1); }},
      {"cdm", [&] { return trainer::cdm_loss(f, fl); }},
      {"triplet", [&] { return trainer::triplet_loss(f, fl); }},
      {"hard_triplet", [&] { return trainer::hard_triplet_loss(f, fl); }},
      {"npair", [&] { return trainer::npair_loss(f, fl); }},
      {"supcon", [&] { return trainer::supcon_loss(f, fl); }}};
  for (const auto& [name, fn] : losses) {
    if (f.grad().defined()) f.grad().zero_();
    const torch::Tensor l = fn();
    l.backward();
    out["feat/" + name] = l.detach();
    out["feat/" + name + "_grad"] = f.grad().clone();
  }
  save_safetensors(argv[1], out);
  return 0;
}
