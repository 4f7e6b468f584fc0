#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/io.h"
#include "models/decoder.h"
#include "models/decode_attention.h"
#include "models/skinny_gemm.h"
#include "models/skinny_linear.h"
#include "test_util.h"

using namespace fasrl;

namespace {
proto::DecoderConfig small_vocab_decoder() { return fasrl::testing::tiny_decoder(40); }

// Logits [B, T, V] of ids [B, T] decoded with `cache`: the first `prefill`
// tokens in one pass, then one token per forward.
torch::Tensor decode_with_cache(models::Decoder& model, const torch::Tensor& ids, const torch::Tensor& positions,
                                int64_t prefill, models::KvCache& cache) {
  std::vector<torch::Tensor> pieces{
      model->forward(model->embed(ids.slice(1, 0, prefill)), positions.slice(1, 0, prefill), {}, &cache)};
  for (int64_t t = prefill; t < ids.size(1); ++t)
    pieces.push_back(model->forward(model->embed(ids.slice(1, t, t + 1)), positions.slice(1, t, t + 1), {}, &cache));
  return torch::cat(pieces, 1);
}
}  // namespace

TEST(Decoder, IncrementalDecodingWithCacheEqualsFullForward) {
  torch::manual_seed(0);
  models::Decoder model(small_vocab_decoder());
  torch::NoGradGuard g;
  const torch::Tensor ids = torch::randint(0, 40, {2, 9}, torch::kInt64);
  const torch::Tensor positions = torch::arange(9).unsqueeze(0).expand({2, 9});
  const torch::Tensor full = model->forward(model->embed(ids), positions);  // [2, 9, V]
  models::KvCache cache;
  const torch::Tensor incremental = decode_with_cache(model, ids, positions, 5, cache);
  EXPECT_EQ(cache.length(), 9);
  EXPECT_TRUE(torch::allclose(incremental, full, 1e-5, 1e-5));
}

TEST(Decoder, LeftPaddingDoesNotChangeTheRealTokens) {
  torch::manual_seed(1);
  models::Decoder model(small_vocab_decoder());
  torch::NoGradGuard g;
  const torch::Tensor ids = torch::randint(1, 40, {1, 6}, torch::kInt64);
  const torch::Tensor alone = model->forward(model->embed(ids), torch::arange(6).unsqueeze(0));
  const torch::Tensor padded_ids = torch::cat({torch::zeros({1, 3}, torch::kInt64), ids}, 1);
  const torch::Tensor pad = torch::cat({torch::zeros({1, 3}, torch::kInt64), torch::ones({1, 6}, torch::kInt64)}, 1);
  const torch::Tensor padded = model->forward(model->embed(padded_ids), (pad.cumsum(1) - 1).clamp_min(0), pad);
  EXPECT_FALSE(padded.isnan().any().item<bool>());
  EXPECT_TRUE(torch::allclose(padded.slice(1, 3), alone, 1e-5, 1e-5));
}

TEST(Decoder, TiedEmbeddingsHaveNoLmHead) {
  auto c = small_vocab_decoder();
  c.set_tie_word_embeddings(true);
  models::Decoder tied(c);
  for (const auto& p : tied->named_parameters()) EXPECT_EQ(p.key().find("lm_head"), std::string::npos);
  c.set_tie_word_embeddings(false);
  models::Decoder untied(c);
  bool found = false;
  for (const auto& p : untied->named_parameters()) found |= p.key() == "lm_head.weight";
  EXPECT_TRUE(found);
}

TEST(Decoder, HfDirectoryRoundTripAndForeignConfigKeys) {
  fasrl::testing::TempDir dir;
  torch::manual_seed(3);
  models::Decoder a(small_vocab_decoder());
  models::save_decoder(a, dir.path());
  // An HF config.json carries keys we ignore; add some, as Qwen2's does.
  std::string cfg = fasrl::read_file(dir.sub("config.json"));
  cfg.insert(cfg.find('{') + 1, "\"torch_dtype\": \"bfloat16\", \"use_sliding_window\": false, ");
  fasrl::atomic_write_file(dir.sub("config.json"), cfg);
  models::Decoder b = models::load_decoder(dir.path());
  torch::NoGradGuard g;
  const torch::Tensor ids = torch::randint(0, 40, {1, 5}, torch::kInt64);
  const torch::Tensor pos = torch::arange(5).unsqueeze(0);
  EXPECT_TRUE(torch::equal(a->forward(a->embed(ids), pos), b->forward(b->embed(ids), pos)));
  fasrl::atomic_write_file(dir.sub("config.json"), "{\"hidden_size\": 48, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, "
                                                   "\"vocab_size\": 40, \"num_hidden_layers\": 2, \"intermediate_size\": 64}");
  fasrl::testing::expect_error([&] { models::load_decoder(dir.path()); }, {"model.safetensors", "config.json implies"});
}

// The decode-step kernels of every instruction set this CPU has, against
// torch::linear: row counts around the 3- and 6-row tiles, widths with and
// without a vector tail, output counts around the 4- and 8-column blocks, a column
// range that starts inside the matrix, with and without bias.
TEST(SkinnyGemm, EveryKernelEqualsTorchLinear) {
  int kernels = 0;
  for (const char* isa : {"avx2", "avx512"}) {
    const models::SkinnyGemmFn fn = models::skinny_gemm_for(isa);
    if (!fn) continue;
    ++kernels;
    torch::manual_seed(1);
    for (int64_t n : {1, 2, 3, 5, 6, 7, 8, 13, 64})
      for (int64_t in : {3, 16, 40, 776})
        for (int64_t out : {1, 5, 12, 20, 67}) {
          const torch::Tensor x = torch::randn({n, in}), w = torch::randn({out, in}), b = torch::randn({out});
          const torch::Tensor expected = torch::linear(x, w, b);  // [n, out]
          torch::Tensor y = torch::full({n, out}, std::nanf(""));
          const int64_t begin = out > 4 ? 4 : 0;  // columns before `begin` stay untouched
          fn(x.data_ptr<float>(), n, in, w.data_ptr<float>(), b.data_ptr<float>(), y.data_ptr<float>(), out, begin, out);
          ASSERT_TRUE(torch::allclose(y.slice(1, begin), expected.slice(1, begin), 1e-4, 1e-4))
              << isa << " n=" << n << " in=" << in << " out=" << out;
          EXPECT_TRUE(y.slice(1, 0, begin).isnan().all().item<bool>()) << isa << ": wrote outside its columns";
          fn(x.data_ptr<float>(), n, in, w.data_ptr<float>(), nullptr, y.data_ptr<float>(), out, 0, out);
          ASSERT_TRUE(torch::allclose(y, torch::linear(x, w), 1e-4, 1e-4)) << isa << " without bias";
        }
  }
  if (kernels == 0) GTEST_SKIP() << "no skinny GEMM kernel on this CPU (not x86-64 with AVX2 + FMA)";
}

// apply_linear takes the kernel only for few rows outside autograd, and is
// torch::linear in value everywhere (3-D inputs, gradients, many rows).
TEST(SkinnyGemm, ApplyLinearMatchesTorchAndKeepsGradients) {
  torch::manual_seed(2);
  torch::nn::Linear layer(48, 20);
  const torch::Tensor few = torch::randn({2, 1, 48}), many = torch::randn({3, 7, 48});
  {
    torch::NoGradGuard g;
    EXPECT_TRUE(torch::allclose(models::apply_linear(layer, few), layer(few), 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(models::apply_linear(layer, many), layer(many), 1e-6, 1e-6));
  }
  torch::Tensor y = models::apply_linear(layer, few);
  ASSERT_TRUE(y.requires_grad()) << "a training forward must keep autograd";
  y.sum().backward();
  EXPECT_TRUE(torch::allclose(layer->weight.grad(), few.sum(1).sum(0).expand({20, 48})));
  EXPECT_NE(std::string(models::skinny_kernel()), "") << "the kernel in use has a name";
}

// Decoding one token per step with the kernel gives the logits of torch's path.
TEST(SkinnyGemm, DecodeStepsWithAndWithoutTheKernelAgree) {
  torch::manual_seed(3);
  models::Decoder model(small_vocab_decoder());
  torch::NoGradGuard g;
  const torch::Tensor ids = torch::randint(0, 40, {3, 6}, torch::kInt64);
  const torch::Tensor positions = torch::arange(6).unsqueeze(0).expand({3, 6});
  auto decode = [&] {
    models::KvCache cache;
    return decode_with_cache(model, ids, positions, 2, cache);  // [3, 6, V]
  };
  const torch::Tensor with_kernel = decode();
  models::set_skinny_linear_max_rows(0);
  const torch::Tensor without = decode();
  models::set_skinny_linear_max_rows(-1);
  EXPECT_TRUE(torch::allclose(with_kernel, without, 1e-5, 1e-5));
}

// The fused decode-step attention against the masked path, on strided views
// of a larger cache (as the slot cache hands them out), with 6 query heads
// over 2 key heads and rows that see different numbers of keys.
TEST(FusedDecodeAttention, EqualsTheMaskedPath) {
  torch::manual_seed(4);
  const int64_t n = 3, heads = 6, kv_heads = 2, hd = 20, span = 9;
  const torch::Tensor q = torch::randn({n, heads, 1, hd});
  const torch::Tensor k_buffer = torch::randn({n + 1, kv_heads, span + 4, hd}), v_buffer = torch::randn({n + 1, kv_heads, span + 4, hd});
  const torch::Tensor k = k_buffer.narrow(0, 0, n).narrow(2, 0, span), v = v_buffer.narrow(0, 0, n).narrow(2, 0, span);
  const std::vector<int64_t> visible{9, 1, 5};
  models::AttentionPlan plan;
  plan.mask = torch::zeros({n, 1, 1, span});
  for (int64_t i = 0; i < n; ++i) plan.mask[i].narrow(-1, visible[static_cast<size_t>(i)], span - visible[static_cast<size_t>(i)]).fill_(-INFINITY);
  torch::NoGradGuard g;
  ASSERT_TRUE(models::fused_decode_attention_applies(q, k, v));
  const torch::Tensor masked = models::attend(plan, q, k, v);  // [n, 1, H * hd]
  plan.visible = visible;
  const torch::Tensor fused = models::attend(plan, q, k, v);
  EXPECT_EQ(fused.sizes(), masked.sizes());
  EXPECT_TRUE(torch::allclose(fused, masked, 1e-5, 1e-5)) << (fused - masked).abs().max().item<float>();
  // The fused kernel really ran: it ignores the mask, so a wrong mask shows.
  plan.mask.zero_();
  EXPECT_TRUE(torch::allclose(models::attend(plan, q, k, v), masked, 1e-5, 1e-5));
  models::set_fused_decode_attention_enabled(false);
  EXPECT_FALSE(torch::allclose(models::attend(plan, q, k, v), masked, 1e-3, 1e-3)) << "masked path with no mask";
  models::set_fused_decode_attention_enabled(true);
  // Training keeps autograd: a query that requires grad takes the masked path.
  torch::AutoGradMode training(true);
  EXPECT_FALSE(models::fused_decode_attention_applies(q.clone().requires_grad_(), k, v));
}
