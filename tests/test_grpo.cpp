#include <gtest/gtest.h>

#include "comm/role_protocol.h"
#include "reasoning/rewards.h"
#include "proto/rollout.pb.h"
#include "rollout/advantages.h"
#include "rollout/reward_shaping.h"
#include "test_util.h"
#include "trainer/grpo_batch.h"
#include "trainer/grpo_loss.h"

using namespace fasrl;

namespace {
const reasoning::QaItem kFine{"fine", "What kind of face is this?", {}, "replay", "replay", {"p"}};
const reasoning::QaItem kChoice{"choice", "Which option?", {"print", "replay", "live"}, "B", "replay", {"p"}};

proto::RolloutBatch valid_batch() {
  proto::RolloutBatch b;
  b.set_policy_version(4);
  b.set_worker(2);
  b.set_step(5);
  auto* g = b.add_groups();
  g->set_sample_id("s1");
  g->set_kind("fine");
  for (int64_t id : {1, 2, 3}) g->add_prompt_ids(id);
  auto* img = g->add_images();
  img->set_modality("depth");
  img->set_channels(1), img->set_height(2), img->set_width(2);
  img->set_pixels(std::string("\x00\x40\x80\xff", 4));
  for (int c = 0; c < 2; ++c) {
    auto* comp = g->add_completions();
    comp->add_tokens(7), comp->add_tokens(8);
    comp->add_logprobs(-0.5f), comp->add_logprobs(-1.5f);
    comp->set_reward(c), comp->set_advantage(c ? 0.7f : -0.7f);
    (*comp->mutable_reward_terms())["format"] = 1;
  }
  return b;
}
}  // namespace

TEST(Rewards, HandWrittenRationales) {
  const auto kg = reasoning::KnowledgeGraph::load(fasrl::testing::fakg_path());
  proto::RewardConfig w;  // format 0.5, accuracy 1, kg 0.5
  // Well formed, right answer, cues the graph supports for replay.
  auto r = reasoning::score_response(
      "<think>The colour image shows a moire pattern; the infrared image shows screen glare.</think><answer>replay</answer>",
      kFine, "replay", kg, w);
  EXPECT_EQ(r.format, 1);
  EXPECT_EQ(r.accuracy, 1);
  EXPECT_EQ(r.claimed_cues, 2);
  EXPECT_EQ(r.supporting_cues, 2);
  EXPECT_EQ(r.contradicting_cues, 0);
  EXPECT_DOUBLE_EQ(r.kg, 1.0);
  EXPECT_DOUBLE_EQ(r.total, 0.5 + 1 + 0.5);
  // Contradicting the graph: a real-face depth relief and skin shading for a replay.
  r = reasoning::score_response(
      "<think>The depth map shows the relief of a real face and the infrared image shows soft skin shading.</think>"
      "<answer>replay</answer>", kFine, "replay", kg, w);
  EXPECT_EQ(r.claimed_cues, 2);
  EXPECT_EQ(r.contradicting_cues, 2);
  EXPECT_EQ(r.supporting_cues, 0);
  EXPECT_DOUBLE_EQ(r.kg, -1.0);
  EXPECT_DOUBLE_EQ(r.total, 0.5 + 1 - 0.5);
  // One supporting, one contradicting, one neutral-free: mean.
  r = reasoning::score_response("<think>the depth map is flat; the colour image shows natural skin texture</think><answer>print</answer>",
                           kFine, "replay", kg, w);
  EXPECT_DOUBLE_EQ(r.kg, 0.0);
  EXPECT_EQ(r.supporting_cues, 1);
  EXPECT_EQ(r.contradicting_cues, 1);
  EXPECT_EQ(r.accuracy, 0);
  // Malformed: no think block; the answer still counts; cues read from the whole text.
  r = reasoning::score_response("replay because the depth map is flat <answer>replay</answer>", kFine, "replay", kg, w);
  EXPECT_EQ(r.format, 0);
  EXPECT_EQ(r.accuracy, 1);
  EXPECT_DOUBLE_EQ(r.kg, 1.0);
  // Multiple choice: the letter.
  EXPECT_EQ(reasoning::score_response("<think>x</think><answer>B</answer>", kChoice, "replay", kg, w).accuracy, 1);
  EXPECT_EQ(reasoning::score_response("<think>x</think><answer>replay</answer>", kChoice, "replay", kg, w).accuracy, 0);
  EXPECT_EQ(reasoning::score_response("<think>x</think><answer>B</answer> extra", kChoice, "replay", kg, w).format, 0);
}

TEST(Advantages, GroupNormalised) {
  const auto a = rollout::group_advantages({1, 0, 1, 0, 3, 3}, 2, true, 1e-4);
  EXPECT_NEAR(a[0], 0.5 / (std::sqrt(0.5) + 1e-4), 1e-12);
  EXPECT_NEAR(a[1], -a[0], 1e-12);
  EXPECT_EQ(a[4], 0.0);  // a group of equal rewards teaches nothing
  EXPECT_EQ(rollout::group_advantages({1, 0}, 2, false, 1e-4)[0], 0.5);
  fasrl::testing::expect_error([] { rollout::group_advantages({1, 2, 3}, 2, true, 1e-4); }, {"groups of 2"});
}

TEST(Advantages, ClassBalanceWeighsEachClassEqually) {
  // 3 attack groups and 1 live: n = 4, k = 2 -> attack 4 / (2 * 3), live 4 / (2 * 1).
  const auto w = rollout::class_balance_weights({1, 0, 1, 1});
  ASSERT_EQ(w.size(), 4u);
  EXPECT_DOUBLE_EQ(w[0], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(w[1], 2.0);
  EXPECT_DOUBLE_EQ(w[0] + w[2] + w[3], w[1]);  // equal totals per class
  // One class only, or already balanced: every weight 1.
  for (double x : rollout::class_balance_weights({1, 1, 1})) EXPECT_DOUBLE_EQ(x, 1.0);
  for (double x : rollout::class_balance_weights({0, 1, 1, 0})) EXPECT_DOUBLE_EQ(x, 1.0);
  EXPECT_TRUE(rollout::class_balance_weights({}).empty());
}

TEST(RolloutBatch, RoundTripAndMalformedMessagesAreRejected) {
  std::string bytes;
  ASSERT_TRUE(valid_batch().SerializeToString(&bytes));
  const auto b = trainer::parse_rollout_batch(bytes, 2, 5, 1, 2, 100);
  EXPECT_EQ(b.groups(0).completions(1).tokens(1), 8);
  EXPECT_FLOAT_EQ(b.groups(0).completions(0).advantage(), -0.7f);
  const torch::Tensor img = trainer::group_images(b.groups(0));
  ASSERT_EQ(img.sizes(), (std::vector<int64_t>{1, 3, 2, 2}));
  EXPECT_FLOAT_EQ(img[0][2][1][1].item<float>(), 1.0f);   // 255 -> 1
  EXPECT_FLOAT_EQ(img[0][0][0][0].item<float>(), -1.0f);  // 0 -> -1

  using fasrl::testing::expect_error;
  expect_error([&] { trainer::parse_rollout_batch(bytes.substr(0, bytes.size() / 2), 2, 5, 1, 2, 100); },
               {"RolloutBatch from rank 2", "malformed"});
  expect_error([&] { trainer::parse_rollout_batch(bytes, 2, 6, 0, 2, 100); }, {"is for step 5", "at step 6"});
  expect_error([&] { trainer::parse_rollout_batch(bytes, 2, 5, 0, 2, 100); }, {"policy version 4 is outside [5, 5]"});
  expect_error([&] { trainer::parse_rollout_batch(bytes, 2, 5, 1, 4, 100); }, {"group 0 (s1)", "2 completions, expected group_size 4"});
  expect_error([&] { trainer::parse_rollout_batch(bytes, 2, 5, 1, 2, 8); }, {"token 8 outside [0, 8)"});
  auto bad = valid_batch();
  bad.mutable_groups(0)->mutable_completions(1)->add_tokens(9);
  bad.SerializeToString(&bytes);
  expect_error([&] { trainer::parse_rollout_batch(bytes, 2, 5, 1, 2, 100); }, {"completion 1", "3 tokens and 2 log-probs"});
  bad = valid_batch();
  bad.mutable_groups(0)->mutable_images(0)->set_pixels("abc");
  bad.SerializeToString(&bytes);
  expect_error([&] { trainer::parse_rollout_batch(bytes, 2, 5, 1, 2, 100); }, {"image 'depth' has 3 bytes for 1x2x2"});
  // Images of another size than the model's, or a prompt whose image-pad
  // tokens do not match its images (prompt ids 1, 2, 3; pad id 2).
  valid_batch().SerializeToString(&bytes);
  expect_error([&] { trainer::parse_rollout_batch(bytes, 2, 5, 1, 2, 100, {4, -1, 0}); },
               {"RolloutBatch from rank 2, group 0 (s1)", "image 'depth' is 2x2, the model takes 4x4"});
  expect_error([&] { trainer::parse_rollout_batch(bytes, 2, 5, 1, 2, 100, {2, 2, 3}); },
               {"group 0 (s1)", "1 image-pad tokens for 1 images of 3"});
  EXPECT_NO_THROW(trainer::parse_rollout_batch(bytes, 2, 5, 1, 2, 100, {2, 2, 1}));
  bad = valid_batch();
  bad.mutable_groups(0)->mutable_completions(0)->set_advantage(std::nanf(""));
  bad.SerializeToString(&bytes);
  expect_error([&] { trainer::parse_rollout_batch(bytes, 2, 5, 1, 2, 100); }, {"non-finite"});
}

TEST(WeightMessages, RoundTripAndWrongSizeIsAnError) {
  std::vector<torch::Tensor> src{torch::randn({3, 4}), torch::randn({5}), torch::randn({2, 2, 2}).to(torch::kFloat64)};
  const std::string bytes = comm::encode_weights(17, src);
  EXPECT_EQ(bytes.size(), 8u + 4u * (12 + 5 + 8));
  std::vector<torch::Tensor> dst{torch::zeros({3, 4}), torch::zeros({5}), torch::zeros({2, 2, 2}, torch::kFloat64)};
  EXPECT_EQ(comm::decode_weights_into(bytes, dst, "test").version, 17);
  for (size_t i = 0; i < src.size(); ++i) EXPECT_TRUE(torch::allclose(dst[i], src[i], 1e-6, 1e-6)) << i;
  std::vector<torch::Tensor> wrong{torch::zeros({3, 4})};
  fasrl::testing::expect_error([&] { comm::decode_weights_into(bytes, wrong, "weights from learner 0"); },
                               {"weights from learner 0", "108 bytes, expected 56"});
}

namespace {
// Two completions (2 tokens and 1), rollout log-probs 0, ratios 2, 0.5 and 1.1, advantages -1 and +1.
struct HandCase {
  torch::Tensor logp = torch::tensor({{std::log(2.0), std::log(0.5)}, {std::log(1.1), 0.0}}, torch::kFloat64).requires_grad_(true);
  torch::Tensor rollout = torch::zeros({2, 2}, torch::kFloat64);
  torch::Tensor adv = torch::tensor({-1.0, 1.0}, torch::kFloat64);
  torch::Tensor mask = torch::tensor({{1.0, 1.0}, {1.0, 0.0}}, torch::kFloat64);
  trainer::GrpoLossTerms run(const trainer::GrpoLossOptions& o) {
    auto t = trainer::grpo_loss(logp, rollout, {}, adv, mask, o);
    t.loss.backward();
    return t;
  }
};
}  // namespace

// Per-token clipped terms of the hand case: ratio 2 with A = -1 -> 2; ratio 0.5
// with A = -1 -> max(0.5, 0.8) = 0.8; ratio 1.1 with A = +1 -> -1.1.
TEST(GrpoLoss, AggregationModesByHand) {
  trainer::GrpoLossOptions o;
  HandCase token;
  EXPECT_NEAR(token.run(o).loss.item<double>(), (2 + 0.8 - 1.1) / 3, 1e-12);
  EXPECT_NEAR(token.logp.grad()[0][0].item<double>(), 2.0 / 3, 1e-12);  // d(ratio)/d logp = ratio, unclipped branch
  EXPECT_NEAR(token.logp.grad()[0][1].item<double>(), 0.0, 1e-12);      // clipped branch: no gradient
  o.aggregation = "seq_mean_token_sum";
  EXPECT_NEAR(HandCase().run(o).loss.item<double>(), ((2 + 0.8) + (-1.1)) / 2, 1e-12);
  o.aggregation = "seq_mean_token_mean";
  EXPECT_NEAR(HandCase().run(o).loss.item<double>(), ((2 + 0.8) / 2 + (-1.1)) / 2, 1e-12);
}

TEST(GrpoLoss, DualClipCapsNegativeAdvantageTokensByHand) {
  trainer::GrpoLossOptions o;
  o.clip_ratio_c = 1.5;
  HandCase h;
  const auto t = h.run(o);
  EXPECT_NEAR(t.loss.item<double>(), (1.5 + 0.8 - 1.1) / 3, 1e-12);  // 2 capped at 1.5 * |A|
  EXPECT_NEAR(t.dual_clip_fraction, 1.0 / 3, 1e-12);
  EXPECT_EQ(h.logp.grad()[0][0].item<double>(), 0.0);  // a capped token carries no gradient
  EXPECT_NEAR(h.logp.grad()[1][0].item<double>(), -1.1 / 3, 1e-12);
}

TEST(GrpoLoss, TruncatedImportanceSamplingByHand) {
  trainer::GrpoLossOptions o;
  o.tis_cap = 1.5;
  HandCase h;
  const auto t = h.run(o);
  // Behaviour = the learner's own log-probs: ratio 1, pg = -A; weights min(2, 1.5), 0.5, 1.1.
  EXPECT_NEAR(t.loss.item<double>(), (1.5 * 1 + 0.5 * 1 + 1.1 * -1) / 3, 1e-12);
  EXPECT_NEAR(t.tis_weight_mean, (1.5 + 0.5 + 1.1) / 3, 1e-12);
  EXPECT_NEAR(t.ratio_mean, 1.0, 1e-12);
  EXPECT_NEAR(h.logp.grad()[0][0].item<double>(), 1.5 / 3, 1e-12);  // -A * w / tokens
  EXPECT_NEAR(h.logp.grad()[1][0].item<double>(), -1.1 / 3, 1e-12);
}

TEST(GrpoLoss, OptionsAreCheckedWithTheirKeys) {
  proto::GrpoConfig g;
  g.set_aggregation("sequence_mean");  // the old name still works
  EXPECT_EQ(trainer::grpo_loss_options(g).aggregation, "seq_mean_token_mean");
  g.set_aggregation("sum");
  fasrl::testing::expect_error([&] { trainer::grpo_loss_options(g); }, {"train.grpo.aggregation", "'sum'"});
  g.set_aggregation("token_mean");
  g.set_clip_ratio_c(0.5);
  fasrl::testing::expect_error([&] { trainer::grpo_loss_options(g); }, {"train.grpo.clip_ratio_c", "greater than 1"});
  g.set_clip_ratio_c(3);
  g.set_tis_cap(-1);
  fasrl::testing::expect_error([&] { trainer::grpo_loss_options(g); }, {"train.grpo.tis_cap"});
  proto::GrpoConfig r;
  r.set_group_size(8);
  r.set_rollout_slots(4);
  fasrl::testing::expect_error([&] { rollout::check_rollout_options(r); }, {"train.grpo.rollout_slots: 4", "group_size (8)"});
  r.set_rollout_slots(16);
  r.set_max_new_tokens(64);
  r.set_overlong_buffer_length(65);
  fasrl::testing::expect_error([&] { rollout::check_rollout_options(r); }, {"train.grpo.overlong_buffer_length: 65"});
}

TEST(RewardShaping, OverlongPenaltyByHand) {
  EXPECT_EQ(rollout::overlong_penalty(80, 100, 20, 1.0), 0.0);   // within max - buffer
  EXPECT_EQ(rollout::overlong_penalty(90, 100, 20, 0.5), -0.25);  // half-way into the buffer
  EXPECT_EQ(rollout::overlong_penalty(100, 100, 20, 1.0), -1.0);  // at the limit
  EXPECT_EQ(rollout::overlong_penalty(100, 100, 0, 1.0), 0.0);    // off
}

TEST(RewardShaping, DynamicSamplingDropsEqualGroupsAndRefills) {
  auto add_group = [](proto::RolloutBatch& b, const std::string& id, std::vector<float> rewards) {
    auto* g = b.add_groups();
    g->set_sample_id(id);
    for (float r : rewards) g->add_completions()->set_reward(r);
  };
  auto make = [&] {
    proto::RolloutBatch b;
    add_group(b, "same1", {1, 1});
    add_group(b, "mixed", {0, 1});
    add_group(b, "same2", {2, 2});
    return b;
  };
  auto refill = [&](int r, proto::RolloutBatch& extra) {
    if (r == 0) add_group(extra, "r0same", {3, 3}), add_group(extra, "r0mixed", {1, 0});
    else add_group(extra, "r1mixed", {5, 6});
  };
  auto ids = [](const proto::RolloutBatch& b) {
    std::vector<std::string> out;
    for (const auto& g : b.groups()) out.push_back(g.sample_id());
    return out;
  };
  proto::RolloutBatch full = make();
  rollout::keep_informative_groups(full, 4, refill);
  EXPECT_EQ(ids(full), (std::vector<std::string>{"mixed", "r0mixed", "r1mixed"}));
  EXPECT_EQ(full.dropped_groups(), 3);
  EXPECT_EQ(full.refill_batches(), 2);
  proto::RolloutBatch short_of_refills = make();
  rollout::keep_informative_groups(short_of_refills, 1, refill);
  EXPECT_EQ(ids(short_of_refills), (std::vector<std::string>{"mixed", "r0mixed", "same1"}));  // completed with a dropped group
  EXPECT_EQ(short_of_refills.refill_batches(), 1);
  EXPECT_TRUE(rollout::group_has_signal({1, 1, 2}));
  EXPECT_FALSE(rollout::group_has_signal({0.5, 0.5}));
}
