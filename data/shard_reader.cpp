#include "data/shard_reader.h"

#include <zlib.h>

#include <cstring>
#include <fstream>

#include "core/error.h"

namespace fasrl::data {
namespace {

std::vector<hsize_t> dims_of(hid_t set) {
  h5::Handle space(H5Dget_space(set));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(rank > 0 ? rank : 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

std::string dims_text(const std::vector<hsize_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
  return s + "]";
}

}  // namespace

ShardReader::ShardReader(const std::string& path, const Manifest& manifest, int64_t expected_rows)
    : path_(path), manifest_(&manifest) {
  h5::quiet();
  if (!std::ifstream(path).good())
    raise(ErrorKind::kNotFound, path, ": shard file does not exist");
  file_ = h5::Handle(h5::check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path,
                               "cannot open as an HDF5 shard (truncated or not HDF5?)"));
  const hid_t f = file_.get();

  // Schema version attribute on the root group.
  if (H5Aexists(f, kSchemaVersionAttr) <= 0)
    raise(ErrorKind::kCorruption, path, ": root attribute '", kSchemaVersionAttr, "' is missing (not a fasrl shard?)");
  int version = -1;
  {
    h5::Handle attr(h5::check(H5Aopen(f, kSchemaVersionAttr, H5P_DEFAULT), path, "cannot open schema attribute"));
    h5::check_status(H5Aread(attr.get(), H5T_NATIVE_INT, &version), path, "cannot read schema attribute");
  }
  if (version != kSchemaVersion)
    raise(ErrorKind::kCorruption, path, ": shard schema version is ", version, ", this fasrl reads version ", kSchemaVersion);

  auto require = [&](const char* name, H5T_class_t cls, size_t elem_size, std::vector<hsize_t> shape) {
    if (!h5::exists(f, name)) raise(ErrorKind::kCorruption, path, ": dataset '", name, "' is missing");
    h5::Handle set(h5::check(H5Dopen2(f, name, H5P_DEFAULT), path, std::string("cannot open ") + name));
    h5::Handle type(H5Dget_type(set.get()));
    const bool vlen_ok = cls == H5T_STRING && H5Tis_variable_str(type.get()) > 0;
    if (H5Tget_class(type.get()) != cls || (cls != H5T_STRING && H5Tget_size(type.get()) != elem_size) ||
        (cls == H5T_STRING && !vlen_ok))
      raise(ErrorKind::kCorruption, path, ": dataset '", name, "' has the wrong element type");
    auto dims = dims_of(set.get());
    if (shape[0] == 0 && !dims.empty()) shape[0] = dims[0];  // rows not yet known
    if (dims != shape)
      raise(ErrorKind::kCorruption, path, ": dataset '", name, "' has shape ", dims_text(dims), ", expected ",
            dims_text(shape));
    return dims[0];
  };
  rows_ = static_cast<int64_t>(require(kLabelBinary, H5T_INTEGER, 1, {0}));
  if (expected_rows >= 0 && rows_ != expected_rows)
    raise(ErrorKind::kCorruption, path, ": holds ", rows_, " samples, the manifest says ", expected_rows);
  const hsize_t n = static_cast<hsize_t>(rows_);
  require(kLabelCoarse, H5T_INTEGER, 1, {n});
  require(kLabelFine, H5T_INTEGER, 2, {n});
  require(kMetaSubject, H5T_INTEGER, 4, {n});
  require(kMetaDomain, H5T_INTEGER, 4, {n});
  require(kMetaSampleId, H5T_STRING, 0, {n});
  require(kModalityMask, H5T_INTEGER, 1, {n, manifest.modalities.size()});
  for (const auto& field : manifest.text_fields) require(text_path(field).c_str(), H5T_STRING, 0, {n});

  const hsize_t h = manifest.image_height, w = manifest.image_width;
  for (const auto& spec : manifest.modalities) {
    ImageSet img;
    img.channels = spec.channels;
    const std::string p = image_path(spec.name);
    if (h5::exists(f, p)) {
      require(p.c_str(), H5T_INTEGER, 1, {n, h, w, static_cast<hsize_t>(spec.channels)});
      img.set = h5::Handle(h5::check(H5Dopen2(f, p.c_str(), H5P_DEFAULT), path, "cannot open " + p));
      h5::Handle dcpl(H5Dget_create_plist(img.set.get()));
      hsize_t chunk[4] = {0, 0, 0, 0};
      if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED && H5Pget_chunk(dcpl.get(), 4, chunk) == 4 && chunk[0] == 1 &&
          chunk[1] == h && chunk[2] == w && H5Pget_nfilters(dcpl.get()) == 1) {
        unsigned flags = 0, cd[4];
        size_t cd_n = 4;
        img.direct_deflate = H5Pget_filter2(dcpl.get(), 0, &flags, &cd_n, cd, 0, nullptr, nullptr) == H5Z_FILTER_DEFLATE;
      }
    }
    images_.push_back(std::move(img));
  }
}

void ShardReader::row_error(const std::string& dataset, int64_t row, const std::string& what) const {
  std::string id;
  try {
    id = read_string(kMetaSampleId, row);
  } catch (const Error&) {
    id = "?";
  }
  raise(ErrorKind::kCorruption, path_, ": ", dataset, " row ", row, " (sample '", id, "'): ", what);
}

ShardIndex ShardReader::read_index() const {
  ShardIndex idx;
  const size_t n = static_cast<size_t>(rows_);
  auto read = [&](const char* name, hid_t mem_type, void* out) {
    h5::Handle set(h5::check(H5Dopen2(file_.get(), name, H5P_DEFAULT), path_, std::string("cannot open ") + name));
    h5::check_status(H5Dread(set.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), path_,
                     std::string("cannot read ") + name);
  };
  idx.binary.resize(n);
  idx.coarse.resize(n);
  idx.fine.resize(n);
  idx.subject.resize(n);
  idx.domain.resize(n);
  idx.modality_mask.resize(n * manifest_->modalities.size());
  read(kLabelBinary, H5T_NATIVE_INT8, idx.binary.data());
  read(kLabelCoarse, H5T_NATIVE_INT8, idx.coarse.data());
  read(kLabelFine, H5T_NATIVE_INT16, idx.fine.data());
  read(kMetaSubject, H5T_NATIVE_INT32, idx.subject.data());
  read(kMetaDomain, H5T_NATIVE_INT32, idx.domain.data());
  read(kModalityMask, H5T_NATIVE_UINT8, idx.modality_mask.data());
  for (size_t i = 0; i < n; ++i) {
    const int fine = idx.fine[i];
    if (idx.binary[i] < 0 || idx.binary[i] >= static_cast<int>(manifest_->binary_labels.size()) ||
        fine < 0 || fine >= static_cast<int>(manifest_->fine_labels.size()) || idx.coarse[i] < 0 ||
        idx.coarse[i] >= static_cast<int>(manifest_->coarse_labels.size()))
      row_error("/labels", static_cast<int64_t>(i), "label outside the manifest's vocabulary");
    if (idx.coarse[i] != manifest_->fine_to_coarse[fine] || idx.binary[i] != (idx.coarse[i] != 0 ? 1 : 0))
      row_error("/labels", static_cast<int64_t>(i), "binary/coarse/fine labels disagree");
    // A domain outside the manifest's list would silently drop out of every
    // leave-one-domain-out split.
    if (!manifest_->domains.empty() && (idx.domain[i] < 0 || idx.domain[i] >= static_cast<int>(manifest_->domains.size())))
      row_error(kMetaDomain, static_cast<int64_t>(i),
                "domain id " + std::to_string(idx.domain[i]) + " outside the manifest's " +
                    std::to_string(manifest_->domains.size()) + " domains");
    // A modality marked present needs its images: otherwise it would train on zeros.
    for (size_t k = 0; k < images_.size(); ++k)
      if (!images_[k].set.valid() && idx.modality_mask[i * images_.size() + k])
        row_error(kModalityMask, static_cast<int64_t>(i),
                  "modality '" + manifest_->modalities[k].name + "' is marked present but the shard has no " +
                      image_path(manifest_->modalities[k].name));
  }
  return idx;
}

void ShardReader::read_image(int m, int64_t row, uint8_t* out) const {
  const ImageSet& img = images_.at(static_cast<size_t>(m));
  const size_t bytes = static_cast<size_t>(manifest_->image_height) * manifest_->image_width * img.channels;
  const std::string name = image_path(manifest_->modalities[m].name);
  if (row < 0 || row >= rows_) raise(ErrorKind::kInvalidArgument, path_, ": row ", row, " out of range [0,", rows_, ")");
  if (!img.set.valid()) {
    std::memset(out, 0, bytes);
    return;
  }
  const hsize_t offset[4] = {static_cast<hsize_t>(row), 0, 0, 0};
  if (img.direct_deflate) {
    // Read the compressed chunk under HDF5's lock, inflate outside it, so
    // worker threads decode in parallel.
    hsize_t stored = 0;
    if (H5Dget_chunk_storage_size(img.set.get(), offset, &stored) < 0 || stored == 0)
      row_error(name, row, "chunk is missing or unreadable");
    std::vector<uint8_t> packed(stored);
    uint32_t filter_mask = 0;
    if (H5Dread_chunk(img.set.get(), H5P_DEFAULT, offset, &filter_mask, packed.data()) < 0)
      row_error(name, row, "cannot read chunk (HDF5: " + h5::last_error() + ")");
    if (filter_mask & 1u) {  // deflate was skipped for this chunk: stored raw
      if (stored != bytes) row_error(name, row, "raw chunk has the wrong size");
      std::memcpy(out, packed.data(), bytes);
      return;
    }
    uLongf out_len = bytes;
    const int rc = uncompress(out, &out_len, packed.data(), stored);
    if (rc != Z_OK || out_len != bytes)
      row_error(name, row, std::string("compressed chunk is corrupt (zlib: ") + (rc == Z_OK ? "short output" : zError(rc)) + ")");
    return;
  }
  const hsize_t count[4] = {1, static_cast<hsize_t>(manifest_->image_height),
                            static_cast<hsize_t>(manifest_->image_width), static_cast<hsize_t>(img.channels)};
  h5::Handle fspace(H5Dget_space(img.set.get()));
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, offset, nullptr, count, nullptr);
  h5::Handle mspace(H5Screate_simple(4, count, nullptr));
  if (H5Dread(img.set.get(), H5T_NATIVE_UINT8, mspace.get(), fspace.get(), H5P_DEFAULT, out) < 0)
    row_error(name, row, "cannot read (HDF5: " + h5::last_error() + ")");
}

std::string ShardReader::read_string(const std::string& dataset, int64_t row) const {
  h5::Handle set(h5::check(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT), path_, "cannot open " + dataset));
  h5::Handle type = h5::vlen_utf8_type();
  h5::Handle fspace(H5Dget_space(set.get()));
  const hsize_t start = static_cast<hsize_t>(row), one = 1;
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &one, nullptr);
  h5::Handle mspace(H5Screate_simple(1, &one, nullptr));
  char* value = nullptr;
  h5::check_status(H5Dread(set.get(), type.get(), mspace.get(), fspace.get(), H5P_DEFAULT, &value), path_,
                   "cannot read " + dataset + " row " + std::to_string(row));
  std::string out = value ? value : "";
  H5free_memory(value);
  return out;
}

std::vector<std::string> ShardReader::read_strings(const std::string& dataset) const {
  h5::Handle set(h5::check(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT), path_, "cannot open " + dataset));
  h5::Handle type = h5::vlen_utf8_type();
  std::vector<char*> values(static_cast<size_t>(rows_), nullptr);
  h5::check_status(H5Dread(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), path_,
                   "cannot read " + dataset);
  std::vector<std::string> out;
  out.reserve(values.size());
  for (char* v : values) {
    out.emplace_back(v ? v : "");
    H5free_memory(v);
  }
  return out;
}

Sample ShardReader::read_sample(int64_t row) const {
  Sample s;
  const size_t m_count = manifest_->modalities.size();
  s.images.resize(m_count);
  for (size_t m = 0; m < m_count; ++m) {
    s.images[m].resize(static_cast<size_t>(manifest_->image_height) * manifest_->image_width *
                       manifest_->modalities[m].channels);
    read_image(static_cast<int>(m), row, s.images[m].data());
  }
  // Labels and mask via one-row hyperslabs of the small arrays.
  auto read_row = [&](const char* name, hid_t mem_type, void* out, hsize_t width) {
    h5::Handle set(h5::check(H5Dopen2(file_.get(), name, H5P_DEFAULT), path_, std::string("cannot open ") + name));
    h5::Handle fspace(H5Dget_space(set.get()));
    // A 1-D set (width 0) uses only the first entry of start/count.
    const hsize_t start[2] = {static_cast<hsize_t>(row), 0}, count[2] = {1, width};
    const hsize_t mcount[1] = {width > 0 ? width : 1};
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
    h5::Handle mspace(H5Screate_simple(1, mcount, nullptr));
    h5::check_status(H5Dread(set.get(), mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, out), path_,
                     std::string("cannot read ") + name + " row " + std::to_string(row));
  };
  s.modality_mask.resize(m_count);
  read_row(kModalityMask, H5T_NATIVE_UINT8, s.modality_mask.data(), m_count);
  read_row(kLabelBinary, H5T_NATIVE_INT8, &s.binary, 0);
  read_row(kLabelCoarse, H5T_NATIVE_INT8, &s.coarse, 0);
  read_row(kLabelFine, H5T_NATIVE_INT16, &s.fine, 0);
  read_row(kMetaSubject, H5T_NATIVE_INT32, &s.subject, 0);
  read_row(kMetaDomain, H5T_NATIVE_INT32, &s.domain, 0);
  s.sample_id = read_string(kMetaSampleId, row);
  for (const auto& field : manifest_->text_fields) s.text[field] = read_string(text_path(field), row);
  return s;
}

}  // namespace fasrl::data
