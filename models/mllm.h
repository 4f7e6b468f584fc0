// The multimodal LLM: vision tower -> projector -> decoder, with HF LLaVA-style
// names (vision_tower.vision_model.*, multi_modal_projector.linear_{1,2},
// language_model.model.*, language_model.lm_head).
//
// Prompt layout: every image the model sees is written in the token stream as
//   <rgb><|image_pad|> x P</rgb>
// (P = patches per image); embed() replaces the image-pad embeddings, in
// order, with the projected patch tokens of `images` [K, 3, S, S], where K is
// the number of image blocks in the whole batch, row-major. A sample simply
// leaves out the blocks of modalities it does not have.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/clip.h"
#include "models/decoder.h"
#include "models/tokenizer.h"
#include "proto/config.pb.h"

namespace fasrl::models {

inline constexpr const char* kImagePadToken = "<|image_pad|>";
std::string modality_open_tag(const std::string& modality);   // "<rgb>"
std::string modality_close_tag(const std::string& modality);  // "</rgb>"
// Special tokens a tokenizer needs for these modalities (tags + image pad).
std::vector<std::string> mllm_special_tokens(const std::vector<std::string>& modalities);

class MllmImpl : public torch::nn::Module {
 public:
  MllmImpl(const proto::MllmConfig& config, int64_t image_pad_id);

  int64_t tokens_per_image() const { return tokens_per_image_; }
  int64_t image_pad_id() const { return image_pad_id_; }
  const proto::MllmConfig& config() const { return config_; }
  Decoder& language_model() { return language_model_; }

  // images [K, 3, S, S] -> [K, P, hidden]
  torch::Tensor encode_images(const torch::Tensor& images);
  // ids [B, T] (with image-pad tokens) + images [K, 3, S, S] -> embeddings [B, T, hidden].
  // The number of image-pad tokens must equal K * P (error otherwise).
  torch::Tensor embed(const torch::Tensor& ids, const torch::Tensor& images);
  // Logits [B, T, V]; key_padding [B, T] (0 = padding; segment ids when packed) or undefined;
  // positions [B, T] default to counting the real tokens of each row.
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& images, const torch::Tensor& key_padding = {},
                        const torch::Tensor& positions = {});

  // "<rgb><|image_pad|>...</rgb>" for each present modality, in order.
  std::string image_prompt(const std::vector<std::string>& present_modalities) const;

 private:
  proto::MllmConfig config_;
  int64_t image_pad_id_, tokens_per_image_;
  struct VisionTower : torch::nn::Module {
    VisionTransformer vision_model{nullptr};
  };
  struct Projector : torch::nn::Module {
    torch::nn::Linear linear_1{nullptr}, linear_2{nullptr};
  };
  std::shared_ptr<VisionTower> vision_tower_;
  std::shared_ptr<Projector> projector_;
  Decoder language_model_{nullptr};
};
TORCH_MODULE(Mllm);

// Builds an MLLM whose image-pad id comes from `tokenizer`; checks that the
// tokenizer has every tag token of `modalities` and that the decoder's
// vocabulary covers the tokenizer (errors name the config key or token).
Mllm make_mllm(const proto::MllmConfig& config, const BpeTokenizer& tokenizer, const std::vector<std::string>& modalities);

// Loader images -> MLLM input. per_modality[m]: [B, C_m, S, S] in [0,1] (C_m
// 1 or 3; one channel is replicated to three); mask [B, M] (1 = present).
// Returns the images of present modalities, row-major, mapped to [-1,1]:
// [K, 3, S, S], and per row the names of its present modalities.
// Tokens the policy never emits: the image pad, and ids the decoder has but
// the tokenizer does not (a decoder vocabulary padded past the tokenizer's).
// Generation and every log-prob recomputation must ban the same set.
std::vector<int64_t> policy_banned_ids(MllmImpl& mllm, const BpeTokenizer& tokenizer);

// One image [C, S, S] in [0,1] (C 1 or 3) -> [3, S, S] in [-1,1].
torch::Tensor mllm_image(const torch::Tensor& chw01);
struct MllmImages {
  torch::Tensor images;
  std::vector<std::vector<std::string>> present;
};
MllmImages mllm_images(const std::vector<torch::Tensor>& per_modality, const torch::Tensor& mask,
                       const std::vector<std::string>& names);

// A job's model: the tokenizer (mllm.tokenizer), the MLLM over `modalities`,
// weights from mllm.init_from (a directory with model.safetensors: a
// checkpoint or an export) when set.
struct MllmBundle {
  BpeTokenizer tokenizer;
  Mllm model{nullptr};
};
MllmBundle load_mllm(const proto::MllmConfig& config, const std::vector<std::string>& modalities);

}  // namespace fasrl::models
