// The two MLLMs the rollout and SFT-step benchmarks measure: the tiny one of
// configs/sft_tiny.yaml, and the same with a ~100M decoder (768 wide, 12
// layers, 12 heads / 4 KV heads, 32k vocabulary).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/yaml_proto.h"
#include "proto/config.pb.h"

namespace fasrl::bench {

inline std::vector<std::pair<const char*, proto::MllmConfig>> benchmark_mllms(const std::string& source_dir) {
  proto::JobConfig job;
  load_yaml_config(source_dir + "/configs/sft_tiny.yaml", {}, &job);
  fill_defaults(&job);
  proto::MllmConfig big = job.mllm();
  proto::DecoderConfig& d = *big.mutable_decoder();
  d.set_vocab_size(32000), d.set_hidden_size(768), d.set_intermediate_size(2048), d.set_num_hidden_layers(12);
  d.set_num_attention_heads(12), d.set_num_key_value_heads(4);
  big.set_projector_hidden(768);
  return {{"tiny MLLM", job.mllm()}, {"~100M decoder", big}};
}

}  // namespace fasrl::bench
