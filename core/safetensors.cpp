#include "core/safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"

namespace fasrl {
namespace {

struct DtypeName {
  torch::ScalarType type;
  const char* name;
};
constexpr DtypeName kDtypes[] = {{torch::kFloat32, "F32"}, {torch::kFloat64, "F64"}, {torch::kFloat16, "F16"},
                                 {torch::kBFloat16, "BF16"}, {torch::kInt64, "I64"},  {torch::kInt32, "I32"},
                                 {torch::kInt16, "I16"},     {torch::kInt8, "I8"},     {torch::kUInt8, "U8"},
                                 {torch::kBool, "BOOL"}};

const char* dtype_name(torch::ScalarType t, const std::string& path, const std::string& name) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  raise(ErrorKind::kInvalidArgument, path, ": tensor '", name, "' has dtype ", c10::toString(t), " which safetensors cannot hold");
}

}  // namespace

std::string encode_safetensors(const TensorMap& tensors, const std::map<std::string, std::string>& metadata,
                               const std::string& path) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> cpu;
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const size_t bytes = static_cast<size_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", dtype_name(c.scalar_type(), path, name)}, {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    cpu.push_back(c);
  }
  std::string head = header.dump();
  head.append((8 - head.size() % 8) % 8, ' ');  // align the data to 8 bytes
  std::string out(8, '\0');
  const uint64_t n = head.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += head;
  out.reserve(out.size() + offset);
  for (const auto& c : cpu) out.append(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * c.element_size());
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const std::map<std::string, std::string>& metadata) {
  atomic_write_file(path, encode_safetensors(tensors, metadata, path));
}

SafetensorsFile load_safetensors(const std::string& path) { return decode_safetensors(read_file(path), path); }

SafetensorsFile decode_safetensors(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 8) raise(ErrorKind::kCorruption, path, ": ", bytes.size(), " bytes, too short for a safetensors file");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i)])) << (8 * i);
  if (n > bytes.size() - 8) raise(ErrorKind::kCorruption, path, ": header length ", n, " exceeds the file (truncated?)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, n));
  } catch (const nlohmann::json::exception& e) {
    raise(ErrorKind::kCorruption, path, ": header is not valid JSON (", e.what(), ")");
  }
  if (!header.is_object()) raise(ErrorKind::kCorruption, path, ": header must be a JSON object");
  const size_t data_start = 8 + n, data_size = bytes.size() - data_start;
  SafetensorsFile out;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      for (const auto& [k, v] : entry.items())
        if (v.is_string()) out.metadata[k] = v.get<std::string>();
      continue;
    }
    try {
      const std::string dt = entry.at("dtype").get<std::string>();
      const auto shape = entry.at("shape").get<std::vector<int64_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      const DtypeName* d = nullptr;
      for (const auto& k : kDtypes)
        if (dt == k.name) d = &k;
      if (!d) raise(ErrorKind::kCorruption, path, ": tensor '", name, "' has unknown dtype '", dt, "'");
      int64_t numel = 1;
      for (int64_t s : shape) {
        if (s < 0) raise(ErrorKind::kCorruption, path, ": tensor '", name, "' has a negative dimension");
        numel *= s;
      }
      torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(d->type));
      const uint64_t want = static_cast<uint64_t>(numel) * t.element_size();
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size || offsets[1] - offsets[0] != want)
        raise(ErrorKind::kCorruption, path, ": tensor '", name, "' has data_offsets outside the file or of the wrong size");
      std::memcpy(t.data_ptr(), bytes.data() + data_start + offsets[0], want);
      out.tensors[name] = t;
    } catch (const nlohmann::json::exception& e) {
      raise(ErrorKind::kCorruption, path, ": header entry '", name, "' is malformed (", e.what(), ")");
    }
  }
  return out;
}

}  // namespace fasrl
