// Bucketed gradient reduction (fasrl's GradientSync: 25 MiB buckets that are
// views of flat gradient storage, reduced in place with no pack copy and no
// averaging pass, which the optimiser folds into its update) of a ViT-B/16
// (+MoAE) gradient set versus one raw MPI_Allreduce of the same bytes, in the
// same run. Prints nccl-tests style figures: algbw = bytes / time, busbw =
// algbw * 2(n-1)/n, and checks the sums it timed.
//
// usage: mpirun -np 2 bench_allreduce [iterations] [bucket MiB]
#include <mpi.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "comm/collective.h"
#include "comm/grad_sync.h"
#include "comm/world.h"
#include "core/timer.h"
#include "models/clip.h"

using namespace fasrl;

int bench_allreduce_main(int argc, char** argv) {
  const comm::World& world = comm::init_world(&argc, &argv);
  const int iters = argc > 1 ? std::atoi(argv[1]) : 5;
  torch::set_num_threads(1);
  proto::VisionConfig vit;  // defaults: ViT-B/16 at 224, MoAE 4 experts x 2 heads
  models::VisionTransformer model(vit);
  std::vector<torch::Tensor> params = model->parameters();
  int64_t numel = 0;
  for (const auto& p : params) numel += p.numel();
  const double bytes = static_cast<double>(numel) * 4;
  proto::CommConfig config;
  config.set_timeout_s(600);
  if (argc > 2) config.set_bucket_cap_mb(std::atof(argv[2]));  // bucket size in MiB (default 25)
  auto coll = comm::make_mpi_collective(world.comm, config);
  comm::GradientSync sync(*coll, params, config, {0, false});
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) grads.push_back(p.grad());  // views of the buckets

  // Bucketed: reset values each iteration so the check is meaningful.
  double bucketed = 1e30, raw = 1e30;
  bool ok = true;
  for (int i = 0; i < iters; ++i) {
    for (auto& g : grads) g.fill_(static_cast<float>(world.rank + 1));
    MPI_Barrier(world.comm);
    Stopwatch clock;
    sync.begin_backward(true);
    sync.finish();
    MPI_Barrier(world.comm);
    bucketed = std::min(bucketed, clock.seconds());
    const float want = world.size * (world.size + 1) / 2.0f;
    for (const auto& g : grads) ok &= torch::allclose(g, torch::full_like(g, want));
  }
  torch::Tensor flat = torch::empty({numel});
  for (int i = 0; i < iters; ++i) {
    flat.fill_(static_cast<float>(world.rank + 1));
    MPI_Barrier(world.comm);
    Stopwatch clock;
    MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr(), static_cast<int>(numel), MPI_FLOAT, MPI_SUM, world.comm);
    MPI_Barrier(world.comm);
    raw = std::min(raw, clock.seconds());
    ok &= flat[0].item<float>() == world.size * (world.size + 1) / 2.0f;
  }
  // The same bytes as raw blocking calls of the bucket size (what the buckets would cost with no machinery).
  double chunked = 1e30;
  const int64_t chunk = static_cast<int64_t>(config.bucket_cap_mb() * (1 << 20) / 4);
  for (int i = 0; i < iters; ++i) {
    flat.fill_(static_cast<float>(world.rank + 1));
    MPI_Barrier(world.comm);
    Stopwatch clock;
    for (int64_t at = 0; at < numel; at += chunk)
      MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>() + at, static_cast<int>(std::min(chunk, numel - at)), MPI_FLOAT,
                    MPI_SUM, world.comm);
    MPI_Barrier(world.comm);
    chunked = std::min(chunked, clock.seconds());
    ok &= flat[numel - 1].item<float>() == world.size * (world.size + 1) / 2.0f;
  }
  int all_ok = ok, wrong = 0;
  MPI_Allreduce(&all_ok, &wrong, 1, MPI_INT, MPI_MIN, world.comm);
  if (world.rank == 0) {
    const double factor = 2.0 * (world.size - 1) / world.size;
    const std::string mib = std::to_string(static_cast<int>(config.bucket_cap_mb()));
    std::printf("gradient all-reduce, ViT-B/16 + MoAE: %zu tensors, %lld floats (%.1f MB), %d ranks, %zu buckets, best of %d\n",
                grads.size(), static_cast<long long>(numel), bytes / 1e6, world.size, sync.layout().buckets.size(), iters);
    std::printf("%-34s %10s %10s %10s %8s\n", "", "time ms", "algbw GB/s", "busbw GB/s", "#wrong");
    std::printf("%-34s %10.1f %10.2f %10.2f %8d\n", "raw MPI_Allreduce (one buffer)", raw * 1e3, bytes / raw / 1e9,
                bytes / raw / 1e9 * factor, wrong ? 0 : 1);
    std::printf("%-34s %10.1f %10.2f %10.2f %8d\n", (std::string("raw MPI_Allreduce (") + mib + " MiB chunks)").c_str(), chunked * 1e3,
                bytes / chunked / 1e9, bytes / chunked / 1e9 * factor, wrong ? 0 : 1);
    std::printf("%-34s %10.1f %10.2f %10.2f %8d\n", (std::string("fasrl bucketed reduce (") + mib + " MiB)").c_str(), bucketed * 1e3, bytes / bucketed / 1e9,
                bytes / bucketed / 1e9 * factor, wrong ? 0 : 1);
    std::printf("bucketed / raw time: %.2fx (one buffer), %.2fx (%s MiB chunks)\n", bucketed / raw, bucketed / chunked, mib.c_str());
  }
  grads.clear();
  coll.reset();  // its collective thread's communicator goes before MPI does
  comm::finalize_world();
  return wrong ? 0 : 1;
}
