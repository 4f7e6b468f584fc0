// comm::make_collective: the backend comm.backend names, for the device the
// tensors live on.
#include "comm/collective.h"
#include "core/error.h"

namespace fasrl::comm {

std::unique_ptr<Collective> make_collective(MPI_Comm comm, const proto::CommConfig& config, const torch::Device& device) {
  const std::string& backend = config.backend();
  const int gpu = device.index() < 0 ? 0 : device.index();
  if (backend == "mpi") return make_mpi_collective(comm, config);
  if (backend == "nccl") {
    if (!nccl_compiled())
      raise(ErrorKind::kConfig, "comm.backend: 'nccl', but this fasrl was built without NCCL (FASRL_WITH_NCCL, NCCL_ROOT); "
            "use 'mpi' or 'auto'");
    if (!device.is_cuda())
      raise(ErrorKind::kConfig, "comm.backend: 'nccl' reduces CUDA tensors, but this rank's model is on ", device.str(),
            "; use 'mpi' or 'auto' on the CPU");
    return make_nccl_collective(comm, config, gpu);
  }
  if (backend != "auto") raise(ErrorKind::kConfig, "comm.backend: '", backend, "' is not one of: auto, mpi, nccl");
  if (device.is_cuda() && nccl_compiled()) return make_nccl_collective(comm, config, gpu);
  return make_mpi_collective(comm, config);
}

}  // namespace fasrl::comm
