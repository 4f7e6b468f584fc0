// Logits of an HF Qwen2.5-VL directory as fasrl loads it (float64), for the
// comparison with transformers (test_qwen_vl_transformers.py):
//   qwen_vl_logits MODEL_DIR INPUTS.safetensors OUT.safetensors [EXPORT_DIR]
// INPUTS: ids [B, T] int64, pad [B, T] int64 (0 = padding), patches [N, C*T*P*P]
// float64, grids [K, 3] int64. OUT: logits [B, T, V] float64. EXPORT_DIR:
// fasrl's export of the loaded model (save_qwen_vl, float32) for transformers
// to load back.
#include <torch/torch.h>

#include "core/safetensors.h"
#include "models/hf_weights.h"
#include "models/qwen_vl_io.h"
#include "models/weights.h"

using namespace fasrl;

int qwen_vl_logits_main(int argc, char** argv) {
  if (argc != 4 && argc != 5) return 2;
  // Built in float64 before the weights are copied, so float64 files load exactly.
  models::QwenVl model(models::load_qwen_vl_config(argv[1]));
  model->to(torch::kFloat64);
  models::copy_weights(*model, models::qwen_vl_canonical_names(models::load_hf_weights(argv[1]), model->config()), argv[1]);
  model->eval();
  const TensorMap in = load_safetensors(argv[2]).tensors;
  std::vector<models::PatchGrid> grids;
  const torch::Tensor g = in.at("grids");
  for (int64_t k = 0; k < g.size(0); ++k)
    grids.push_back({g[k][0].item<int64_t>(), g[k][1].item<int64_t>(), g[k][2].item<int64_t>()});
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = model->forward(in.at("ids"), in.at("patches"), grids, in.at("pad"));
  save_safetensors(argv[3], {{"logits", logits}});
  if (argc == 5) {
    model->to(torch::kFloat32);
    models::save_qwen_vl(*model, argv[4], torch::kFloat32);
  }
  return 0;
}
