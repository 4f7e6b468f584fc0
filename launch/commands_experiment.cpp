// fasrl experiment --config EXP.yaml: runs the grid of cells an experiment
// describes (launch/experiment.h), several at once where cores allow, each a
// normal `fasrl train` (under mpirun when ranks > 1) with its output in
// <cell>/train.log; then tabulates the metrics of every cell's eval/report.json
// as out_dir/results.md and results.csv. Resumable: a cell that finished
// (<cell>/cell.json) is not run again, and a cell cut off mid-run resumes from
// its checkpoint like any training run.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/io.h"
#include "core/config_ranges.h"
#include "core/progress_meter.h"
#include "core/timer.h"
#include "core/yaml_proto.h"
#include "launch/commands.h"
#include "launch/experiment.h"
#include "proto/config.pb.h"

namespace fasrl::launch {
namespace {

// The last `count` non-empty lines of a cell's log, each prefixed "  | ":
// printed when the first cells all fail, whose shared cause (mpirun refusing
// to start, a missing dataset) is nearly always in them.
std::string last_lines(const std::string& path, size_t count) {
  if (!path_exists(path)) return "  | (no log)\n";
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) out += "  | " + lines[i] + "\n";
  return out;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) raise(ErrorKind::kInternal, "experiment: cannot find the fasrl binary (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Starts argv with stdout and stderr to `log`; returns the pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = fork();
  if (pid < 0) raise(ErrorKind::kInternal, "experiment: fork failed");
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::perror(args[0]);
    _exit(127);
  }
  return pid;
}

// A wait status as a shell reports it: the exit code, or 128 + the signal.
int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return exit_code(status);
}

std::string cell_label(const ExperimentCell& c) {
  std::string out;
  for (const auto& v : c.values) out += v + " / ";
  return out + "seed " + std::to_string(c.seed);
}

// The command of one cell: fasrl train (under mpirun when ranks > 1) with the cell's overrides.
std::vector<std::string> cell_command(const proto::ExperimentConfig& config, const ExperimentCell& cell,
                                      const std::string& fasrl) {
  std::vector<std::string> argv;
  if (config.ranks() > 1) argv = {"mpirun", "--oversubscribe", "-np", std::to_string(config.ranks())};
  argv.insert(argv.end(), {fasrl, "train", "--config", config.base_config()});
  argv.insert(argv.end(), cell.overrides.begin(), cell.overrides.end());
  argv.push_back("run.threads_per_rank=" + std::to_string(config.threads_per_rank()));
  return argv;
}

void run_prepare(const proto::ExperimentConfig& config, const std::string& fasrl) {
  const std::string record = join_path(config.out_dir(), "prepared.txt");
  std::set<std::string> done;
  if (path_exists(record)) {
    std::istringstream in(read_file(record));
    for (std::string line; std::getline(in, line);) done.insert(line);
  }
  for (int i = 0; i < config.prepare_size(); ++i) {
    const std::string& command = config.prepare(i);
    if (done.count(command)) continue;
    std::vector<std::string> argv = {fasrl};
    for (const auto& w : words(command)) argv.push_back(w);
    const std::string log = join_path(config.out_dir(), "prepare-" + std::to_string(i) + ".log");
    std::cout << "experiment: prepare: fasrl " << command << "\n" << std::flush;
    if (wait_exit(spawn(argv, log)) != 0)
      raise(ErrorKind::kInvalidArgument, "experiment: prepare[", i, "] 'fasrl ", command, "' failed; see ", log);
    std::ofstream(record, std::ios::app) << command << "\n";
  }
}

}  // namespace

int cmd_experiment(const Args& args) {
  if (!args.has("config")) raise(ErrorKind::kInvalidArgument, "experiment needs --config EXP.yaml");
  proto::ExperimentConfig config;
  load_yaml_config(args.get("config"), args.overrides, &config);
  if (config.base_config().empty() || !path_exists(config.base_config()))
    raise(ErrorKind::kConfig, args.get("config"), ": base_config '", config.base_config(), "' does not exist");
  if (config.metrics_size() == 0) raise(ErrorKind::kConfig, args.get("config"), ": metrics: name at least one report key");
  if (config.ranks() < 1 || config.threads_per_rank() < 1 || config.parallel() < 0)
    raise(ErrorKind::kConfig, args.get("config"), ": ranks and threads_per_rank must be positive, parallel not negative");
  const std::vector<ExperimentCell> cells = experiment_cells(config);
  // Every cell's job config is checked before anything runs: a typo in one axis value is
  // reported now, not after hours of other cells.
  for (const auto& cell : cells) {
    try {
      proto::JobConfig job;
      load_yaml_config(config.base_config(), cell.overrides, &job);
      check_config_ranges(job, config.base_config() + " (with the cell's overrides)");
    } catch (const Error& e) {
      raise(ErrorKind::kConfig, "experiment cell ", cell_label(cell), ": ", e.what());
    }
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int parallel = config.parallel() > 0 ? config.parallel() : std::max(1, cores / (config.ranks() * config.threads_per_rank()));
  const std::string fasrl = self_exe();
  if (args.has("dry-run")) {
    for (const auto& cell : cells) {
      std::cout << cell_label(cell) << ":";
      for (const auto& w : cell_command(config, cell, fasrl)) std::cout << " " << w;
      std::cout << "\n";
    }
    std::cout << cells.size() << " cells; configs checked, nothing run\n";
    return 0;
  }
  make_dirs(config.out_dir());
  run_prepare(config, fasrl);

  std::vector<size_t> todo;
  for (size_t i = 0; i < cells.size(); ++i)
    if (!path_exists(join_path(cells[i].run_dir, "cell.json"))) todo.push_back(i);
  std::cout << "experiment " << config.name() << ": " << cells.size() << " cells (" << cells.size() - todo.size()
            << " finished before), " << parallel << " at once, " << config.ranks() << " rank(s) x "
            << config.threads_per_rank() << " thread(s) each\n" << std::flush;

  std::map<pid_t, std::pair<size_t, Stopwatch>> running;
  std::vector<std::string> failed;
  size_t next = 0, finished = 0, succeeded = 0, never_started = 0;
  // When the first cells all fail, the cause is almost always shared (a
  // broken install, mpirun refusing to start, a missing dataset): stop
  // launching instead of failing every cell of a long grid.
  constexpr size_t kFirstFailuresToStop = 3;
  Stopwatch clock;
  while (next < todo.size() || !running.empty()) {
    while (next < todo.size() && static_cast<int>(running.size()) < parallel) {
      const ExperimentCell& cell = cells[todo[next]];
      make_dirs(cell.run_dir);
      running.emplace(spawn(cell_command(config, cell, fasrl), join_path(cell.run_dir, "train.log")),
                      std::make_pair(todo[next], Stopwatch()));
      ++next;
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) break;
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const auto [index, watch] = it->second;
    running.erase(it);
    const ExperimentCell& cell = cells[index];
    const int rc = exit_code(status);
    ++finished;
    const std::string report = join_path(cell.run_dir, "eval/report.json");
    std::ostringstream line;
    line << "experiment: " << finished << "/" << todo.size() << " " << cell_label(cell);
    if (rc != 0 || !path_exists(report)) {
      failed.push_back(cell_label(cell) + " (exit " + std::to_string(rc) + ", see " + join_path(cell.run_dir, "train.log") + ")");
      line << " FAILED (exit " << rc << ")";
    } else {
      nlohmann::json metrics = nlohmann::json::object();
      const auto parsed = nlohmann::json::parse(read_file(report));
      for (const auto& m : config.metrics()) metrics[m] = report_metric(parsed, m, report);
      atomic_write_file(join_path(cell.run_dir, "cell.json"),
                        nlohmann::json{{"metrics", metrics}, {"seconds", watch.seconds()}}.dump(2) + "\n");
      ++succeeded;
      line << " done in " << format_duration(watch.seconds());
      for (const auto& m : config.metrics()) line << " | " << m << " " << metrics[m].get<double>();
    }
    const double rate = static_cast<double>(finished) / clock.seconds();
    if (finished < todo.size()) line << " | ETA " << format_duration(static_cast<double>(todo.size() - finished) / rate);
    std::cout << line.str() << "\n" << std::flush;
    if (succeeded == 0 && failed.size() >= kFirstFailuresToStop && next < todo.size()) {
      never_started = todo.size() - next;
      next = todo.size();
      std::cout << "experiment: the first " << failed.size() << " cells all failed; not starting the other " << never_started
                << " (see their train.log). The end of " << join_path(cell.run_dir, "train.log") << ":\n"
                << last_lines(join_path(cell.run_dir, "train.log"), 12) << std::flush;
    }
  }
  if (!failed.empty()) {
    std::string list;
    for (const auto& f : failed) list += "\n  " + f;
    const std::string stopped =
        never_started ? ", " + std::to_string(never_started) + " not started because the first ones all failed" : "";
    raise(ErrorKind::kInvalidArgument, "experiment: ", failed.size(), " cell(s) failed", stopped,
          " (finished ones are kept; rerun to retry):", list);
  }
  // The table reads every cell's report (cell.json only marks a finished cell), so metrics may change between runs.
  std::vector<std::map<std::string, double>> metrics;
  for (const auto& cell : cells) {
    const std::string path = join_path(cell.run_dir, "eval/report.json");
    const auto report = nlohmann::json::parse(read_file(path));
    std::map<std::string, double> m;
    for (const auto& key : config.metrics()) m[key] = report_metric(report, key, path);
    metrics.push_back(std::move(m));
  }
  const ExperimentTable table = experiment_table(config, cells, metrics);
  atomic_write_file(join_path(config.out_dir(), "results.md"), table.markdown);
  atomic_write_file(join_path(config.out_dir(), "results.csv"), table.csv);
  std::cout << "\n" << table.markdown << "\nresults: " << join_path(config.out_dir(), "results.md") << ", "
            << join_path(config.out_dir(), "results.csv") << " (" << format_duration(clock.seconds()) << ")\n";
  return 0;
}

}  // namespace fasrl::launch
