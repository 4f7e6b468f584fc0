// Bucketed gradient all-reduce (fasrl's BucketedAllReduce: 25 MiB buckets,
// pack, MPI all-reduce, average, unpack) of a ViT-B/16 (+MoAE) gradient set
// versus one raw MPI_Allreduce of the same bytes, in the same run. Prints
// nccl-tests style figures: algbw = bytes / time, busbw = algbw * 2(n-1)/n,
// and checks the averaged values it timed.
//
// usage: mpirun -np 2 bench_allreduce [iterations]
#include <mpi.h>
#include <torch/torch.h>

#include <cstdio>

#include "comm/collective.h"
#include "comm/grad_sync.h"
#include "comm/world.h"
#include "core/timer.h"
#include "models/clip.h"

using namespace fasrl;

int main(int argc, char** argv) {
  const comm::World& world = comm::init_world(&argc, &argv);
  const int iters = argc > 1 ? std::atoi(argv[1]) : 5;
  torch::set_num_threads(1);
  proto::VisionConfig vit;  // defaults: ViT-B/16 at 224, MoAE 4 experts x 2 heads
  models::VisionTransformer model(vit);
  std::vector<torch::Tensor> grads;
  int64_t numel = 0;
  for (const auto& p : model->parameters()) {
    grads.push_back(torch::full_like(p, static_cast<float>(world.rank + 1)));
    numel += p.numel();
  }
  const double bytes = static_cast<double>(numel) * 4;
  proto::CommConfig config;
  config.set_timeout_s(600);
  auto coll = comm::make_mpi_collective(world.comm, config);
  comm::BucketedAllReduce sync(*coll, grads, config);

  // Bucketed: reset values each iteration so the check is meaningful.
  double bucketed = 1e30, raw = 1e30;
  bool ok = true;
  for (int i = 0; i < iters; ++i) {
    for (auto& g : grads) g.fill_(static_cast<float>(world.rank + 1));
    MPI_Barrier(world.comm);
    Stopwatch clock;
    sync.average(grads);
    MPI_Barrier(world.comm);
    bucketed = std::min(bucketed, clock.seconds());
    const float want = (world.size + 1) / 2.0f;
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
  int all_ok = ok, wrong = 0;
  MPI_Allreduce(&all_ok, &wrong, 1, MPI_INT, MPI_MIN, world.comm);
  if (world.rank == 0) {
    const double factor = 2.0 * (world.size - 1) / world.size;
    std::printf("gradient all-reduce, ViT-B/16 + MoAE: %zu tensors, %lld floats (%.1f MB), %d ranks, %zu buckets, best of %d\n",
                grads.size(), static_cast<long long>(numel), bytes / 1e6, world.size, sync.buckets().size(), iters);
    std::printf("%-34s %10s %10s %10s %8s\n", "", "time ms", "algbw GB/s", "busbw GB/s", "#wrong");
    std::printf("%-34s %10.1f %10.2f %10.2f %8d\n", "raw MPI_Allreduce (one buffer)", raw * 1e3, bytes / raw / 1e9,
                bytes / raw / 1e9 * factor, wrong ? 0 : 1);
    std::printf("%-34s %10.1f %10.2f %10.2f %8d\n", "fasrl bucketed average (25 MiB)", bucketed * 1e3, bytes / bucketed / 1e9,
                bytes / bucketed / 1e9 * factor, wrong ? 0 : 1);
    std::printf("bucketed / raw time: %.2fx\n", bucketed / raw);
  }
  comm::finalize_world();
  return wrong ? 0 : 1;
}
