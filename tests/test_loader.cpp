#include <gtest/gtest.h>

#include <set>

#include "data/loader.h"
#include "synth/synth_dataset.h"
#include "test_util.h"

using namespace fasrl::data;
using fasrl::synth::synthesize_dataset;
using fasrl::testing::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  std::shared_ptr<const Dataset> dataset;
  Fixture() {
    synthesize_dataset(fasrl::testing::tiny_synth(dir.sub("ds")));
    dataset = std::make_shared<const Dataset>(dir.sub("ds"));
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

fasrl::proto::LoaderConfig config(int batch, int workers) {
  fasrl::proto::LoaderConfig c;
  c.set_batch_size(batch);
  c.set_workers(workers);
  c.set_prefetch_batches(3);
  c.set_image_size(24);
  return c;
}

}  // namespace

TEST(Loader, OneEpochReadsEverySampleOfTheSplitOnceWithItsLabels) {
  auto ds = fixture().dataset;
  Loader loader(ds, config(5, 2), 0, 1, 11);
  const auto split = ds->select("P1", "train");
  std::set<std::string> ids;
  int64_t seen = 0;
  for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
    Batch batch = loader.next();
    EXPECT_EQ(batch.start.epoch, 0);
    ASSERT_EQ(batch.images.size(), 3u);
    EXPECT_EQ(batch.images[0].sizes(), (std::vector<int64_t>{batch.size(), 3, 24, 24}));
    EXPECT_EQ(batch.images[1].sizes(), (std::vector<int64_t>{batch.size(), 1, 24, 24}));
    EXPECT_GE(batch.images[0].min().item<float>(), 0.0f);
    EXPECT_LE(batch.images[0].max().item<float>(), 1.0f);
    for (int64_t i = 0; i < batch.size(); ++i) {
      const auto& ref = batch.refs[static_cast<size_t>(i)];
      const auto& idx = ds->index(ref.shard);
      EXPECT_EQ(batch.fine[i].item<int64_t>(), idx.fine[static_cast<size_t>(ref.row)]);
      EXPECT_EQ(batch.subject[i].item<int64_t>(), idx.subject[static_cast<size_t>(ref.row)]);
      EXPECT_TRUE(ids.insert(batch.sample_ids[static_cast<size_t>(i)]).second);
    }
    seen += batch.size();
  }
  EXPECT_EQ(seen, static_cast<int64_t>(split.size()));
  EXPECT_EQ(loader.next().start.epoch, 1);  // crosses into the next epoch
}

TEST(Loader, TwoRanksReadDisjointSamples) {
  auto ds = fixture().dataset;
  std::set<std::string> rank_ids[2];
  for (int rank = 0; rank < 2; ++rank) {
    Loader loader(ds, config(4, 1), rank, 2, 3);
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b)
      for (const auto& id : loader.next().sample_ids) rank_ids[rank].insert(id);
  }
  for (const auto& id : rank_ids[0]) EXPECT_EQ(rank_ids[1].count(id), 0u) << id;
  EXPECT_EQ(rank_ids[0].size(), rank_ids[1].size());
}

TEST(Loader, ResumeFromCursorGivesTheSameRemainingBatches) {
  auto ds = fixture().dataset;
  std::vector<Batch> reference;
  LoaderCursor saved;
  {
    Loader loader(ds, config(7, 3), 1, 2, 99);
    const int64_t epoch_batches = loader.batches_per_epoch();
    for (int64_t i = 0; i < epoch_batches + 4; ++i) {  // runs across an epoch boundary
      if (i == 3) saved = loader.cursor();
      Batch b = loader.next();
      if (i >= 3) reference.push_back(std::move(b));
    }
  }
  Loader resumed(ds, config(7, 1), 1, 2, 99, saved);  // other worker count: same stream
  for (const auto& want : reference) {
    Batch got = resumed.next();
    EXPECT_EQ(got.sample_ids, want.sample_ids);
    EXPECT_EQ(got.start, want.start);
    for (size_t k = 0; k < want.images.size(); ++k) EXPECT_TRUE(torch::equal(got.images[k], want.images[k]));
  }
}

TEST(Loader, AugmentationChangesTrainButNotTestPixels) {
  auto ds = fixture().dataset;
  auto c = config(4, 1);
  c.set_shuffle(false);
  Loader a(ds, c, 0, 1, 1), b(ds, c, 0, 1, 2);  // different seeds
  EXPECT_FALSE(torch::equal(a.next().images[0], b.next().images[0]));
  c.set_split("test");
  Loader t1(ds, c, 0, 1, 1), t2(ds, c, 0, 1, 2);
  EXPECT_TRUE(torch::equal(t1.next().images[0], t2.next().images[0]));
}

TEST(Loader, BadConfigIsAClearError) {
  auto ds = fixture().dataset;
  auto c = config(4, 1);
  c.add_modalities("thermal");
  fasrl::testing::expect_error([&] { Loader l(ds, c, 0, 1, 0); }, {"data.modalities", "thermal"});
  c = config(4, 1);
  c.set_protocol("P7");
  fasrl::testing::expect_error([&] { Loader l(ds, c, 0, 1, 0); }, {"no protocol 'P7'"});
  c = config(0, 1);
  fasrl::testing::expect_error([&] { Loader l(ds, c, 0, 1, 0); }, {"data.batch_size"});
}
