// The prompts a rollout worker generates for: its own slice of the train
// split (rollout index r of R), prompts_per_batch samples per learner step,
// with QA text and no augmentation. Prompt batch n = step·served + j for the
// j-th learner it serves, a function of the step, so a resumed job
// regenerates exactly the steps not yet learned from — none lost, none twice.
// Refill batches (dynamic sampling) come from a second, differently shuffled
// order of the same slice, at an index that is also a function of the step.
#pragma once
#include <memory>
#include <string>

#include "data/dataset.h"
#include "data/loader.h"
#include "proto/config.pb.h"

namespace fasrl::rollout {

class PromptStream {
 public:
  // data: the job's loader config; image_size: the model's; seed: run.seed.
  PromptStream(std::shared_ptr<const data::Dataset> dataset, const proto::LoaderConfig& data, const std::string& qa_field,
               int image_size, int prompts_per_batch, int rollout_index, int num_rollout, uint64_t seed,
               int64_t first_step, int64_t learners_served);
  data::Batch next() { return loader_->next(); }
  // Refill batch n of the second order (a loader is opened for it: refills are rare).
  data::Batch refill(int64_t n) const;

 private:
  data::LoaderCursor cursor_of(int64_t n) const;
  std::shared_ptr<const data::Dataset> dataset_;
  proto::LoaderConfig config_;
  int rollout_index_, num_rollout_;
  uint64_t seed_;
  int64_t per_epoch_;
  std::unique_ptr<data::Loader> loader_;
};

}  // namespace fasrl::rollout
