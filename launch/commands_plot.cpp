// fasrl plot RUN_DIR [--out DIR]: PNG figures of a run (losses, rewards,
// evaluations, ROC/DET with the dev operating point, APCER per attack type),
// drawn by matplotlib through the embedded launch/plot_run.py. Plotting is an
// after-the-fact tool: training itself never needs Python.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/io.h"
#include "launch/commands.h"
#include "launch/plot_script.h"

namespace fasrl::launch {
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// FASRL_PYTHON, else the first of python3 and /usr/bin/python3 (Debian's,
// where python3-matplotlib installs) that imports matplotlib.
std::string plotting_python() {
  const char* env = std::getenv("FASRL_PYTHON");
  std::vector<std::string> candidates = {"python3", "/usr/bin/python3"};
  if (env && *env) candidates = {env};
  for (const auto& python : candidates) {
    const std::string check = shell_quote(python) + " -c 'import matplotlib' >/dev/null 2>&1";
    if (std::system(check.c_str()) == 0) return python;
  }
  raise(ErrorKind::kNotFound, "fasrl plot needs Python with matplotlib; tried ", env && *env ? "FASRL_PYTHON=" : "",
        candidates[0], candidates.size() > 1 ? " and " + candidates[1] : std::string(),
        " (Debian: apt-get install python3-matplotlib; or set FASRL_PYTHON to a Python that has it)");
}

}  // namespace

int cmd_plot(const Args& args) {
  if (args.positional.size() != 1) raise(ErrorKind::kInvalidArgument, "plot needs one RUN_DIR (a run.dir of fasrl train)");
  const std::string run_dir = args.positional[0];
  if (!path_exists(join_path(run_dir, "metrics.jsonl")))
    raise(ErrorKind::kNotFound, join_path(run_dir, "metrics.jsonl"), ": missing; give a run directory (run.dir) of fasrl train");
  const std::string out = args.get("out", join_path(run_dir, "plots"));
  const std::string python = plotting_python();
  char script[] = "/tmp/fasrl-plot-XXXXXX";
  const int fd = mkstemp(script);
  if (fd < 0) raise(ErrorKind::kIOError, "plot: cannot create a temporary file in /tmp");
  close(fd);
  atomic_write_file(script, kPlotScript);
  const std::string cmd = shell_quote(python) + " " + shell_quote(script) + " " + shell_quote(run_dir) + " " + shell_quote(out);
  const int status = std::system(cmd.c_str());
  std::remove(script);
  if (status != 0)
    raise(ErrorKind::kInternal, "plot: ", python, " plot_run.py ", run_dir, " failed (exit ",
          WIFEXITED(status) ? WEXITSTATUS(status) : -1, "); its message is above");
  return 0;
}

}  // namespace fasrl::launch
