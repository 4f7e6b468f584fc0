#include "data/loader.h"

#include "core/error.h"
#include "data/modality_selection.h"
#include "core/rng.h"
#include "data/augment.h"
#include "data/sampler.h"

namespace fasrl::data {

Loader::Loader(std::shared_ptr<const Dataset> dataset, const proto::LoaderConfig& config, int rank, int world,
               uint64_t seed, LoaderCursor start)
    : dataset_(std::move(dataset)), config_(config), rank_(rank), world_(world), seed_(seed),
      plan_cursor_(start), return_cursor_(start) {
  const Manifest& m = dataset_->manifest();
  if (config.batch_size() < 1) raise(ErrorKind::kConfig, "data.batch_size must be >= 1, got ", config.batch_size());
  if (config.workers() < 1) raise(ErrorKind::kConfig, "data.workers must be >= 1, got ", config.workers());
  if (config.prefetch_batches() < 1)
    raise(ErrorKind::kConfig, "data.prefetch_batches must be >= 1, got ", config.prefetch_batches());
  if (m.image_height != m.image_width)
    raise(ErrorKind::kInvalidArgument, dataset_->dir(), ": loader needs square images, dataset has ", m.image_height,
          "x", m.image_width);
  out_size_ = config.image_size() > 0 ? config.image_size() : m.image_height;
  modality_ids_ = select_modalities(m, config).indices;
  for (const auto& field : config.text_fields())
    if (std::find(m.text_fields.begin(), m.text_fields.end(), field) == m.text_fields.end())
      raise(ErrorKind::kConfig, "data.text_fields: '", field, "' is not a text field of ", dataset_->dir(),
            " (run `fasrl data qa` to add QA items)");
  split_ = dataset_->select(config.protocol(), config.split());
  if (samples_per_rank() == 0)
    raise(ErrorKind::kInvalidArgument, dataset_->dir(), ": split ", config.protocol(), "/", config.split(), " has ",
          split_.size(), " samples, fewer than the ", world, " ranks");
  if (start.position < 0 || start.position > samples_per_rank())
    raise(ErrorKind::kInvalidArgument, "loader cursor position ", start.position, " outside [0, ", samples_per_rank(), "]");
  for (int i = 0; i < config.workers(); ++i) workers_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

int64_t Loader::samples_per_rank() const {
  return data::samples_per_rank({static_cast<int64_t>(split_.size()), rank_, world_, seed_, config_.shuffle()});
}

int64_t Loader::batches_per_epoch() const {
  const int64_t n = samples_per_rank(), b = config_.batch_size();
  return config_.drop_last() ? n / b : (n + b - 1) / b;
}

LoaderCursor Loader::cursor() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return return_cursor_;
}

std::shared_ptr<const std::vector<int64_t>> Loader::epoch_order(int64_t epoch) {
  auto it = orders_.find(epoch);
  if (it != orders_.end()) return it->second;
  SamplerSpec spec{static_cast<int64_t>(split_.size()), rank_, world_, seed_, config_.shuffle()};
  auto order = std::make_shared<const std::vector<int64_t>>(rank_epoch_order(spec, epoch));
  orders_.emplace(epoch, order);
  while (orders_.size() > 2) orders_.erase(orders_.begin());  // only the current and next epoch are live
  return order;
}

Loader::Task Loader::plan_next_task() {
  const int64_t per_rank = samples_per_rank(), b = config_.batch_size();
  auto epoch_done = [&](int64_t pos) { return pos >= per_rank || (config_.drop_last() && pos + b > per_rank); };
  if (epoch_done(plan_cursor_.position)) plan_cursor_ = {plan_cursor_.epoch + 1, 0};
  Task t{next_seq_to_plan_++, plan_cursor_, std::min(b, per_rank - plan_cursor_.position)};
  plan_cursor_.position += t.count;
  return t;
}

Batch Loader::build(const Task& task, const std::vector<int64_t>& order) const {
  const Manifest& m = dataset_->manifest();
  const int64_t b = task.count;
  const int s = out_size_, src_h = m.image_height, src_w = m.image_width;
  Batch batch;
  batch.start = task.start;
  for (int id : modality_ids_) {
    batch.modalities.push_back(m.modalities[id].name);
    batch.images.push_back(torch::empty({b, m.modalities[id].channels, s, s}, torch::kFloat32));
  }
  batch.modality_mask = torch::empty({b, static_cast<int64_t>(modality_ids_.size())}, torch::kUInt8);
  for (auto* t : {&batch.binary, &batch.coarse, &batch.fine, &batch.subject, &batch.domain})
    *t = torch::empty({b}, torch::kInt64);
  uint8_t* mask = batch.modality_mask.data_ptr<uint8_t>();
  int64_t* binary = batch.binary.data_ptr<int64_t>();
  int64_t* coarse = batch.coarse.data_ptr<int64_t>();
  int64_t* fine = batch.fine.data_ptr<int64_t>();
  int64_t* subject = batch.subject.data_ptr<int64_t>();
  int64_t* domain = batch.domain.data_ptr<int64_t>();
  std::vector<uint8_t> pixels;
  for (int64_t i = 0; i < b; ++i) {
    const int64_t split_pos = order[static_cast<size_t>(task.start.position + i)];
    const SampleRef ref = split_[static_cast<size_t>(split_pos)];
    const ShardReader& reader = dataset_->shard(ref.shard);
    const ShardIndex& idx = dataset_->index(ref.shard);
    const size_t row = static_cast<size_t>(ref.row);
    Rng rng(derive_seed(seed_, static_cast<uint64_t>(task.start.epoch), static_cast<uint64_t>(split_pos)));
    const AugmentParams aug = config_.split() == "train" ? sample_augment(config_.augment(), src_h, src_w, rng)
                                                         : identity_augment(src_h, src_w);
    for (size_t k = 0; k < modality_ids_.size(); ++k) {
      const int id = modality_ids_[k];
      const int ch = m.modalities[id].channels;
      pixels.resize(static_cast<size_t>(src_h) * src_w * ch);
      reader.read_image(id, ref.row, pixels.data());
      float* dst = batch.images[k].data_ptr<float>() + i * ch * s * s;
      apply_augment(pixels.data(), src_h, src_w, ch, aug, m.modalities[id].name == "rgb", dst, s, s);
      mask[i * static_cast<int64_t>(modality_ids_.size()) + static_cast<int64_t>(k)] =
          idx.modality_mask[row * m.modalities.size() + static_cast<size_t>(id)];
    }
    binary[i] = idx.binary[row];
    coarse[i] = idx.coarse[row];
    fine[i] = idx.fine[row];
    subject[i] = idx.subject[row];
    domain[i] = idx.domain[row];
    batch.refs.push_back(ref);
    for (const auto& field : config_.text_fields()) batch.text[field].push_back(reader.read_string(text_path(field), ref.row));
  }
  for (const auto& ref : batch.refs) batch.sample_ids.push_back(dataset_->shard(ref.shard).read_string(kMetaSampleId, ref.row));
  return batch;
}

void Loader::worker_loop() {
  torch::NoGradGuard guard;  // batches are inputs (not inference tensors: trainers save them for backward)
  while (true) {
    Task task;
    std::shared_ptr<const std::vector<int64_t>> order;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || next_seq_to_plan_ < next_seq_to_return_ + config_.prefetch_batches(); });
      if (stop_) return;
      task = plan_next_task();
      order = epoch_order(task.start.epoch);
    }
    Slot slot;
    try {
      slot.batch = build(task, *order);
    } catch (...) {
      slot.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(task.seq, std::move(slot));
    }
    cv_.notify_all();
  }
}

Batch Loader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return ready_.count(next_seq_to_return_) > 0; });
  Slot slot = std::move(ready_.at(next_seq_to_return_));
  ready_.erase(next_seq_to_return_);
  ++next_seq_to_return_;
  if (slot.error) {
    lock.unlock();
    cv_.notify_all();
    std::rethrow_exception(slot.error);
  }
  return_cursor_ = {slot.batch.start.epoch, slot.batch.start.position + slot.batch.size()};
  lock.unlock();
  cv_.notify_all();
  return std::move(slot.batch);
}

}  // namespace fasrl::data
