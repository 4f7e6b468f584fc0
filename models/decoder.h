// Qwen2-style decoder with HF weight names (model.embed_tokens, model.layers.N.
// {input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
// mlp.{gate,up,down}_proj}, model.norm, lm_head): RMSNorm, rotary position
// embeddings (rotate-half, theta from config), grouped-query attention with
// q/k/v bias, SwiGLU MLP, optional tied embeddings. A forward can record its
// keys and values (a prefill), and decode_step() decodes against the
// preallocated cache of models/kv_cache.h.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <utility>
#include <vector>

#include "models/attention.h"
#include "models/decode_layer_cpu.h"
#include "models/kv_cache.h"
#include "models/rope.h"
#include "proto/config.pb.h"

namespace fasrl::models {

class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  double eps() const { return eps_; }
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RmsNorm);

// Where a layer's new keys and values [B, H_kv, T, hd] go; returns the keys
// and values its queries attend to. Empty: the new ones only.
using KvAppend = std::function<std::pair<torch::Tensor, torch::Tensor>(const torch::Tensor& k, const torch::Tensor& v)>;

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const proto::DecoderConfig& c);
  // x [B, T, D]; rotary tables [B, T, head_dim]; plan over the T new and S_past cached tokens.
  torch::Tensor forward(const torch::Tensor& x, const RotaryTables& rotary, const AttentionPlan& plan,
                        const KvAppend& append = nullptr);
  // The same for one decode step of n rows on the CPU without torch ops
  // (models/decode_layer_cpu.cpp): x [n, D] updated in place; cos, sin
  // [n, head_dim]; keys, values this layer's slot cache [slots, H_kv,
  // capacity, hd], row i's new key and value written at lengths[i].
  void decode_step_cpu(float* x, int64_t n, const float* cos, const float* sin, torch::Tensor& keys, torch::Tensor& values,
                       const std::vector<int64_t>& lengths, DecodeScratch& scratch);
  // Whether decode_step_cpu may run: every weight CPU fp32 contiguous, and
  // autograd records none of them.
  bool decode_step_cpu_applies() const;

 private:
  int64_t heads_, kv_heads_, head_dim_;
  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  struct Attention : torch::nn::Module {
    torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  };
  struct Mlp : torch::nn::Module {
    torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  };
  std::shared_ptr<Attention> self_attn;
  std::shared_ptr<Mlp> mlp;
};
TORCH_MODULE(DecoderLayer);

class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(const proto::DecoderConfig& c);
  torch::Tensor embed(const torch::Tensor& ids);  // [B, T] -> [B, T, D]
  // embeds [B, T, D]; positions [B, T] int64, or [3, B, T] (t, h, w) when the
  // config has rope_scaling.mrope_section (models/rope.h); key_padding [B, S_past+T]
  // (0 = padding, non-zero = real token) or undefined; cache updated in place
  // when given. Without a cache, key_padding may hold segment ids (packing:
  // several sequences in one row, each attending only to itself; positions
  // restart per segment).
  // Returns logits [B, T, V].
  torch::Tensor forward(const torch::Tensor& embeds, const torch::Tensor& positions,
                        const torch::Tensor& key_padding = {}, KvCache* cache = nullptr);
  // One decode step of the cache's active sequences: embeds [n, 1, D] of
  // each one's newest token, positions [n, 1] or [3, n, 1]. Writes their keys
  // and values into the cache in place. Returns logits [n, V].
  torch::Tensor decode_step(const torch::Tensor& embeds, const torch::Tensor& positions, SlotKvCache& cache);
  // Whether decode_step(embeds, ..., cache) runs every layer's decode_step_cpu
  // (models/decode_layer_cpu.h) rather than torch ops.
  bool takes_fused_decode(const torch::Tensor& embeds, SlotKvCache& cache) const;
  const proto::DecoderConfig& config() const { return config_; }
  // Recompute each layer in backward instead of keeping its activations
  // (models/checkpointing.h); forwards with a KV cache are never checkpointed.
  void set_activation_checkpointing(bool on) { checkpoint_layers_ = on; }

 private:
  torch::Tensor logits(const torch::Tensor& hidden);  // final norm + LM head: [.., D] -> [.., V]

  proto::DecoderConfig config_;
  bool checkpoint_layers_ = false;
  struct Model : torch::nn::Module {
    torch::nn::Embedding embed_tokens{nullptr};
    torch::nn::ModuleList layers{nullptr};
    RmsNorm norm{nullptr};
  };
  std::shared_ptr<Model> model;
  torch::nn::Linear lm_head{nullptr};  // absent when tie_word_embeddings
  torch::Tensor inv_freq_;             // [head_dim / 2]
  std::vector<int64_t> mrope_section_;  // empty: 1-D rotary positions
};
TORCH_MODULE(Decoder);

// HF-style directory: config.json (Qwen2 keys; others ignored) and
// model.safetensors (HF names; lm_head may be absent when tied).
proto::DecoderConfig load_decoder_config(const std::string& dir);
Decoder load_decoder(const std::string& dir);
void save_decoder(Decoder& model, const std::string& dir);

}  // namespace fasrl::models
