// Reading a JSON file fasrl wrote or was given, with the clear error of
// DESIGN.md: a file that is not JSON is a corruption error naming it, never a
// bare nlohmann exception.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace fasrl {

// The parsed contents of `path`; read_file's error when it cannot be read,
// "<path>: not JSON (<parser message>)" when it does not parse.
nlohmann::json read_json_file(const std::string& path);

}  // namespace fasrl
