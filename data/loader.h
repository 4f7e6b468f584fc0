// The distributed loader. Each rank reads a disjoint, epoch-seeded slice of a
// protocol split (data/sampler.h); worker threads read, decode and augment
// whole batches ahead of the trainer, and next() hands them out in order.
//
// Determinism: a sample's augmentation is seeded by (seed, epoch, its position
// in the split), never by thread timing, so the batch sequence depends only on
// (config, seed, rank, world, start cursor). A loader started at a saved
// cursor() yields exactly the batches the original would have yielded next.
//
// Errors in a worker (a corrupt chunk, say) are rethrown by next() with the
// file, dataset and sample named.
#pragma once
#include <torch/torch.h>

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "proto/config.pb.h"

namespace fasrl::data {

struct LoaderCursor {
  int64_t epoch = 0;
  int64_t position = 0;  // samples of this rank's epoch order already handed out
  bool operator==(const LoaderCursor& o) const { return epoch == o.epoch && position == o.position; }
};

struct Batch {
  std::vector<std::string> modalities;  // names, in the order of `images`
  std::vector<torch::Tensor> images;    // per modality: [B, C_m, S, S] float32 in [0,1]
  torch::Tensor modality_mask;          // [B, M] uint8, 1 = present
  torch::Tensor binary, coarse, fine;   // [B] int64
  torch::Tensor subject, domain;        // [B] int64
  std::vector<std::string> sample_ids;
  std::map<std::string, std::vector<std::string>> text;  // loader.text_fields: field -> [B] UTF-8
  std::vector<SampleRef> refs;
  LoaderCursor start;                   // cursor of the batch's first sample
  int64_t size() const { return static_cast<int64_t>(refs.size()); }
};

class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> dataset, const proto::LoaderConfig& config, int rank, int world,
         uint64_t seed, LoaderCursor start = {});
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  Batch next();                    // blocks until the next batch is ready; crosses epochs
  LoaderCursor cursor() const;     // where the next batch starts (save this to resume)
  int64_t split_size() const { return static_cast<int64_t>(split_.size()); }
  int64_t samples_per_rank() const;
  int64_t batches_per_epoch() const;

 private:
  struct Task {
    int64_t seq;
    LoaderCursor start;
    int64_t count;
  };
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };
  Task plan_next_task();  // under mutex_
  std::shared_ptr<const std::vector<int64_t>> epoch_order(int64_t epoch);  // under mutex_
  Batch build(const Task& task, const std::vector<int64_t>& order) const;
  void worker_loop();

  std::shared_ptr<const Dataset> dataset_;
  proto::LoaderConfig config_;
  int rank_, world_;
  uint64_t seed_;
  std::vector<SampleRef> split_;
  std::vector<int> modality_ids_;  // manifest indices loaded
  int out_size_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  int64_t next_seq_to_plan_ = 0, next_seq_to_return_ = 0;
  LoaderCursor plan_cursor_, return_cursor_;
  std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> orders_;
  std::map<int64_t, Slot> ready_;
  std::vector<std::thread> workers_;
};

}  // namespace fasrl::data
