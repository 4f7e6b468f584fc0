#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>

#include "core/io.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "data/dataset_tools.h"
#include "data/shard_reader.h"
#include "data/shard_writer.h"
#include "synth/synth_dataset.h"
#include "test_util.h"

using namespace fasrl::data;
using fasrl::testing::expect_error;
using fasrl::testing::TempDir;

namespace {

Manifest layout_manifest(int size) {
  Manifest m;
  m.name = "rt";
  m.image_height = m.image_width = size;
  m.modalities = default_modalities();
  m.text_fields = {"cues"};
  return m;
}

std::vector<Sample> random_samples(int n, int size, uint64_t seed) {
  fasrl::Rng rng(seed);
  std::vector<Sample> out;
  for (int i = 0; i < n; ++i) {
    Sample s;
    s.fine = static_cast<int16_t>(rng.below(8));
    s.coarse = static_cast<int8_t>(default_fine_to_coarse()[static_cast<size_t>(s.fine)]);
    s.binary = s.coarse ? 1 : 0;
    s.subject = static_cast<int32_t>(rng.below(1000));
    s.domain = static_cast<int32_t>(rng.below(3));
    s.sample_id = "id-" + std::to_string(i) + "-\xc3\xa9";  // non-ASCII survives
    s.text["cues"] = "{\"rgb\":[\"c" + std::to_string(i) + "\"]}";
    for (const auto& m : default_modalities()) {
      std::vector<uint8_t> px(static_cast<size_t>(size * size * m.channels));
      for (auto& p : px) p = static_cast<uint8_t>(rng.below(256));
      s.images.push_back(px);
      s.modality_mask.push_back(1);
    }
    if (i % 3 == 1) {  // missing depth: written as zeros, mask 0
      s.images[1].clear();
      s.modality_mask[1] = 0;
    }
    out.push_back(s);
  }
  return out;
}

void write_shard(const std::string& path, const std::vector<Sample>& samples, int size, int level) {
  const Manifest m = layout_manifest(size);
  ShardWriter w(path, {m.modalities, size, size, m.text_fields, level}, static_cast<int64_t>(samples.size()));
  for (const auto& s : samples) w.add(s);
  w.finish();
}

// Flips bytes inside the stored chunk of (dataset, row).
void corrupt_chunk(const std::string& path, const std::string& dataset, int64_t row) {
  haddr_t addr = 0;
  hsize_t size = 0;
  {
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
    const hsize_t offset[4] = {static_cast<hsize_t>(row), 0, 0, 0};
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info_by_coord(d, offset, &mask, &addr, &size), 0);
    H5Dclose(d);
    H5Fclose(f);
  }
  std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
  io.seekp(static_cast<std::streamoff>(addr + size / 3));
  const char junk[16] = {0x13, 0x37, 0x00, 0x7f, 0x55, 0x2a, 0x01, 0x77, 0x13, 0x37, 0x00, 0x7f, 0x55, 0x2a, 0x01, 0x77};
  io.write(junk, sizeof junk);
}

}  // namespace

class ShardRoundTrip : public ::testing::TestWithParam<int> {};

TEST_P(ShardRoundTrip, EveryFieldReadsBackExactly) {
  TempDir dir;
  const int size = 24, level = GetParam();
  const auto samples = random_samples(9, size, 5);
  const std::string path = dir.sub("s.h5");
  write_shard(path, samples, size, level);
  const Manifest m = layout_manifest(size);
  ShardReader r(path, m, 9);
  ASSERT_EQ(r.size(), 9);
  const ShardIndex idx = r.read_index();
  for (int i = 0; i < 9; ++i) {
    const Sample got = r.read_sample(i);
    const Sample& want = samples[static_cast<size_t>(i)];
    EXPECT_EQ(got.sample_id, want.sample_id);
    EXPECT_EQ(got.fine, want.fine);
    EXPECT_EQ(got.coarse, want.coarse);
    EXPECT_EQ(got.binary, want.binary);
    EXPECT_EQ(got.subject, want.subject);
    EXPECT_EQ(got.domain, want.domain);
    EXPECT_EQ(got.modality_mask, want.modality_mask);
    EXPECT_EQ(got.text.at("cues"), want.text.at("cues"));
    EXPECT_EQ(got.images[0], want.images[0]);
    EXPECT_EQ(got.images[2], want.images[2]);
    if (want.modality_mask[1]) EXPECT_EQ(got.images[1], want.images[1]);
    else EXPECT_EQ(got.images[1], std::vector<uint8_t>(static_cast<size_t>(size * size), 0));
    EXPECT_EQ(idx.fine[static_cast<size_t>(i)], want.fine);
  }
}
// Level 0 stores chunks uncompressed (HDF5's read path); 4 uses our direct deflate path.
INSTANTIATE_TEST_SUITE_P(Compression, ShardRoundTrip, ::testing::Values(0, 4));

TEST(ShardErrors, WriterRejectsMisfitSamplesAndLeavesNoPartialFile) {
  TempDir dir;
  const std::string path = dir.sub("w.h5");
  {
    const Manifest m = layout_manifest(8);
    ShardWriter w(path, {m.modalities, 8, 8, m.text_fields, 1}, 2);
    auto s = random_samples(1, 8, 1)[0];
    s.images[0].resize(5);
    expect_error([&] { w.add(s); }, {"w.h5", "modality rgb has 5 bytes, expected 192"});
  }  // abandoned writer
  EXPECT_FALSE(fasrl::path_exists(path));
  EXPECT_FALSE(fasrl::path_exists(path + ".partial"));
}

TEST(ShardErrors, CorruptChunkNamesFileDatasetAndSample) {
  TempDir dir;
  const std::string path = dir.sub("c.h5");
  write_shard(path, random_samples(6, 32, 9), 32, 6);
  corrupt_chunk(path, "/images/rgb", 4);
  const Manifest m = layout_manifest(32);
  ShardReader r(path, m, 6);
  std::vector<uint8_t> px(32 * 32 * 3);
  r.read_image(0, 3, px.data());  // neighbours are intact
  expect_error([&] { r.read_image(0, 4, px.data()); }, {"c.h5", "/images/rgb", "row 4", "id-4-", "corrupt"});
}

TEST(ShardErrors, TruncatedFileIsNamed) {
  TempDir dir;
  const std::string path = dir.sub("t.h5");
  write_shard(path, random_samples(4, 16, 2), 16, 4);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  const Manifest m = layout_manifest(16);
  expect_error([&] { ShardReader(path, m, 4); }, {"t.h5", "cannot open as an HDF5 shard"});
}

TEST(ShardErrors, WrongSchemaVersionAndMissingDatasetAreNamed) {
  TempDir dir;
  const std::string path = dir.sub("v.h5");
  write_shard(path, random_samples(3, 8, 3), 8, 1);
  {
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(f, kSchemaVersionAttr, H5P_DEFAULT);
    const int two = 2;
    H5Awrite(a, H5T_NATIVE_INT, &two);
    H5Aclose(a);
    H5Ldelete(f, kLabelCoarse, H5P_DEFAULT);
    H5Fclose(f);
  }
  const Manifest m = layout_manifest(8);
  expect_error([&] { ShardReader(path, m, 3); }, {"v.h5", "schema version is 2", "version 1"});
  {
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(f, kSchemaVersionAttr, H5P_DEFAULT);
    const int one = 1;
    H5Awrite(a, H5T_NATIVE_INT, &one);
    H5Aclose(a);
    H5Fclose(f);
  }
  expect_error([&] { ShardReader(path, m, 3); }, {"v.h5", "'/labels/coarse' is missing"});
  expect_error([&] { ShardReader(dir.sub("nope.h5"), m, 3); }, {"nope.h5", "does not exist"});
}

TEST(DatasetErrors, VerifyAndOpenNameTheBrokenShard) {
  TempDir dir;
  const std::string ds = dir.sub("ds");
  fasrl::synth::synthesize_dataset(fasrl::testing::tiny_synth(ds));
  auto report = verify_dataset(ds, true);
  EXPECT_TRUE(report.ok()) << report.problems[0];
  EXPECT_EQ(report.samples_checked, 96);

  corrupt_chunk(ds + "/shard-00001.h5", "/images/ir", 7);
  report = verify_dataset(ds, true);
  ASSERT_EQ(report.problems.size(), 2u);  // hash mismatch, then the damaged sample
  EXPECT_NE(report.problems[0].find("shard-00001.h5: SHA-256"), std::string::npos) << report.problems[0];
  EXPECT_NE(report.problems[1].find("/images/ir row 7 (sample 'synth-"), std::string::npos) << report.problems[1];

  std::filesystem::resize_file(ds + "/shard-00002.h5", 1000);
  expect_error([&] { Dataset d(ds); }, {"shard-00002.h5", "truncated"});
  std::filesystem::remove(ds + "/manifest.json");
  expect_error([&] { Dataset d(ds); }, {ds + "/manifest.json", "missing"});
  EXPECT_FALSE(verify_dataset(ds, false).ok());
}
