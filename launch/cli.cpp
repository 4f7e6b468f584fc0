#include "launch/cli.h"

#include <algorithm>

#include "core/error.h"
#include "core/strings.h"

namespace fasrl::launch {

std::string Args::get(const std::string& flag, const std::string& fallback) const {
  auto it = flags.find(flag);
  return it == flags.end() ? fallback : it->second;
}

int Args::get_int(const std::string& flag, int fallback) const {
  if (!has(flag)) return fallback;
  const std::string v = get(flag);
  try {
    size_t used = 0;
    const int out = std::stoi(v, &used);
    if (used == v.size()) return out;
  } catch (const std::exception&) {
  }
  raise(ErrorKind::kInvalidArgument, "--", flag, " expects an integer, got '", v, "'");
}

Args parse_args(const std::vector<std::string>& argv, const std::vector<std::string>& switches) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& w = argv[i];
    if (w.rfind("--", 0) == 0 && w.size() > 2) {
      std::string name = w.substr(2), value;
      const auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (std::find(switches.begin(), switches.end(), name) != switches.end()) {
        value = "true";
      } else {
        if (i + 1 >= argv.size()) raise(ErrorKind::kInvalidArgument, "flag --", name, " needs a value");
        value = argv[++i];
      }
      a.flags[name] = value;
    } else if (w.find('=') != std::string::npos) {
      a.overrides.push_back(w);
    } else {
      a.positional.push_back(w);
    }
  }
  return a;
}

namespace {

std::string accepted(const ArgSpec& spec) {
  std::vector<std::string> items;
  for (const auto& f : spec.flags) items.push_back("--" + f);
  for (const auto& f : spec.switches) items.push_back("--" + f);
  if (spec.overrides) items.push_back("key.sub=value overrides");
  return items.empty() ? "no flags" : join(items, ", ");
}

}  // namespace

void check_args(const Args& args, const ArgSpec& spec, const std::string& command) {
  for (const auto& [name, value] : args.flags) {
    const bool flag = std::find(spec.flags.begin(), spec.flags.end(), name) != spec.flags.end();
    const bool toggle = std::find(spec.switches.begin(), spec.switches.end(), name) != spec.switches.end();
    if (!flag && !toggle)
      raise(ErrorKind::kInvalidArgument, "fasrl ", command, ": unknown flag --", name, " (it takes ", accepted(spec),
            "; see fasrl help)");
  }
  if (!spec.overrides && !args.overrides.empty())
    raise(ErrorKind::kInvalidArgument, "fasrl ", command, " takes no key=value config overrides, got '",
          args.overrides[0], "' (it takes ", accepted(spec), ")");
  if (args.positional.size() > spec.positional)
    raise(ErrorKind::kInvalidArgument, "fasrl ", command, ": unexpected argument '", args.positional[spec.positional],
          "'", spec.positional ? "" : " (it takes " + accepted(spec) + ")");
}

}  // namespace fasrl::launch
