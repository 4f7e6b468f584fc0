#include "trainer/sft_data.h"

#include <algorithm>

#include "core/error.h"
#include "core/rng.h"
#include "models/chat_template.h"
#include "reasoning/response_format.h"

namespace fasrl::trainer {

ChatSequence sft_sequence(const models::BpeTokenizer& tok, models::MllmImpl& mllm, const std::vector<std::string>& present,
                          const std::string& question, const std::string& path, const std::string& answer,
                          const torch::Tensor& images) {
  ChatSequence s;
  s.ids = models::chat_prompt_ids(tok, mllm, present, question);
  s.is_target.assign(s.ids.size(), 0);
  const auto response = models::chat_completion_ids(tok, reasoning::format_response(path, answer));
  s.ids.insert(s.ids.end(), response.begin(), response.end());
  s.is_target.resize(s.ids.size(), 1);
  s.images = images;
  return s;
}

namespace {

// Sequence indices per row: first fit, in order, into rows of `capacity` tokens.
std::vector<std::vector<size_t>> first_fit(const std::vector<int64_t>& lengths, int64_t capacity) {
  std::vector<std::vector<size_t>> rows;
  std::vector<int64_t> used;
  for (size_t i = 0; i < lengths.size(); ++i) {
    size_t r = 0;
    while (r < rows.size() && used[r] + lengths[i] > capacity) ++r;
    if (r == rows.size()) {
      rows.emplace_back();
      used.push_back(0);
    }
    rows[r].push_back(i);
    used[r] += lengths[i];
  }
  return rows;
}

// Packed rows: as few as rows of max_length allow, at the smallest width that
// still needs no more of them (rows are padded to the widest, so eight
// 170-token answers become two ~700-token rows, not one full row and one
// short row padded to 1024).
std::vector<std::vector<size_t>> pack_rows(const std::vector<int64_t>& lengths, int64_t max_length) {
  const size_t fewest = first_fit(lengths, max_length).size();
  int64_t lo = *std::max_element(lengths.begin(), lengths.end()), hi = max_length;
  while (lo < hi) {  // smallest capacity whose first fit still uses `fewest` rows
    const int64_t mid = lo + (hi - lo) / 2;
    if (first_fit(lengths, mid).size() <= fewest) hi = mid;
    else lo = mid + 1;
  }
  return first_fit(lengths, hi);
}

}  // namespace

SequenceBatch collate(const std::vector<ChatSequence>& seqs, int64_t max_length, bool packing, int64_t pad_id) {
  FASRL_CHECK(!seqs.empty(), "collate: no sequences");
  std::vector<int64_t> lengths;
  for (const ChatSequence& s : seqs) {
    const int64_t n = static_cast<int64_t>(s.ids.size());
    if (n > max_length)
      raise(ErrorKind::kConfig, "sft.max_length ", max_length, " is shorter than a training sequence of ", n,
            " tokens (image tokens included)");
    lengths.push_back(n);
  }
  std::vector<std::vector<size_t>> rows;
  if (packing) {
    rows = pack_rows(lengths, max_length);
  } else {
    for (size_t i = 0; i < seqs.size(); ++i) rows.push_back({i});
  }
  int64_t longest = 0;
  for (const auto& row : rows) {
    int64_t used = 0;
    for (size_t i : row) used += lengths[i];
    longest = std::max(longest, used);
  }
  const int64_t R = static_cast<int64_t>(rows.size()), L = longest;
  SequenceBatch b;
  b.ids = torch::full({R, L}, pad_id, torch::kInt64);
  b.segments = torch::zeros({R, L}, torch::kInt64);
  b.positions = torch::zeros({R, L}, torch::kInt64);
  b.targets = torch::full({R, L}, -100, torch::kInt64);
  auto ids = b.ids.accessor<int64_t, 2>();
  auto seg = b.segments.accessor<int64_t, 2>();
  auto pos = b.positions.accessor<int64_t, 2>();
  auto tgt = b.targets.accessor<int64_t, 2>();
  std::vector<torch::Tensor> images;
  for (int64_t r = 0; r < R; ++r) {
    int64_t off = 0;
    for (size_t k = 0; k < rows[static_cast<size_t>(r)].size(); ++k) {
      const ChatSequence& s = seqs[rows[static_cast<size_t>(r)][k]];
      const int64_t n = static_cast<int64_t>(s.ids.size());
      for (int64_t t = 0; t < n; ++t) {
        ids[r][off + t] = s.ids[static_cast<size_t>(t)];
        seg[r][off + t] = static_cast<int64_t>(k) + 1;
        pos[r][off + t] = t;
        // Position t predicts token t+1 of the same sequence.
        if (t + 1 < n && s.is_target[static_cast<size_t>(t + 1)]) {
          tgt[r][off + t] = s.ids[static_cast<size_t>(t + 1)];
          ++b.target_tokens;
        }
      }
      off += n;
      if (s.images.defined()) images.push_back(s.images);
    }
  }
  if (!images.empty()) b.images = torch::cat(images, 0);
  return b;
}

// One training sequence per sample: a QA item and a path chosen by a seed
// from the sample id and the epoch.
std::vector<ChatSequence> sft_batch_sequences(const data::Batch& batch, const models::MllmImages& in,
                                          const models::BpeTokenizer& tok, models::MllmImpl& mllm,
                                          const std::string& qa_field, const proto::SftConfig& sft, uint64_t seed) {
  const int64_t b = batch.size();
  std::vector<std::vector<reasoning::QaItem>> items;
  for (int64_t i = 0; i < b; ++i)
    items.push_back(reasoning::qa_from_json(batch.text.at(qa_field)[static_cast<size_t>(i)], batch.sample_ids[static_cast<size_t>(i)]));
  std::vector<ChatSequence> out;
  int64_t offset = 0;
  for (int64_t i = 0; i < b; ++i) {
    // Seeded by (sample, epoch): independent of rank count and batch layout, so resume is exact.
    Rng rng(derive_seed(seed, fnv1a64(batch.sample_ids[static_cast<size_t>(i)]), static_cast<uint64_t>(batch.start.epoch)));
    const auto& own = items[static_cast<size_t>(i)];
    if (own.empty()) raise(ErrorKind::kInvalidArgument, "sample ", batch.sample_ids[static_cast<size_t>(i)], " has no QA items");
    const reasoning::QaItem& item = own[rng.below(own.size())];
    const std::string& path = item.paths[rng.below(item.paths.size())];
    std::string answer = item.answer;
    // PA-FAS answer shuffling: another sample's answer to the same kind of question.
    if (b > 1 && rng.bernoulli(sft.answer_swap_fraction())) {
      const int64_t j = (i + 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(b - 1)))) % b;
      for (const auto& other : items[static_cast<size_t>(j)])
        if (other.kind == item.kind) answer = other.answer;
    }
    const auto& present = in.present[static_cast<size_t>(i)];
    const int64_t k = static_cast<int64_t>(present.size());
    const torch::Tensor images = k ? in.images.slice(0, offset, offset + k) : torch::Tensor();
    offset += k;
    out.push_back(sft_sequence(tok, mllm, present, item.question, path, answer, images));
  }
  return out;
}


}  // namespace fasrl::trainer
