// Argument handling shared by the fasrl subcommands: flags (--name value or
// --switch) and positional words, with k.sub=value config overrides kept apart.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace fasrl::launch {

struct Args {
  std::map<std::string, std::string> flags;  // "--out x" -> flags["out"] = "x"; "--deep" -> "true"
  std::vector<std::string> overrides;         // "a.b=c"
  std::vector<std::string> positional;

  bool has(const std::string& flag) const { return flags.count(flag) > 0; }
  std::string get(const std::string& flag, const std::string& fallback = "") const;
  int get_int(const std::string& flag, int fallback) const;  // error names the flag
};

// `switches` lists flags that take no value.
Args parse_args(const std::vector<std::string>& argv, const std::vector<std::string>& switches);

// What a command accepts; anything else is refused before it runs, so a
// misspelt or misplaced flag never silently falls back to a default.
struct ArgSpec {
  ArgSpec(std::vector<std::string> flags = {}, std::vector<std::string> switches = {}, bool overrides = false,
          size_t positional = 0)
      : flags(std::move(flags)), switches(std::move(switches)), overrides(overrides), positional(positional) {}
  std::vector<std::string> flags;     // take a value: --name VALUE or --name=VALUE
  std::vector<std::string> switches;  // take none: --deep
  bool overrides;                     // key.sub=value config overrides
  size_t positional;                  // at most this many plain words (e.g. RUN_DIR)
};

// Throws naming the command, the offending word and what the command takes.
void check_args(const Args& args, const ArgSpec& spec, const std::string& command);

}  // namespace fasrl::launch
