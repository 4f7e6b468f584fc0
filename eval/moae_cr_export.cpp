#include "eval/moae_cr_export.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "core/safetensors.h"
#include "core/yaml_proto.h"
#include "data/manifest.h"
#include "models/clip.h"
#include "eval/moae_cr_eval.h"

namespace fasrl::eval {
using nlohmann::json;

double export_moae_cr(const std::string& checkpoint_dir, const TensorMap& checkpoint_weights,
                      const proto::ClipConfig& model_config, const proto::LoaderConfig& data,
                      const proto::MoaeCrConfig& lc, const std::string& out_dir) {
  models::ClipModel model(model_config);
  model->load_weights(checkpoint_weights, join_path(checkpoint_dir, "model.safetensors"));
  const models::PromptTokens prompts = class_prompts(model_config, lc);
  proto::LoaderConfig eval_data = data;
  eval_data.set_image_size(model_config.vision().image_size());
  const metrics::FasReport report = evaluate_moae_cr(model, prompts, eval_data);

  make_dirs(out_dir);
  TensorMap weights;
  for (const auto& p : model->named_parameters()) weights[p.key()] = p.value().detach();
  const std::string weights_path = join_path(out_dir, "model.safetensors");
  save_safetensors(weights_path, weights, {{"format", "pt"}, {"producer", "fasrl"}});

  const data::Manifest manifest = data::Manifest::load(data.dataset());
  json modalities = json::array();
  if (data.modalities().empty()) {
    for (const auto& m : manifest.modalities) modalities.push_back({{"name", m.name}, {"channels", m.channels}});
  } else {
    for (const auto& name : data.modalities())
      modalities.push_back(
          {{"name", name},
           {"channels", manifest.modalities[static_cast<size_t>(manifest.modality_index(name))].channels}});
  }
  auto rows = [](const torch::Tensor& t) {
    std::vector<std::vector<int64_t>> out;
    for (int64_t r = 0; r < t.size(0); ++r)
      out.emplace_back(t[r].data_ptr<int64_t>(), t[r].data_ptr<int64_t>() + t.size(1));
    return out;
  };
  const json config = {
      {"architecture", "fasrl-moae-clip"},
      {"format_version", 1},
      {"model", json::parse(message_to_json(model_config))},
      {"input",
       {{"modalities", modalities},
        {"image_size", model_config.vision().image_size()},
        {"layout", "modalities stacked on channels in this order, CHW"},
        {"normalize", "pixel / 255 * 2 - 1; a missing modality is all zeros before normalising"}}},
      {"prompts", {{"live", lc.live_prompt()}, {"fake", lc.fake_prompt()}}},
      {"prompt_tokens",
       {{"ids", rows(prompts.ids)},
        {"eot", std::vector<int64_t>(prompts.eot.data_ptr<int64_t>(),
                                     prompts.eot.data_ptr<int64_t>() + prompts.eot.numel())}}},
      {"label_map", {{"0", "live"}, {"1", "fake"}}},
      {"score", "P(fake) = softmax(exp(logit_scale) * cos(image, [live, fake] text))[1]; attack if score >= threshold"},
      {"threshold", report.threshold},
      {"threshold_source", "EER point of the dev split of protocol " + data.protocol() + " in " + data.dataset()},
      {"test_metrics", json::parse(metrics::report_to_json(report, manifest.fine_labels))},
      {"fine_labels", manifest.fine_labels},
      {"source_checkpoint", checkpoint_dir},
      {"sha256", {{"model.safetensors", sha256_file(weights_path)}}}};
  atomic_write_file(join_path(out_dir, "config.json"), config.dump(2) + "\n");
  return report.threshold;
}

ExportedModel load_export(const std::string& dir) {
  const std::string path = join_path(dir, "config.json");
  if (!path_exists(path)) raise(ErrorKind::kNotFound, path, ": missing (not a fasrl export directory?)");
  json config;
  try {
    config = json::parse(read_file(path));
  } catch (const json::exception& e) {
    raise(ErrorKind::kCorruption, path, ": not valid JSON (", e.what(), ")");
  }
  if (config.value("architecture", "") != "fasrl-moae-clip")
    raise(ErrorKind::kInvalidArgument, path, ": architecture is '", config.value("architecture", ""),
          "', expected fasrl-moae-clip");
  const std::string weights = join_path(dir, "model.safetensors");
  if (config.contains("sha256") && sha256_file(weights) != config["sha256"].value("model.safetensors", ""))
    raise(ErrorKind::kCorruption, weights, ": SHA-256 does not match config.json");
  ExportedModel out;
  proto::ClipConfig model_config;
  auto status = google::protobuf::util::JsonStringToMessage(config["model"].dump(), &model_config);
  if (!status.ok()) raise(ErrorKind::kCorruption, path, ": key 'model': ", status.ToString());
  out.model = models::ClipModel(model_config);
  out.model->load_weights(weights);
  out.model->eval();
  const auto ids = config["prompt_tokens"]["ids"].get<std::vector<std::vector<int64_t>>>();
  out.prompts.ids =
      torch::zeros({static_cast<int64_t>(ids.size()), static_cast<int64_t>(ids[0].size())}, torch::kInt64);
  for (size_t r = 0; r < ids.size(); ++r)
    for (size_t c = 0; c < ids[r].size(); ++c)
      out.prompts.ids[static_cast<int64_t>(r)][static_cast<int64_t>(c)] = ids[r][c];
  out.prompts.eot = torch::tensor(config["prompt_tokens"]["eot"].get<std::vector<int64_t>>(), torch::kInt64);
  for (const auto& m : config["input"]["modalities"]) {
    out.modalities.push_back(m["name"].get<std::string>());
    out.channels.push_back(m["channels"].get<int>());
  }
  out.image_size = config["input"]["image_size"].get<int>();
  out.threshold = config["threshold"].get<double>();
  return out;
}

double score_sample(ExportedModel& e, const std::vector<torch::Tensor>& images) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> batch;
  for (size_t m = 0; m < e.modalities.size(); ++m) {
    const torch::Tensor img = m < images.size() && images[m].defined()
                                  ? images[m]
                                  : torch::zeros({e.channels[m], e.image_size, e.image_size});
    batch.push_back(img.unsqueeze(0));  // [1, C, S, S]
  }
  const torch::Tensor text = e.model->encode_text(e.prompts.ids, e.prompts.eot);
  const torch::Tensor logits = models::clip_logits(e.model->encode_image(model_input(batch)), text, e.model->logit_scale);
  return torch::softmax(logits, 1)[0][1].item<double>();
}

}  // namespace fasrl::eval
