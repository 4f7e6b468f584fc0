// MoAE-CR train step throughput: ViT-B/16 (+MoAE 4x2) and CLIP text encoder,
// batch 32 at 224x224, CE + DM + CDM, backward, clip, AdamW — fasrl's learner
// step (trainer::LearnerSession: flat buckets, gradient hooks, fused flat
// AdamW, one learner) versus the same architecture in python3-torch eager
// (torch.optim.AdamW), same run, same threads. The C++ model, gradients and
// optimiser state are freed before the Python side starts (a ViT-B/16 pair of
// both did not fit a 24 GB machine).
//
// usage: bench_train_step [steps] [threads] [batch] [image]
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "comm/world.h"
#include "core/host_memory.h"
#include "core/timer.h"
#include "models/clip.h"
#include "trainer/learner.h"
#include "trainer/losses.h"

using namespace fasrl;

namespace {

struct Ours {
  double samples_per_s = 0;
  int64_t numel = 0;
  nlohmann::json spec;  // the architecture for the Python side
};

Ours fasrl_step(int steps, int threads, int batch, int image) {
  torch::manual_seed(0);
  proto::ClipConfig config;  // ViT-B/16 + MoAE, CLIP text (defaults)
  config.mutable_vision()->set_image_size(image);
  models::ClipModel model(config);
  const auto prompts = models::tokenize_prompts({"This is an image of a live face", "This is an image of a fake face"},
                                                config.text().vocab_size(), config.text().context_length());
  Ours out;
  // The same architecture in python3-torch: names and shapes from our model.
  for (const auto& p : model->named_parameters()) {
    out.spec["shapes"][p.key()] = p.value().sizes().vec();
    out.numel += p.value().numel();
  }
  const auto& v = config.vision();
  out.spec["vision"] = {{"patch", v.patch_size()}, {"layers", v.layers()}, {"heads", v.heads()}, {"image", image},
                        {"channels", 3}, {"moae_heads", v.moae().heads()}, {"experts", v.moae().experts()}};
  out.spec["text"] = {{"layers", config.text().layers()}, {"heads", config.text().heads()}};
  out.spec["batch"] = batch;
  out.spec["threads"] = threads;
  std::vector<std::vector<int64_t>> ids;
  for (int64_t r = 0; r < prompts.ids.size(0); ++r) {
    auto row = prompts.ids[r];
    ids.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  }
  out.spec["ids"] = ids;
  out.spec["eot"] = std::vector<int64_t>(prompts.eot.data_ptr<int64_t>(), prompts.eot.data_ptr<int64_t>() + 2);

  char dir[] = "/tmp/fasrl_bench_train_step_XXXXXX";
  if (!::mkdtemp(dir)) std::abort();
  trainer::LearnerSpec spec;
  spec.run.set_dir(dir);
  spec.optim.set_name("adamw");
  spec.optim.set_lr(1e-6f);
  spec.optim.set_weight_decay(5e-4f);
  spec.optim.set_grad_clip(1.0f);
  spec.train.set_steps(steps + 1);
  spec.train.set_checkpoint_every(0);
  spec.config_json = "{}";
  trainer::LearnerSession session(*model, spec, MPI_COMM_SELF);
  const torch::Tensor images = torch::randn({batch, 3, image, image});
  const torch::Tensor labels = torch::arange(batch) % 2;
  double best = 1e30;
  for (int i = 0; i <= steps; ++i) {
    Stopwatch clock;
    const torch::Tensor img = model->encode_image(images), text = model->encode_text(prompts.ids, prompts.eot);
    const torch::Tensor loss = trainer::clip_ce_loss(img, text, model->logit_scale, labels) + trainer::dm_loss(img, labels) +
                               trainer::cdm_loss(img, labels);
    session.backward(loss, 0);
    session.apply_gradients();
    if (i > 0) best = std::min(best, clock.seconds());  // first step is warm-up
  }
  out.samples_per_s = batch / best;
  std::system(("rm -rf " + std::string(dir)).c_str());
  return out;
}

}  // namespace

int bench_train_step_main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 2;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int batch = argc > 3 ? std::atoi(argv[3]) : 32;
  const int image = argc > 4 ? std::atoi(argv[4]) : 224;
  torch::set_num_threads(threads);
  keep_freed_host_memory();  // as the fasrl binary does
  comm::init_world(nullptr, nullptr);  // a learner session of one (MPI singleton)
  const Ours fasrl = fasrl_step(steps, threads, batch, image);  // everything of it freed on return
  release_free_host_memory();  // and handed back to the kernel (15 GB at batch 32, 224x224) for the Python side
  const double ours = fasrl.samples_per_s;
  const int64_t numel = fasrl.numel;
  const nlohmann::json& spec = fasrl.spec;
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
  std::printf("%-36s %12.3f\n", "fasrl learner step (LibTorch C++)", ours);
  std::printf("fasrl / python: %.2fx\n", theirs > 0 ? ours / theirs : 0.0);
  comm::finalize_world();
  return theirs > 0 ? 0 : 1;
}
