#include "models/mllm.h"

#include "core/error.h"
#include "core/io.h"
#include "core/safetensors.h"
#include "models/hf_weights.h"
#include "models/qwen_image.h"
#include "models/qwen_vl_io.h"
#include "models/weights.h"

namespace fasrl::models {

std::string modality_open_tag(const std::string& m) { return "<" + m + ">"; }
std::string modality_close_tag(const std::string& m) { return "</" + m + ">"; }

std::vector<std::string> mllm_special_tokens(const std::vector<std::string>& modalities, const std::string& architecture) {
  if (architecture == kQwenVlArchitecture) return {kVisionStartToken, kVisionEndToken, kImagePadToken};
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
  if (config.architecture() == kQwenVlArchitecture) {
    if (image_pad_id != config.qwen().image_token_id())
      raise(ErrorKind::kConfig, "mllm.qwen.image_token_id ", config.qwen().image_token_id(), " is not the tokenizer's ",
            kImagePadToken, " (", image_pad_id, ")");
    qwen_ = QwenVl(config.qwen());
    for (const auto& child : qwen_->named_children()) register_module(child.key(), child.value());  // HF names
    language_model_ = qwen_->language_model();
    const proto::QwenImageProcessorConfig& ip = config.image_processor();
    if (ip.patch_size() != config.qwen().vision_config().patch_size() ||
        ip.merge_size() != config.qwen().vision_config().spatial_merge_size() ||
        ip.temporal_patch_size() != config.qwen().vision_config().temporal_patch_size())
      raise(ErrorKind::kConfig, "mllm.image_processor: patch_size/merge_size/temporal_patch_size ", ip.patch_size(), "/",
            ip.merge_size(), "/", ip.temporal_patch_size(), " differ from the vision tower's");
    const int64_t side = config.vision().image_size();
    const ImageSize resized = smart_resize(side, side, ip.patch_size() * ip.merge_size(), ip.min_pixels(), ip.max_pixels());
    qwen_grid_ = {1, resized.height / ip.patch_size(), resized.width / ip.patch_size()};
    tokens_per_image_ = qwen_grid_.merged_tokens(ip.merge_size());
    return;
  }
  if (config.architecture() != "llava")
    raise(ErrorKind::kConfig, "mllm.architecture must be llava or ", kQwenVlArchitecture, ", got '", config.architecture(), "'");
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

std::vector<PatchGrid> MllmImpl::qwen_grids(const torch::Tensor& images) const {
  return std::vector<PatchGrid>(static_cast<size_t>(images.defined() ? images.size(0) : 0), qwen_grid_);
}

torch::Tensor MllmImpl::qwen_patches(const torch::Tensor& images) const {
  if (!images.defined() || images.size(0) == 0) return {};
  const int64_t side = config_.vision().image_size();
  if (images.dim() != 4 || images.size(2) != side || images.size(3) != side)
    raise(ErrorKind::kInvalidArgument, "mllm: images must be [K, 3, ", side, ", ", side, "] (mllm.vision.image_size), got ",
          images.sizes());
  std::vector<torch::Tensor> out;
  for (int64_t k = 0; k < images.size(0); ++k)  // back from [-1, 1] to [0, 1], then Qwen's processing
    out.push_back(qwen_image_patches(images[k].detach().to(torch::kCPU).add(1).div(2), config_.image_processor()).patches);
  return torch::cat(out).to(images.device());
}

torch::Tensor MllmImpl::encode_images(const torch::Tensor& images) {
  if (qwen_) {  // [K * merged tokens, hidden] -> [K, P, hidden]
    const torch::Tensor tokens = qwen_->encode_images(qwen_patches(images), qwen_grids(images));
    return tokens.view({images.size(0), tokens_per_image_, -1});
  }
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
  if (qwen_) return qwen_->forward(ids, qwen_patches(images), qwen_grids(images), key_padding);  // M-RoPE from ids
  torch::Tensor pos = positions;
  if (!pos.defined())
    pos = key_padding.defined() ? (key_padding.ne(0).to(torch::kInt64).cumsum(1) - 1).clamp_min(0)
                                : torch::arange(ids.size(1)).unsqueeze(0).expand({ids.size(0), -1});
  return language_model_->forward(embed(ids, images), pos, key_padding);
}

PromptPositions MllmImpl::prompt_positions(const torch::Tensor& ids, const torch::Tensor& pad) {
  if (!qwen_) return count_real_tokens(pad);
  const int64_t images = (ids == image_pad_id_).sum().item<int64_t>() / tokens_per_image_;
  const MropePositions mp = mrope_positions(ids, pad, std::vector<PatchGrid>(static_cast<size_t>(images), qwen_grid_),
                                            config_.image_processor().merge_size(), image_pad_id_);
  return {mp.positions, mp.deltas};
}

std::string MllmImpl::image_prompt(const std::vector<std::string>& present) const {
  std::string out;
  if (qwen_) {
    for (size_t i = 0; i < present.size(); ++i) {
      out += (i ? "\n" : "") + present[i] + ": " + kVisionStartToken;
      for (int64_t k = 0; k < tokens_per_image_; ++k) out += kImagePadToken;
      out += kVisionEndToken;
    }
    return out;
  }
  for (const auto& m : present) {
    out += modality_open_tag(m);
    for (int64_t i = 0; i < tokens_per_image_; ++i) out += kImagePadToken;
    out += modality_close_tag(m);
  }
  return out;
}

const proto::DecoderConfig& mllm_decoder_config(const proto::MllmConfig& config) {
  return config.architecture() == kQwenVlArchitecture ? config.qwen().text_config() : config.decoder();
}

Mllm make_mllm(const proto::MllmConfig& config, const BpeTokenizer& tokenizer, const std::vector<std::string>& modalities) {
  for (const auto& t : mllm_special_tokens(modalities, config.architecture()))
    if (tokenizer.token_id(t) < 0)
      raise(ErrorKind::kConfig, "mllm.tokenizer ", config.tokenizer(), ": has no token '", t,
            "' (train it with these special tokens: fasrl tokenizer train)");
  const int64_t vocab = mllm_decoder_config(config).vocab_size();
  if (tokenizer.vocab_size() > vocab)
    raise(ErrorKind::kConfig,
          config.architecture() == kQwenVlArchitecture ? "mllm.qwen.text_config.vocab_size " : "mllm.decoder.vocab_size ",
          vocab, " is smaller than the tokenizer's ", tokenizer.vocab_size(), " tokens (", config.tokenizer(), ")");
  if (config.architecture() == kQwenVlArchitecture &&
      (tokenizer.token_id(kVisionStartToken) != config.qwen().vision_start_token_id() ||
       tokenizer.token_id(kVisionEndToken) != config.qwen().vision_end_token_id()))
    raise(ErrorKind::kConfig, "mllm.tokenizer ", config.tokenizer(), ": ", kVisionStartToken, "/", kVisionEndToken, " are ",
          tokenizer.token_id(kVisionStartToken), "/", tokenizer.token_id(kVisionEndToken), ", the model's config says ",
          config.qwen().vision_start_token_id(), "/", config.qwen().vision_end_token_id());
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
  for (const char* t : {kVisionStartToken, kVisionEndToken})  // image framing, never the policy's to write
    if (tokenizer.token_id(t) >= 0) out.push_back(tokenizer.token_id(t));
  for (int64_t id = tokenizer.vocab_size(); id < mllm.language_model()->config().vocab_size(); ++id) out.push_back(id);
  return out;
}

torch::Tensor mllm_image(const torch::Tensor& chw01) {
  const torch::Tensor img = chw01.size(0) == 1 ? chw01.expand({3, -1, -1}) : chw01;
  return img.sub(0.5).div(0.5);
}

proto::MllmConfig resolve_mllm_config(const proto::MllmConfig& config) {
  if (!config.has_init_from() || config.init_from().empty()) return config;
  if (!path_exists(config.init_from()))
    raise(ErrorKind::kNotFound, "mllm.init_from: '", config.init_from(),
          "' does not exist (an HF Qwen2.5-VL directory, a fasrl export or a checkpoint)");
  if (!is_qwen_vl_dir(config.init_from())) return config;
  const std::string& dir = config.init_from();
  proto::MllmConfig c = config;
  c.set_architecture(kQwenVlArchitecture);
  *c.mutable_qwen() = load_qwen_vl_config(dir);
  proto::QwenImageProcessorConfig processor = load_qwen_image_processor_config(dir);
  // Keys set in the job's config win (lists replace, not extend).
  if (config.image_processor().image_mean_size() > 0) processor.clear_image_mean();
  if (config.image_processor().image_std_size() > 0) processor.clear_image_std();
  processor.MergeFrom(config.image_processor());
  *c.mutable_image_processor() = processor;
  const std::string tokenizer = join_path(dir, "tokenizer.json");
  if (c.tokenizer() == proto::MllmConfig::default_instance().tokenizer() && path_exists(tokenizer)) c.set_tokenizer(tokenizer);
  return c;
}

MllmBundle load_mllm(const proto::MllmConfig& job_config, const std::vector<std::string>& modalities, bool init_weights) {
  const proto::MllmConfig config = resolve_mllm_config(job_config);
  BpeTokenizer tok = BpeTokenizer::load(config.tokenizer());
  Mllm model = make_mllm(config, tok, modalities);
  if (init_weights && config.has_init_from() && !config.init_from().empty()) {
    const std::string& dir = config.init_from();
    if (is_qwen_vl_dir(dir)) {  // HF layout: sharded or not, either name layout, any float dtype
      copy_weights(*model, qwen_vl_canonical_names(load_hf_weights(dir), config.qwen()), dir);
    } else {
      const std::string path = join_path(dir, "model.safetensors");
      copy_weights(*model, load_safetensors(path).tensors, path);
    }
  }
  return {std::move(tok), model};
}

}  // namespace fasrl::models
