// Rollout samples/s of the reasoning MLLM before vs after the rollout engine,
// in one run: G = 8 samples for each of 4 prompts with images (3, 1, 2 and 2
// modalities), temperature 1, random weights (every sample runs to
// max_new_tokens, so this measures prefill sharing, the preallocated cache
// and the host transfers, not early exits). Before = bench/generate_baseline
// (the old loop: each sample prefilled separately, concatenating cache,
// per-row reads); after = models::generate_chat with group_size 8, all
// sequences at once and with 16 slots (continuous batching, two groups at a time).
//
// usage: bench_rollout [new_tokens] [threads]
#include <torch/torch.h>

#include <cstdio>

#include "bench/bench_mllms.h"
#include "bench/generate_baseline.h"
#include "core/host_memory.h"
#include "core/timer.h"
#include "models/chat_template.h"

using namespace fasrl;

namespace {

double best_seconds(int reps, const std::function<void()>& run) {
  run();  // warm-up
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    Stopwatch clock;
    run();
    best = std::min(best, clock.seconds());
  }
  return best;
}

}  // namespace

int bench_rollout_main(int argc, char** argv) {
  const int new_tokens = argc > 1 ? std::atoi(argv[1]) : 48;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  torch::set_num_threads(threads);
  keep_freed_host_memory();
  const std::string root = FASRL_SOURCE_DIR;
  const models::BpeTokenizer tok = models::BpeTokenizer::load(root + "/configs/tokenizer.json");
  const std::vector<std::string> modalities{"rgb", "depth", "ir"};
  const std::vector<std::vector<std::string>> present{{"rgb", "depth", "ir"}, {"rgb"}, {"rgb", "ir"}, {"depth", "ir"}};
  const int64_t g = 8;

  std::printf("rollout: 4 prompts x G=%lld, %d new tokens, temperature 1, %d threads\n", static_cast<long long>(g), new_tokens, threads);
  std::printf("%-15s %8s %14s %14s %8s %16s %8s\n", "model", "prompt", "before smp/s", "after smp/s", "ratio", "16 slots smp/s",
              "ratio");
  for (const auto& [name, config] : bench::benchmark_mllms(root)) {
    torch::manual_seed(0);
    models::Mllm model = models::make_mllm(config, tok, modalities);
    model->eval();
    std::vector<std::vector<int64_t>> prompts;
    int64_t images = 0;
    for (const auto& p : present) {
      prompts.push_back(models::chat_prompt_ids(tok, *model, p, "Is the face in these images live or an attack? Answer live or attack."));
      images += static_cast<int64_t>(p.size());
    }
    const int64_t side = config.vision().image_size();
    const torch::Tensor pixels = torch::rand({images, 3, side, side}) * 2 - 1;
    models::ChatSampling after;
    after.temperature = 1.0;
    after.max_new_tokens = new_tokens;
    after.seed = 3;
    after.group_size = g;

    // Before: every sample its own row, images repeated with it.
    std::vector<std::vector<int64_t>> rows;
    std::vector<torch::Tensor> row_images;
    int64_t offset = 0;
    for (size_t p = 0; p < prompts.size(); ++p) {
      const int64_t k = static_cast<int64_t>(present[p].size());
      for (int64_t c = 0; c < g; ++c) {
        rows.push_back(prompts[p]);
        row_images.push_back(pixels.slice(0, offset, offset + k));
      }
      offset += k;
    }
    const torch::Tensor repeated = torch::cat(row_images, 0);
    models::SamplingOptions before;
    before.temperature = 1.0;
    before.max_new_tokens = new_tokens;
    before.seed = 3;
    before.eos_id = before.pad_id = tok.token_id(models::kImEndToken);
    before.banned_ids = models::policy_banned_ids(*model, tok);
    const double t_before = best_seconds(2, [&] {
      bench::generate_baseline(
          model->language_model(), rows, before, [&](const torch::Tensor& ids) { return model->embed(ids, repeated); },
          [&](const torch::Tensor& ids, const torch::Tensor& pad) { return model->prompt_positions(ids, pad); });
    });
    const double t_after = best_seconds(2, [&] { models::generate_chat(*model, tok, prompts, pixels, after); });
    after.slots = 16;
    const double t_slots = best_seconds(2, [&] { models::generate_chat(*model, tok, prompts, pixels, after); });
    const double n = static_cast<double>(rows.size());
    std::printf("%-15s %8zu %14.1f %14.1f %7.2fx %16.1f %7.2fx\n", name, prompts[0].size(), n / t_before, n / t_after,
                t_before / t_after, n / t_slots, t_before / t_slots);
  }
  return 0;
}
