// Turning QA items into MLLM training sequences:
//   <|im_start|>user\n<rgb><|image_pad|>..</rgb>...\n{question}<|im_end|>\n
//   <|im_start|>assistant\n<think>{path}</think><answer>{answer}</answer><|im_end|>
// (models/chat_template.h and reasoning/response_format.h own these tokens)
// Only the assistant tokens are targets. Sequences are right-padded into
// rows, or packed several to a row (segment ids keep them apart, positions
// restart per sequence).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/loader.h"
#include "reasoning/qa_items.h"
#include "models/mllm.h"
#include "models/tokenizer.h"

namespace fasrl::trainer {

struct ChatSequence {
  std::vector<int64_t> ids;
  std::vector<uint8_t> is_target;  // 1 = assistant token (loss on predicting it)
  torch::Tensor images;            // [K, 3, S, S] of this sequence, or undefined
};
ChatSequence sft_sequence(const models::BpeTokenizer& tok, models::MllmImpl& mllm, const std::vector<std::string>& present,
                          const std::string& question, const std::string& path, const std::string& answer,
                          const torch::Tensor& images);

// One training sequence per sample of a loader batch: one of its QA items
// (text field `qa_field`) and one of that item's paths, chosen by a seed
// from (seed, sample id, epoch) — independent of rank count and batch layout,
// so resume is exact. With probability sft.answer_swap_fraction the answer is
// another sample's answer to the same kind of question (PA-FAS answer shuffling).
std::vector<ChatSequence> sft_batch_sequences(const data::Batch& batch, const models::MllmImages& images,
                                              const models::BpeTokenizer& tok, models::MllmImpl& mllm,
                                              const std::string& qa_field, const proto::SftConfig& sft, uint64_t seed);

struct SequenceBatch {
  torch::Tensor ids;        // [R, L] int64
  torch::Tensor segments;   // [R, L] int64: 0 padding, 1.. sequence within the row
  torch::Tensor positions;  // [R, L] int64, restarting per sequence
  torch::Tensor targets;    // [R, L] int64 next-token targets, -100 where no loss
  torch::Tensor images;     // [K, 3, S, S] in row-major image-pad order, or undefined
  int64_t target_tokens = 0;
};
// packing = false: one sequence per row. Sequences longer than max_length are
// an error naming the length (raise sft.max_length or shorten the data).
SequenceBatch collate(const std::vector<ChatSequence>& sequences, int64_t max_length, bool packing, int64_t pad_id);

}  // namespace fasrl::trainer
