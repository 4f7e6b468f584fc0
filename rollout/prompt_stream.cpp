#include "rollout/prompt_stream.h"

#include "core/error.h"

namespace fasrl::rollout {

PromptStream::PromptStream(std::shared_ptr<const data::Dataset> dataset, const proto::LoaderConfig& data,
                           const std::string& qa_field, int image_size, int prompts_per_batch, int rollout_index,
                           int num_rollout, uint64_t seed, int64_t first_step, int64_t learners_served)
    : dataset_(std::move(dataset)), config_(data), rollout_index_(rollout_index), num_rollout_(num_rollout), seed_(seed) {
  config_.set_split("train");
  config_.set_batch_size(prompts_per_batch);
  config_.set_drop_last(true);
  config_.set_image_size(image_size);
  config_.clear_text_fields();
  config_.add_text_fields(qa_field);
  config_.mutable_augment()->Clear();
  const data::Loader probe(dataset_, config_, rollout_index, num_rollout, seed + 1);
  per_epoch_ = probe.batches_per_epoch();
  if (per_epoch_ < 1)
    raise(ErrorKind::kConfig, "train.grpo.prompts_per_batch = ", prompts_per_batch, " exceeds the ", probe.samples_per_rank(),
          " train samples of rollout worker ", rollout_index, " (of ", num_rollout, "): lower it or use fewer rollout workers");
  // The resume cursor: prompt batch n = first_step * served.
  loader_ = std::make_unique<data::Loader>(dataset_, config_, rollout_index, num_rollout, seed + 1,
                                           cursor_of(first_step * learners_served));
}

data::LoaderCursor PromptStream::cursor_of(int64_t n) const {
  return {n / per_epoch_, (n % per_epoch_) * config_.batch_size()};
}

data::Batch PromptStream::refill(int64_t n) const {
  return data::Loader(dataset_, config_, rollout_index_, num_rollout_, seed_ + 2, cursor_of(n)).next();
}

}  // namespace fasrl::rollout
