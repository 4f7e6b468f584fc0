// A job whose rank 1 never reaches the all-reduce: rank 0 must end the whole
// job within the timeout, naming rank 1. Run by ctest under mpirun -np 2.
#include "comm/collective.h"
#include "comm/world.h"
#include "core/error.h"

int comm_hang_probe_main(int argc, char** argv) {
  const auto& world = fasrl::comm::init_world(&argc, &argv);
  fasrl::proto::CommConfig config;
  config.set_timeout_s(1.0f);
  auto coll = fasrl::comm::make_mpi_collective(world.comm, config);
  try {
    if (world.rank == 1) {
      int never = 0;  // stuck: waits for a message nobody sends
      MPI_Recv(&never, 1, MPI_INT, 0, 999, world.comm, MPI_STATUS_IGNORE);
    }
    torch::Tensor t = torch::ones({16});
    coll->all_reduce_sum(t);
  } catch (const fasrl::Error& e) {
    fasrl::comm::abort_job(e.what());
  }
  fasrl::comm::finalize_world();
  return 0;
}
