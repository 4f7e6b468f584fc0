#include "models/qwen_vl.h"

#include <algorithm>

#include "core/error.h"

namespace fasrl::models {

MropePositions mrope_positions(const torch::Tensor& ids, const torch::Tensor& segments, const std::vector<PatchGrid>& grids,
                               int64_t merge, int64_t image_token_id) {
  const torch::Tensor id = ids.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t b = id.size(0), t = id.size(1);
  const torch::Tensor seg = segments.defined() ? segments.to(torch::kCPU, torch::kInt64).contiguous()
                                               : torch::ones({b, t}, torch::kInt64);
  const int64_t* idp = id.data_ptr<int64_t>();
  const int64_t* sp = seg.data_ptr<int64_t>();
  torch::Tensor positions = torch::ones({3, b, t}, torch::kInt64);
  torch::Tensor deltas = torch::zeros({b}, torch::kInt64);
  auto pos = positions.accessor<int64_t, 3>();
  size_t next_image = 0;
  for (int64_t r = 0; r < b; ++r) {
    int64_t p = 0, current = 0;  // next position; current sequence id
    for (int64_t i = 0; i < t; ++i) {
      const int64_t s = sp[r * t + i];
      if (s == 0) continue;
      if (s != current) p = 0, current = s;
      if (idp[r * t + i] != image_token_id) {
        for (int k = 0; k < 3; ++k) pos[k][r][i] = p;
        ++p;
        continue;
      }
      if (next_image >= grids.size())
        raise(ErrorKind::kInvalidArgument, "qwen2.5-vl: row ", r, " has image tokens at ", i, " but only ", grids.size(),
              " image grids were given");
      const PatchGrid& g = grids[next_image];
      const int64_t hb = g.h / merge, wb = g.w / merge, n = g.merged_tokens(merge);
      int64_t run = 0;
      while (i + run < t && idp[r * t + i + run] == image_token_id && sp[r * t + i + run] == s) ++run;
      if (run < n)
        raise(ErrorKind::kInvalidArgument, "qwen2.5-vl: image ", next_image, " (row ", r, ", token ", i, ") has ", run,
              " image tokens, its grid ", g.t, "x", g.h, "x", g.w, " needs ", n, " (truncated prompt?)");
      for (int64_t k = 0; k < n; ++k) {  // a still image: temporal row 0 (HF: frame index x 0 s)
        pos[0][r][i + k] = p;
        pos[1][r][i + k] = p + (k / wb) % hb;
        pos[2][r][i + k] = p + k % wb;
      }
      p += std::max(hb, wb);
      i += n - 1;
      ++next_image;
    }
    deltas[r] = p - t;
  }
  if (next_image != grids.size())
    raise(ErrorKind::kInvalidArgument, "qwen2.5-vl: ", grids.size(), " image grids were given but the prompts hold ",
          next_image, " images");
  return {positions.to(ids.device()), deltas.to(ids.device())};
}

int64_t qwen_vl_parameter_count(const proto::QwenVlConfig& c) {
  const proto::QwenVisionConfig& v = c.vision_config();
  const proto::DecoderConfig& t = c.text_config();
  auto linear = [](int64_t in, int64_t out, bool bias) { return in * out + (bias ? out : 0); };
  const int64_t d = v.hidden_size(), u = int64_t{v.spatial_merge_size()} * v.spatial_merge_size();
  const int64_t block = 2 * d + linear(d, 3 * d, true) + linear(d, d, true) + 2 * linear(d, v.intermediate_size(), true) +
                        linear(v.intermediate_size(), d, true);
  const int64_t vision = d * int64_t{v.in_channels()} * v.temporal_patch_size() * v.patch_size() * v.patch_size() +
                         v.depth() * block + d + linear(u * d, u * d, true) + linear(u * d, v.out_hidden_size(), true);
  const int64_t h = t.hidden_size(), kv = h / t.num_attention_heads() * t.num_key_value_heads();
  const int64_t layer = 2 * h + linear(h, h, true) + 2 * linear(h, kv, true) + linear(h, h, false) +
                        3 * linear(h, t.intermediate_size(), false);
  const int64_t embed = int64_t{t.vocab_size()} * h;
  return vision + embed * (t.tie_word_embeddings() ? 1 : 2) + t.num_hidden_layers() * layer + h;
}

torch::Tensor mrope_decode_positions(const torch::Tensor& deltas, int64_t past, int64_t t) {
  const torch::Tensor steps = torch::arange(past, past + t, deltas.options()).unsqueeze(0);  // [1, T]
  return (steps + deltas.unsqueeze(1)).unsqueeze(0).expand({3, -1, -1});                     // [3, B, T]
}

QwenVlImpl::QwenVlImpl(const proto::QwenVlConfig& config) : config_(config) {
  const proto::DecoderConfig& text = config.text_config();
  const proto::QwenVisionConfig& vision = config.vision_config();
  if (vision.out_hidden_size() != text.hidden_size())
    raise(ErrorKind::kConfig, "qwen2.5-vl: vision_config.out_hidden_size ", vision.out_hidden_size(),
          " must equal the decoder's hidden_size ", text.hidden_size());
  if (text.rope_scaling().mrope_section_size() != 3)
    raise(ErrorKind::kConfig, "qwen2.5-vl: rope_scaling.mrope_section must have 3 parts (t, h, w), got ",
          text.rope_scaling().mrope_section_size());
  visual_ = register_module("visual", QwenVisionTransformer(vision));
  decoder_ = Decoder(text);
  for (const auto& child : decoder_->named_children()) register_module(child.key(), child.value());
}

torch::Tensor QwenVlImpl::encode_images(const torch::Tensor& patches, const std::vector<PatchGrid>& grids) {
  return visual_->forward(patches, grids);
}

torch::Tensor QwenVlImpl::embed(const torch::Tensor& ids, const torch::Tensor& patches, const std::vector<PatchGrid>& grids) {
  torch::Tensor embeds = decoder_->embed(ids);  // [B, T, D]
  const torch::Tensor is_image = ids == config_.image_token_id();
  const int64_t slots = is_image.sum().item<int64_t>();
  int64_t tokens = 0;
  for (const PatchGrid& g : grids) tokens += g.merged_tokens(visual_->merge_size());
  if (slots != tokens)
    raise(ErrorKind::kInvalidArgument, "qwen2.5-vl: the prompts hold ", slots, " image tokens but the ", grids.size(),
          " images give ", tokens, " merged tokens");
  if (tokens == 0) return embeds;
  const torch::Tensor features = encode_images(patches, grids);  // [tokens, D], image order = row-major slot order
  return embeds.masked_scatter(is_image.unsqueeze(-1), features.to(embeds.scalar_type()));
}

torch::Tensor QwenVlImpl::forward(const torch::Tensor& ids, const torch::Tensor& patches, const std::vector<PatchGrid>& grids,
                                  const torch::Tensor& key_padding, KvCache* cache, torch::Tensor* deltas) {
  const MropePositions mp = mrope_positions(ids, key_padding, grids, visual_->merge_size(), config_.image_token_id());
  if (deltas) *deltas = mp.deltas;
  return decoder_->forward(embed(ids, patches, grids), mp.positions, key_padding, cache);
}

}  // namespace fasrl::models
