// SFT step of the reasoning MLLM (forward over packed rows, assistant-token
// CE, backward, AdamW) in fasrl versus the same step in python3-torch eager
// (bench/sft_step.py: same parameter names and shapes, the same batch, dense
// attention with a block-diagonal causal mask as HF's eager path does),
// one process each, same threads, one after the other. Two models: the tiny
// MLLM of configs/sft_tiny.yaml and the same with a ~100M decoder.
//
// usage: bench_sft_step [steps] [threads]
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/bench_mllms.h"
#include "core/host_memory.h"
#include "core/safetensors.h"
#include "core/timer.h"
#include "models/chat_template.h"
#include "models/mllm.h"
#include "trainer/sft_data.h"

using namespace fasrl;

namespace {

// 24 chat sequences of 1-3 images and a reasoning answer, packed into rows of
// at most 1024 tokens (as SFT packs them).
trainer::SequenceBatch make_batch(const models::BpeTokenizer& tok, models::MllmImpl& mllm, int64_t side) {
  const std::vector<std::vector<std::string>> present{{"rgb", "depth", "ir"}, {"rgb"}, {"rgb", "ir"}, {"depth", "ir"}};
  std::vector<trainer::ChatSequence> seqs;
  for (int i = 0; i < 24; ++i) {
    const auto& p = present[static_cast<size_t>(i) % present.size()];
    std::string path = "Looking at RGB, the face shows natural skin texture";
    for (int k = 0; k <= i % 5; ++k) path += ", and the depth map shows a smooth 3-D relief with soft shading";
    seqs.push_back(trainer::sft_sequence(tok, mllm, p, "Is the face in these images live or an attack?", path + ".", "live",
                                         torch::rand({static_cast<int64_t>(p.size()), 3, side, side}) * 2 - 1));
  }
  return trainer::collate(seqs, 1024, /*packing=*/true, tok.token_id(models::kEndOfTextToken));
}

}  // namespace

int bench_sft_step_main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 5;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  torch::set_num_threads(threads);
  keep_freed_host_memory();
  const std::string root = FASRL_SOURCE_DIR;
  const models::BpeTokenizer tok = models::BpeTokenizer::load(root + "/configs/tokenizer.json");
  std::printf("SFT step: 24 packed chat sequences with 1-3 images, AdamW, %d steps after a warm-up, %d threads\n", steps, threads);
  std::printf("%-15s %8s %10s %8s %16s %16s %8s\n", "model", "params", "rows", "targets", "fasrl tok/s", "python tok/s", "ratio");
  for (const auto& [name, config] : bench::benchmark_mllms(root)) {
    torch::manual_seed(0);
    models::Mllm model = models::make_mllm(config, tok, {"rgb", "depth", "ir"});
    const trainer::SequenceBatch b = make_batch(tok, *model, config.vision().image_size());
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-4).weight_decay(0.01));
    auto step = [&] {
      opt.zero_grad();
      const torch::Tensor logits = model->forward(b.ids, b.images, b.segments, b.positions);  // [R, L, V]
      const torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits.reshape({-1, logits.size(-1)}), b.targets.reshape({-1}),
          torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum)) / static_cast<double>(b.target_tokens);
      loss.backward();
      opt.step();
    };
    step();  // warm-up
    Stopwatch clock;
    for (int i = 0; i < steps; ++i) step();
    const double ours = static_cast<double>(b.target_tokens) * steps / clock.seconds();
    int64_t params = 0;
    nlohmann::json shapes = nlohmann::json::object();
    for (const auto& p : model->named_parameters()) {
      params += p.value().numel();
      shapes[p.key()] = p.value().sizes().vec();
    }
    // The python side gets the shapes, the architecture numbers and the batch.
    const std::string dir = "/tmp/fasrl_bench_sft";
    std::filesystem::create_directories(dir);
    save_safetensors(dir + "/batch.safetensors",
                     {{"ids", b.ids}, {"segments", b.segments}, {"positions", b.positions}, {"targets", b.targets}, {"images", b.images}});
    const auto& v = config.vision();
    const auto& dc = config.decoder();
    nlohmann::json spec = {{"shapes", shapes}, {"threads", threads}, {"steps", steps},
                           {"vision", {{"patch", v.patch_size()}, {"layers", v.layers()}, {"heads", v.heads()}}},
                           {"decoder", {{"layers", dc.num_hidden_layers()}, {"heads", dc.num_attention_heads()},
                                        {"kv_heads", dc.num_key_value_heads()}, {"theta", dc.rope_theta()},
                                        {"eps", dc.rms_norm_eps()}, {"tied", dc.tie_word_embeddings()}}},
                           {"image_pad_id", model->image_pad_id()}};
    std::ofstream(dir + "/spec.json") << spec.dump();
    model = nullptr;  // free before the python side runs
    double theirs = -1;
    const std::string cmd = "/usr/bin/python3 " + root + "/bench/sft_step.py " + dir;
    if (FILE* pipe = ::popen(cmd.c_str(), "r")) {
      if (std::fscanf(pipe, "tokens_per_s %lf", &theirs) != 1) theirs = -1;
      ::pclose(pipe);
    }
    const std::string rows = std::to_string(b.ids.size(0)) + "x" + std::to_string(b.ids.size(1));
    std::printf("%-15s %7.1fM %10s %8lld %16.1f %16.1f %7.2fx\n", name, params / 1e6, rows.c_str(),
                static_cast<long long>(b.target_tokens), ours, theirs, theirs > 0 ? ours / theirs : 0.0);
  }
  return 0;
}
