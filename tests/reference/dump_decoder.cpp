// Dumps a tiny Qwen2-style decoder (float64): weights, inputs (with left
// padding), logits, loss and every gradient, for decoder_reference.py.
#include <torch/torch.h>

#include "core/safetensors.h"
#include "dump_lm.h"
#include "models/decoder.h"

using namespace fasrl;

int dump_decoder_main(int argc, char** argv) {
  if (argc != 2) return 2;
  torch::manual_seed(5);
  proto::DecoderConfig c;
  c.set_vocab_size(50), c.set_hidden_size(32), c.set_intermediate_size(48), c.set_num_hidden_layers(2);
  c.set_num_attention_heads(4), c.set_num_key_value_heads(2), c.set_rope_theta(10000), c.set_tie_word_embeddings(false);
  models::Decoder model(c);
  model->to(torch::kFloat64);
  {
    torch::NoGradGuard g;
    for (auto& p : model->named_parameters())
      if (p.value().dim() == 1) p.value().add_(torch::randn_like(p.value()) * 0.1);  // norms and biases
  }
  const torch::Tensor ids = torch::randint(0, 50, {2, 7}, torch::kInt64);
  const torch::Tensor pad = torch::tensor({{1, 1, 1, 1, 1, 1, 1}, {0, 0, 1, 1, 1, 1, 1}}, torch::kInt64);
  const torch::Tensor positions = (pad.cumsum(1) - 1).clamp_min(0);
  const torch::Tensor targets = torch::randint(0, 50, {2, 7}, torch::kInt64);
  TensorMap out{{"in/ids", ids}, {"in/pad", pad}, {"in/positions", positions}, {"in/targets", targets}};
  dump_loss_and_gradients(*model, model->forward(model->embed(ids), positions, pad), targets, pad, out);
  save_safetensors(argv[1], out);
  return 0;
}
