// One forward of a Qwen2.5-VL built from an HF config.json (random weights):
// one square image and a run of text tokens, as a prompt of
// <|vision_start|> <|image_pad|> x N <|vision_end|> text. Prints the
// parameter count, the time of the forward and the process's peak RSS.
//   bench_qwen_vl_forward [CONFIG_DIR] [IMAGE_SIDE=448] [TEXT_TOKENS=256] [THREADS=2] [f32|bf16]
// CONFIG_DIR defaults to tests/data (the released Qwen2.5-VL-3B config.json).
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/host_memory.h"
#include "models/qwen_image.h"
#include "models/qwen_vl_io.h"

using namespace fasrl;

int bench_qwen_vl_forward_main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : std::string(FASRL_SOURCE_DIR) + "/tests/data";
  const int64_t side = argc > 2 ? std::stoll(argv[2]) : 448, text = argc > 3 ? std::stoll(argv[3]) : 256;
  torch::set_num_threads(argc > 4 ? std::stoi(argv[4]) : 2);
  const bool bf16 = argc > 5 && std::string(argv[5]) == "bf16";
  if (!std::filesystem::exists(dir + "/config.json")) {  // tests/data keeps it as qwen2_5_vl_3b_config.json
    const std::string tmp = std::filesystem::temp_directory_path() / "fasrl-bench-qwen-config";
    std::filesystem::create_directories(tmp);
    std::filesystem::copy_file(dir + "/qwen2_5_vl_3b_config.json", tmp + "/config.json",
                               std::filesystem::copy_options::overwrite_existing);
    dir = tmp;
  }
  const proto::QwenVlConfig config = models::load_qwen_vl_config(dir);
  std::printf("config %s: %.3fB parameters\n", dir.c_str(), models::qwen_vl_parameter_count(config) / 1e9);
  auto t0 = std::chrono::steady_clock::now();
  if (bf16) torch::set_default_dtype(caffe2::TypeMeta::Make<c10::BFloat16>());
  models::QwenVl model(config);
  model->eval();
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  proto::QwenImageProcessorConfig processor;
  processor.set_max_pixels(static_cast<int32_t>(side * side));
  const models::QwenImagePatches image = models::qwen_image_patches(torch::rand({3, side, side}), processor);
  const int64_t n = image.grid.merged_tokens(config.vision_config().spatial_merge_size());
  std::vector<int64_t> ids{config.vision_start_token_id()};
  for (int64_t i = 0; i < n; ++i) ids.push_back(config.image_token_id());
  ids.push_back(config.vision_end_token_id());
  for (int64_t i = 0; i < text; ++i) ids.push_back(1000 + (i * 7919) % 100000);
  const torch::Tensor input = torch::tensor(ids, torch::kInt64).unsqueeze(0);
  torch::NoGradGuard g;
  t0 = std::chrono::steady_clock::now();
  const torch::Tensor logits = model->forward(input, image.patches, {image.grid});
  const double forward_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s, %d threads: built in %.1f s; forward of a %lldx%lld image (%lld patches -> %lld tokens) + %lld text "
              "tokens (%lld in all): %.2f s; logits %s finite; peak RSS %.0f MB\n",
              bf16 ? "bf16" : "fp32", torch::get_num_threads(), build_s, static_cast<long long>(side),
              static_cast<long long>(side), static_cast<long long>(image.grid.patches()), static_cast<long long>(n),
              static_cast<long long>(text), static_cast<long long>(input.size(1)), forward_s,
              logits.isfinite().all().item<bool>() ? "all" : "NOT all", peak_host_memory_mb());
  return 0;
}
