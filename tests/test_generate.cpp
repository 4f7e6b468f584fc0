#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "models/decode_layer_cpu.h"
#include "models/generate.h"
#include "models/skinny_linear.h"
#include "test_util.h"

using namespace fasrl;

namespace {
proto::DecoderConfig byte_vocab_decoder() { return fasrl::testing::tiny_decoder(260); }

// Byte-level tokenizer with no merges: token id = byte value.
models::BpeTokenizer byte_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[models::gpt2_byte_alphabet()[static_cast<size_t>(b)]] = b;
  nlohmann::json j = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  return models::BpeTokenizer::from_json(j.dump(), "bytes");
}
const std::vector<std::vector<int64_t>> kPrompts{{5, 9, 23, 7}, {100, 3}, {44, 45, 46, 47, 48, 49}};
}  // namespace

TEST(Generate, CacheAndNoCacheGiveTheSameSamples) {
  torch::manual_seed(0);
  models::Decoder model(byte_vocab_decoder());
  for (double temperature : {0.0, 1.0}) {
    models::SamplingOptions o;
    o.temperature = temperature;
    o.max_new_tokens = 12;
    o.seed = 7;
    const auto cached = models::generate(model, kPrompts, o);
    o.use_cache = false;
    const auto full = models::generate(model, kPrompts, o);
    EXPECT_EQ(cached.tokens, full.tokens) << "temperature " << temperature;
    for (size_t i = 0; i < kPrompts.size(); ++i)
      for (size_t t = 0; t < cached.logprobs[i].size(); ++t)
        EXPECT_NEAR(cached.logprobs[i][t], full.logprobs[i][t], 1e-5);
  }
}

TEST(Generate, LogprobsEqualTeacherForcedForwardAndSeedsReproduce) {
  torch::manual_seed(1);
  models::Decoder model(byte_vocab_decoder());
  models::SamplingOptions o;
  o.temperature = 0.8;
  o.top_k = 50;
  o.top_p = 0.9;
  o.max_new_tokens = 10;
  o.seed = 3;
  const auto g = models::generate(model, kPrompts, o);
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    ASSERT_EQ(g.tokens[i].size(), 10u);
    const auto forced = models::score_completion(model, kPrompts[i], g.tokens[i], o.temperature);
    for (size_t t = 0; t < forced.size(); ++t) EXPECT_NEAR(g.logprobs[i][t], forced[t], 1e-5) << i << "," << t;
  }
  EXPECT_EQ(models::generate(model, kPrompts, o).tokens, g.tokens);
  o.seed = 4;
  EXPECT_NE(models::generate(model, kPrompts, o).tokens, g.tokens);
}

TEST(Generate, TopKOneIsGreedyAndStopConditionsEndRows) {
  torch::manual_seed(2);
  models::Decoder model(byte_vocab_decoder());
  models::SamplingOptions greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = 8;
  models::SamplingOptions k1 = greedy;
  k1.temperature = 1.3;
  k1.top_k = 1;
  EXPECT_EQ(models::generate(model, kPrompts, greedy).tokens, models::generate(model, kPrompts, k1).tokens);

  const auto g = models::generate(model, kPrompts, greedy);
  models::SamplingOptions eos = greedy;
  eos.eos_id = g.tokens[0][2];  // the third token row 0 produces
  const auto e = models::generate(model, kPrompts, eos);
  EXPECT_EQ(e.finish[0], "eos");
  const auto first = std::find(g.tokens[0].begin(), g.tokens[0].end(), eos.eos_id) - g.tokens[0].begin();
  EXPECT_EQ(e.tokens[0].size(), static_cast<size_t>(first + 1));  // ends at the first EOS, inclusive
  EXPECT_EQ(std::vector<int64_t>(e.tokens[0].begin(), e.tokens[0].end()),
            std::vector<int64_t>(g.tokens[0].begin(), g.tokens[0].begin() + first + 1));

  const auto tok = byte_tokenizer();
  models::SamplingOptions stop = greedy;
  stop.stop = {tok.decode({g.tokens[1][3], g.tokens[1][4]})};
  const auto s = models::generate(model, kPrompts, stop, &tok);
  EXPECT_EQ(s.finish[1], "stop");
  EXPECT_LE(s.tokens[1].size(), 5u);
  EXPECT_EQ(s.finish[2] == "length", s.tokens[2].size() == 8u);
}

namespace {
// prompts repeated `g` times each, prompt-major: the samples without prefill sharing.
std::vector<std::vector<int64_t>> repeated(const std::vector<std::vector<int64_t>>& prompts, int64_t g) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& p : prompts)
    for (int64_t c = 0; c < g; ++c) out.push_back(p);
  return out;
}

void expect_same(const models::Generation& a, const models::Generation& b, const std::string& what) {
  ASSERT_EQ(a.tokens.size(), b.tokens.size()) << what;
  EXPECT_EQ(a.tokens, b.tokens) << what;
  EXPECT_EQ(a.finish, b.finish) << what;
  for (size_t i = 0; i < a.tokens.size(); ++i)
    for (size_t t = 0; t < std::min(a.logprobs[i].size(), b.logprobs[i].size()); ++t)
      EXPECT_NEAR(a.logprobs[i][t], b.logprobs[i][t], 1e-5) << what << " " << i << "," << t;
}
}  // namespace

// One prefill per group, continuous batching with fewer slots than samples,
// and the recomputing reference path all give the same samples and log-probs
// as G separate copies of each prompt decoded together.
TEST(RolloutEngine, SharedPrefillAndContinuousBatchingSampleLikeSeparateCopies) {
  torch::manual_seed(5);
  models::Decoder model(byte_vocab_decoder());
  models::SamplingOptions o;
  o.temperature = 1.0;
  o.top_k = 40;
  o.top_p = 0.95;
  o.max_new_tokens = 10;
  o.seed = 21;
  // eos = the token sampled most often, so some sequences end early and rows leave at different steps.
  std::map<int64_t, int> counts;
  for (const auto& row : models::generate(model, repeated(kPrompts, 4), o).tokens)
    for (int64_t t : row) ++counts[t];
  o.eos_id = std::max_element(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
  const auto copies = models::generate(model, repeated(kPrompts, 4), o);
  int early = 0;
  for (const auto& f : copies.finish) early += f == "eos";
  EXPECT_GT(early, 0) << "the case must retire some rows before the others";
  models::SamplingOptions grouped = o;
  grouped.group_size = 4;
  expect_same(models::generate(model, kPrompts, grouped), copies, "one prefill per group");
  for (int64_t slots : {4, 5, 8}) {
    grouped.slots = slots;  // 4: one group at a time; 5: a slot stays free; 8: two groups
    expect_same(models::generate(model, kPrompts, grouped), copies, "slots " + std::to_string(slots));
  }
  grouped.use_cache = false;
  expect_same(models::generate(model, kPrompts, grouped), copies, "recomputing reference");
  // Teacher forcing agrees with the engine's log-probs.
  for (size_t i = 0; i < copies.tokens.size(); ++i) {
    const auto forced = models::score_completion(model, kPrompts[i / 4], copies.tokens[i], o.temperature);
    for (size_t t = 0; t < forced.size(); ++t) EXPECT_NEAR(copies.logprobs[i][t], forced[t], 1e-5);
  }
  grouped.use_cache = true;
  grouped.slots = 3;
  fasrl::testing::expect_error([&] { models::generate(model, kPrompts, grouped); }, {"3 slots", "group of 4"});
}

// With the fused CPU decode layer (models/decode_layer_cpu.h) and with torch
// ops: both equal a full forward, and write the same keys into the cache.
TEST(RolloutEngine, DecodeStepInThePreallocatedCacheEqualsAFullForward) {
  torch::manual_seed(6);
  models::Decoder model(byte_vocab_decoder());
  torch::NoGradGuard g;
  // Two sequences of different length in slots 0 and 1 (a third admitted and retired).
  const std::vector<std::vector<int64_t>> seqs{{3, 4, 5, 6, 7}, {8, 9}, {10, 11, 12}};
  const auto [ids, pad] = models::left_pad(seqs, 0, 3, 0);
  models::KvCache prefill;
  model->forward(model->embed(ids), models::count_real_tokens(pad).positions, pad, &prefill);
  std::vector<torch::Tensor> written;  // layer 1's keys after the step, per path
  for (const bool fused : {true, false}) {
    models::set_fused_decode_layer_enabled(fused);
    models::SlotKvCache cache(2, 3, 2, 8, 8, prefill.keys[0].options());
    for (int64_t r = 0; r < 3; ++r)
      cache.admit(prefill, r, 5 - static_cast<int64_t>(seqs[r].size()), static_cast<int64_t>(seqs[r].size()));
    cache.remove(0);  // sequence 2 moves into slot 0: slots hold sequences 2 and 1
    EXPECT_EQ(cache.lengths(), (std::vector<int64_t>{3, 2}));
    const torch::Tensor next = torch::tensor({20, 21}, torch::kInt64);
    const torch::Tensor embeds = model->embed(next.unsqueeze(1));
    EXPECT_EQ(model->takes_fused_decode(embeds, cache), fused && std::string(models::skinny_kernel()) != "none");
    const torch::Tensor logits = model->decode_step(embeds, torch::tensor({3, 2}).unsqueeze(1), cache);
    EXPECT_EQ(cache.lengths(), (std::vector<int64_t>{4, 3}));
    for (int i = 0; i < 2; ++i) {
      std::vector<int64_t> full = seqs[i == 0 ? 2 : 1];
      full.push_back(next[i].item<int64_t>());
      const torch::Tensor fid = torch::tensor(full, torch::kInt64).unsqueeze(0);
      const torch::Tensor expect =
          model->forward(model->embed(fid), torch::arange(fid.size(1)).unsqueeze(0)).select(1, fid.size(1) - 1);
      EXPECT_TRUE(torch::allclose(logits[i], expect[0], 1e-5, 1e-5)) << "fused " << fused << " row " << i;
    }
    written.push_back(cache.layer_keys(1).clone());
  }
  models::set_fused_decode_layer_enabled(true);
  EXPECT_TRUE(torch::allclose(written[0], written[1], 1e-5, 1e-6)) << "the fused layer writes the keys torch's path writes";
  // Training keeps the torch ops (autograd): weights that require grad under grad mode.
  torch::AutoGradMode training(true);
  models::SlotKvCache cache(2, 1, 2, 8, 8, prefill.keys[0].options());
  cache.admit(prefill, 0, 0, 5);
  EXPECT_FALSE(model->takes_fused_decode(model->embed(torch::tensor({{20}}, torch::kInt64)), cache));
}

TEST(RolloutEngine, StopStringsAcrossTokenBoundariesMatchTheWholeText) {
  torch::manual_seed(7);
  models::Decoder model(byte_vocab_decoder());
  const auto tok = byte_tokenizer();
  models::SamplingOptions o;
  o.temperature = 1.0;
  o.max_new_tokens = 16;
  o.seed = 2;
  o.banned_ids = {256, 257, 258, 259};  // ids past the byte tokenizer's vocabulary
  const auto free_run = models::generate(model, kPrompts, o);
  // A stop string made of tokens 5..7 of row 0 (three tokens: spans boundaries).
  o.stop = {tok.decode({free_run.tokens[0][5], free_run.tokens[0][6], free_run.tokens[0][7]})};
  const auto stopped = models::generate(model, kPrompts, o, &tok);
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    // Ends exactly at the first token whose text completes the stop string, as a whole-text search would.
    size_t expect = free_run.tokens[i].size();
    bool found = false;
    for (size_t n = 1; n <= free_run.tokens[i].size(); ++n)
      if (tok.decode(std::vector<int64_t>(free_run.tokens[i].begin(), free_run.tokens[i].begin() + n)).find(o.stop[0]) !=
          std::string::npos) {
        expect = n;
        found = true;
        break;
      }
    EXPECT_EQ(stopped.tokens[i].size(), expect) << i;
    EXPECT_EQ(stopped.finish[i], found ? "stop" : "length") << i;
    if (i == 0) {
      EXPECT_TRUE(found && expect <= 8);
    }
  }
}

TEST(Sampling, InverseCdfDrawsFollowTheDistributionAndAreReproducible) {
  const torch::Tensor logits = torch::tensor({0.0, std::log(2.0), std::log(3.0), std::log(4.0), -1e9}).repeat({4000, 1});
  std::vector<int64_t> seqs(4000), steps(4000, 3);
  for (int64_t i = 0; i < 4000; ++i) seqs[static_cast<size_t>(i)] = i;
  const auto u = models::sequence_uniforms(9, seqs, steps);
  for (double x : u) ASSERT_TRUE(x > 0 && x <= 1);
  EXPECT_EQ(u, models::sequence_uniforms(9, seqs, steps));
  EXPECT_NE(u, models::sequence_uniforms(10, seqs, steps));
  models::TokenFilter f;
  const models::SampledTokens s = models::sample_tokens(logits, f, u);
  const torch::Tensor counts = torch::bincount(s.tokens, {}, 5).to(torch::kFloat64) / 4000.0;
  for (int64_t k = 0; k < 4; ++k) EXPECT_NEAR(counts[k].item<double>(), (k + 1) / 10.0, 0.03) << k;  // 4000 draws: sd < 0.008
  EXPECT_EQ(counts[4].item<double>(), 0.0);
  EXPECT_NEAR(s.logprobs[0].item<double>(), std::log((s.tokens[0].item<int64_t>() + 1) / 10.0), 1e-6);  // float32 logits
  f.top_k = 2;  // only tokens 2 and 3, renormalised 3:4
  const torch::Tensor k2 = torch::bincount(models::sample_tokens(logits, f, u).tokens, {}, 5).to(torch::kFloat64) / 4000.0;
  EXPECT_NEAR(k2[3].item<double>(), 4.0 / 7.0, 0.03);
  EXPECT_EQ(k2[0].item<double>() + k2[1].item<double>(), 0.0);
}

// A peaked 768-way distribution with banned ids, as the policy's: the top
// token is drawn as often as its probability, banned ones never.
TEST(Sampling, PeakedDistributionWithBannedIds) {
  torch::manual_seed(0);
  const torch::Tensor logits = (torch::randn({1, 768}) * 4).repeat({4000, 1});
  std::vector<int64_t> seqs(4000), steps(4000, 3);
  for (int64_t i = 0; i < 4000; ++i) seqs[static_cast<size_t>(i)] = i;
  models::TokenFilter f;
  const torch::Tensor p0 = logits[0].to(torch::kFloat64).softmax(-1);
  f.banned_ids = {p0.argmax().item<int64_t>()};  // ban the favourite: the rest renormalise
  const models::SampledTokens s = models::sample_tokens(logits, f, models::sequence_uniforms(9, seqs, steps));
  const torch::Tensor p = models::ban_tokens(logits[0].to(torch::kFloat64), f.banned_ids).softmax(-1);
  const torch::Tensor freq = torch::bincount(s.tokens, {}, 768).to(torch::kFloat64) / 4000.0;
  const int64_t top = p.argmax().item<int64_t>();
  EXPECT_NEAR(freq[top].item<double>(), p[top].item<double>(), 0.03);
  EXPECT_EQ(freq[f.banned_ids[0]].item<double>(), 0.0);
}
