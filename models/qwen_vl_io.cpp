#include "models/qwen_vl_io.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "core/yaml_proto.h"
#include "models/hf_weights.h"
#include "models/weights.h"

namespace fasrl::models {

namespace {

nlohmann::json read_json(const std::string& path) {
  if (!path_exists(path)) raise(ErrorKind::kNotFound, path, ": missing");
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    raise(ErrorKind::kCorruption, path, ": not JSON: ", e.what());
  }
}

// HF configs carry many keys fasrl does not use: parse what the message has.
void parse_into(const nlohmann::json& j, google::protobuf::Message* m, const std::string& source) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(j.dump(), m, options);
  if (!status.ok()) raise(ErrorKind::kCorruption, source, ": ", status.ToString());
}

const char* dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    case torch::kFloat64: return "float64";
    default: return "float32";
  }
}

}  // namespace

bool is_qwen_vl_dir(const std::string& dir) {
  const std::string path = join_path(dir, "config.json");
  if (!path_exists(path)) return false;
  const nlohmann::json j = read_json(path);
  if (j.value("model_type", "") == "qwen2_5_vl") return true;
  if (j.contains("architectures") && j["architectures"].is_array())
    for (const auto& a : j["architectures"])
      if (a.is_string() && a.get<std::string>().rfind("Qwen2_5_VL", 0) == 0) return true;
  return false;
}

proto::QwenVlConfig load_qwen_vl_config(const std::string& dir) {
  const std::string path = join_path(dir, "config.json");
  nlohmann::json j = read_json(path);
  if (!j.is_object() || !j.contains("vision_config"))
    raise(ErrorKind::kConfig, path, ": no vision_config: not a Qwen2.5-VL config");
  proto::QwenVlConfig c;
  nlohmann::json top = j;
  top.erase("text_config");
  parse_into(top, &c, path);
  // Text keys: under text_config in newer files, at the top level in the released ones.
  parse_into(j.contains("text_config") ? j["text_config"] : top, c.mutable_text_config(), path);
  fill_defaults(&c);
  if (c.text_config().rope_scaling().mrope_section_size() != 3)
    raise(ErrorKind::kConfig, path, ": rope_scaling.mrope_section must list 3 sizes (t, h, w)");
  return c;
}

proto::QwenImageProcessorConfig load_qwen_image_processor_config(const std::string& dir) {
  proto::QwenImageProcessorConfig c;
  const std::string path = join_path(dir, "preprocessor_config.json");
  if (path_exists(path)) {
    const nlohmann::json j = read_json(path);
    parse_into(j, &c, path);
    if (j.contains("size") && j["size"].is_object()) {  // newer files: size.{shortest,longest}_edge in pixels
      const auto& s = j["size"];
      if (!j.contains("min_pixels") && s.contains("shortest_edge")) c.set_min_pixels(s["shortest_edge"].get<int>());
      if (!j.contains("max_pixels") && s.contains("longest_edge")) c.set_max_pixels(s["longest_edge"].get<int>());
    }
  }
  fill_defaults(&c);
  if (c.min_pixels() <= 0 || c.max_pixels() < c.min_pixels())
    raise(ErrorKind::kConfig, path, ": min_pixels ", c.min_pixels(), " and max_pixels ", c.max_pixels(),
          " must satisfy 0 < min_pixels <= max_pixels");
  return c;
}

TensorMap qwen_vl_canonical_names(TensorMap tensors, const proto::QwenVlConfig& config) {
  TensorMap out;
  for (auto& [name, t] : tensors) {
    std::string n = name;
    if (n.rfind("model.visual.", 0) == 0) n = n.substr(6);                                      // -> visual.*
    else if (n.rfind("model.language_model.", 0) == 0) n = "model." + n.substr(21);            // -> model.*
    if (n == "lm_head.weight" && config.text_config().tie_word_embeddings()) continue;
    out[n] = std::move(t);
  }
  return out;
}

QwenVl load_qwen_vl(const std::string& dir) {
  QwenVl model(load_qwen_vl_config(dir));
  copy_weights(*model, qwen_vl_canonical_names(load_hf_weights(dir), model->config()), dir);
  return model;
}

void save_qwen_vl(QwenVlImpl& model, const std::string& dir, torch::ScalarType dtype, int64_t max_shard_bytes) {
  make_dirs(dir);
  proto::QwenVlConfig c = model.config();
  fill_defaults(&c);
  nlohmann::json j = nlohmann::json::parse(message_to_json(c.text_config()));
  // HF reads rope_scaling.type "mrope" (or rope_type) to pick its rotary; an empty one is an error there.
  nlohmann::json& rope = j["rope_scaling"];
  if (rope.value("type", "").empty()) rope["type"] = "mrope";
  if (rope.value("rope_type", "").empty()) rope["rope_type"] = "default";
  nlohmann::json vision = nlohmann::json::parse(message_to_json(c.vision_config()));
  vision["model_type"] = "qwen2_5_vl";
  j["architectures"] = {"Qwen2_5_VLForConditionalGeneration"};
  j["model_type"] = "qwen2_5_vl";
  j["vision_config"] = vision;
  j["image_token_id"] = c.image_token_id();
  j["video_token_id"] = c.video_token_id();
  j["vision_start_token_id"] = c.vision_start_token_id();
  j["vision_end_token_id"] = c.vision_end_token_id();
  j["hidden_act"] = "silu";
  j["torch_dtype"] = dtype_name(dtype);
  atomic_write_file(join_path(dir, "config.json"), j.dump(2) + "\n");
  TensorMap tensors;
  for (const auto& p : model.named_parameters()) tensors[p.key()] = p.value().detach().to(torch::kCPU, dtype);
  save_hf_weights(dir, tensors, max_shard_bytes);
}

const std::vector<std::string>& hf_side_files() {
  static const std::vector<std::string> files = {"generation_config.json", "chat_template.json", "tokenizer_config.json"};
  return files;
}

}  // namespace fasrl::models
