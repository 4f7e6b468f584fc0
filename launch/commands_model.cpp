// fasrl eval | eval scores | export | infer: what a trained model is worth and how others load it.
#include <torch/torch.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "core/io.h"
#include "core/progress_meter.h"
#include "core/yaml_proto.h"
#include "data/augment.h"
#include "reasoning/fakg.h"
#include "data/image_codec.h"
#include "data/manifest.h"
#include "data/modality_selection.h"
#include "data/schema.h"
#include "reasoning/response_format.h"
#include "metrics/fas_metrics.h"
#include "metrics/score_file.h"
#include "launch/runtime.h"
#include "models/chat_template.h"
#include "models/generate.h"
#include "models/mllm.h"
#include "models/weights.h"
#include "trainer/checkpoint.h"
#include "eval/moae_cr_export.h"
#include "eval/mllm_eval.h"
#include "eval/mllm_export.h"
#include "eval/moae_cr_eval.h"
#include "launch/algorithms.h"
#include "launch/commands.h"
#include "launch/summary.h"

namespace fasrl::launch {
namespace {

// --checkpoint DIR, or the newest checkpoint of run.dir that verifies; loaded
// (every hash checked) once, and `dir` says which.
trainer::Checkpoint chosen_checkpoint(const Args& args, const proto::JobConfig& config, std::string* dir) {
  *dir = args.get("checkpoint");
  if (!dir->empty()) return trainer::load_checkpoint(*dir);
  std::vector<std::string> skipped;
  auto latest = trainer::load_latest_checkpoint(config.run().dir(), &skipped, dir);
  for (const auto& s : skipped) std::cerr << s << "\n";
  if (!latest) raise(ErrorKind::kNotFound, config.run().dir(), "/checkpoints: no checkpoint that verifies");
  return std::move(*latest);
}


// Decode, resize to the model's size, then the loader's exact eval path: [C, S, S] in [0,1].
torch::Tensor load_image_input(const std::string& path, int channels, int size) {
  const data::Image img = data::resize_bilinear(data::decode_image_file(path, channels), size, size);
  torch::Tensor t = torch::empty({channels, size, size});
  data::apply_augment(img.pixels.data(), img.height, img.width, img.channels, data::identity_augment(img.height, img.width),
                      false, t.data_ptr<float>(), size, size);
  return t;
}

// The job config of `fasrl eval|export`: --config F, or with only --checkpoint
// DIR that checkpoint's own config.json (overrides apply to either).
proto::JobConfig model_command_config(const Args& args) {
  const std::string stored = args.has("checkpoint") ? join_path(args.get("checkpoint"), "config.json") : "";
  if (!args.has("config") && !args.has("checkpoint"))
    raise(ErrorKind::kInvalidArgument, "give --config F (the run's config: its latest checkpoint is used) or --checkpoint DIR");
  return load_job_config(args, stored);
}

// The MLLM a checkpoint holds. A self-contained checkpoint (tokenizer.json
// beside config.json) carries its resolved MLLM config and modalities, so
// neither mllm.init_from nor the dataset is read; older ones fall back to the
// job's config and the dataset's modalities.
struct CheckpointMllm {
  proto::MllmConfig mllm;
  std::vector<std::string> modalities;
  std::vector<int> channels;
};

CheckpointMllm checkpoint_mllm(const proto::JobConfig& job, const trainer::Checkpoint& ck, const std::string& dir) {
  CheckpointMllm out;
  if (!path_exists(join_path(dir, "tokenizer.json"))) {
    const data::ModalitySelection selected = data::select_modalities(data::Manifest::load(job.data().dataset()), job.data());
    return {job.mllm(), selected.names, selected.channels};
  }
  proto::JobConfig stored;
  parse_yaml_config(ck.config_json, join_path(dir, "config.json"), {}, &stored);
  out.mllm = stored.mllm();
  out.mllm.set_tokenizer(join_path(dir, "tokenizer.json"));
  const auto specs = data::default_modalities();
  for (const auto& name : stored.data().modalities()) {
    const auto it = std::find_if(specs.begin(), specs.end(), [&](const data::ModalitySpec& m) { return m.name == name; });
    if (it == specs.end())
      raise(ErrorKind::kCorruption, dir, "/config.json: data.modalities has '", name, "', not one of rgb, depth, ir");
    out.modalities.push_back(name);
    out.channels.push_back(it->channels);
  }
  if (out.modalities.empty()) raise(ErrorKind::kCorruption, dir, "/config.json: data.modalities is empty");
  return out;
}

// The reasoning MLLM: greedy rationale and answer for the given images.
int infer_mllm(const Args& args) {
  eval::ExportedMllm ex = eval::load_mllm_export(args.get("model"));
  models::Mllm& model = ex.bundle.model;
  model->eval();
  std::vector<std::string> present;
  std::vector<torch::Tensor> images;
  nlohmann::json out = nlohmann::json::object();
  for (size_t m = 0; m < ex.modalities.size(); ++m) {
    if (!args.has(ex.modalities[m])) continue;  // a missing modality is left out of the prompt
    present.push_back(ex.modalities[m]);
    images.push_back(models::mllm_image(load_image_input(args.get(ex.modalities[m]), ex.channels[m], ex.image_size)));
    out["inputs"][ex.modalities[m]] = args.get(ex.modalities[m]);
  }
  if (present.empty()) raise(ErrorKind::kInvalidArgument, "infer: give at least one image (--rgb/--depth/--ir FILE)");
  const std::string question =
      args.get("question", "Is the face in these images live or an attack? Answer live or attack.");
  const auto prompt = models::chat_prompt_ids(ex.bundle.tokenizer, *model, present, question);
  models::ChatSampling greedy;
  greedy.max_new_tokens = args.get_int("max-tokens", 200);
  torch::NoGradGuard g;
  const std::string response =
      models::generate_chat(*model, ex.bundle.tokenizer, {prompt}, torch::stack(images), greedy)[0].text;
  const reasoning::ParsedResponse parsed = reasoning::parse_response(response);
  out["question"] = question;
  out["response"] = response;
  out["rationale"] = parsed.think;
  out["answer"] = parsed.answer;
  out["well_formed"] = parsed.well_formed;
  std::cout << out.dump() << "\n";
  return 0;
}


// An sft/grpo checkpoint: the reasoning MLLM's held-out report.
int eval_mllm(const proto::JobConfig& config, const trainer::Checkpoint& ck, const std::string& dir) {
  const data::Manifest manifest = data::Manifest::load(config.data().dataset());
  const CheckpointMllm held = checkpoint_mllm(config, ck, dir);
  models::MllmBundle bundle = models::load_mllm(held.mllm, held.modalities, /*init_weights=*/false);
  models::copy_weights(*bundle.model, ck.model, join_path(dir, "model.safetensors"));
  proto::LoaderConfig data = config.data();
  data.set_image_size(held.mllm.vision().image_size());
  data.clear_modalities();  // the model's modalities, in its order
  for (const auto& m : held.modalities) data.add_modalities(m);
  ProgressMeter progress("eval", stderr);
  const auto e = eval::evaluate_mllm(bundle.model, bundle.tokenizer, reasoning::KnowledgeGraph::load(config.qa().knowledge_graph()),
                                        data, config.qa().field(), config.train().mllm_eval(), config.train().grpo().reward(),
                                        &progress);
  eval::write_mllm_report(config.run().dir(), {ck.state.step, dir}, e, manifest.fine_labels);
  print_mllm_summary(std::cout, "evaluation of " + dir, e, manifest.fine_labels);
  print_report_path(std::cout, config.run().dir(), ck.state.step);
  return 0;
}

}  // namespace

int cmd_eval(const Args& args) {
  const proto::JobConfig config = model_command_config(args);
  configure_threads(config.run());
  std::string dir;
  const trainer::Checkpoint ck = chosen_checkpoint(args, config, &dir);
  if (find_algorithm(config.train().algorithm()).family == ModelFamily::kReasoningMllm) return eval_mllm(config, ck, dir);
  const proto::ClipConfig model_config = eval::resolve_model_config(config.model(), config.data());
  models::ClipModel model(model_config);
  model->load_weights(ck.model, join_path(dir, "model.safetensors"));
  proto::LoaderConfig data = config.data();
  data.set_image_size(model_config.vision().image_size());
  std::vector<eval::SampleScore> scores;
  const auto report =
      eval::evaluate_moae_cr(model, eval::class_prompts(model_config, config.train().moae_cr()), data, &scores);
  const std::vector<std::string> fine_labels = data::Manifest::load(data.dataset()).fine_labels;
  eval::write_moae_cr_report(config.run().dir(), {ck.state.step, dir}, report, scores, fine_labels);
  print_fas_summary(std::cout, "evaluation of " + dir + " on " + data.protocol(), report, fine_labels);
  print_report_path(std::cout, config.run().dir(), ck.state.step);
  return 0;
}

int cmd_export(const Args& args) {
  if (!args.has("out")) raise(ErrorKind::kInvalidArgument, "export needs --out DIR");
  const proto::JobConfig config = model_command_config(args);
  configure_threads(config.run());
  std::string dir;
  const trainer::Checkpoint ck = chosen_checkpoint(args, config, &dir);
  if (find_algorithm(config.train().algorithm()).family == ModelFamily::kReasoningMllm) {
    const CheckpointMllm held = checkpoint_mllm(config, ck, dir);
    eval::export_mllm(dir, ck.model, held.mllm, held.modalities, held.channels, args.get("out"));
    std::cout << "exported " << dir << " to " << args.get("out") << " (HF-style MLLM directory)\n";
    return 0;
  }
  const double threshold =
      eval::export_moae_cr(dir, ck.model, eval::resolve_model_config(config.model(), config.data()),
                              config.data(), config.train().moae_cr(), args.get("out"));
  std::cout << "exported " << dir << " to " << args.get("out") << " (dev threshold " << threshold << ")\n";
  return 0;
}

int cmd_infer(const Args& args) {
  if (!args.has("model")) raise(ErrorKind::kInvalidArgument, "infer needs --model EXPORT_DIR");
  torch::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
  if (eval::is_mllm_export(args.get("model"))) return infer_mllm(args);
  eval::ExportedModel exported = eval::load_export(args.get("model"));
  std::vector<torch::Tensor> images;
  nlohmann::json out = nlohmann::json::object();
  for (size_t m = 0; m < exported.modalities.size(); ++m) {
    const std::string& name = exported.modalities[m];
    if (!args.has(name)) {
      images.emplace_back();  // missing modality: zeros, as in training
      continue;
    }
    const torch::Tensor t = load_image_input(args.get(name), exported.channels[m], exported.image_size);
    images.push_back(t);
    out["inputs"][name] = args.get(name);
  }
  if (!args.has(exported.modalities[0]))
    raise(ErrorKind::kInvalidArgument, "infer: --", exported.modalities[0], " FILE is required");
  const double score = eval::score_sample(exported, images);
  out["score"] = score;
  out["threshold"] = exported.threshold;
  out["decision"] = score >= exported.threshold ? "attack" : "live";
  std::cout << out.dump() << "\n";
  return 0;
}

int cmd_eval_scores(const Args& args) {
  if (!args.has("dev") || !args.has("test"))
    raise(ErrorKind::kInvalidArgument, "eval scores needs --dev FILE and --test FILE");
  const std::vector<std::string>& names = data::default_fine_labels();
  const auto report =
      metrics::evaluate(metrics::read_score_file(args.get("dev"), names), metrics::read_score_file(args.get("test"), names));
  const std::string json = metrics::report_to_json(report, names);
  if (args.has("out")) atomic_write_file(args.get("out"), json + "\n");
  std::cout << json << "\n";
  return 0;
}

}  // namespace fasrl::launch
