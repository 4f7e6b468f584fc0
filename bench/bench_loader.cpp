// Loader throughput: samples/s of the distributed loader at 224x224x3 uint8
// RGB with augmentation (crop, flip, brightness/contrast), with 1 and 2 worker
// threads, next to h5py's raw read of the same shard (python3, same run).
//
// usage: bench_loader [work_dir] [h5py_script]
#include <torch/torch.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "core/io.h"
#include "core/timer.h"
#include "data/loader.h"
#include "synth/synth_dataset.h"

using namespace fasrl;

namespace {

double h5py_samples_per_s(const std::string& script, const std::string& shard, int repeats, int64_t* checksum) {
  const std::string cmd = "/usr/bin/python3 " + script + " " + shard + " " + std::to_string(repeats);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  double value = -1;
  long long sum = 0;
  if (std::fscanf(pipe, "samples_per_s %lf checksum %lld", &value, &sum) != 2) value = -1;
  ::pclose(pipe);
  *checksum = sum;
  return value;
}

// Reads rows of shard 0 with our reader, no augmentation: the decode floor.
double raw_reader_samples_per_s(const data::Dataset& ds, int repeats, int64_t* checksum) {
  const auto& shard = ds.shard(0);
  std::vector<uint8_t> px(static_cast<size_t>(ds.manifest().image_height) * ds.manifest().image_width * 3);
  Stopwatch clock;
  for (int r = 0; r < repeats; ++r)
    for (int64_t i = 0; i < shard.size(); ++i) {
      shard.read_image(0, i, px.data());
      *checksum += px[0];
    }
  return repeats * shard.size() / clock.seconds();
}

double loader_samples_per_s(std::shared_ptr<const data::Dataset> ds, int workers, int batches) {
  proto::LoaderConfig c;
  c.set_dataset(ds->dir());
  c.set_batch_size(32);
  c.set_workers(workers);
  c.set_prefetch_batches(4);
  c.add_modalities("rgb");
  data::Loader loader(ds, c, 0, 1, 7);
  loader.next();  // warm-up: threads started, first batch built
  Stopwatch clock;
  int64_t samples = 0;
  double checksum = 0;
  for (int i = 0; i < batches; ++i) {
    data::Batch b = loader.next();
    samples += b.size();
    checksum += b.images[0][0][0][0][0].item<float>();
  }
  const double secs = clock.seconds();
  if (!(checksum >= 0)) std::cerr << "bad pixels\n";
  return samples / secs;
}

}  // namespace

int bench_loader_main(int argc, char** argv) {
  torch::set_num_threads(1);
  const std::string work = argc > 1 ? argv[1] : "/tmp/fasrl-bench-loader";
  const std::string script = argc > 2 ? argv[2] : std::string(FASRL_SOURCE_DIR) + "/bench/h5py_read.py";
  const std::string dir = join_path(work, "ds224");
  if (!path_exists(join_path(dir, "manifest.json"))) {
    proto::SynthConfig s;
    s.set_out_dir(dir);
    s.set_num_subjects(24);
    s.set_samples_per_subject(16);
    s.set_image_size(224);
    s.set_samples_per_shard(128);
    std::cout << "synthesising 384 samples at 224x224 in " << dir << " ..." << std::endl;
    synth::synthesize_dataset(s);
  }
  auto ds = std::make_shared<const data::Dataset>(dir);
  const std::string shard0 = join_path(dir, ds->manifest().shards[0].file);

  int64_t h5py_sum = 0, our_sum = 0;
  const double h5py = h5py_samples_per_s(script, shard0, 3, &h5py_sum);
  const double raw = raw_reader_samples_per_s(*ds, 3, &our_sum);
  if (h5py < 0) std::cerr << "h5py run failed (is python3-h5py installed?)\n";
  if (h5py_sum != our_sum) std::cerr << "CHECKSUM MISMATCH h5py " << h5py_sum << " vs fasrl " << our_sum << "\n";
  const double w1 = loader_samples_per_s(ds, 1, 30);
  const double w2 = loader_samples_per_s(ds, 2, 30);

  std::printf("\nloader throughput, 224x224x3 uint8 RGB, deflate level 4, batch 32, %u cores\n",
              std::thread::hardware_concurrency());
  std::printf("%-44s %12s %10s\n", "reader", "samples/s", "vs h5py");
  std::printf("%-44s %12.1f %9.2fx\n", "h5py raw read (gzip decode, no augment)", h5py, 1.0);
  std::printf("%-44s %12.1f %9.2fx\n", "fasrl shard reader (decode, no augment)", raw, raw / h5py);
  std::printf("%-44s %12.1f %9.2fx\n", "fasrl loader, 1 worker (decode + augment)", w1, w1 / h5py);
  std::printf("%-44s %12.1f %9.2fx\n", "fasrl loader, 2 workers (decode + augment)", w2, w2 / h5py);
  std::printf("pixel checksum over shard 0: h5py %lld, fasrl %lld (%s)\n", static_cast<long long>(h5py_sum),
              static_cast<long long>(our_sum), h5py_sum == our_sum ? "match" : "MISMATCH");
  return h5py > 0 && h5py_sum == our_sum ? 0 : 1;
}
