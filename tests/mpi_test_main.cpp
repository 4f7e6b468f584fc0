#include "mpi_test_main.h"

#include <gtest/gtest.h>

namespace fasrl::testing {
namespace {
const comm::World* g_world = nullptr;
}
const comm::World& mpi_world() { return *g_world; }
}  // namespace fasrl::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  fasrl::testing::g_world = &fasrl::comm::init_world(&argc, &argv);
  const int rc = RUN_ALL_TESTS();
  int worst = 0;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  fasrl::comm::finalize_world();
  return worst;
}
