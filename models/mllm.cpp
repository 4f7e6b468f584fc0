#include "models/mllm.h"

#include "core/error.h"
#include "core/io.h"
#include "core/safetensors.h"
#include "models/weights.h"

namespace fasrl::models {

std::string modality_open_tag(const std::string& m) { return "<" + m + ">"; }
std::string modality_close_tag(const std::string& m) { return "</" + m + ">"; }

std::vector<std::string> mllm_special_tokens(const std::vector<std::string>& modalities) {
  std::vector<std::string> out;
  for (const auto& m : modalities) {
    out.push_back(modality_open_tag(m));
    out.push_back(modality_close_tag(m));
  }
  out.push_back(kImagePadToken);
  return out;
}

MllmImpl::MllmImpl(const proto::MllmConfig& config, int64_t image_pad_id)
    : config_(config), image_pad_id_(image_pad_id) {
  const proto::VisionConfig& v = config.vision();
  if (v.in_channels() != 3)
    raise(ErrorKind::kConfig, "mllm.vision.in_channels must be 3 (one-channel modalities are replicated), got ",
          v.in_channels());
  if (v.image_size() % v.patch_size() != 0)
    raise(ErrorKind::kConfig, "mllm.vision.image_size ", v.image_size(), " is not a multiple of patch_size ",
          v.patch_size());
  const int64_t side = v.image_size() / v.patch_size();
  tokens_per_image_ = side * side;
  const int64_t hidden = config.decoder().hidden_size();
  const int64_t mid = config.projector_hidden() > 0 ? config.projector_hidden() : hidden;
  vision_tower_ = register_module("vision_tower", std::make_shared<VisionTower>());
  vision_tower_->vision_model = vision_tower_->register_module("vision_model", VisionTransformer(v));
  projector_ = register_module("multi_modal_projector", std::make_shared<Projector>());
  projector_->linear_1 = projector_->register_module("linear_1", torch::nn::Linear(v.width(), mid));
  projector_->linear_2 = projector_->register_module("linear_2", torch::nn::Linear(mid, hidden));
  language_model_ = register_module("language_model", Decoder(config.decoder()));
}

torch::Tensor MllmImpl::encode_images(const torch::Tensor& images) {
  const torch::Tensor patches = vision_tower_->vision_model->patch_features(images);  // [K, P, Dv]
  return projector_->linear_2(torch::gelu(projector_->linear_1(patches)));          // [K, P, hidden]
}

torch::Tensor MllmImpl::embed(const torch::Tensor& ids, const torch::Tensor& images) {
  torch::Tensor embeds = language_model_->embed(ids);  // [B, T, D]
  const torch::Tensor is_pad = ids == image_pad_id_;   // [B, T]
  const int64_t slots = is_pad.sum().item<int64_t>();
  const int64_t k = images.defined() ? images.size(0) : 0;
  if (slots != k * tokens_per_image_)
    raise(ErrorKind::kInvalidArgument, "mllm: the prompts hold ", slots, " image-pad tokens but ", k, " images x ",
          tokens_per_image_, " patches = ", k * tokens_per_image_, " were given");
  if (k == 0) return embeds;
  const torch::Tensor features = encode_images(images).reshape({k * tokens_per_image_, -1});  // [K*P, D]
  // Row-major order of the pad positions = order of the images.
  return embeds.masked_scatter(is_pad.unsqueeze(-1), features.to(embeds.dtype()));
}

torch::Tensor MllmImpl::forward(const torch::Tensor& ids, const torch::Tensor& images, const torch::Tensor& key_padding,
                               const torch::Tensor& positions) {
  torch::Tensor pos = positions;
  if (!pos.defined())
    pos = key_padding.defined() ? (key_padding.ne(0).to(torch::kInt64).cumsum(1) - 1).clamp_min(0)
                                : torch::arange(ids.size(1)).unsqueeze(0).expand({ids.size(0), -1});
  return language_model_->forward(embed(ids, images), pos, key_padding);
}

std::string MllmImpl::image_prompt(const std::vector<std::string>& present) const {
  std::string out;
  for (const auto& m : present) {
    out += modality_open_tag(m);
    for (int64_t i = 0; i < tokens_per_image_; ++i) out += kImagePadToken;
    out += modality_close_tag(m);
  }
  return out;
}

Mllm make_mllm(const proto::MllmConfig& config, const BpeTokenizer& tokenizer, const std::vector<std::string>& modalities) {
  for (const auto& t : mllm_special_tokens(modalities))
    if (tokenizer.token_id(t) < 0)
      raise(ErrorKind::kConfig, "mllm.tokenizer ", config.tokenizer(), ": has no token '", t,
            "' (train it with these special tokens: fasrl tokenizer train)");
  if (tokenizer.vocab_size() > config.decoder().vocab_size())
    raise(ErrorKind::kConfig, "mllm.decoder.vocab_size ", config.decoder().vocab_size(), " is smaller than the tokenizer's ",
          tokenizer.vocab_size(), " tokens (", config.tokenizer(), ")");
  return Mllm(config, tokenizer.token_id(kImagePadToken));
}

MllmImages mllm_images(const std::vector<torch::Tensor>& per_modality, const torch::Tensor& mask,
                       const std::vector<std::string>& names) {
  FASRL_CHECK(per_modality.size() == names.size() && mask.size(1) == static_cast<int64_t>(names.size()),
              "mllm_images: modality count mismatch");
  const int64_t b = mask.size(0);
  MllmImages out;
  out.present.resize(static_cast<size_t>(b));
  std::vector<torch::Tensor> picked;
  const auto mask_cpu = mask.to(torch::kCPU).contiguous();
  for (int64_t i = 0; i < b; ++i)
    for (size_t m = 0; m < names.size(); ++m) {
      if (mask_cpu[i][static_cast<int64_t>(m)].item<int>() == 0) continue;
      FASRL_CHECK(per_modality[m].size(1) == 1 || per_modality[m].size(1) == 3, "mllm_images: modality ", names[m],
                  " has ", per_modality[m].size(1), " channels");
      picked.push_back(mllm_image(per_modality[m][i]));
      out.present[static_cast<size_t>(i)].push_back(names[m]);
    }
  if (!picked.empty()) out.images = torch::stack(picked);
  return out;
}

std::vector<int64_t> policy_banned_ids(MllmImpl& mllm, const BpeTokenizer& tokenizer) {
  std::vector<int64_t> out{mllm.image_pad_id()};
  for (int64_t id = tokenizer.vocab_size(); id < mllm.config().decoder().vocab_size(); ++id) out.push_back(id);
  return out;
}

torch::Tensor mllm_image(const torch::Tensor& chw01) {
  const torch::Tensor img = chw01.size(0) == 1 ? chw01.expand({3, -1, -1}) : chw01;
  return img.sub(0.5).div(0.5);
}

MllmBundle load_mllm(const proto::MllmConfig& config, const std::vector<std::string>& modalities) {
  BpeTokenizer tok = BpeTokenizer::load(config.tokenizer());
  Mllm model = make_mllm(config, tok, modalities);
  if (config.has_init_from() && !config.init_from().empty()) {
    const std::string path = join_path(config.init_from(), "model.safetensors");
    copy_weights(*model, load_safetensors(path).tensors, path);
  }
  return {std::move(tok), model};
}

}  // namespace fasrl::models
