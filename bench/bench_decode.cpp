// Decode throughput of a ~100M-parameter Qwen2-style decoder with a KV cache,
// batch 1, 16 and 64 (greedy, 16-token prompt), next to the same model in
// python3-torch eager with a KV cache, same run and threads; plus the memory
// bandwidth bound: every decode step streams all weights once, so
// tokens/s <= copy bandwidth / weight bytes x batch. The "no kernels" column
// is fasrl with its CPU decode kernels off (models/skinny_linear.h,
// models/decode_attention.h, models/decode_layer_cpu.h): torch ops only, as
// before them.
//
// usage: bench_decode [new_tokens] [threads] [batches, e.g. 1,16,64]
// FASRL_SKINNY_ROWS=N sets the rows up to which the decode kernel is used;
// FASRL_BENCH_PROFILE=1 runs fasrl with kernels only (for perf record).
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/host_memory.h"
#include "core/timer.h"
#include "core/yaml_proto.h"
#include "models/generate.h"
#include "models/decode_attention.h"
#include "models/decode_layer_cpu.h"
#include "models/skinny_linear.h"

using namespace fasrl;

int bench_decode_main(int argc, char** argv) {
  const int new_tokens = argc > 1 ? std::atoi(argv[1]) : 32;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const char* rows_env = std::getenv("FASRL_SKINNY_ROWS");
  const int64_t skinny_rows = rows_env ? std::atoi(rows_env) : -1;  // -1: the default
  const bool profile_only = std::getenv("FASRL_BENCH_PROFILE") != nullptr;
  std::vector<int> batches;
  for (std::istringstream list(argc > 3 ? argv[3] : "1,16,64"); list.good();) {
    std::string b;
    std::getline(list, b, ',');
    batches.push_back(std::stoi(b));
  }
  torch::set_num_threads(threads);
  keep_freed_host_memory();  // as the fasrl binary does
  proto::DecoderConfig c;
  c.set_vocab_size(32000), c.set_hidden_size(768), c.set_intermediate_size(2048), c.set_num_hidden_layers(12);
  c.set_num_attention_heads(12), c.set_num_key_value_heads(4), c.set_rope_theta(1e6), c.set_tie_word_embeddings(true);
  torch::manual_seed(0);
  models::Decoder model(c);
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  const double weight_bytes = static_cast<double>(params) * 4;

  // Copy bandwidth: read + write of a buffer far larger than the caches.
  torch::Tensor src = torch::rand({64 << 20}), dst = torch::empty_like(src);
  dst.copy_(src);
  double copy_bw = 0;  // bytes moved per second, the best of 8 copies (the bound is what the memory can do)
  for (int i = 0; i < 8; ++i) {
    Stopwatch bw_clock;
    dst.copy_(src);
    copy_bw = std::max(copy_bw, 2.0 * src.numel() * 4 / bw_clock.seconds());
  }

  proto::DecoderConfig spec_config = c;
  fill_defaults(&spec_config);
  std::string spec = message_to_json(spec_config);
  spec.insert(spec.find('{') + 1, "\"threads\": " + std::to_string(threads) + ",");
  std::ofstream("/tmp/fasrl_bench_decode.json") << spec;

  std::printf("decode: Qwen2-style, %.1fM params (%.0f MB fp32), %d new tokens after a 16-token prompt, %d threads\n",
              params / 1e6, weight_bytes / 1e6, new_tokens, threads);
  std::printf("copy bandwidth %.1f GB/s -> bound = %.1f tokens/s per sequence of the batch\n", copy_bw / 1e9,
              copy_bw / weight_bytes);
  models::set_skinny_linear_max_rows(skinny_rows);
  std::printf("skinny decode kernel: %s, up to %lld rows\n", models::skinny_kernel(),
              static_cast<long long>(models::skinny_linear_max_rows()));
  std::printf("%-6s %12s %18s %14s %8s %12s %9s\n", "batch", "fasrl tok/s", "no kernels tok/s", "python tok/s", "ratio",
              "bound tok/s", "of bound");
  for (int batch : batches) {
    std::vector<std::vector<int64_t>> prompts(static_cast<size_t>(batch));
    for (auto& p : prompts)
      for (int i = 0; i < 16; ++i) p.push_back(torch::randint(0, 32000, {1}).item<int64_t>());
    models::SamplingOptions o;
    o.temperature = 0;
    auto tokens_per_s = [&](bool kernels) {
      models::set_skinny_linear_max_rows(kernels ? skinny_rows : 0);
      models::set_fused_decode_attention_enabled(kernels);
      models::set_fused_decode_layer_enabled(kernels);
      o.max_new_tokens = 2;
      models::generate(model, prompts, o);  // warm-up
      o.max_new_tokens = new_tokens;
      Stopwatch clock;
      models::generate(model, prompts, o);
      return static_cast<double>(batch) * new_tokens / clock.seconds();
    };
    const double no_kernels = profile_only ? 0.0 : tokens_per_s(false);
    const double ours = tokens_per_s(true);
    double theirs = -1;
    if (profile_only) {
      std::printf("%-6d %12.1f\n", batch, ours);
      continue;
    }
    const std::string cmd = "/usr/bin/python3 " + std::string(FASRL_SOURCE_DIR) + "/bench/qwen2_decode.py /tmp/fasrl_bench_decode.json " +
                            std::to_string(batch) + " " + std::to_string(new_tokens);
    if (FILE* pipe = ::popen(cmd.c_str(), "r")) {
      if (std::fscanf(pipe, "tokens_per_s %lf", &theirs) != 1) theirs = -1;
      ::pclose(pipe);
    }
    const double bound = copy_bw / weight_bytes * batch;
    std::printf("%-6d %12.1f %18.1f %14.1f %7.2fx %12.1f %8.0f%%\n", batch, ours, no_kernels, theirs,
                theirs > 0 ? ours / theirs : 0.0, bound, 100 * ours / bound);
  }
  return 0;
}
