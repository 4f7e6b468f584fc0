// The MPI world: initialisation, the learner/rollout role split, and ending
// the whole job when one rank fails. MPI is the control plane everywhere.
#pragma once
#include <mpi.h>

#include <string>

namespace fasrl::comm {

struct World {
  int rank = 0;
  int size = 1;
  MPI_Comm comm = MPI_COMM_WORLD;
};

// Initialises MPI once and records the rank for error messages. It asks for
// MPI_THREAD_MULTIPLE, so the MPI collective can reduce gradient buckets on
// its own thread while backward runs; with less, every MPI call stays on the
// main thread (loader workers never call MPI).
const World& init_world(int* argc, char*** argv);
// True when MPI granted MPI_THREAD_MULTIPLE.
bool mpi_thread_multiple();
bool world_initialised();
void finalize_world();

// Logs "[rank R] fatal: <reason>" and ends every rank (MPI_Abort), so a failed
// rank never leaves its peers waiting. Safe to call before MPI is up.
[[noreturn]] void abort_job(const std::string& reason, int exit_code = 1);

// Rank and size of `comm`; root's `text` on every rank of `comm` (collective).
int rank_in(MPI_Comm comm);
int size_of(MPI_Comm comm);
void broadcast_string(std::string& text, int root, MPI_Comm comm);

enum class Role { kLearner, kRollout };

struct RoleSplit {
  Role role = Role::kLearner;
  MPI_Comm role_comm = MPI_COMM_NULL;  // the ranks of my role
  int role_rank = 0, role_size = 1;
  int num_learners = 1, num_rollout = 0;
};

// Ranks 0..L-1 learn, L..W-1 roll out. Errors (on every rank, same text) when
// the split is impossible.
RoleSplit split_roles(const World& world, int num_learners);

}  // namespace fasrl::comm
