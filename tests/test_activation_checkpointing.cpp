// Activation checkpointing (models/checkpointing.h): the same loss and
// gradients as keeping the activations, for decoder layers over packed rows
// and for ViT blocks with MoAE experts; less memory held after forward.
#include <gtest/gtest.h>
#include <malloc.h>

#include "models/checkpointing.h"
#include "models/clip.h"
#include "models/decoder.h"
#include "test_util.h"

using namespace fasrl;

namespace {

// Bytes the host allocator has handed out and not got back.
int64_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
}

struct Pass {
  double loss;
  std::vector<torch::Tensor> grads;
  int64_t held_after_forward;  // bytes kept alive by the graph when forward returns
};

template <typename Forward>
Pass run(torch::nn::Module& model, Forward forward) {
  model.zero_grad();
  const int64_t before = heap_in_use();
  const torch::Tensor loss = forward();
  Pass p{loss.item<double>(), {}, heap_in_use() - before};
  loss.backward();
  for (const auto& t : model.parameters()) p.grads.push_back(t.grad().clone());
  return p;
}

void expect_same(const Pass& plain, const Pass& checkpointed) {
  EXPECT_EQ(plain.loss, checkpointed.loss);
  ASSERT_EQ(plain.grads.size(), checkpointed.grads.size());
  for (size_t i = 0; i < plain.grads.size(); ++i)
    EXPECT_TRUE(torch::allclose(plain.grads[i], checkpointed.grads[i], 1e-6, 1e-7))
        << "parameter " << i << ": max diff " << (plain.grads[i] - checkpointed.grads[i]).abs().max().item<double>();
}

}  // namespace

TEST(ActivationCheckpointing, DecoderLayersGiveTheSameGradientsWithLessMemory) {
  torch::manual_seed(0);
  proto::DecoderConfig c = fasrl::testing::tiny_decoder(300);
  c.set_hidden_size(64), c.set_intermediate_size(256), c.set_num_hidden_layers(8);
  models::Decoder model(c);
  // Two rows of 512 tokens, each packing sequences of different lengths.
  const torch::Tensor ids = torch::randint(300, {2, 512});
  const torch::Tensor segments = torch::cat({torch::full({2, 200}, 1), torch::full({2, 250}, 2), torch::full({2, 62}, 0)}, 1);
  const torch::Tensor positions = torch::cat({torch::arange(200), torch::arange(250), torch::zeros({62})}).to(torch::kInt64)
                                      .unsqueeze(0).expand({2, 512}).contiguous();
  auto forward = [&] {
    const torch::Tensor logits = model->forward(model->embed(ids), positions, segments);  // [2, 512, 300]
    return torch::nn::functional::cross_entropy(logits.slice(1, 0, 450).reshape({-1, 300}),
                                                ids.slice(1, 0, 450).reshape({-1}));
  };
  const Pass plain = run(*model, forward);
  models::set_activation_checkpointing(*model, true);
  const Pass checkpointed = run(*model, forward);
  expect_same(plain, checkpointed);
  std::printf("decoder, 8 layers, 2 x 512 tokens: %.1f MB held after forward, %.1f MB with checkpointing (%.2fx)\n",
              plain.held_after_forward / 1e6, checkpointed.held_after_forward / 1e6,
              static_cast<double>(checkpointed.held_after_forward) / static_cast<double>(plain.held_after_forward));
  EXPECT_LT(checkpointed.held_after_forward, plain.held_after_forward / 3);
}

TEST(ActivationCheckpointing, VitBlocksWithExpertsGiveTheSameGradients) {
  torch::manual_seed(1);
  proto::VisionConfig c;
  c.set_image_size(32), c.set_patch_size(8), c.set_width(48), c.set_layers(4), c.set_heads(4);
  c.mutable_moae()->set_enabled(true);
  models::VisionTransformer vit(c);
  const torch::Tensor images = torch::randn({6, 3, 32, 32});
  auto forward = [&] { return vit->forward(images).square().mean(); };
  const Pass plain = run(*vit, forward);
  models::set_activation_checkpointing(*vit, true);
  const Pass checkpointed = run(*vit, forward);
  expect_same(plain, checkpointed);
  std::printf("ViT, 4 blocks with MoAE: %.2f MB held after forward, %.2f MB with checkpointing\n",
              plain.held_after_forward / 1e6, checkpointed.held_after_forward / 1e6);
  EXPECT_LT(checkpointed.held_after_forward, plain.held_after_forward);
}

TEST(ActivationCheckpointing, WithoutGradientsTheBlockSimplyRuns) {
  int calls = 0;
  const models::Block twice = [&](const torch::Tensor& x) { ++calls; return x * 2; };
  const torch::Tensor x = torch::ones({3});  // requires no grad: no recompute node
  const torch::Tensor y = models::recompute_in_backward(twice, x);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(torch::equal(y, x * 2));
  const torch::Tensor w = torch::ones({3}, torch::requires_grad());
  const torch::Tensor z = models::recompute_in_backward(twice, w);
  ASSERT_TRUE(z.requires_grad());
  z.sum().backward();
  EXPECT_EQ(calls, 3);  // forward of x, forward of w, recompute in backward
  EXPECT_TRUE(torch::equal(w.grad(), torch::full({3}, 2.0)));
}
