// What every fasrl fuzz target promises: a hostile input ends in a typed
// fasrl::Error (which names the file or key) or is accepted; anything else —
// another exception type, a crash, a sanitizer report, a hang — is a finding.
#pragma once
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>

#include "core/error.h"

namespace fasrl::fuzz {

template <typename F>
void expect_only_fasrl_errors(F&& body) {
  try {
    body();
  } catch (const fasrl::Error&) {
    // refused with a clear error: the contract
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: an error that is not a fasrl::Error escaped: %s\n", e.what());
    std::abort();
  }
}

// A private scratch directory per process (inputs that the API reads from files).
inline const std::string& scratch_dir() {
  // Never destroyed, so the exit handler that removes the directory can still read it.
  static const std::string& dir = *[] {
    auto* d = new std::string("/tmp/fasrl-fuzz-" + std::to_string(::getpid()));
    if (std::system(("mkdir -p " + *d).c_str()) != 0) std::abort();
    std::atexit([] { (void)!std::system(("rm -rf " + scratch_dir()).c_str()); });
    return d;
  }();
  return dir;
}

inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace fasrl::fuzz
