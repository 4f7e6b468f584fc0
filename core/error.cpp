#include "core/error.h"

#include <atomic>

namespace fasrl {
namespace {
std::atomic<int> g_rank{-1};
}

void set_process_rank(int rank) { g_rank = rank; }
int process_rank() { return g_rank; }

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument: return "invalid argument";
    case ErrorKind::kConfig: return "config error";
    case ErrorKind::kNotFound: return "not found";
    case ErrorKind::kCorruption: return "corruption";
    case ErrorKind::kIOError: return "I/O error";
    case ErrorKind::kInternal: return "internal error";
  }
  return "error";
}

namespace detail {
void fail(ErrorKind kind, const char* file, int line, const std::string& message) {
  std::ostringstream os;
  if (g_rank >= 0) os << "[rank " << g_rank << "] ";
  if (file) os << file << ":" << line << ": ";
  os << message;
  throw Error(kind, os.str());
}
}  // namespace detail
}  // namespace fasrl
