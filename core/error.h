// fasrl::Error — the one exception type fasrl throws for bad input, I/O and
// internal failures. Its message always says where (file, key, sample, rank)
// and what was expected; its kind lets callers and tests tell failures apart.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace fasrl {

enum class ErrorKind {
  kInvalidArgument,  // a caller or user passed something malformed
  kConfig,           // a config file or override is wrong
  kNotFound,         // a file, key or dataset is missing
  kCorruption,       // bytes on disk are not what the format promises
  kIOError,          // the OS failed a read/write
  kInternal,         // a broken invariant inside fasrl
};

const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// The rank printed in check messages; -1 (unset) prints nothing.
void set_process_rank(int rank);
int process_rank();

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void fail(ErrorKind kind, const char* file, int line, const std::string& message);
}  // namespace detail

// Throws Error(kind) with "[rank R] " prefix; message pieces are streamed.
template <typename... Args>
[[noreturn]] void raise(ErrorKind kind, const Args&... args) {
  detail::fail(kind, nullptr, 0, detail::concat(args...));
}

}  // namespace fasrl

// FASRL_CHECK(cond, pieces...) throws an internal Error carrying file:line and
// rank. Use it for invariants; use fasrl::raise for user-facing errors.
#define FASRL_CHECK(cond, ...)                                                          \
  do {                                                                                  \
    if (!(cond))                                                                        \
      ::fasrl::detail::fail(::fasrl::ErrorKind::kInternal, __FILE__, __LINE__,          \
                            ::fasrl::detail::concat("check failed: " #cond " ", ##__VA_ARGS__)); \
  } while (0)
