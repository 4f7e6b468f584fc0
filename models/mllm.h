// The multimodal LLM, one of two architectures (mllm.architecture):
// - "llava": vision tower -> projector -> decoder, with HF LLaVA-style names
//   (vision_tower.vision_model.*, multi_modal_projector.linear_{1,2},
//   language_model.model.*, language_model.lm_head). Every image is written
//   in the token stream as <rgb><|image_pad|> x P</rgb> (P = patches).
// - "qwen2_5_vl": Qwen2.5-VL (models/qwen_vl.h) with its HF names (visual.*,
//   model.*, lm_head). Every image is written as
//   rgb: <|vision_start|><|image_pad|> x N<|vision_end|> (N = merged tokens
//   of the smart-resized image) and the decoder uses M-RoPE positions.
// embed() replaces the image-pad embeddings, in order, with the image tokens
// of `images` [K, 3, S, S], where K is the number of image blocks in the whole
// batch, row-major. A sample simply leaves out the blocks of modalities it
// does not have.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/clip.h"
#include "models/decoder.h"
#include "models/generate.h"
#include "models/qwen_vl.h"
#include "models/tokenizer.h"
#include "proto/config.pb.h"

namespace fasrl::models {

inline constexpr const char* kImagePadToken = "<|image_pad|>";
inline constexpr const char* kVisionStartToken = "<|vision_start|>";
inline constexpr const char* kVisionEndToken = "<|vision_end|>";
inline constexpr const char* kQwenVlArchitecture = "qwen2_5_vl";
std::string modality_open_tag(const std::string& modality);   // "<rgb>"
std::string modality_close_tag(const std::string& modality);  // "</rgb>"
// Special tokens a tokenizer needs for these modalities: LLaVA-style, the
// tags and the image pad; Qwen2.5-VL, the vision start/end and image pad.
std::vector<std::string> mllm_special_tokens(const std::vector<std::string>& modalities,
                                             const std::string& architecture = "llava");

class MllmImpl : public torch::nn::Module {
 public:
  MllmImpl(const proto::MllmConfig& config, int64_t image_pad_id);

  bool is_qwen_vl() const { return !qwen_.is_empty(); }
  int64_t tokens_per_image() const { return tokens_per_image_; }
  int64_t image_pad_id() const { return image_pad_id_; }
  const proto::MllmConfig& config() const { return config_; }
  Decoder& language_model() { return language_model_; }
  QwenVl& qwen_vl() { return qwen_; }  // null unless is_qwen_vl()

  // images [K, 3, S, S] -> [K, P, hidden]
  torch::Tensor encode_images(const torch::Tensor& images);
  // ids [B, T] (with image-pad tokens) + images [K, 3, S, S] -> embeddings [B, T, hidden].
  // The number of image-pad tokens must equal K * P (error otherwise).
  torch::Tensor embed(const torch::Tensor& ids, const torch::Tensor& images);
  // Logits [B, T, V]; key_padding [B, T] (0 = padding; segment ids when packed) or undefined;
  // positions [B, T] default to counting the real tokens of each row (per
  // segment when packed). Qwen2.5-VL computes its M-RoPE positions from ids
  // and key_padding and ignores `positions`.
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& images, const torch::Tensor& key_padding = {},
                        const torch::Tensor& positions = {});
  // Positions of left-padded prompts for generation (models/generate.h).
  PromptPositions prompt_positions(const torch::Tensor& ids, const torch::Tensor& pad);

  // The image blocks of each present modality, in order.
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
  // Qwen2.5-VL: its modules are registered here under their HF names.
  QwenVl qwen_{nullptr};
  PatchGrid qwen_grid_;  // of every image (all are vision.image_size square)
  std::vector<PatchGrid> qwen_grids(const torch::Tensor& images) const;
  torch::Tensor qwen_patches(const torch::Tensor& images) const;  // [K, 3, S, S] in [-1,1] -> [K * patches, values]
};
TORCH_MODULE(Mllm);

// The decoder's config of either architecture.
const proto::DecoderConfig& mllm_decoder_config(const proto::MllmConfig& config);

// Builds an MLLM whose image-pad id comes from `tokenizer`; checks that the
// tokenizer has every tag token of `modalities` and that the decoder's
// vocabulary covers the tokenizer (errors name the config key or token).
Mllm make_mllm(const proto::MllmConfig& config, const BpeTokenizer& tokenizer, const std::vector<std::string>& modalities);

// Loader images -> MLLM input. per_modality[m]: [B, C_m, S, S] in [0,1] (C_m
// 1 or 3; one channel is replicated to three); mask [B, M] (1 = present).
// Returns the images of present modalities, row-major, mapped to [-1,1]:
// [K, 3, S, S], and per row the names of its present modalities.
// Tokens the policy never emits: the image pad, the vision start/end, and ids the decoder has but
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
// weights from mllm.init_from (a fasrl checkpoint or export, or an HF
// Qwen2.5-VL directory: see resolve_mllm_config) when set.
struct MllmBundle {
  BpeTokenizer tokenizer;
  Mllm model{nullptr};
};
// `init_weights` false: the model is built but mllm.init_from's weights are
// not read (the caller loads a checkpoint's over them).
MllmBundle load_mllm(const proto::MllmConfig& config, const std::vector<std::string>& modalities,
                     bool init_weights = true);

// The config with what an HF Qwen2.5-VL directory in init_from says filled in:
// architecture qwen2_5_vl, `qwen` from its config.json, the image processor
// from its preprocessor_config.json, and its tokenizer.json unless
// mllm.tokenizer is set. Other configs come back unchanged.
proto::MllmConfig resolve_mllm_config(const proto::MllmConfig& config);

}  // namespace fasrl::models
