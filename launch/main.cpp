// fasrl — the one binary. Subcommands dispatch to the modules; every error
// ends the process with "fasrl: error: <what, where>" and exit code 1.
#include <H5public.h>
#include <glog/logging.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "comm/world.h"
#include "core/error.h"
#include "core/io.h"
#include "core/preemption.h"
#include "core/timer.h"
#include "core/yaml_proto.h"
#include "data/augment.h"
#include "data/dataset_tools.h"
#include "data/image_codec.h"
#include "data/loader.h"
#include "data/pack.h"
#include "data/qa_synthesis.h"
#include "data/synth.h"
#include "eval/fas_metrics.h"
#include "eval/score_file.h"
#include "launch/cli.h"
#include "launch/runtime.h"
#include "models/bpe_trainer.h"
#include "models/mllm.h"
#include "models/tokenizer.h"
#include "proto/config.pb.h"
#include "trainer/checkpoint.h"
#include "trainer/export.h"
#include "trainer/moae_cr_trainer.h"
#include "trainer/sft_trainer.h"
#include "trainer/grpo_trainer.h"
#include "trainer/mllm_export.h"
#include "data/reasoning_format.h"
#include "models/generate.h"
#include "rollout/worker.h"

namespace fasrl::launch {
namespace {

const char* kUsage = R"(fasrl — distributed training for unified face-attack detection

usage: fasrl <command> [options] [key.sub=value ...]

commands:
  train        --config F [k=v ...]           train (train.algorithm: moae_cr | sft | grpo) on every rank;
                                              resumes from run.dir/checkpoints/latest
  eval         --config F [--checkpoint DIR]  FAS metrics of a checkpoint on data.protocol (dev threshold -> test);
                                              also writes per-sample scores (eval/scores-{dev,test}.csv)
  export       --config F --out DIR [--checkpoint DIR]
                                              MoAE-CR: weights + config (input spec, label map, dev threshold);
                                              sft/grpo: HF-style MLLM directory (config.json, model.safetensors,
                                              tokenizer.json)
  infer        --model DIR --rgb F [--depth F] [--ir F] [--question Q]
                                              score one sample with an exported MoAE-CR model, or print the
                                              exported MLLM's rationale and answer
  data synth   [--config F] [synth.k=v ...]   generate a synthetic RGB/depth/IR face-attack dataset
  data pack    --csv F --out D [--images R] [--image-size N] [--samples-per-shard N] [--name S]
                                              build shards from PNG/JPEG files listed in a CSV
  data qa      --dataset D --out D2 [--config F] [qa.k=v ...]
                                              add FAKG question-answer items with N reasoning paths per
                                              question (/text/qa) to a copy of a dataset
  data inspect DIR                            counts per label for each protocol split
  data verify  DIR [--deep]                   check manifest, sizes, SHA-256, schema (--deep: decode all)
  data iterate [--config F] [--batches N] [data.k=v ...]
                                              run the distributed loader, report samples/s
  eval scores  --dev F --test F [--out report.json]
                                              FAS metrics from score CSVs (score,is_attack,attack_type);
                                              threshold from dev's EER point, applied to test
  tokenizer train (--corpus F | --dataset D [--field qa]) --out tokenizer.json [--vocab-size N]
                                              byte-level BPE on a text corpus (one document per line) or on
                                              a dataset's QA items; adds the ChatML, modality-tag, image-pad
                                              and <think>/<answer> special tokens
  tokenizer encode --tokenizer tokenizer.json --in texts.json --out ids.json [--decoded F]
                                              byte-level BPE (HF tokenizer.json) over a JSON list of strings
  config show  [--config F] [k=v ...]         print the effective config (schema defaults filled in)
  version                                     build information
  help                                        this text

Config files are YAML over proto/config.proto; k.sub=value overrides any key.
Rank and world size come from the launcher (mpirun / srun) environment.
)";

proto::JobConfig load_job_config(const Args& args) {
  proto::JobConfig config;
  if (args.has("config"))
    load_yaml_config(args.get("config"), args.overrides, &config);
  else
    parse_yaml_config("{}", "<defaults>", args.overrides, &config);
  fill_defaults(&config);
  return config;
}

int env_int(const char* a, const char* b, int fallback) {
  for (const char* v : {a, b})
    if (const char* s = std::getenv(v)) return std::atoi(s);
  return fallback;
}

int cmd_synth(const Args& args) {
  const proto::JobConfig config = load_job_config(args);
  const auto summary = data::synthesize_dataset(config.synth());
  std::cout << "wrote " << summary.samples << " samples in " << summary.shards << " shards to "
            << config.synth().out_dir() << " (" << summary.seconds << " s)\n";
  return 0;
}

int cmd_pack(const Args& args) {
  if (!args.has("csv") || !args.has("out"))
    raise(ErrorKind::kInvalidArgument, "data pack needs --csv FILE and --out DIR");
  data::PackOptions o;
  o.csv_path = args.get("csv");
  o.out_dir = args.get("out");
  o.image_root = args.get("images");
  o.image_size = args.get_int("image-size", o.image_size);
  o.samples_per_shard = args.get_int("samples-per-shard", o.samples_per_shard);
  o.name = args.get("name", o.name);
  const int64_t n = data::pack_dataset(o);
  std::cout << "packed " << n << " samples into " << o.out_dir << "\n";
  return 0;
}

int cmd_qa(const Args& args) {
  if (!args.has("dataset") || !args.has("out")) raise(ErrorKind::kInvalidArgument, "data qa needs --dataset DIR and --out DIR");
  const proto::JobConfig config = load_job_config(args);
  const proto::QaConfig& qc = config.qa();
  const auto kg = data::KnowledgeGraph::load(qc.knowledge_graph());
  data::QaOptions o;
  o.paths_per_item = qc.paths_per_sample();
  if (qc.kinds_size() > 0) o.kinds.assign(qc.kinds().begin(), qc.kinds().end());
  o.seed = qc.seed();
  const auto s = data::add_qa_to_dataset(args.get("dataset"), args.get("out"), kg, o, qc.field());
  std::cout << "wrote " << s.items << " QA items (" << s.paths << " reasoning paths) for " << s.samples << " samples to "
            << args.get("out") << " (/text/" << qc.field() << ")\n";
  return 0;
}

std::string dataset_dir_arg(const Args& args, const char* command) {
  if (args.positional.size() != 1) raise(ErrorKind::kInvalidArgument, command, " needs exactly one dataset directory");
  return args.positional[0];
}

int cmd_inspect(const Args& args) {
  data::inspect_dataset(dataset_dir_arg(args, "data inspect"), std::cout);
  return 0;
}

int cmd_verify(const Args& args) {
  const std::string dir = dataset_dir_arg(args, "data verify");
  const auto report = data::verify_dataset(dir, args.has("deep"));
  for (const auto& p : report.problems) std::cout << "FAIL " << p << "\n";
  std::cout << (report.ok() ? "OK " : "BROKEN ") << dir << ": " << report.shards_checked << " shards, "
            << report.samples_checked << " samples checked" << (args.has("deep") ? " (all images decoded)" : "") << ", "
            << report.problems.size() << " problems\n";
  return report.ok() ? 0 : 1;
}

int cmd_iterate(const Args& args) {
  const proto::JobConfig config = load_job_config(args);
  const int rank = env_int("OMPI_COMM_WORLD_RANK", "SLURM_PROCID", 0);
  const int world = env_int("OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS", 1);
  set_process_rank(rank);
  const int threads = configure_threads(config.run());
  if (rank == 0) {
    make_dirs(config.run().dir());
    atomic_write_file(join_path(config.run().dir(), "config.json"), message_to_json(config));
  }
  auto dataset = std::make_shared<const data::Dataset>(config.data().dataset());
  data::Loader loader(dataset, config.data(), rank, world, config.run().seed());
  const int batches = args.get_int("batches", static_cast<int>(loader.batches_per_epoch()));
  std::vector<int64_t> per_class(3, 0);
  Stopwatch clock;
  int64_t samples = 0;
  for (int i = 0; i < batches; ++i) {
    const data::Batch b = loader.next();
    samples += b.size();
    const auto coarse = b.coarse.accessor<int64_t, 1>();
    for (int64_t j = 0; j < b.size(); ++j) ++per_class[static_cast<size_t>(coarse[j])];
  }
  const double secs = clock.seconds();
  std::cout << "[rank " << rank << "/" << world << "] " << config.data().protocol() << "/" << config.data().split()
            << ": " << batches << " batches, " << samples << " samples (live " << per_class[0] << ", physical "
            << per_class[1] << ", digital " << per_class[2] << ") in " << secs << " s = " << samples / secs
            << " samples/s with " << config.data().workers() << " workers, " << threads << " torch threads\n";
  return 0;
}

int cmd_eval_scores(const Args& args) {
  if (!args.has("dev") || !args.has("test"))
    raise(ErrorKind::kInvalidArgument, "eval scores needs --dev FILE and --test FILE");
  const auto report = eval::evaluate(eval::read_score_file(args.get("dev")), eval::read_score_file(args.get("test")));
  const std::string json = eval::report_to_json(report, data::default_fine_labels());
  if (args.has("out")) atomic_write_file(args.get("out"), json + "\n");
  std::cout << json << "\n";
  return 0;
}

int* g_argc = nullptr;
char*** g_argv = nullptr;

int cmd_train(const Args& args) {
  const comm::World& world = comm::init_world(g_argc, g_argv);
  const proto::JobConfig config = load_job_config(args);
  const int threads = configure_threads(config.run());
  const std::string& algorithm = config.train().algorithm();
  if (algorithm != "moae_cr" && algorithm != "sft" && algorithm != "grpo")
    raise(ErrorKind::kConfig, "train.algorithm: '", algorithm, "' is not available (moae_cr, sft, grpo)");
  if (world.rank == 0) {
    make_dirs(config.run().dir());
    atomic_write_file(join_path(config.run().dir(), "config.json"), message_to_json(config));
    LOG(INFO) << "train (" << algorithm << "): " << world.size << " ranks x " << threads << " threads, run dir "
              << config.run().dir();
  }
  install_preemption_handlers();
  bool preempted = false;
  int64_t steps = 0;
  if (algorithm == "grpo") {
    const comm::RoleSplit roles = comm::split_roles(world, config.train().grpo().learners());
    if (roles.num_rollout < 1)
      raise(ErrorKind::kConfig, "train.grpo.learners = ", roles.num_learners, " of ", world.size,
            " ranks leaves no rollout worker: start more ranks or lower train.grpo.learners");
    if (roles.role == comm::Role::kRollout) {
      rollout::RolloutJob job{config.run(), config.data(), config.mllm(), config.train().grpo(),
                              config.qa(),  config.train().sft().qa_field(), config.train().steps()};
      rollout::run_rollout_worker(job, roles, world.comm);
    } else {
      trainer::GrpoJob job{config.run(),   config.data(), config.mllm(), config.optim(),
                           config.train(), config.comm(), config.qa(),   message_to_json(config)};
      const auto result = trainer::train_grpo(job, roles, world.comm);
      preempted = result.preempted;
      steps = result.steps;
      if (world.rank == 0 && !preempted) {
        std::cout << "trained " << result.steps << " GRPO steps (" << roles.num_learners << " learners, "
                  << roles.num_rollout << " rollout workers): " << result.samples / result.seconds
                  << " samples/s; weight sync " << 1e3 * result.weight_sync_seconds / std::max<int64_t>(1, result.steps)
                  << " ms/update for " << result.weight_bytes / std::max<int64_t>(1, result.steps) / 1e6 << " MB\n";
        if (result.report)
          for (const auto& [key, value] : trainer::mllm_eval_summary(*result.report))
            std::cout << "test " << key << " " << value << "\n";
      }
    }
  } else if (algorithm == "sft") {
    trainer::SftJob job{config.run(),   config.data(), config.mllm(), config.optim(),
                        config.train(), config.comm(), config.qa(),   message_to_json(config)};
    const auto result = trainer::train_sft(job, world.comm);
    preempted = result.preempted;
    steps = result.steps;
    if (world.rank == 0 && !preempted) {
      std::cout << "trained " << result.steps << " SFT steps, token loss " << result.first_loss << " -> "
                << result.last_loss << "\n";
      if (result.report) {
        for (const auto& [kind, k] : result.report->test.kinds)
          std::cout << "test " << kind << ": accuracy " << k.accuracy() << " (ranked " << k.ranked_accuracy()
                    << ", majority " << k.majority() << ")\n";
        std::cout << "test FAS from P(attack): ACER " << result.report->fas.acer << "  AUC " << result.report->fas.auc
                  << "  -> " << join_path(config.run().dir(), "eval/report.json") << "\n";
      }
    }
  } else {
    trainer::MoaeCrJob job{config.run(),   config.data(), config.model(),         config.optim(),
                           config.train(), config.comm(), message_to_json(config)};
    const auto result = trainer::train_moae_cr(job, world.comm);
    preempted = result.preempted;
    steps = result.steps;
    if (world.rank == 0 && !preempted) {
      std::cout << "trained " << result.steps << " steps, last loss " << result.last_loss << "\n";
      if (result.report)
        std::cout << "test (" << config.data().protocol() << ", dev threshold " << result.report->threshold << "): ACER "
                  << result.report->acer << "  HTER " << result.report->hter << "  AUC " << result.report->auc
                  << "  EER " << result.report->eer << "  -> " << join_path(config.run().dir(), "eval/report.json")
                  << "\n";
    }
  }
  if (preempted) {
    if (world.rank == 0)
      std::cout << "preempted (signal " << preemption_signal() << ") at step " << steps
                << ": checkpoint written; rerun the same command to resume (exit " << kPreemptedExitCode << ")\n";
    comm::finalize_world();
    return kPreemptedExitCode;
  }
  comm::finalize_world();
  return 0;
}

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

int cmd_eval(const Args& args) {
  const proto::JobConfig config = load_job_config(args);
  configure_threads(config.run());
  std::string dir;
  const trainer::Checkpoint ck = chosen_checkpoint(args, config, &dir);
  const proto::ClipConfig model_config = trainer::resolve_model_config(config.model(), config.data());
  models::ClipModel model(model_config);
  model->load_weights(ck.model, join_path(dir, "model.safetensors"));
  proto::LoaderConfig data = config.data();
  data.set_image_size(model_config.vision().image_size());
  std::vector<trainer::SampleScore> scores;
  const auto report =
      trainer::evaluate_moae_cr(model, trainer::class_prompts(model_config, config.train().moae_cr()), data, &scores);
  const std::string json = eval::report_to_json(report, data::Manifest::load(data.dataset()).fine_labels);
  make_dirs(join_path(config.run().dir(), "eval"));
  for (const char* split : {"dev", "test"}) {  // score files that `fasrl eval scores` reads back
    std::ostringstream csv;
    csv << "score,is_attack,attack_type,sample_id\n" << std::setprecision(17);
    for (const auto& s : scores)
      if (s.split == split) csv << s.score << "," << s.is_attack << "," << s.fine << "," << s.sample_id << "\n";
    atomic_write_file(join_path(config.run().dir(), std::string("eval/scores-") + split + ".csv"), csv.str());
  }
  atomic_write_file(join_path(config.run().dir(), "eval/report.json"), json + "\n");
  std::cout << json << "\n";
  return 0;
}

int cmd_export(const Args& args) {
  if (!args.has("out")) raise(ErrorKind::kInvalidArgument, "export needs --out DIR");
  const proto::JobConfig config = load_job_config(args);
  configure_threads(config.run());
  std::string dir;
  const trainer::Checkpoint ck = chosen_checkpoint(args, config, &dir);
  const std::string& algorithm = config.train().algorithm();
  if (algorithm == "sft" || algorithm == "grpo") {
    const data::Manifest manifest = data::Manifest::load(config.data().dataset());
    std::vector<std::string> names;
    std::vector<int> channels;
    for (const auto& m : manifest.modalities) {
      names.push_back(m.name);
      channels.push_back(m.channels);
    }
    trainer::export_mllm(dir, ck.model, config.mllm(), names, channels, args.get("out"));
    std::cout << "exported " << dir << " to " << args.get("out") << " (HF-style MLLM directory)\n";
    return 0;
  }
  const double threshold =
      trainer::export_moae_cr(dir, ck.model, trainer::resolve_model_config(config.model(), config.data()),
                              config.data(), config.train().moae_cr(), args.get("out"));
  std::cout << "exported " << dir << " to " << args.get("out") << " (dev threshold " << threshold << ")\n";
  return 0;
}

// Decode, resize to the model's size, then the loader's exact eval path: [C, S, S] in [0,1].
torch::Tensor load_image_input(const std::string& path, int channels, int size) {
  const data::Image img = data::resize_bilinear(data::decode_image_file(path, channels), size, size);
  torch::Tensor t = torch::empty({channels, size, size});
  data::apply_augment(img.pixels.data(), img.height, img.width, img.channels, data::identity_augment(img.height, img.width),
                      false, t.data_ptr<float>(), size, size);
  return t;
}

// The reasoning MLLM: greedy rationale and answer for the given images.
int infer_mllm(const Args& args) {
  trainer::ExportedMllm ex = trainer::load_mllm_export(args.get("model"));
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
  const torch::Tensor batch = torch::stack(images);
  models::SamplingOptions o;
  o.temperature = 0;
  o.max_new_tokens = args.get_int("max-tokens", 200);
  o.eos_id = ex.bundle.tokenizer.token_id("<|im_end|>");
  o.pad_id = o.eos_id;
  o.banned_ids = models::policy_banned_ids(*model, ex.bundle.tokenizer);
  torch::NoGradGuard g;
  auto gen = models::generate(model->language_model(), {prompt}, o, nullptr,
                              [&](const torch::Tensor& ids) { return model->embed(ids, batch); });
  std::vector<int64_t> tokens = gen.tokens[0];
  if (!tokens.empty() && tokens.back() == o.eos_id) tokens.pop_back();
  const std::string response = ex.bundle.tokenizer.decode(tokens);
  const data::ParsedResponse parsed = data::parse_response(response);
  out["question"] = question;
  out["response"] = response;
  out["rationale"] = parsed.think;
  out["answer"] = parsed.answer;
  out["well_formed"] = parsed.well_formed;
  std::cout << out.dump() << "\n";
  return 0;
}

int cmd_infer(const Args& args) {
  if (!args.has("model")) raise(ErrorKind::kInvalidArgument, "infer needs --model EXPORT_DIR");
  torch::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
  if (trainer::is_mllm_export(args.get("model"))) return infer_mllm(args);
  trainer::ExportedModel exported = trainer::load_export(args.get("model"));
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
  const double score = trainer::score_sample(exported, images);
  out["score"] = score;
  out["threshold"] = exported.threshold;
  out["decision"] = score >= exported.threshold ? "attack" : "live";
  std::cout << out.dump() << "\n";
  return 0;
}

int cmd_tokenizer_encode(const Args& args) {
  for (const char* flag : {"tokenizer", "in", "out"})
    if (!args.has(flag)) raise(ErrorKind::kInvalidArgument, "tokenizer encode needs --tokenizer, --in and --out");
  const models::BpeTokenizer tok = models::BpeTokenizer::load(args.get("tokenizer"));
  nlohmann::json texts;
  try {
    texts = nlohmann::json::parse(read_file(args.get("in")));
  } catch (const nlohmann::json::exception& e) {
    raise(ErrorKind::kInvalidArgument, args.get("in"), ": not valid JSON (", e.what(), ")");
  }
  if (!texts.is_array()) raise(ErrorKind::kInvalidArgument, args.get("in"), ": expected a JSON list of strings");
  nlohmann::json ids = nlohmann::json::array(), decoded = nlohmann::json::array();
  for (const auto& t : texts) {
    const auto encoded = tok.encode(t.get<std::string>());
    ids.push_back(encoded);
    if (args.has("decoded")) decoded.push_back(tok.decode(encoded));
  }
  atomic_write_file(args.get("out"), ids.dump());
  if (args.has("decoded")) atomic_write_file(args.get("decoded"), decoded.dump());
  std::cout << "encoded " << texts.size() << " strings with " << args.get("tokenizer") << " (vocab " << tok.vocab_size()
            << ")\n";
  return 0;
}

// Documents from a dataset's QA items: every question, reasoning path and answer.
std::vector<std::string> qa_documents(const std::string& dir, const std::string& field) {
  const data::Dataset ds(dir);
  std::vector<std::string> docs;
  for (int sh = 0; sh < ds.num_shards(); ++sh)
    for (const auto& text : ds.shard(sh).read_strings(data::text_path(field)))
      for (const auto& item : data::qa_from_json(text, ds.shard(sh).path())) {
        docs.push_back(item.question + "\n");
        for (const auto& p : item.paths) docs.push_back(p);
        docs.push_back(item.answer);
      }
  return docs;
}

int cmd_tokenizer_train(const Args& args) {
  if ((!args.has("corpus") && !args.has("dataset")) || !args.has("out"))
    raise(ErrorKind::kInvalidArgument, "tokenizer train needs --corpus FILE or --dataset DIR, and --out");
  std::vector<std::string> docs;
  if (args.has("dataset")) {
    docs = qa_documents(args.get("dataset"), args.get("field", "qa"));
  } else {
    std::istringstream lines(read_file(args.get("corpus")));
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) docs.push_back(line + "\n");
  }
  if (docs.empty()) raise(ErrorKind::kInvalidArgument, args.get("corpus", args.get("dataset")), ": no text to train on");
  models::BpeTrainOptions o;
  o.special_tokens = models::reasoning_special_tokens({"rgb", "depth", "ir"});
  o.vocab_size = args.get_int("vocab-size", o.vocab_size);
  atomic_write_file(args.get("out"), models::train_bpe(docs, o));
  const auto tok = models::BpeTokenizer::load(args.get("out"));
  std::cout << "trained " << args.get("out") << ": vocab " << tok.vocab_size() << " from " << docs.size()
            << " documents\n";
  return 0;
}

int cmd_config_show(const Args& args) {
  std::cout << message_to_json(load_job_config(args)) << "\n";
  return 0;
}

int cmd_version(const Args& args) {
  configure_threads(load_job_config(args).run());
  unsigned maj, min, rel;
  H5get_libversion(&maj, &min, &rel);
  std::cout << "fasrl 0.1.0\n  torch " << TORCH_VERSION << "\n  hdf5 " << maj << "." << min << "." << rel
            << "\n  nccl backend "
            <<
#ifdef FASRL_HAVE_NCCL
      "compiled"
#else
      "not compiled"
#endif
            << "\n  matmul fp32 " << check_matmul_speed() << " GFLOP/s (" << torch::get_num_threads() << " threads)\n";
  return 0;
}

}  // namespace
}  // namespace fasrl::launch

int main(int argc, char** argv) {
  using namespace fasrl::launch;
  google::InitGoogleLogging(argv[0]);
  g_argc = &argc;
  g_argv = &argv;
  FLAGS_logtostderr = true;
  std::vector<std::string> words(argv + 1, argv + argc);
  using Command = std::function<int(const Args&)>;
  const std::map<std::string, Command> commands = {{"data synth", cmd_synth},
                                                   {"data pack", cmd_pack},
                                                   {"data inspect", cmd_inspect},
                                                   {"data verify", cmd_verify},
                                                   {"data iterate", cmd_iterate},
                                                   {"config show", cmd_config_show},
                                                   {"eval scores", cmd_eval_scores},
                                                   {"train", cmd_train},
                                                   {"eval", cmd_eval},
                                                   {"export", cmd_export},
                                                   {"infer", cmd_infer},
                                                   {"tokenizer encode", cmd_tokenizer_encode},
                                                   {"tokenizer train", cmd_tokenizer_train},
                                                   {"data qa", cmd_qa},
                                                   {"version", cmd_version}};
  if (words.empty() || words[0] == "help" || words[0] == "--help" || words[0] == "-h") {
    std::cout << kUsage;
    return words.empty() ? 2 : 0;
  }
  std::string name = words[0];
  size_t used = 1;
  if (words.size() > 1 && commands.count(name + " " + words[1])) {  // two-word commands win ("eval scores")
    name += " " + words[1];
    used = 2;
  }
  auto it = commands.find(name);
  if (it == commands.end()) {
    std::cerr << "fasrl: error: unknown command '" << name << "'\n\n" << kUsage;
    return 2;
  }
  std::vector<std::string> rest(words.begin() + static_cast<long>(used), words.end());
  if (std::find(rest.begin(), rest.end(), "--help") != rest.end()) {
    std::cout << kUsage;
    return 0;
  }
  try {
    return it->second(parse_args(rest, {"deep"}));
  } catch (const c10::Error& e) {  // torch's errors: keep the message, drop the backtrace
    const std::string what = std::string("torch: ") + e.what_without_backtrace();
    if (fasrl::comm::world_initialised()) fasrl::comm::abort_job(what);
    std::cerr << "fasrl: error: " << what << "\n";
    return 1;
  } catch (const std::exception& e) {
    const bool ours = dynamic_cast<const fasrl::Error*>(&e) != nullptr;
    // Under MPI one failed rank must end every rank, not leave them waiting.
    if (fasrl::comm::world_initialised()) fasrl::comm::abort_job(std::string(ours ? "" : "unexpected: ") + e.what());
    std::cerr << "fasrl: " << (ours ? "error: " : "unexpected error: ") << e.what() << "\n";
    return 1;
  }
}
