#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <regex>

#include "data/dataset.h"
#include "eval/mllm_eval.h"
#include "reasoning/response_format.h"
#include "synth/qa_dataset.h"
#include "synth/synth_dataset.h"
#include "models/chat_template.h"
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

// The linear parser against the std::regex definition it replaced, on every
// kind of tag soup, and on a response far past where the regex overflowed the stack.
TEST(ReasoningFormat, LinearParserEqualsTheRegexDefinitionAndHandlesHugeResponses) {
  const std::regex full(R"(^\s*<think>([\s\S]*?)</think>\s*<answer>([\s\S]*?)</answer>\s*$)");
  const std::regex answer_only(R"(<answer>([\s\S]*?)</answer>)");
  const std::vector<std::string> pieces{"<think>", "</think>", "<answer>", "</answer>", " ", "\n", "a", "B", "<", "think>"};
  std::mt19937 rng(5);
  int well_formed = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string text;
    const int len = static_cast<int>(rng() % 12);
    for (int i = 0; i < len; ++i) text += pieces[rng() % pieces.size()];
    if (n % 3 == 0) text = "<think>" + text + "</answer>";  // make the full form likely
    std::smatch m;
    reasoning::ParsedResponse want;
    if (std::regex_match(text, m, full)) {
      want.well_formed = true, want.think = m[1], want.answer = m[2];
    } else if (std::regex_search(text, m, answer_only)) {
      want.answer = m[1];
    }
    const auto got = reasoning::parse_response(text);
    ASSERT_EQ(got.well_formed, want.well_formed) << text;
    well_formed += got.well_formed;
    if (got.well_formed) {
      ASSERT_EQ(got.think, want.think) << text;
    }
    std::string answer = want.answer;
    answer.erase(0, answer.find_first_not_of(" \t\r\n") == std::string::npos ? answer.size() : answer.find_first_not_of(" \t\r\n"));
    answer.erase(answer.find_last_not_of(" \t\r\n") + 1);
    std::transform(answer.begin(), answer.end(), answer.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    ASSERT_EQ(got.answer, answer) << text;
  }
  EXPECT_GT(well_formed, 100);  // the generator reaches the well-formed branch
  const std::string huge = "<think>" + std::string(4 << 20, 'x') + "</think><answer>live</answer>";
  const auto p = reasoning::parse_response(huge);
  EXPECT_TRUE(p.well_formed);
  EXPECT_EQ(p.answer, "live");
  EXPECT_EQ(reasoning::parse_response(std::string(1 << 20, '<') + "<answer>x").answer, "");
}

TEST(ReasoningFormat, ParsesWellFormedAndRejectsMalformed) {
  auto p = reasoning::parse_response("<think>flat depth\nso print</think> <answer> Print </answer>");
  EXPECT_TRUE(p.well_formed);
  EXPECT_EQ(p.answer, "print");
  EXPECT_EQ(p.think, "flat depth\nso print");
  p = reasoning::parse_response("<answer>live</answer>");  // no rationale: answer kept, not well formed
  EXPECT_FALSE(p.well_formed);
  EXPECT_EQ(p.answer, "live");
  EXPECT_FALSE(reasoning::parse_response("<think>x</think><answer>live</answer> trailing").well_formed);
  EXPECT_FALSE(reasoning::parse_response("<think>x<answer>live</answer>").well_formed);
  reasoning::QaItem choice{"choice", "?", {"mask", "live"}, "B", "live", {"p"}};
  EXPECT_TRUE(reasoning::answer_matches(choice, "b"));
  EXPECT_FALSE(reasoning::answer_matches(choice, "live"));
  reasoning::QaItem coarse{"coarse", "?", {}, "physical", "physical", {"p"}};
  EXPECT_TRUE(reasoning::answer_matches(coarse, "physical"));
  EXPECT_FALSE(reasoning::answer_matches(coarse, "digital"));
}

TEST(MllmEvalScore, BalancedAccuracyIsTheMeanRecallOverTrueLabels) {
  eval::KindScore constant;  // answers "attack" to 3 attacks and 1 live item
  for (int i = 0; i < 3; ++i) constant.add("attack", true);
  constant.add("live", false);
  EXPECT_DOUBLE_EQ(constant.accuracy(), 0.75);
  EXPECT_DOUBLE_EQ(constant.majority(), 0.75);
  EXPECT_DOUBLE_EQ(constant.balanced_accuracy(), 0.5);
  eval::KindScore mixed;  // recalls: attack 2/3, live 1/2, print 0/1 -> (2/3 + 1/2 + 0) / 3
  for (bool c : {true, true, false}) mixed.add("attack", c);
  for (bool c : {true, false}) mixed.add("live", c);
  mixed.add("print", false);
  EXPECT_DOUBLE_EQ(mixed.balanced_accuracy(), (2.0 / 3.0 + 0.5) / 3.0);
  EXPECT_EQ(eval::KindScore().balanced_accuracy(), 0.0);
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

TEST(SftData, AnswerSwapReplacesTheConfiguredFractionReproducibly) {
  fasrl::testing::TempDir tmp;
  synth::synthesize_dataset(fasrl::testing::tiny_synth(tmp.sub("synth"), 12, 8, 16));
  const auto kg = reasoning::KnowledgeGraph::load(std::string(FASRL_SOURCE_DIR) + "/configs/fakg.yaml");
  reasoning::QaOptions qa;
  qa.kinds = {"binary"};
  qa.paths_per_item = 2;
  synth::add_qa_to_dataset(tmp.sub("synth"), tmp.sub("qa"), kg, qa, "qa");
  const auto tok = models::BpeTokenizer::load(kTokenizer);
  proto::MllmConfig mc = tiny_mllm(768);
  models::Mllm m = models::make_mllm(mc, tok, {"rgb", "depth", "ir"});
  proto::LoaderConfig lc;
  lc.set_dataset(tmp.sub("qa"));
  lc.set_batch_size(16);
  lc.set_workers(1);
  lc.set_image_size(16);
  lc.add_text_fields("qa");
  auto dataset = std::make_shared<const data::Dataset>(tmp.sub("qa"));
  // Fraction of sequences whose <answer> is not the sample's own binary label.
  auto mismatch = [&](double fraction, std::vector<std::string>* answers) {
    proto::SftConfig sft;
    sft.set_answer_swap_fraction(static_cast<float>(fraction));
    data::Loader loader(dataset, lc, 0, 1, 5);
    int n = 0, wrong = 0;
    for (int b = 0; b < 4; ++b) {
      const data::Batch batch = loader.next();
      const auto in = models::mllm_images(batch.images, batch.modality_mask, batch.modalities);
      const auto seqs = trainer::sft_batch_sequences(batch, in, tok, *m, "qa", sft, 9);
      for (size_t i = 0; i < seqs.size(); ++i) {
        std::vector<int64_t> target;
        for (size_t t = 0; t < seqs[i].ids.size(); ++t)
          if (seqs[i].is_target[t]) target.push_back(seqs[i].ids[t]);
        const auto parsed = reasoning::parse_response(tok.decode(target).substr(0, tok.decode(target).rfind("<|im_end|>")));
        EXPECT_TRUE(parsed.answer == "live" || parsed.answer == "attack") << parsed.answer;
        answers->push_back(parsed.answer);
        wrong += parsed.answer != (batch.binary[static_cast<int64_t>(i)].item<int64_t>() ? "attack" : "live");
        ++n;
      }
    }
    return static_cast<double>(wrong) / n;
  };
  std::vector<std::string> a0, a1, a1_again;
  EXPECT_EQ(mismatch(0.0, &a0), 0.0);
  const double swapped = mismatch(1.0, &a1);
  mismatch(1.0, &a1_again);
  EXPECT_EQ(a1, a1_again);  // seeded: the same swaps every time
  // Every answer is another sample's: wrong whenever the two labels differ (~2p(1-p) of the time).
  EXPECT_GT(swapped, 0.2);
  EXPECT_LT(swapped, 0.8);
}
