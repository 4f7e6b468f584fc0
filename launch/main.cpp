// fasrl — the one binary. Subcommands dispatch to launch/commands_*.cpp;
// every error ends the process with "fasrl: error: <what, where>" and exit
// code 1 (under MPI: every rank, via MPI_Abort).
#include <glog/logging.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>

#include "comm/world.h"
#include "core/host_memory.h"
#include "core/error.h"
#include "launch/cli.h"
#include "launch/commands.h"

namespace fasrl::launch {
namespace {

const char* kUsage = R"(fasrl — distributed training for unified face-attack detection

usage: fasrl <command> [options] [key.sub=value ...]

commands:
  train        --config F [--overwrite] [k=v ...]
                                              train (train.algorithm: moae_cr | sft | grpo) on every rank;
                                              resumes from run.dir/checkpoints/latest; a finished run is reported,
                                              not retrained; --overwrite deletes an earlier run in run.dir first
                                              (train.resume=false in a used run.dir is refused without it)
  eval         --config F | --checkpoint DIR [k=v ...]
                                              FAS metrics of a checkpoint on data.protocol (dev threshold -> test);
                                              sft/grpo: answer accuracy, rewards and FAS metrics of the MLLM.
                                              Writes run.dir/eval/step-N/ (report.json with its step and checkpoint,
                                              per-sample scores-{dev,test}.csv) and the same in run.dir/eval/ unless
                                              that holds a later step's report
  export       (--config F | --checkpoint DIR) --out DIR [k=v ...]
                                              MoAE-CR: weights + config (input spec, label map, dev threshold);
                                              sft/grpo: HF-style MLLM directory (config.json, model.safetensors,
                                              tokenizer.json). With only --checkpoint, eval and export use that
                                              checkpoint's own config.json (MLLM checkpoints carry their model
                                              config and tokenizer: nothing else is read but the eval data)
  infer        --model DIR --rgb F [--depth F] [--ir F] [--question Q]
                                              score one sample with an exported MoAE-CR model, or print the
                                              exported MLLM's rationale and answer
  data synth   [--config F] [--force] [synth.k=v ...]
                                              generate a synthetic RGB/depth/IR face-attack dataset
  data pack    --csv F --out D [--images R] [--image-size N] [--samples-per-shard N] [--name S] [--max-pixels N]
               [--force]                      build shards from PNG/JPEG files listed in a CSV (columns sample_id,
                                              label, subject, domain, rgb[, depth, ir]; at least 3 subjects, for
                                              the train/dev/test folds)
  data qa      --dataset D --out D2 [--config F] [--force] [qa.k=v ...]
                                              add FAKG question-answer items with N reasoning paths per
                                              question (/text/qa) to a copy of a dataset
                                              (synth, pack and qa refuse to replace a dataset without --force)
  data inspect DIR                            counts per label for each protocol split
  data verify  DIR [--deep]                   check manifest, sizes, SHA-256, schema (--deep: decode all)
  data iterate [--config F] [--batches N] [data.k=v ...]
                                              run the distributed loader, report samples/s
  eval scores  --dev F --test F [--out report.json]
                                              FAS metrics from score CSVs (header score,is_attack,attack_type; the
                                              type by name - live, print, replay, mask, face_swap, reenactment,
                                              gan_synthesis, adversarial - or index); threshold from dev's EER
                                              point, applied to test
  tokenizer train (--corpus F | --dataset D [--field qa]) --out tokenizer.json [--vocab-size N]
                                              byte-level BPE on a text corpus (one document per line) or on
                                              a dataset's QA items; adds the ChatML, modality-tag, image-pad
                                              and <think>/<answer> special tokens
  tokenizer encode --tokenizer tokenizer.json --in texts.json --out ids.json [--decoded F]
                                              byte-level BPE (HF tokenizer.json) over a JSON list of strings
  status       RUN_DIR [--exit-code]          step/total, latest checkpoint, last metrics, rate and ETA of a run,
                                              how its latest attempt ended; --exit-code: exit 0 if complete, 75
                                              if preempted (requeue it), 1 otherwise
  plot         RUN_DIR [--out DIR]            PNG figures of a run with matplotlib (default RUN_DIR/plots): losses
                                              per term, GRPO rewards, evaluations, ROC and DET with the dev
                                              operating point, test APCER per attack type
  experiment   --config EXP.yaml [--dry-run] [k=v ...]
                                              a grid of config overrides x seeds, each cell a `fasrl train` run
                                              (several at once where cores allow; finished cells are skipped),
                                              tabulated as mean +- std per metric: out_dir/results.{md,csv}
                                              (experiments/*.yaml, docs/results.md); every cell's config is
                                              checked first; --dry-run prints the cells' commands
  config show  [--config F] [k=v ...]         print the effective config (schema defaults filled in)
  version                                     build information
  help                                        this text

Config files are YAML over proto/config.proto; k.sub=value overrides any key.
Rank and world size come from the launcher (mpirun / srun) environment.
)";

}  // namespace

}  // namespace fasrl::launch

int main(int argc, char** argv) {
  using namespace fasrl::launch;
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  fasrl::keep_freed_host_memory();
  std::vector<std::string> words(argv + 1, argv + argc);
  using Command = std::function<int(const Args&)>;
  struct Entry {
    Command run;
    ArgSpec spec;
  };
  const std::vector<std::string> kConfig = {"config"};
  const std::map<std::string, Entry> commands = {
      {"data synth", {cmd_synth, {kConfig, {"force"}, true}}},
      {"data pack", {cmd_pack, {{"csv", "out", "images", "image-size", "samples-per-shard", "name", "max-pixels"}, {"force"}}}},
      {"data inspect", {cmd_inspect, {{}, {}, false, 1}}},
      {"data verify", {cmd_verify, {{}, {"deep"}, false, 1}}},
      {"data iterate", {cmd_iterate, {{"config", "batches"}, {}, true}}},
      {"data qa", {cmd_qa, {{"config", "dataset", "out"}, {"force"}, true}}},
      {"config show", {cmd_config_show, {kConfig, {}, true}}},
      {"eval scores", {cmd_eval_scores, {{"dev", "test", "out"}}}},
      {"train", {cmd_train, {kConfig, {"overwrite"}, true}}},
      {"status", {cmd_status, {{}, {"exit-code"}, false, 1}}},
      {"plot", {cmd_plot, {{"out"}, {}, false, 1}}},
      {"experiment", {cmd_experiment, {kConfig, {"dry-run"}, true}}},
      {"eval", {cmd_eval, {{"config", "checkpoint"}, {}, true}}},
      {"export", {cmd_export, {{"config", "checkpoint", "out"}, {}, true}}},
      {"infer", {cmd_infer, {{"model", "rgb", "depth", "ir", "question", "max-tokens"}}}},
      {"tokenizer encode", {cmd_tokenizer_encode, {{"tokenizer", "in", "out", "decoded"}}}},
      {"tokenizer train", {cmd_tokenizer_train, {{"corpus", "dataset", "field", "out", "vocab-size"}}}},
      {"version", {cmd_version, {}}}};
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
    const Entry& command = it->second;
    const Args args = parse_args(rest, command.spec.switches);
    check_args(args, command.spec, name);
    return command.run(args);
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
