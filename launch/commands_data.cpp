// fasrl data synth | pack | qa | inspect | verify | iterate.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "core/error.h"
#include "core/io.h"
#include "core/progress_meter.h"
#include "core/timer.h"
#include "core/yaml_proto.h"
#include "data/dataset_tools.h"
#include "reasoning/fakg.h"
#include "data/loader.h"
#include "data/pack.h"
#include "reasoning/qa_items.h"
#include "synth/qa_dataset.h"
#include "synth/synth_dataset.h"
#include "launch/runtime.h"
#include "launch/commands.h"

namespace fasrl::launch {
namespace {

int env_int(const char* a, const char* b, int fallback) {
  for (const char* v : {a, b})
    if (const char* s = std::getenv(v)) return std::atoi(s);
  return fallback;
}

std::string dataset_dir_arg(const Args& args, const char* command) {
  if (args.positional.size() != 1) raise(ErrorKind::kInvalidArgument, command, " needs exactly one dataset directory");
  return args.positional[0];
}

// Dataset writers never silently replace a dataset: an output directory that
// already has one is refused unless --force, which removes its manifest and
// shards first (other files in the directory are left alone).
void claim_output_dataset(const std::string& dir, const Args& args) {
  std::vector<std::filesystem::path> old;
  if (std::filesystem::is_directory(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name == "manifest.json" || name.rfind("shard-", 0) == 0) old.push_back(e.path());
    }
  if (old.empty()) return;
  if (!args.has("force"))
    raise(ErrorKind::kInvalidArgument, dir, " already holds a dataset (", old.size(),
          " manifest/shard files); pass --force to replace it, or choose another output directory");
  for (const auto& p : old) std::filesystem::remove(p);
  std::cout << "--force: removed the dataset in " << dir << " (" << old.size() << " files)\n";
}

}  // namespace

int cmd_synth(const Args& args) {
  const proto::JobConfig config = load_job_config(args);
  claim_output_dataset(config.synth().out_dir(), args);
  ProgressMeter progress("synth", stderr);
  const auto summary = synth::synthesize_dataset(config.synth(), &progress);
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
  o.max_pixels = args.get_int("max-pixels", static_cast<int>(o.max_pixels));
  o.name = args.get("name", o.name);
  claim_output_dataset(o.out_dir, args);
  ProgressMeter progress("pack", stderr);
  o.progress = &progress;
  const int64_t n = data::pack_dataset(o);
  std::cout << "packed " << n << " samples into " << o.out_dir << "\n";
  return 0;
}

int cmd_qa(const Args& args) {
  if (!args.has("dataset") || !args.has("out")) raise(ErrorKind::kInvalidArgument, "data qa needs --dataset DIR and --out DIR");
  const proto::JobConfig config = load_job_config(args);
  const proto::QaConfig& qc = config.qa();
  const auto kg = reasoning::KnowledgeGraph::load(qc.knowledge_graph());
  reasoning::QaOptions o;
  o.paths_per_item = qc.paths_per_sample();
  if (qc.kinds_size() > 0) o.kinds.assign(qc.kinds().begin(), qc.kinds().end());
  o.seed = qc.seed();
  claim_output_dataset(args.get("out"), args);
  ProgressMeter progress("qa", stderr);
  const auto s = synth::add_qa_to_dataset(args.get("dataset"), args.get("out"), kg, o, qc.field(), &progress);
  std::cout << "wrote " << s.items << " QA items (" << s.paths << " reasoning paths) for " << s.samples << " samples to "
            << args.get("out") << " (/text/" << qc.field() << ")\n";
  return 0;
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

}  // namespace fasrl::launch
