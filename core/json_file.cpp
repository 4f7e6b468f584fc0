#include "core/json_file.h"

#include "core/error.h"
#include "core/io.h"

namespace fasrl {

nlohmann::json read_json_file(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    raise(ErrorKind::kCorruption, path, ": not JSON (", e.what(), ")");
  }
}

}  // namespace fasrl
