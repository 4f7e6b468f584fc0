#include "rollout/prompt_stream.h"

namespace fasrl::rollout {

PromptStream::PromptStream(std::shared_ptr<const data::Dataset> dataset, const proto::LoaderConfig& data,
                           const std::string& qa_field, int image_size, int prompts_per_batch, int rollout_index,
                           int num_rollout, uint64_t seed, int64_t first_step, int64_t learners_served) {
  proto::LoaderConfig lc = data;
  lc.set_split("train");
  lc.set_batch_size(prompts_per_batch);
  lc.set_drop_last(true);
  lc.set_image_size(image_size);
  lc.clear_text_fields();
  lc.add_text_fields(qa_field);
  lc.mutable_augment()->Clear();
  // The resume cursor: prompt batch n = first_step * served.
  const int64_t per_epoch = data::Loader(dataset, lc, rollout_index, num_rollout, seed + 1).batches_per_epoch();
  const int64_t n = first_step * learners_served;
  const data::LoaderCursor cursor{n / per_epoch, (n % per_epoch) * prompts_per_batch};
  loader_ = std::make_unique<data::Loader>(dataset, lc, rollout_index, num_rollout, seed + 1, cursor);
}

}  // namespace fasrl::rollout
