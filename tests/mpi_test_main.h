// Shared main() for GoogleTest executables run under mpirun: initialises the
// MPI world, runs the tests on every rank and fails if any rank failed.
#pragma once
#include "comm/world.h"

namespace fasrl::testing {
const comm::World& mpi_world();
}
