#include <gtest/gtest.h>

#include "data/reasoning_format.h"
#include "models/bpe_trainer.h"
#include "trainer/sft_data.h"
#include "test_util.h"

using namespace fasrl;

namespace {
const std::string kTokenizer = std::string(FASRL_SOURCE_DIR) + "/configs/tokenizer.json";

proto::MllmConfig tiny_mllm(int vocab) {
  proto::MllmConfig c;
  auto* v = c.mutable_vision();
  v->set_image_size(16), v->set_patch_size(8), v->set_width(16), v->set_layers(1), v->set_heads(2);
  v->mutable_moae()->set_enabled(false);
  *c.mutable_decoder() = fasrl::testing::tiny_decoder(vocab);
  return c;
}
}  // namespace

TEST(ReasoningFormat, ParsesWellFormedAndRejectsMalformed) {
  auto p = data::parse_response("<think>flat depth\nso print</think> <answer> Print </answer>");
  EXPECT_TRUE(p.well_formed);
  EXPECT_EQ(p.answer, "print");
  EXPECT_EQ(p.think, "flat depth\nso print");
  p = data::parse_response("<answer>live</answer>");  // no rationale: answer kept, not well formed
  EXPECT_FALSE(p.well_formed);
  EXPECT_EQ(p.answer, "live");
  EXPECT_FALSE(data::parse_response("<think>x</think><answer>live</answer> trailing").well_formed);
  EXPECT_FALSE(data::parse_response("<think>x<answer>live</answer>").well_formed);
  data::QaItem choice{"choice", "?", {"mask", "live"}, "B", "live", {"p"}};
  EXPECT_TRUE(data::answer_matches(choice, "b"));
  EXPECT_FALSE(data::answer_matches(choice, "live"));
  data::QaItem coarse{"coarse", "?", {}, "physical", "physical", {"p"}};
  EXPECT_TRUE(data::answer_matches(coarse, "physical"));
  EXPECT_FALSE(data::answer_matches(coarse, "digital"));
}

TEST(SftData, TargetsAreTheAssistantTokensOnly) {
  const auto tok = models::BpeTokenizer::load(kTokenizer);
  models::Mllm m = models::make_mllm(tiny_mllm(768), tok, {"rgb", "depth", "ir"});
  const torch::Tensor images = torch::randn({2, 3, 16, 16});
  const auto seq = trainer::sft_sequence(tok, *m, {"rgb", "ir"}, "Is it live?", "RGB: flat.", "attack", images);
  const std::string prompt = tok.decode(models::chat_prompt_ids(tok, *m, {"rgb", "ir"}, "Is it live?"));
  EXPECT_NE(prompt.find("<|im_start|>user\n<rgb>"), std::string::npos);
  EXPECT_EQ(prompt.substr(prompt.size() - 22), "<|im_start|>assistant\n");
  std::vector<int64_t> target_ids;
  for (size_t i = 0; i < seq.ids.size(); ++i)
    if (seq.is_target[i]) target_ids.push_back(seq.ids[i]);
  EXPECT_EQ(tok.decode(target_ids), "<think>RGB: flat.</think><answer>attack</answer><|im_end|>");
  const auto batch = trainer::collate({seq}, 1024, false, 0);
  EXPECT_EQ(batch.target_tokens, static_cast<int64_t>(target_ids.size()));
  fasrl::testing::expect_error([&] { trainer::collate({seq}, 10, false, 0); }, {"sft.max_length 10", "tokens"});
}

TEST(SftData, PackedRowsGiveTheSameLogitsAsPaddedRows) {
  torch::manual_seed(3);
  const auto tok = models::BpeTokenizer::load(kTokenizer);
  models::Mllm m = models::make_mllm(tiny_mllm(768), tok, {"rgb", "depth", "ir"});
  std::vector<trainer::ChatSequence> seqs;
  seqs.push_back(trainer::sft_sequence(tok, *m, {"rgb"}, "Live?", "RGB: halftone dots.", "attack", torch::randn({1, 3, 16, 16})));
  seqs.push_back(trainer::sft_sequence(tok, *m, {"rgb", "depth", "ir"}, "Which?", "Depth: flat. IR: glare.", "replay",
                                       torch::randn({3, 3, 16, 16})));
  seqs.push_back(trainer::sft_sequence(tok, *m, {"depth"}, "Coarse?", "Depth: relief.", "live", torch::randn({1, 3, 16, 16})));
  const auto padded = trainer::collate(seqs, 512, false, 0);
  const auto packed = trainer::collate(seqs, 512, true, 0);
  ASSERT_EQ(padded.ids.size(0), 3);
  ASSERT_EQ(packed.ids.size(0), 1);
  EXPECT_EQ(packed.target_tokens, padded.target_tokens);
  const torch::Tensor a = m->forward(padded.ids, padded.images, padded.segments, padded.positions);
  const torch::Tensor b = m->forward(packed.ids, packed.images, packed.segments, packed.positions);
  // Per-target log-likelihoods agree token for token.
  auto target_logp = [](const torch::Tensor& logits, const torch::Tensor& targets) {
    const torch::Tensor keep = targets.ne(-100);
    return logits.log_softmax(-1).gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1).masked_select(keep);
  };
  const torch::Tensor la = target_logp(a, padded.targets), lb = target_logp(b, packed.targets);
  ASSERT_EQ(la.numel(), lb.numel());
  EXPECT_LT((la - lb).abs().max().item<double>(), 1e-4);
}
