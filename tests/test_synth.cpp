// The synthetic generator's cues are real pixel signals: measured features
// separate the classes the way the cue annotations say they should.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "core/io.h"
#include "data/dataset.h"
#include "synth/synth_face.h"
#include "synth/synth_dataset.h"
#include "test_util.h"

using namespace fasrl::data;
using namespace fasrl::synth;

namespace {

constexpr int kSize = 64;

// Standard deviation of the depth plane in the central quarter (the face).
double central_depth_std(const std::vector<uint8_t>& depth) {
  double sum = 0, sq = 0;
  int n = 0;
  for (int y = kSize / 4; y < 3 * kSize / 4; ++y)
    for (int x = kSize / 4; x < 3 * kSize / 4; ++x) {
      const double v = depth[static_cast<size_t>(y * kSize + x)];
      sum += v, sq += v * v, ++n;
    }
  return std::sqrt(sq / n - (sum / n) * (sum / n));
}

// Mean |checkerboard response| of RGB: energy at the Nyquist frequency.
double nyquist_energy(const std::vector<uint8_t>& rgb) {
  double acc = 0;
  for (int y = 0; y < kSize - 1; ++y)
    for (int x = 0; x < kSize - 1; ++x)
      for (int k = 0; k < 3; ++k) {
        auto at = [&](int yy, int xx) { return static_cast<double>(rgb[static_cast<size_t>((yy * kSize + xx) * 3 + k)]); };
        acc += std::abs(at(y, x) - at(y, x + 1) - at(y + 1, x) + at(y + 1, x + 1));
      }
  return acc / ((kSize - 1) * (kSize - 1) * 3);
}

RenderedFace render(int fine, uint64_t seed, float adversarial_strength = 1.0f) {
  fasrl::Rng rng(seed);
  return render_face(kSize, fine, make_subject_look(1, static_cast<int>(seed % 17)), make_subject_look(1, 99),
                     make_domain_look(1, static_cast<int>(seed % 3)), rng, adversarial_strength);
}

double mean_abs_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::abs(static_cast<double>(a[i]) - b[i]);
  return sum / static_cast<double>(a.size());
}

}  // namespace

TEST(Synth, DepthSeparatesFacesFromFlatAttacks) {
  int correct = 0, total = 0;
  for (uint64_t s = 0; s < 40; ++s) {
    for (int fine : {0, 4, 5}) correct += central_depth_std(render(fine, s).depth) > 12, ++total;   // real relief
    for (int fine : {1, 2}) correct += central_depth_std(render(fine, s).depth) < 12, ++total;      // paper / screen
  }
  EXPECT_GE(correct, total * 97 / 100) << correct << "/" << total;
}

TEST(Synth, AdversarialStrengthScalesThePerturbation) {
  constexpr int kAdversarialLabel = 7;  // data/schema.h default_fine_labels
  for (uint64_t seed = 0; seed < 5; ++seed) {
    const auto clean = render(kAdversarialLabel, seed, 0.0f).rgb;  // same draws, no perturbation
    const double once = mean_abs_difference(render(kAdversarialLabel, seed, 1.0f).rgb, clean);
    const double twice = mean_abs_difference(render(kAdversarialLabel, seed, 2.0f).rgb, clean);
    EXPECT_GT(once, 7.0) << seed;  // +-9..13 grey levels, less where clipped at 0/255
    EXPECT_NEAR(twice / once, 2.0, 0.2) << seed;
  }
}

TEST(Synth, ReplayHasIrGlareAndGanHasNyquistEnergy) {
  int glare = 0, gan = 0;
  for (uint64_t s = 0; s < 40; ++s) {
    const auto replay = render(2, s);
    const auto print = render(1, s);
    const double replay_max = *std::max_element(replay.ir.begin(), replay.ir.end());
    const double replay_median = [&] { auto v = replay.ir; std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end()); return v[v.size() / 2]; }();
    glare += replay_max - replay_median > 100 && *std::max_element(print.ir.begin(), print.ir.end()) < 190;
    gan += nyquist_energy(render(6, s).rgb) > 1.5 * nyquist_energy(render(0, s).rgb);
  }
  EXPECT_GE(glare, 38);
  EXPECT_GE(gan, 38);
}

TEST(Synth, DatasetIsDeterministicAndAnnotatesCues) {
  fasrl::testing::TempDir dir;
  auto config = fasrl::testing::tiny_synth(dir.sub("a"));
  config.set_missing_modality_prob(0.3f);
  synthesize_dataset(config);
  config.set_out_dir(dir.sub("b"));
  synthesize_dataset(config);
  const Manifest a = Manifest::load(dir.sub("a")), b = Manifest::load(dir.sub("b"));
  ASSERT_EQ(a.shards.size(), 3u);
  for (size_t i = 0; i < a.shards.size(); ++i) EXPECT_EQ(a.shards[i].sha256, b.shards[i].sha256);

  Dataset ds(dir.sub("a"));
  int missing = 0, replays_with_ir = 0, unannotated = 0;
  for (int64_t row = 0; row < ds.shard(0).size(); ++row) {
    const Sample s = ds.shard(0).read_sample(row);
    const auto cues = nlohmann::json::parse(s.text.at("cues"));
    EXPECT_TRUE(cues.contains("rgb"));
    for (int m = 1; m < 3; ++m) {
      const std::string name = a.modalities[static_cast<size_t>(m)].name;
      EXPECT_EQ(cues.contains(name), s.modality_mask[static_cast<size_t>(m)] == 1) << s.sample_id;
      if (!s.modality_mask[static_cast<size_t>(m)]) {
        ++missing;
        EXPECT_EQ(*std::max_element(s.images[static_cast<size_t>(m)].begin(), s.images[static_cast<size_t>(m)].end()), 0);
      }
    }
    if (s.fine == 2 && s.modality_mask[2]) {
      ++replays_with_ir;
      unannotated += cues["ir"].dump().find("screen_glare") == std::string::npos;
    }
  }
  EXPECT_GT(missing, 0);
  EXPECT_GT(replays_with_ir, 0);
  EXPECT_EQ(unannotated, 0);  // every replay sample with IR is annotated with its glare
}
