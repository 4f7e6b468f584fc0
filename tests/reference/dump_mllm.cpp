// Dumps a tiny MLLM (vision tower -> projector -> decoder, float64): weights,
// token ids with image-pad slots and left padding, images, logits, loss and
// every gradient, for mllm_reference.py.
#include <torch/torch.h>

#include "core/safetensors.h"
#include "dump_lm.h"
#include "models/mllm.h"

using namespace fasrl;

int dump_mllm_main(int argc, char** argv) {
  if (argc != 2) return 2;
  torch::manual_seed(9);
  proto::MllmConfig c;
  auto* v = c.mutable_vision();
  v->set_image_size(16), v->set_patch_size(8), v->set_width(16), v->set_layers(1), v->set_heads(2);
  v->mutable_moae()->set_enabled(false);
  auto* d = c.mutable_decoder();
  d->set_vocab_size(50), d->set_hidden_size(32), d->set_intermediate_size(48), d->set_num_hidden_layers(2);
  d->set_num_attention_heads(4), d->set_num_key_value_heads(2), d->set_rope_theta(10000), d->set_tie_word_embeddings(false);
  c.set_projector_hidden(24);
  const int64_t pad_id = 49;  // image-pad token
  models::Mllm model(c, pad_id);
  model->to(torch::kFloat64);
  {
    torch::NoGradGuard g;
    for (auto& p : model->named_parameters())
      if (p.value().dim() == 1) p.value().add_(torch::randn_like(p.value()) * 0.1);  // norms and biases
  }
  // Row 0: 2 images (8 pad slots) in 12 tokens; row 1: 2 pads of left padding, 1 image.
  const int P = 49;
  const torch::Tensor ids = torch::tensor({{3, P, P, P, P, 4, 5, P, P, P, P, 6},
                                           {0, 0, 7, 8, P, P, P, P, 9, 10, 11, 12}}).to(torch::kInt64);
  const torch::Tensor pad = torch::tensor({{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
                                           {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}, torch::kInt64);
  const torch::Tensor images = torch::randn({3, 3, 16, 16}, torch::kFloat64);
  const torch::Tensor targets = torch::randint(0, 49, {2, 12}, torch::kInt64);
  TensorMap out{{"in/ids", ids}, {"in/pad", pad}, {"in/images", images}, {"in/targets", targets}};
  dump_loss_and_gradients(*model, model->forward(ids, images, pad), targets, pad, out);
  save_safetensors(argv[1], out);
  return 0;
}
