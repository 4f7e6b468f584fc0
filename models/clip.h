// CLIP with MoAE: a ViT image encoder (pre-LN, class token) whose blocks may
// carry a MoAE branch, a causal text encoder, projections and a learnable
// logit scale. Parameter names are HF CLIP's (vision_model.embeddings.
// patch_embedding.weight, text_model.encoder.layers.0.self_attn.q_proj.weight,
// visual_projection.weight, logit_scale, ...), so HF CLIP safetensors load
// directly; MoAE parameters (".moae.") are new and keep their random init.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "models/transformer.h"
#include "proto/config.pb.h"

namespace fasrl::models {

class VisionEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit VisionEmbeddingsImpl(const proto::VisionConfig& c);
  torch::Tensor forward(const torch::Tensor& images);  // [B, C, H, W] -> [B, 1 + P, D]
  int64_t num_positions() const { return num_positions_; }
  torch::Tensor class_embedding;

 private:
  int64_t num_positions_;
  torch::nn::Conv2d patch_embedding{nullptr};
  torch::nn::Embedding position_embedding{nullptr};
};
TORCH_MODULE(VisionEmbeddings);

class EncoderImpl : public torch::nn::Module {
 public:
  EncoderImpl(int64_t width, int64_t layers, int64_t heads, double mlp_ratio, const proto::MoaeConfig* moae, int64_t tokens);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& mask = {});
  // Recompute each block in backward instead of keeping its activations (models/checkpointing.h).
  void set_activation_checkpointing(bool on) { checkpoint_layers_ = on; }

 private:
  torch::nn::ModuleList layers_list{nullptr};
  bool checkpoint_layers_ = false;
};
TORCH_MODULE(Encoder);

class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const proto::VisionConfig& c);
  torch::Tensor forward(const torch::Tensor& images);  // -> pooled class token [B, D]
  // Patch tokens of the last layer, post-LN, class token dropped: [B, P, D]
  // (what an MLLM's projector consumes).
  torch::Tensor patch_features(const torch::Tensor& images);

 private:
  VisionEmbeddings embeddings{nullptr};
  torch::nn::LayerNorm pre_layrnorm{nullptr}, post_layernorm{nullptr};  // sic: HF's name
  Encoder encoder{nullptr};
};
TORCH_MODULE(VisionTransformer);

class TextTransformerImpl : public torch::nn::Module {
 public:
  explicit TextTransformerImpl(const proto::TextConfig& c);
  // ids [K, T] int64, eot [K] int64 positions -> pooled [K, D]
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& eot);

 private:
  struct Embeddings : torch::nn::Module {
    torch::nn::Embedding token_embedding{nullptr}, position_embedding{nullptr};
  };
  std::shared_ptr<Embeddings> embeddings;
  Encoder encoder{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(TextTransformer);

class ClipModelImpl : public torch::nn::Module {
 public:
  explicit ClipModelImpl(const proto::ClipConfig& c);
  torch::Tensor encode_image(const torch::Tensor& images);                          // [B, proj]
  torch::Tensor encode_text(const torch::Tensor& ids, const torch::Tensor& eot);    // [K, proj]
  torch::Tensor logit_scale;

  // Loads HF-named weights; every non-MoAE parameter must be present with its
  // shape (errors name the tensor and file). Returns the number loaded.
  int load_weights(const std::string& path);
  // Same, from tensors already in memory; `source` names them in errors.
  int load_weights(const std::map<std::string, torch::Tensor>& tensors, const std::string& source);

 private:
  VisionTransformer vision_model{nullptr};
  TextTransformer text_model{nullptr};
  torch::nn::Linear visual_projection{nullptr}, text_projection{nullptr};
};
TORCH_MODULE(ClipModel);

// Word-level tokenizer for the fixed class prompts ("This is an image of a
// live face"): 0 pad, 1 start, 2 end, words from 3. Real CLIP BPE vocabularies
// come with the BPE tokenizer; with HF weights, pass their ids instead.
struct PromptTokens {
  torch::Tensor ids;  // [K, T]
  torch::Tensor eot;  // [K]
};
PromptTokens tokenize_prompts(const std::vector<std::string>& prompts, int64_t vocab_size, int64_t context_length);

// CLIP class logits S [N, C] = exp(logit_scale) · l2n(img) · l2n(text)ᵀ;
// img [N, p], text [C, p] (MoAE-CR: row 0 live, row 1 fake), logit_scale a scalar (log).
torch::Tensor clip_logits(const torch::Tensor& img, const torch::Tensor& text, const torch::Tensor& logit_scale);

}  // namespace fasrl::models
