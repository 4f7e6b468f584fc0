#include "core/yaml_proto.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/config_moves.h"
#include "core/error.h"
#include "core/io.h"

namespace fasrl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using nlohmann::json;

std::string known_keys(const Descriptor* desc) {
  std::string out;
  for (int i = 0; i < desc->field_count(); ++i) out += (i ? ", " : "") + desc->field(i)->name();
  return out;
}

[[noreturn]] void config_error(const std::string& source, const std::string& key, const std::string& what) {
  raise(ErrorKind::kConfig, source, ": key '", key, "': ", what);
}

std::string scalar_text(const YAML::Node& node, const std::string& source, const std::string& key) {
  if (!node.IsScalar()) config_error(source, key, "expected a single value, got a list or mapping");
  return node.Scalar();
}

json convert_message(const YAML::Node& node, const Descriptor* desc, const std::string& source,
                     const std::string& prefix);

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF): config
// text goes through JSON, which refuses anything else.
bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

json convert_scalar(const YAML::Node& node, const FieldDescriptor* field, const std::string& source,
                    const std::string& key) {
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)
    return convert_message(node, field->message_type(), source, key);
  const std::string text = scalar_text(node, source, key);
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      const bool is_unsigned = field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ||
                               field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64;
      const bool is_32 = field->cpp_type() == FieldDescriptor::CPPTYPE_INT32 ||
                         field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32;
      errno = 0;
      char* end = nullptr;
      if (is_unsigned) {
        if (!text.empty() && text[0] == '-') config_error(source, key, "expected a non-negative integer, got '" + text + "'");
        unsigned long long v = std::strtoull(text.c_str(), &end, 10);
        if (text.empty() || *end || errno == ERANGE || (is_32 && v > 0xffffffffULL))
          config_error(source, key, "expected a non-negative integer, got '" + text + "'");
        return json(v);
      }
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end || errno == ERANGE || (is_32 && (v > INT32_MAX || v < INT32_MIN)))
        config_error(source, key, "expected an integer, got '" + text + "'");
      return json(v);
    }
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end || !std::isfinite(v))
        config_error(source, key, "expected a number, got '" + text + "'");
      return json(v);
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      if (text == "true" || text == "True" || text == "yes") return json(true);
      if (text == "false" || text == "False" || text == "no") return json(false);
      config_error(source, key, "expected true or false, got '" + text + "'");
    case FieldDescriptor::CPPTYPE_ENUM: {
      if (field->enum_type()->FindValueByName(text)) return json(text);
      std::string names;
      for (int i = 0; i < field->enum_type()->value_count(); ++i)
        names += (i ? ", " : "") + field->enum_type()->value(i)->name();
      config_error(source, key, "'" + text + "' is not one of: " + names);
    }
    case FieldDescriptor::CPPTYPE_STRING:
      if (!valid_utf8(text)) config_error(source, key, "the text is not valid UTF-8");
      return json(text);
    default:
      config_error(source, key, "unsupported field type");
  }
}

// An unknown key: the new place of a key that moved, else the keys that exist here.
[[noreturn]] void unknown_key(const std::string& source, const std::string& key, const std::string& prefix,
                              const Descriptor* desc) {
  const std::string moved = moved_config_key(key);
  if (!moved.empty()) config_error(source, key, "this key has moved to '" + moved + "'");
  config_error(source, key, "unknown key (known keys" + (prefix.empty() ? "" : " under '" + prefix + "'") + ": " +
                                known_keys(desc) + ")");
}

json convert_field(const YAML::Node& node, const FieldDescriptor* field, const std::string& source,
                   const std::string& key) {
  if (field->is_map()) {
    if (!node.IsMap()) config_error(source, key, "expected a mapping");
    const FieldDescriptor* value_field = field->message_type()->map_value();
    json out = json::object();
    for (const auto& kv : node) {
      const std::string k = kv.first.Scalar();
      if (!valid_utf8(k)) config_error(source, key, "a key of this mapping is not valid UTF-8");
      out[k] = convert_scalar(kv.second, value_field, source, key + "." + k);
    }
    return out;
  }
  if (field->is_repeated()) {
    if (node.IsNull()) return json::array();
    if (!node.IsSequence()) config_error(source, key, "expected a list");
    json out = json::array();
    for (size_t i = 0; i < node.size(); ++i)
      out.push_back(convert_scalar(node[i], field, source, key + "[" + std::to_string(i) + "]"));
    return out;
  }
  return convert_scalar(node, field, source, key);
}

json convert_message(const YAML::Node& node, const Descriptor* desc, const std::string& source,
                     const std::string& prefix) {
  json out = json::object();
  if (node.IsNull()) return out;
  if (!node.IsMap())
    config_error(source, prefix.empty() ? "<top level>" : prefix, "expected a mapping of keys to values");
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    const FieldDescriptor* field = desc->FindFieldByName(name);
    if (!field) unknown_key(source, key, prefix, desc);
    out[name] = convert_field(kv.second, field, source, key);
  }
  return out;
}

// Applies one "a.b.c=value" override to the YAML tree, checking the key path
// and the value against the schema so the error names the override.
void apply_override(YAML::Node root, const std::string& override_text, const Descriptor* desc) {
  const std::string source = "override '" + override_text + "'";
  const auto eq = override_text.find('=');
  if (eq == std::string::npos || eq == 0) raise(ErrorKind::kConfig, source, ": expected key.path=value");
  const std::string path = override_text.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(override_text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    raise(ErrorKind::kConfig, source, ": value is not valid YAML (", e.msg, ")");
  }
  YAML::Node cur = root;
  const Descriptor* cur_desc = desc;
  std::string walked;
  size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    walked += (walked.empty() ? "" : ".") + part;
    const FieldDescriptor* field = cur_desc ? cur_desc->FindFieldByName(part) : nullptr;
    if (!field) unknown_key(source, walked, "", cur_desc);
    if (dot == std::string::npos) {
      convert_field(value, field, source, walked);  // type check only
      cur[part] = value;
      return;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated())
      config_error(source, walked, "is not a section, so it has no sub-keys");
    if (!cur[part] || cur[part].IsNull()) cur[part] = YAML::Node(YAML::NodeType::Map);
    YAML::Node next = cur[part];
    cur.reset(next);  // reset, not assign: assigning would overwrite the parent's node
    cur_desc = field->message_type();
    start = dot + 1;
  }
}

}  // namespace

void parse_yaml_config(const std::string& yaml, const std::string& source,
                       const std::vector<std::string>& overrides, Message* message) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    raise(ErrorKind::kConfig, source, ":", e.mark.line + 1, ":", e.mark.column + 1, ": YAML syntax error: ", e.msg);
  }
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  const Descriptor* desc = message->GetDescriptor();
  for (const auto& o : overrides) apply_override(root, o, desc);
  const std::string label = overrides.empty() ? source : source + " (with overrides)";
  const json j = convert_message(root, desc, label, "");
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  message->Clear();
  auto status = google::protobuf::util::JsonStringToMessage(j.dump(), message, options);
  if (!status.ok()) raise(ErrorKind::kConfig, label, ": ", status.ToString());
}

void load_yaml_config(const std::string& path, const std::vector<std::string>& overrides, Message* message) {
  if (!path_exists(path)) raise(ErrorKind::kNotFound, "config file '", path, "' does not exist");
  parse_yaml_config(read_file(path), path, overrides, message);
}

void fill_defaults(Message* message) {
  const Descriptor* desc = message->GetDescriptor();
  const Reflection* refl = message->GetReflection();
  for (int i = 0; i < desc->field_count(); ++i) {
    const FieldDescriptor* f = desc->field(i);
    if (f->is_repeated() || f->real_containing_oneof()) continue;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      fill_defaults(refl->MutableMessage(message, f));
      continue;
    }
    if (refl->HasField(*message, f)) continue;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: refl->SetInt32(message, f, f->default_value_int32()); break;
      case FieldDescriptor::CPPTYPE_INT64: refl->SetInt64(message, f, f->default_value_int64()); break;
      case FieldDescriptor::CPPTYPE_UINT32: refl->SetUInt32(message, f, f->default_value_uint32()); break;
      case FieldDescriptor::CPPTYPE_UINT64: refl->SetUInt64(message, f, f->default_value_uint64()); break;
      case FieldDescriptor::CPPTYPE_FLOAT: refl->SetFloat(message, f, f->default_value_float()); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: refl->SetDouble(message, f, f->default_value_double()); break;
      case FieldDescriptor::CPPTYPE_BOOL: refl->SetBool(message, f, f->default_value_bool()); break;
      case FieldDescriptor::CPPTYPE_STRING: refl->SetString(message, f, f->default_value_string()); break;
      case FieldDescriptor::CPPTYPE_ENUM: refl->SetEnum(message, f, f->default_value_enum()); break;
      default: break;
    }
  }
}

std::string message_to_json(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  FASRL_CHECK(status.ok(), status.ToString());
  return out;
}

}  // namespace fasrl
