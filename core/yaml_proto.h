// YAML is the surface of fasrl's protobuf config schema.
//
// The YAML tree is converted to JSON guided by the message descriptor, then
// parsed with protobuf's JSON parser, so: an unknown or misspelt key, a value
// of the wrong type, or an enum name that does not exist is a fasrl::Error of
// kind kConfig whose message names the file (or override) and the dotted key.
// Defaults live in the .proto schema ([default = ...]) and nowhere else.
#pragma once
#include <google/protobuf/message.h>

#include <string>
#include <vector>

namespace fasrl {

// Reads `path` (kNotFound if missing), applies "a.b.c=value" overrides in
// order (value is YAML: `x=3`, `x=[a,b]`, `x=text`), and fills `message`.
void load_yaml_config(const std::string& path, const std::vector<std::string>& overrides,
                      google::protobuf::Message* message);

// Same, from a YAML string; `source` names it in errors.
void parse_yaml_config(const std::string& yaml, const std::string& source,
                       const std::vector<std::string>& overrides, google::protobuf::Message* message);

// Sets every unset singular field to its schema default (recursively), so the
// effective config written to a run directory shows every value in force.
void fill_defaults(google::protobuf::Message* message);

// JSON with the schema's field names, indented.
std::string message_to_json(const google::protobuf::Message& message);

}  // namespace fasrl
