#include "models/decoder.h"

#include <cmath>

#include <google/protobuf/util/json_util.h>

#include <sstream>

#include "core/error.h"
#include "core/io.h"
#include "core/safetensors.h"
#include "core/yaml_proto.h"
#include "models/checkpointing.h"
#include "models/cpu_kernel_inputs.h"
#include "models/skinny_linear.h"

namespace fasrl::models {

RmsNormImpl::RmsNormImpl(int64_t dim, double eps) : eps_(eps) { weight = register_parameter("weight", torch::ones({dim})); }

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  // Normalise in at least float32, as HF does for half-precision inputs.
  const torch::Tensor xf = x.scalar_type() == torch::kFloat64 ? x : x.to(torch::kFloat32);
  const torch::Tensor normed = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps_);
  return weight * normed.to(x.scalar_type());
}

DecoderLayerImpl::DecoderLayerImpl(const proto::DecoderConfig& c)
    : heads_(c.num_attention_heads()), kv_heads_(c.num_key_value_heads()), head_dim_(c.hidden_size() / c.num_attention_heads()) {
  if (c.hidden_size() % c.num_attention_heads() != 0 || c.num_attention_heads() % c.num_key_value_heads() != 0)
    raise(ErrorKind::kConfig, "decoder: num_attention_heads must divide hidden_size and be a multiple of num_key_value_heads");
  const int64_t d = c.hidden_size();
  input_layernorm = register_module("input_layernorm", RmsNorm(d, c.rms_norm_eps()));
  post_attention_layernorm = register_module("post_attention_layernorm", RmsNorm(d, c.rms_norm_eps()));
  self_attn = register_module("self_attn", std::make_shared<Attention>());
  self_attn->q_proj = self_attn->register_module("q_proj", torch::nn::Linear(d, heads_ * head_dim_));
  self_attn->k_proj = self_attn->register_module("k_proj", torch::nn::Linear(d, kv_heads_ * head_dim_));
  self_attn->v_proj = self_attn->register_module("v_proj", torch::nn::Linear(d, kv_heads_ * head_dim_));
  self_attn->o_proj =
      self_attn->register_module("o_proj", torch::nn::Linear(torch::nn::LinearOptions(heads_ * head_dim_, d).bias(false)));
  mlp = register_module("mlp", std::make_shared<Mlp>());
  const int64_t ff = c.intermediate_size();
  mlp->gate_proj = mlp->register_module("gate_proj", torch::nn::Linear(torch::nn::LinearOptions(d, ff).bias(false)));
  mlp->up_proj = mlp->register_module("up_proj", torch::nn::Linear(torch::nn::LinearOptions(d, ff).bias(false)));
  mlp->down_proj = mlp->register_module("down_proj", torch::nn::Linear(torch::nn::LinearOptions(ff, d).bias(false)));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const RotaryTables& rotary, const AttentionPlan& plan,
                                        const KvAppend& append) {
  const int64_t b = x.size(0), t = x.size(1);
  const torch::Tensor h = input_layernorm(x);
  auto heads = [&](const torch::Tensor& y, int64_t n) { return y.view({b, t, n, head_dim_}).transpose(1, 2); };
  torch::Tensor q = heads(apply_linear(self_attn->q_proj, h), heads_);      // [B, H, T, hd]
  torch::Tensor k = heads(apply_linear(self_attn->k_proj, h), kv_heads_);   // [B, Hkv, T, hd]
  torch::Tensor v = heads(apply_linear(self_attn->v_proj, h), kv_heads_);
  q = apply_rotary(q, rotary);
  k = apply_rotary(k, rotary);
  if (append) std::tie(k, v) = append(k, v);  // [B, Hkv, S, hd]: cached keys and the new ones
  const torch::Tensor out = x + apply_linear(self_attn->o_proj, attend(plan, q, k, v));
  const torch::Tensor m = post_attention_layernorm(out);
  const torch::Tensor gated = torch::silu(apply_linear(mlp->gate_proj, m)) * apply_linear(mlp->up_proj, m);  // SwiGLU
  return out + apply_linear(mlp->down_proj, gated);
}

DecoderImpl::DecoderImpl(const proto::DecoderConfig& c) : config_(c) {
  model = register_module("model", std::make_shared<Model>());
  model->embed_tokens = model->register_module("embed_tokens", torch::nn::Embedding(c.vocab_size(), c.hidden_size()));
  model->layers = model->register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < c.num_hidden_layers(); ++i) model->layers->push_back(DecoderLayer(c));
  model->norm = model->register_module("norm", RmsNorm(c.hidden_size(), c.rms_norm_eps()));
  if (!c.tie_word_embeddings())
    lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size(), c.vocab_size()).bias(false)));
  inv_freq_ = rotary_inv_freq(c.hidden_size() / c.num_attention_heads(), c.rope_theta());
  if (c.has_rope_scaling())
    for (int32_t s : c.rope_scaling().mrope_section()) mrope_section_.push_back(s);
  torch::NoGradGuard g;
  for (auto& p : parameters()) if (p.dim() == 2) p.normal_(0, 0.02);
}

torch::Tensor DecoderImpl::embed(const torch::Tensor& ids) { return model->embed_tokens(ids); }

torch::Tensor DecoderImpl::forward(const torch::Tensor& x, const torch::Tensor& positions, const torch::Tensor& key_padding,
                                   KvCache* cache) {
  const int64_t b = x.size(0), t = x.size(1);
  const int64_t past = cache ? cache->length() : 0;
  // Rotary tables for these positions: [B, T, hd].
  const RotaryTables rotary = rotary_tables(positions, inv_freq_, mrope_section_, x.scalar_type());
  // Packed or padded rows without a cache attend per sequence; a cache keeps
  // the row layout (its keys are stored per row).
  const AttentionPlan plan = key_padding.defined() && past == 0 && !cache
                                 ? segment_attention_plan(key_padding, x.scalar_type())
                                 : dense_attention_plan(b, t, past, key_padding, x.scalar_type(), x.device());
  if (cache && cache->keys.empty()) {
    cache->keys.resize(static_cast<size_t>(config_.num_hidden_layers()));
    cache->values.resize(static_cast<size_t>(config_.num_hidden_layers()));
  }
  torch::Tensor h = x;
  for (size_t i = 0; i < model->layers->size(); ++i) {
    DecoderLayerImpl* layer = model->layers[i]->as<DecoderLayerImpl>();
    if (checkpoint_layers_ && !cache) {
      h = recompute_in_backward([=](const torch::Tensor& y) { return layer->forward(y, rotary, plan); }, h);
    } else if (cache) {  // keep this pass's keys and values, after any cached ones
      h = layer->forward(h, rotary, plan, [&](const torch::Tensor& k, const torch::Tensor& v) {
        torch::Tensor& ck = cache->keys[i];
        torch::Tensor& cv = cache->values[i];
        ck = ck.defined() ? torch::cat({ck, k}, 2) : k;
        cv = cv.defined() ? torch::cat({cv, v}, 2) : v;
        return std::make_pair(ck, cv);
      });
    } else {
      h = layer->forward(h, rotary, plan);
    }
  }
  return logits(h);
}

torch::Tensor DecoderImpl::logits(const torch::Tensor& hidden) {
  const torch::Tensor h = model->norm(hidden);
  return apply_linear(h, lm_head.is_empty() ? model->embed_tokens->weight : lm_head->weight);
}

bool DecoderImpl::takes_fused_decode(const torch::Tensor& x, SlotKvCache& cache) const {
  if (!fused_decode_layer_enabled() || x.size(0) > skinny_linear_max_rows() || !cpu_fp32_outside_autograd({&x})) return false;
  const torch::Tensor& keys = cache.layer_keys(0);
  if (!keys.device().is_cpu() || keys.scalar_type() != torch::kFloat32) return false;
  for (const auto& layer : *model->layers)
    if (!layer->as<DecoderLayerImpl>()->decode_step_cpu_applies()) return false;
  return true;
}

torch::Tensor DecoderImpl::decode_step(const torch::Tensor& x, const torch::Tensor& positions, SlotKvCache& cache) {
  const RotaryTables rotary = rotary_tables(positions, inv_freq_, mrope_section_, x.scalar_type());
  if (takes_fused_decode(x, cache)) {
    const int64_t n = x.size(0), hd = rotary.cos.size(-1);
    cache.begin_fused_step();
    torch::Tensor h = x.reshape({n, x.size(-1)}).clone();  // [n, D], updated in place layer by layer
    const torch::Tensor cos = rotary.cos.reshape({n, hd}).contiguous(), sin = rotary.sin.reshape({n, hd}).contiguous();
    DecodeScratch scratch;
    for (size_t i = 0; i < model->layers->size(); ++i)
      model->layers[i]->as<DecoderLayerImpl>()->decode_step_cpu(h.data_ptr<float>(), n, cos.data_ptr<float>(),
                                                                 sin.data_ptr<float>(), cache.layer_keys(i),
                                                                 cache.layer_values(i), cache.lengths(), scratch);
    cache.end_step();
    return logits(h);
  }
  const AttentionPlan plan = cache.begin_step(x.scalar_type());
  torch::Tensor h = x;
  for (size_t i = 0; i < model->layers->size(); ++i)
    h = model->layers[i]->as<DecoderLayerImpl>()->forward(
        h, rotary, plan, [&](const torch::Tensor& k, const torch::Tensor& v) { return cache.append(i, k, v); });
  cache.end_step();
  return logits(h.select(1, 0));  // [n, D] -> [n, V]: a 2-D GEMM (the 3-D matmul path is ~20% slower for the head)
}

proto::DecoderConfig load_decoder_config(const std::string& dir) {
  const std::string path = join_path(dir, "config.json");
  if (!path_exists(path)) raise(ErrorKind::kNotFound, path, ": missing (an HF model directory has config.json)");
  proto::DecoderConfig c;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // HF configs carry many keys we do not use
  const auto status = google::protobuf::util::JsonStringToMessage(read_file(path), &c, options);
  if (!status.ok()) raise(ErrorKind::kCorruption, path, ": ", status.ToString());
  return c;
}

Decoder load_decoder(const std::string& dir) {
  Decoder model(load_decoder_config(dir));
  const std::string path = join_path(dir, "model.safetensors");
  const auto file = load_safetensors(path);
  torch::NoGradGuard g;
  for (auto& p : model->named_parameters()) {
    auto it = file.tensors.find(p.key());
    if (it == file.tensors.end()) raise(ErrorKind::kNotFound, path, ": tensor '", p.key(), "' is missing");
    if (it->second.sizes() != p.value().sizes()) {
      std::ostringstream os;
      os << path << ": tensor '" << p.key() << "' has shape " << it->second.sizes() << ", config.json implies " << p.value().sizes();
      raise(ErrorKind::kInvalidArgument, os.str());
    }
    p.value().copy_(it->second);
  }
  return model;
}

void save_decoder(Decoder& model, const std::string& dir) {
  make_dirs(dir);
  proto::DecoderConfig c = model->config();
  fill_defaults(&c);
  std::string json = message_to_json(c);
  json.insert(json.find('{') + 1, "\n \"architectures\": [\"Qwen2ForCausalLM\"],\n \"model_type\": \"qwen2\",");
  atomic_write_file(join_path(dir, "config.json"), json + "\n");
  TensorMap tensors;
  for (const auto& p : model->named_parameters()) tensors[p.key()] = p.value();
  save_safetensors(join_path(dir, "model.safetensors"), tensors, {{"format", "pt"}});
}

}  // namespace fasrl::models
