#include "core/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"

namespace fasrl {
namespace {

struct DtypeName {
  torch::ScalarType type;
  const char* name;
  uint64_t bytes;
};
constexpr DtypeName kDtypes[] = {{torch::kFloat32, "F32", 4}, {torch::kFloat64, "F64", 8}, {torch::kFloat16, "F16", 2},
                                 {torch::kBFloat16, "BF16", 2}, {torch::kInt64, "I64", 8},  {torch::kInt32, "I32", 4},
                                 {torch::kInt16, "I16", 2},     {torch::kInt8, "I8", 1},     {torch::kUInt8, "U8", 1},
                                 {torch::kBool, "BOOL", 1}};

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
  // Every entry is checked (types, shape, offsets inside the file, sizes
  // without overflow, no two tensors sharing bytes) before anything is allocated.
  struct Entry {
    std::string name;
    const DtypeName* dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) raise(ErrorKind::kCorruption, path, ": __metadata__ must be a JSON object");
      for (const auto& [k, v] : entry.items())
        if (v.is_string()) out.metadata[k] = v.get<std::string>();
      continue;
    }
    const std::string tensor = name;  // (a structured binding cannot be captured before C++20)
    auto bad = [&](const auto&... what) { raise(ErrorKind::kCorruption, path, ": tensor '", tensor, "' ", what...); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry["dtype"].is_string() || !entry.contains("shape") ||
        !entry["shape"].is_array() || !entry.contains("data_offsets") || !entry["data_offsets"].is_array())
      bad("must be an object with a string dtype, a shape array and a data_offsets array");
    Entry e{name, nullptr, {}, 0, 0};
    const std::string dt = entry["dtype"].get<std::string>();
    for (const auto& k : kDtypes)
      if (dt == k.name) e.dtype = &k;
    if (!e.dtype) bad("has unknown dtype '", dt, "'");
    uint64_t size = e.dtype->bytes;
    for (const auto& dim : entry["shape"]) {
      if (!dim.is_number_integer() || dim.get<int64_t>() < 0) bad("has a shape entry that is not a non-negative integer");
      const uint64_t d = dim.get<uint64_t>();
      if (d > data_size && size > 0) bad("has dimension ", d, ", more than the file's ", data_size, " data bytes");
      if (__builtin_mul_overflow(size, d, &size)) bad("has a shape whose byte size overflows");
      e.shape.push_back(static_cast<int64_t>(d));
    }
    const auto& off = entry["data_offsets"];
    if (off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad("data_offsets must be two non-negative integers");
    e.begin = off[0].get<uint64_t>(), e.end = off[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      bad("data_offsets [", e.begin, ", ", e.end, "] lie outside the ", data_size, " data bytes (truncated?)");
    if (e.end - e.begin != size) bad("data_offsets span ", e.end - e.begin, " bytes, its dtype and shape need ", size);
    entries.push_back(std::move(e));
  }
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end && by_offset[i]->begin != by_offset[i]->end)
      raise(ErrorKind::kCorruption, path, ": tensors '", by_offset[i - 1]->name, "' and '", by_offset[i]->name,
            "' overlap in the data");
  for (const auto& e : entries) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
    std::memcpy(t.data_ptr(), bytes.data() + data_start + e.begin, e.end - e.begin);
    out.tensors[e.name] = t;
  }
  return out;
}

}  // namespace fasrl
