#include "comm/world.h"

#include <glog/logging.h>

#include <cstdlib>
#include <iostream>

#include "comm/check.h"
#include "core/error.h"

namespace fasrl::comm {
namespace {
World g_world;
bool g_initialised = false;
bool g_thread_multiple = false;
}  // namespace

const World& init_world(int* argc, char*** argv) {
  if (g_initialised) return g_world;
  int already = 0;
  FASRL_MPI_CHECK(MPI_Initialized(&already));
  int provided = MPI_THREAD_SINGLE;
  if (!already)
    FASRL_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided));
  else
    FASRL_MPI_CHECK(MPI_Query_thread(&provided));
  g_thread_multiple = provided == MPI_THREAD_MULTIPLE;
  // Errors come back as codes we turn into messages, not silent aborts.
  FASRL_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  FASRL_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &g_world.rank));
  FASRL_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &g_world.size));
  set_process_rank(g_world.rank);
  g_initialised = true;
  // srun without a PMI that OpenMPI understands starts N singletons, each
  // believing it is rank 0 of 1: refuse rather than train N copies.
  if (const char* step_tasks = std::getenv("SLURM_STEP_NUM_TASKS")) {
    const int n = std::atoi(step_tasks);
    if (n > 1 && g_world.size != n)
      abort_job("srun started " + std::to_string(n) + " tasks but MPI sees a world of " + std::to_string(g_world.size) +
                ": srun's PMI does not match OpenMPI; launch with `srun --mpi=pmix` (see docs/cluster.md)");
  }
  return g_world;
}

bool world_initialised() { return g_initialised; }

bool mpi_thread_multiple() { return g_thread_multiple; }

void finalize_world() {
  if (!g_initialised) return;
  int finalized = 0;
  FASRL_MPI_CHECK(MPI_Finalized(&finalized));
  if (!finalized) FASRL_MPI_CHECK(MPI_Finalize());
  g_initialised = false;
}

void abort_job(const std::string& reason, int exit_code) {
  const std::string prefix = "[rank " + std::to_string(g_initialised ? g_world.rank : 0) + "] ";
  // fasrl::Error messages already carry the rank prefix; do not repeat it.
  const std::string body = reason.rfind(prefix, 0) == 0 ? reason.substr(prefix.size()) : reason;
  // One write: std::cerr is unbuffered, so piecewise output could be split by
  // mpirun's abort banner and the reason line lose its rank prefix.
  const std::string line = prefix + "fatal: " + body + "\n";
  std::cerr.write(line.data(), static_cast<std::streamsize>(line.size()));
  std::cerr.flush();
  if (g_initialised && g_world.size > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

int rank_in(MPI_Comm comm) {
  int rank = 0;
  FASRL_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  return rank;
}

int size_of(MPI_Comm comm) {
  int size = 0;
  FASRL_MPI_CHECK(MPI_Comm_size(comm, &size));
  return size;
}

void broadcast_string(std::string& text, int root, MPI_Comm comm) {
  int64_t n = static_cast<int64_t>(text.size());
  FASRL_MPI_CHECK(MPI_Bcast(&n, 1, MPI_INT64_T, root, comm));
  text.resize(static_cast<size_t>(n));
  FASRL_MPI_CHECK(MPI_Bcast(text.data(), static_cast<int>(n), MPI_CHAR, root, comm));
}

RoleSplit split_roles(const World& world, int num_learners) {
  if (num_learners < 1 || num_learners > world.size)
    raise(ErrorKind::kConfig, "cannot split ", world.size, " ranks into ", num_learners,
          " learners and the rest rollout workers: need 1 <= learners <= ranks");
  RoleSplit s;
  s.num_learners = num_learners;
  s.num_rollout = world.size - num_learners;
  s.role = world.rank < num_learners ? Role::kLearner : Role::kRollout;
  FASRL_MPI_CHECK(MPI_Comm_split(world.comm, s.role == Role::kLearner ? 0 : 1, world.rank, &s.role_comm));
  FASRL_MPI_CHECK(MPI_Comm_rank(s.role_comm, &s.role_rank));
  FASRL_MPI_CHECK(MPI_Comm_size(s.role_comm, &s.role_size));
  return s;
}

}  // namespace fasrl::comm
