#include "eval/mllm_export.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "core/yaml_proto.h"
#include "models/chat_template.h"
#include "models/qwen_vl_io.h"
#include "models/weights.h"
#include "reasoning/response_format.h"

namespace fasrl::eval {
using nlohmann::json;

namespace {

// The fasrl block of an export's config.json: how to feed the model and where it came from.
json fasrl_block(const proto::MllmConfig& config, const std::vector<std::string>& modalities,
                 const std::vector<int>& channels, const std::string& checkpoint_dir) {
  proto::MllmConfig stored = config;
  stored.clear_tokenizer();  // the export's own tokenizer.json
  stored.clear_init_from();
  return {{"format", "fasrl-mllm"},
          {"format_version", 1},
          {"mllm", json::parse(message_to_json(stored))},
          {"modalities", modalities},
          {"channels", channels},
          {"chat", {{"template", "chatml"}, {"eos", models::kImEndToken}, {"response", reasoning::response_format_summary()}}},
          {"source_checkpoint", checkpoint_dir}};
}

// Qwen2.5-VL: the HF layout it was loaded from (config.json, weights sharded
// above 5 GB, tokenizer.json, preprocessor_config.json; generation_config.json
// and chat_template.json copied from the starting model when it had them),
// loadable by fasrl and by transformers' Qwen2_5_VLForConditionalGeneration.
void export_qwen_vl(const std::string& checkpoint_dir, models::MllmBundle& bundle, const std::vector<std::string>& modalities,
                    const std::vector<int>& channels, const std::string& out_dir) {
  const proto::MllmConfig& config = bundle.model->config();
  models::save_qwen_vl(*bundle.model->qwen_vl(), out_dir, torch::kFloat32);
  atomic_write_file(join_path(out_dir, "tokenizer.json"), read_file(config.tokenizer()));
  const proto::QwenImageProcessorConfig& ip = config.image_processor();
  json processor = json::parse(message_to_json(ip));
  processor["image_processor_type"] = "Qwen2VLImageProcessor";
  processor["processor_class"] = "Qwen2_5_VLProcessor";
  processor["do_resize"] = processor["do_rescale"] = processor["do_normalize"] = processor["do_convert_rgb"] = true;
  processor["rescale_factor"] = 1.0 / 255;
  if (ip.image_mean().empty()) processor["image_mean"] = {0.48145466, 0.4578275, 0.40821073};
  if (ip.image_std().empty()) processor["image_std"] = {0.26862954, 0.26130258, 0.27577711};
  atomic_write_file(join_path(out_dir, "preprocessor_config.json"), processor.dump(2) + "\n");
  // The checkpoint's copies (self-contained checkpoints carry them), else the starting model's.
  for (const std::string& extra : models::hf_side_files())
    for (const std::string& source : {checkpoint_dir, config.init_from()})
      if (!source.empty() && path_exists(join_path(source, extra))) {
        atomic_write_file(join_path(out_dir, extra), read_file(join_path(source, extra)));
        break;
      }
  const std::string config_path = join_path(out_dir, "config.json");
  json cfg = json::parse(read_file(config_path));
  json block = fasrl_block(config, modalities, channels, checkpoint_dir);
  block["input"] = {{"image_size", config.vision().image_size()},
                    {"normalize", "Qwen2-VL image processor (preprocessor_config.json) on pixel / 255"},
                    {"missing_modality", "leave its image block out of the prompt"}};
  cfg["fasrl"] = block;
  atomic_write_file(config_path, cfg.dump(2) + "\n");
}

}  // namespace

void export_mllm(const std::string& checkpoint_dir, const TensorMap& checkpoint_weights, const proto::MllmConfig& config,
                 const std::vector<std::string>& modalities, const std::vector<int>& channels,
                 const std::string& out_dir) {
  // The checkpoint's weights replace the initial ones: init_from is not read.
  models::MllmBundle bundle = models::load_mllm(config, modalities, /*init_weights=*/false);  // checks the tokenizer
  models::copy_weights(*bundle.model, checkpoint_weights, join_path(checkpoint_dir, "model.safetensors"));
  if (bundle.model->is_qwen_vl()) return export_qwen_vl(checkpoint_dir, bundle, modalities, channels, out_dir);
  TensorMap weights;  // exactly the configured model's parameters, float32
  for (const auto& p : bundle.model->named_parameters()) weights[p.key()] = p.value().detach();
  make_dirs(out_dir);
  const std::string weights_path = join_path(out_dir, "model.safetensors");
  save_safetensors(weights_path, weights, {{"format", "pt"}, {"producer", "fasrl"}});
  atomic_write_file(join_path(out_dir, "tokenizer.json"), read_file(config.tokenizer()));

  const proto::DecoderConfig& d = config.decoder();
  const proto::VisionConfig& v = config.vision();
  json tags = json::object();
  for (const auto& m : modalities) tags[m] = {models::modality_open_tag(m), models::modality_close_tag(m)};
  json cfg = {
      {"architectures", {"LlavaForConditionalGeneration"}},
      {"model_type", "llava"},
      {"image_token_index", bundle.model->image_pad_id()},
      {"projector_hidden_act", "gelu"},
      {"vision_feature_layer", -1},
      {"vision_feature_select_strategy", "default"},
      {"text_config",
       {{"model_type", "qwen2"}, {"vocab_size", d.vocab_size()}, {"hidden_size", d.hidden_size()},
        {"intermediate_size", d.intermediate_size()}, {"num_hidden_layers", d.num_hidden_layers()},
        {"num_attention_heads", d.num_attention_heads()}, {"num_key_value_heads", d.num_key_value_heads()},
        {"rms_norm_eps", d.rms_norm_eps()}, {"rope_theta", d.rope_theta()},
        {"tie_word_embeddings", d.tie_word_embeddings()}, {"max_position_embeddings", d.max_position_embeddings()},
        {"hidden_act", "silu"}}},
      {"vision_config",
       {{"model_type", "clip_vision_model"}, {"hidden_size", v.width()}, {"image_size", v.image_size()},
        {"patch_size", v.patch_size()}, {"num_hidden_layers", v.layers()}, {"num_attention_heads", v.heads()},
        {"intermediate_size", static_cast<int64_t>(v.mlp_ratio() * v.width())}, {"num_channels", 3},
        {"hidden_act", "quick_gelu"}, {"layer_norm_eps", 1e-5}}},
      {"fasrl", fasrl_block(config, modalities, channels, checkpoint_dir)}};
  cfg["fasrl"]["modality_tags"] = tags;
  cfg["fasrl"]["image_features"] = "last vision layer, post_layernorm applied, class token dropped";
  cfg["fasrl"]["input"] = {{"image_size", v.image_size()},
                           {"normalize", "pixel / 255 * 2 - 1; one-channel modalities replicated to 3"},
                           {"missing_modality", "leave its tag block out of the prompt"}};
  cfg["fasrl"]["model_sha256"] = sha256_file(weights_path);
  atomic_write_file(join_path(out_dir, "config.json"), cfg.dump(2) + "\n");
}

bool is_mllm_export(const std::string& dir) {
  try {
    const json cfg = json::parse(read_file(join_path(dir, "config.json")));
    return cfg.contains("fasrl") && cfg["fasrl"].value("format", "") == "fasrl-mllm";
  } catch (const std::exception&) {
    return false;
  }
}

ExportedMllm load_mllm_export(const std::string& dir) {
  const std::string path = join_path(dir, "config.json");
  json cfg;
  try {
    cfg = json::parse(read_file(path));
  } catch (const json::exception& e) {
    raise(ErrorKind::kCorruption, path, ": not valid JSON (", e.what(), ")");
  }
  if (!cfg.contains("fasrl") || cfg["fasrl"].value("format", "") != "fasrl-mllm")
    raise(ErrorKind::kInvalidArgument, path, ": not a fasrl MLLM export (fasrl.format != fasrl-mllm)");
  proto::MllmConfig config;
  const auto status = google::protobuf::util::JsonStringToMessage(cfg["fasrl"]["mllm"].dump(), &config);
  if (!status.ok()) raise(ErrorKind::kCorruption, path, ": fasrl.mllm: ", status.ToString());
  config.set_tokenizer(join_path(dir, "tokenizer.json"));
  config.set_init_from(dir);
  const std::string weights = join_path(dir, "model.safetensors");
  const std::string want = cfg["fasrl"].value("model_sha256", "");
  if (!want.empty() && sha256_file(weights) != want)
    raise(ErrorKind::kCorruption, weights, ": SHA-256 does not match config.json (file changed or corrupt)");
  ExportedMllm out{models::load_mllm(config, cfg["fasrl"]["modalities"].get<std::vector<std::string>>()),
                   cfg["fasrl"]["modalities"].get<std::vector<std::string>>(),
                   cfg["fasrl"]["channels"].get<std::vector<int>>(), config.vision().image_size()};
  return out;
}

}  // namespace fasrl::eval
