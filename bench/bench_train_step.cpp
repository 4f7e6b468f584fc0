// MoAE-CR train step throughput: ViT-B/16 (+MoAE 4x2) and CLIP text encoder,
// batch 32 at 224x224, CE + DM + CDM, backward, clip, AdamW — fasrl (LibTorch
// C++) versus the same architecture in python3-torch eager, same run, same threads.
//
// usage: bench_train_step [steps] [threads] [batch] [image]
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/host_memory.h"
#include "core/timer.h"
#include "models/clip.h"
#include "trainer/losses.h"

using namespace fasrl;

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 2;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int batch = argc > 3 ? std::atoi(argv[3]) : 32;
  const int image = argc > 4 ? std::atoi(argv[4]) : 224;
  torch::set_num_threads(threads);
  keep_freed_host_memory();  // as the fasrl binary does
  torch::manual_seed(0);
  proto::ClipConfig config;  // ViT-B/16 + MoAE, CLIP text (defaults)
  config.mutable_vision()->set_image_size(image);
  models::ClipModel model(config);
  const auto prompts = models::tokenize_prompts({"This is an image of a live face", "This is an image of a fake face"},
                                                config.text().vocab_size(), config.text().context_length());
  std::vector<torch::Tensor> params = model->parameters();
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-6).weight_decay(5e-4));
  const torch::Tensor images = torch::randn({batch, 3, image, image});
  const torch::Tensor labels = torch::arange(batch) % 2;
  int64_t numel = 0;
  for (const auto& p : params) numel += p.numel();

  double best = 1e30;
  for (int i = 0; i <= steps; ++i) {
    Stopwatch clock;
    opt.zero_grad();
    const torch::Tensor img = model->encode_image(images), text = model->encode_text(prompts.ids, prompts.eot);
    const torch::Tensor loss = trainer::clip_ce_loss(img, text, model->logit_scale, labels) + trainer::dm_loss(img, labels) +
                               trainer::cdm_loss(img, labels);
    loss.backward();
    torch::nn::utils::clip_grad_norm_(params, 1.0);
    opt.step();
    if (i > 0) best = std::min(best, clock.seconds());  // first step is warm-up
  }
  const double ours = batch / best;

  // The same architecture in python3-torch: names and shapes from our model.
  nlohmann::json spec;
  for (const auto& p : model->named_parameters()) spec["shapes"][p.key()] = p.value().sizes().vec();
  const auto& v = config.vision();
  spec["vision"] = {{"patch", v.patch_size()}, {"layers", v.layers()}, {"heads", v.heads()}, {"image", image},
                    {"channels", 3}, {"moae_heads", v.moae().heads()}, {"experts", v.moae().experts()}};
  spec["text"] = {{"layers", config.text().layers()}, {"heads", config.text().heads()}};
  spec["batch"] = batch;
  spec["threads"] = threads;
  std::vector<std::vector<int64_t>> ids;
  for (int64_t r = 0; r < prompts.ids.size(0); ++r) {
    auto row = prompts.ids[r];
    ids.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  }
  spec["ids"] = ids;
  spec["eot"] = std::vector<int64_t>(prompts.eot.data_ptr<int64_t>(), prompts.eot.data_ptr<int64_t>() + 2);
  const std::string spec_path = "/tmp/fasrl_bench_train_step.json";
  std::ofstream(spec_path) << spec.dump();
  const std::string cmd = "/usr/bin/python3 " + std::string(FASRL_SOURCE_DIR) + "/bench/moae_clip_step.py " + spec_path + " " +
                          std::to_string(steps);
  double theirs = -1;
  if (FILE* pipe = ::popen(cmd.c_str(), "r")) {
    if (std::fscanf(pipe, "samples_per_s %lf", &theirs) != 1) theirs = -1;
    ::pclose(pipe);
  }
  std::printf("MoAE-CR train step: ViT-B/16 + MoAE(4x2) + CLIP text, %lld params, batch %d at %dx%d, %d threads, best of %d\n",
              static_cast<long long>(numel), batch, image, image, threads, steps);
  std::printf("%-36s %12s\n", "", "samples/s");
  std::printf("%-36s %12.3f\n", "python3-torch eager (same model)", theirs);
  std::printf("%-36s %12.3f\n", "fasrl (LibTorch C++)", ours);
  std::printf("fasrl / python: %.2fx\n", theirs > 0 ? ours / theirs : 0.0);
  return theirs > 0 ? 0 : 1;
}
