// fasrl tokenizer encode | train, config show, version.
#include <H5public.h>
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/config_ranges.h"
#include "core/io.h"
#include "core/yaml_proto.h"
#include "data/dataset.h"
#include "reasoning/qa_items.h"
#include "reasoning/response_format.h"
#include "launch/runtime.h"
#include "models/bpe_trainer.h"
#include "models/chat_template.h"
#include "models/mllm.h"
#include "models/tokenizer.h"
#include "launch/commands.h"

namespace fasrl::launch {

proto::JobConfig load_job_config(const Args& args, const std::string& fallback_file) {
  proto::JobConfig config;
  const std::string file = args.has("config") ? args.get("config") : fallback_file;
  if (!file.empty())
    load_yaml_config(file, args.overrides, &config);
  else
    parse_yaml_config("{}", "<defaults>", args.overrides, &config);
  check_config_ranges(config, !file.empty() ? file + " (with its overrides)" : "<overrides>");
  fill_defaults(&config);
  return config;
}
namespace {

// Documents from a dataset's QA items: every question, reasoning path and answer.
std::vector<std::string> qa_documents(const std::string& dir, const std::string& field) {
  const data::Dataset ds(dir);
  std::vector<std::string> docs;
  for (int sh = 0; sh < ds.num_shards(); ++sh)
    for (const auto& text : ds.shard(sh).read_strings(data::text_path(field)))
      for (const auto& item : reasoning::qa_from_json(text, ds.shard(sh).path())) {
        docs.push_back(item.question + "\n");
        for (const auto& p : item.paths) docs.push_back(p);
        docs.push_back(item.answer);
      }
  return docs;
}

}  // namespace

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
  // ChatML, the modality tags and image pad, <think> </think> <answer> </answer>,
  // then Qwen2.5-VL's vision start/end (last, so the earlier ids stay put).
  o.special_tokens = models::chat_special_tokens();
  for (const auto& t : models::mllm_special_tokens({"rgb", "depth", "ir"})) o.special_tokens.push_back(t);
  for (const auto& t : reasoning::response_special_tokens()) o.special_tokens.push_back(t);
  o.special_tokens.push_back(models::kVisionStartToken);
  o.special_tokens.push_back(models::kVisionEndToken);
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
            << "\n  blas " << (loaded_blas_library().empty() ? "not identified" : loaded_blas_library())
            << "\n  matmul fp32 " << check_matmul_speed() << " GFLOP/s (" << torch::get_num_threads() << " threads)\n";
  return 0;
}

}  // namespace fasrl::launch
