#include "eval/mllm_export.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "core/yaml_proto.h"
#include "models/chat_template.h"
#include "models/weights.h"
#include "reasoning/response_format.h"

namespace fasrl::eval {
using nlohmann::json;

void export_mllm(const std::string& checkpoint_dir, const TensorMap& checkpoint_weights, const proto::MllmConfig& config,
                 const std::vector<std::string>& modalities, const std::vector<int>& channels,
                 const std::string& out_dir) {
  models::MllmBundle bundle = models::load_mllm(config, modalities);  // checks the tokenizer against the model
  models::copy_weights(*bundle.model, checkpoint_weights, join_path(checkpoint_dir, "model.safetensors"));
  TensorMap weights;  // exactly the configured model's parameters, float32
  for (const auto& p : bundle.model->named_parameters()) weights[p.key()] = p.value().detach();
  make_dirs(out_dir);
  const std::string weights_path = join_path(out_dir, "model.safetensors");
  save_safetensors(weights_path, weights, {{"format", "pt"}, {"producer", "fasrl"}});
  atomic_write_file(join_path(out_dir, "tokenizer.json"), read_file(config.tokenizer()));

  const proto::DecoderConfig& d = config.decoder();
  const proto::VisionConfig& v = config.vision();
  proto::MllmConfig stored = config;
  stored.clear_tokenizer();  // the export's own tokenizer.json
  stored.clear_init_from();
  json tags = json::object();
  for (const auto& m : modalities) tags[m] = {models::modality_open_tag(m), models::modality_close_tag(m)};
  const json cfg = {
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
      {"fasrl",
       {{"format", "fasrl-mllm"},
        {"format_version", 1},
        {"mllm", json::parse(message_to_json(stored))},
        {"modalities", modalities},
        {"channels", channels},
        {"modality_tags", tags},
        {"image_features", "last vision layer, post_layernorm applied, class token dropped"},
        {"input", {{"image_size", v.image_size()},
                   {"normalize", "pixel / 255 * 2 - 1; one-channel modalities replicated to 3"},
                   {"missing_modality", "leave its tag block out of the prompt"}}},
        {"chat", {{"template", "chatml"}, {"eos", models::kImEndToken},
                  {"response", reasoning::response_format_summary()}}},
        {"source_checkpoint", checkpoint_dir},
        {"model_sha256", sha256_file(weights_path)}}}};
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
