#include "comm/grad_sync.h"

#include <cstring>

#include "comm/bucketing.h"
#include "comm/check.h"
#include "core/error.h"
#include "core/io.h"

namespace fasrl::comm {

BucketedAllReduce::BucketedAllReduce(Collective& collective, const std::vector<torch::Tensor>& like,
                                     const proto::CommConfig& config)
    : collective_(collective) {
  std::vector<TensorSpec> specs;
  for (const auto& t : like) specs.push_back({t.numel() * t.element_size(), static_cast<int>(t.scalar_type())});
  const auto mib = [](float mb) { return static_cast<int64_t>(static_cast<double>(mb) * (1 << 20)); };
  buckets_ = assign_buckets(specs, mib(config.bucket_cap_mb()), mib(config.first_bucket_mb()));
  for (const auto& bucket : buckets_) {
    int64_t numel = 0;
    for (int i : bucket) numel += like[static_cast<size_t>(i)].numel();
    buffers_.push_back(torch::empty({numel}, like[static_cast<size_t>(bucket[0])].options()));
  }
}

void BucketedAllReduce::average(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  const double inv = 1.0 / collective_.size();
  for (size_t b = 0; b < buckets_.size(); ++b) {
    torch::Tensor& buffer = buffers_[b];
    int64_t offset = 0;
    for (int i : buckets_[b]) {  // pack: flat buffer [sum of numel]
      const torch::Tensor& t = tensors.at(static_cast<size_t>(i));
      if (!t.defined()) raise(ErrorKind::kInvalidArgument, "gradient sync: tensor ", i, " is undefined");
      buffer.narrow(0, offset, t.numel()).copy_(t.reshape(-1));
      offset += t.numel();
    }
    if (offset != buffer.numel()) raise(ErrorKind::kInvalidArgument, "gradient sync: tensor sizes changed since bucketing");
    collective_.all_reduce_sum(buffer);
    buffer.mul_(inv);
    offset = 0;
    for (int i : buckets_[b]) {  // unpack
      torch::Tensor t = tensors[static_cast<size_t>(i)];
      t.copy_(buffer.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

void check_same_shapes(MPI_Comm comm, const std::vector<torch::Tensor>& tensors, const std::string& what) {
  struct Summary {
    char digest[65];
    int64_t count;
    int64_t numel;
  };
  std::string descriptor;
  Summary mine{};
  for (const auto& t : tensors) {
    descriptor += std::string(c10::toString(t.scalar_type())) + ":";
    for (int64_t d : t.sizes()) descriptor += std::to_string(d) + ",";
    descriptor += ";";
    mine.numel += t.numel();
  }
  mine.count = static_cast<int64_t>(tensors.size());
  const std::string digest = sha256_hex(descriptor.data(), descriptor.size());
  std::memcpy(mine.digest, digest.c_str(), 65);
  int size = 1;
  FASRL_MPI_CHECK(MPI_Comm_size(comm, &size));
  std::vector<Summary> all(static_cast<size_t>(size));
  FASRL_MPI_CHECK(MPI_Allgather(&mine, sizeof mine, MPI_BYTE, all.data(), sizeof mine, MPI_BYTE, comm));
  std::string differ;
  for (int r = 1; r < size; ++r) {
    const Summary& s = all[static_cast<size_t>(r)];
    if (std::strcmp(s.digest, all[0].digest) != 0)
      differ += " rank " + std::to_string(r) + " (" + std::to_string(s.count) + " tensors, " + std::to_string(s.numel) +
                " elements)";
  }
  if (!differ.empty())
    raise(ErrorKind::kInvalidArgument, what, ": tensor shapes differ across ranks; rank 0 has ", all[0].count,
          " tensors, ", all[0].numel, " elements; differing:", differ);
}

}  // namespace fasrl::comm
