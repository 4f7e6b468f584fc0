// File helpers: whole-file read, crash-safe write (temp + fsync + rename), SHA-256.
// All throw fasrl::Error naming the path on failure.
#pragma once
#include <string>

namespace fasrl {

std::string read_file(const std::string& path);

// Writes to "<path>.tmp.<pid>", fsyncs it, renames over `path` and fsyncs the
// directory, so a reader sees either the old file or the whole new one.
void atomic_write_file(const std::string& path, const std::string& contents);

// Lower-case hex SHA-256 of a file's bytes, streamed in 1 MiB blocks.
std::string sha256_file(const std::string& path);
std::string sha256_hex(const void* data, size_t size);

bool path_exists(const std::string& path);
void make_dirs(const std::string& path);
std::string join_path(const std::string& a, const std::string& b);

}  // namespace fasrl
