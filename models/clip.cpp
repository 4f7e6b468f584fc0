#include "models/clip.h"

#include "models/checkpointing.h"
#include "models/weights.h"

#include <map>
#include <sstream>

#include "core/error.h"
#include "core/safetensors.h"

namespace fasrl::models {

VisionEmbeddingsImpl::VisionEmbeddingsImpl(const proto::VisionConfig& c) {
  if (c.image_size() % c.patch_size() != 0)
    raise(ErrorKind::kConfig, "vision.patch_size ", c.patch_size(), " must divide vision.image_size ", c.image_size());
  const int64_t side = c.image_size() / c.patch_size();
  num_positions_ = side * side + 1;
  class_embedding = register_parameter("class_embedding", torch::randn({c.width()}) * 0.02);
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(c.in_channels(), c.width(), c.patch_size()).stride(c.patch_size()).bias(false)));
  position_embedding = register_module("position_embedding", torch::nn::Embedding(num_positions_, c.width()));
  torch::NoGradGuard g;
  position_embedding->weight.normal_(0, 0.02);
}

torch::Tensor VisionEmbeddingsImpl::forward(const torch::Tensor& images) {
  const int64_t b = images.size(0);
  const torch::Tensor patches = patch_embedding(images).flatten(2).transpose(1, 2);            // [B, P, D]
  const torch::Tensor cls = class_embedding.view({1, 1, -1}).expand({b, 1, patches.size(2)});  // [B, 1, D]
  return torch::cat({cls, patches}, 1) + position_embedding->weight.unsqueeze(0);              // [B, 1+P, D]
}

EncoderImpl::EncoderImpl(int64_t width, int64_t layers, int64_t heads, double mlp_ratio, const proto::MoaeConfig* moae,
                         int64_t tokens) {
  layers_list = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i) layers_list->push_back(ClipEncoderLayer(width, heads, mlp_ratio, moae, tokens));
}

torch::Tensor EncoderImpl::forward(torch::Tensor x, const torch::Tensor& mask) {
  for (const auto& module : *layers_list) {
    ClipEncoderLayerImpl* layer = module->as<ClipEncoderLayerImpl>();
    if (checkpoint_layers_)
      x = recompute_in_backward([=](const torch::Tensor& y) { return layer->forward(y, mask); }, x);
    else
      x = layer->forward(x, mask);
  }
  return x;
}

VisionTransformerImpl::VisionTransformerImpl(const proto::VisionConfig& c) {
  embeddings = register_module("embeddings", VisionEmbeddings(c));
  pre_layrnorm =
      register_module("pre_layrnorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width()}).eps(1e-5)));
  encoder = register_module(
      "encoder", Encoder(c.width(), c.layers(), c.heads(), c.mlp_ratio(), &c.moae(), embeddings->num_positions()));
  post_layernorm =
      register_module("post_layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width()}).eps(1e-5)));
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images) {
  const torch::Tensor h = encoder(pre_layrnorm(embeddings(images)));  // [B, 1+P, D]
  return post_layernorm(h.select(1, 0));                              // class token [B, D]
}

torch::Tensor VisionTransformerImpl::patch_features(const torch::Tensor& images) {
  const torch::Tensor h = encoder(pre_layrnorm(embeddings(images)));  // [B, 1+P, D]
  return post_layernorm(h.slice(1, 1));
}

TextTransformerImpl::TextTransformerImpl(const proto::TextConfig& c) {
  embeddings = register_module("embeddings", std::make_shared<Embeddings>());
  embeddings->token_embedding =
      embeddings->register_module("token_embedding", torch::nn::Embedding(c.vocab_size(), c.width()));
  embeddings->position_embedding =
      embeddings->register_module("position_embedding", torch::nn::Embedding(c.context_length(), c.width()));
  {
    torch::NoGradGuard g;
    embeddings->token_embedding->weight.normal_(0, 0.02);
    embeddings->position_embedding->weight.normal_(0, 0.01);
  }
  encoder = register_module("encoder", Encoder(c.width(), c.layers(), c.heads(), c.mlp_ratio(), nullptr, 0));
  final_layer_norm =
      register_module("final_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width()}).eps(1e-5)));
}

torch::Tensor TextTransformerImpl::forward(const torch::Tensor& ids, const torch::Tensor& eot) {
  const int64_t t = ids.size(1);
  const torch::Tensor x =
      embeddings->token_embedding(ids) + embeddings->position_embedding->weight.slice(0, 0, t).unsqueeze(0);
  const torch::Tensor causal =
      torch::full({t, t}, -std::numeric_limits<float>::infinity(), x.options()).triu(1);  // [T, T]
  const torch::Tensor h = final_layer_norm(encoder(x, causal));                           // [K, T, D]
  return h.index({torch::arange(ids.size(0), ids.options()), eot});                       // [K, D]
}

ClipModelImpl::ClipModelImpl(const proto::ClipConfig& c) {
  vision_model = register_module("vision_model", VisionTransformer(c.vision()));
  text_model = register_module("text_model", TextTransformer(c.text()));
  visual_projection =
      register_module("visual_projection",
                      torch::nn::Linear(torch::nn::LinearOptions(c.vision().width(), c.projection_dim()).bias(false)));
  text_projection = register_module(
      "text_projection", torch::nn::Linear(torch::nn::LinearOptions(c.text().width(), c.projection_dim()).bias(false)));
  logit_scale = register_parameter("logit_scale", torch::full({}, c.logit_scale_init()));
  if (!c.weights().empty()) load_weights(c.weights());
}

torch::Tensor ClipModelImpl::encode_image(const torch::Tensor& images) {
  return visual_projection(vision_model(images));
}

torch::Tensor ClipModelImpl::encode_text(const torch::Tensor& ids, const torch::Tensor& eot) {
  return text_projection(text_model(ids, eot));
}

int ClipModelImpl::load_weights(const std::string& path) { return load_weights(load_safetensors(path).tensors, path); }

int ClipModelImpl::load_weights(const std::map<std::string, torch::Tensor>& tensors, const std::string& path) {
  // MoAE is new: its parameters may be absent from CLIP weights and keep their random init.
  return copy_weights(*this, tensors, path, [](const std::string& name) { return name.find(".moae.") != std::string::npos; });
}

PromptTokens tokenize_prompts(const std::vector<std::string>& prompts, int64_t vocab_size, int64_t context_length) {
  std::map<std::string, int64_t> vocab;
  std::vector<std::vector<int64_t>> seqs;
  for (const auto& p : prompts) {
    std::vector<int64_t> ids{1};
    std::istringstream words(p);
    for (std::string w; words >> w;) {
      auto it = vocab.emplace(w, 3 + static_cast<int64_t>(vocab.size())).first;
      ids.push_back(it->second);
    }
    ids.push_back(2);
    if (static_cast<int64_t>(ids.size()) > context_length)
      raise(ErrorKind::kConfig, "prompt '", p, "' needs ", ids.size(), " tokens, context_length is ", context_length);
    seqs.push_back(ids);
  }
  if (3 + static_cast<int64_t>(vocab.size()) > vocab_size)
    raise(ErrorKind::kConfig, "prompts use ", vocab.size(), " words, text.vocab_size ", vocab_size, " is too small");
  size_t longest = 0;
  for (const auto& s : seqs) longest = std::max(longest, s.size());
  PromptTokens out{torch::zeros({static_cast<int64_t>(seqs.size()), static_cast<int64_t>(longest)}, torch::kInt64),
                   torch::zeros({static_cast<int64_t>(seqs.size())}, torch::kInt64)};
  for (size_t i = 0; i < seqs.size(); ++i) {
    for (size_t j = 0; j < seqs[i].size(); ++j) out.ids[static_cast<int64_t>(i)][static_cast<int64_t>(j)] = seqs[i][j];
    out.eot[static_cast<int64_t>(i)] = static_cast<int64_t>(seqs[i].size() - 1);
  }
  return out;
}

torch::Tensor clip_logits(const torch::Tensor& img, const torch::Tensor& text, const torch::Tensor& logit_scale) {
  auto l2n = [](const torch::Tensor& x) { return x / x.norm(2, -1, true).clamp_min(1e-12); };
  return logit_scale.exp() * torch::matmul(l2n(img), l2n(text).t());  // [N, C]
}

}  // namespace fasrl::models
