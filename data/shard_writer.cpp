#include "data/shard_writer.h"

#include <cstdio>

#include "core/error.h"

namespace fasrl::data {
namespace {

// Creation property list without object timestamps: HDF5 stamps every object
// with its creation time by default, which made identical shards differ in
// their bytes (and SHA-256) from one second to the next.
h5::Handle untimed(hid_t plist_class) {
  h5::Handle p(H5Pcreate(plist_class));
  H5Pset_obj_track_times(p.get(), false);
  return p;
}

template <typename T>
void write_array(hid_t file, const std::string& path, hid_t mem_type, hid_t file_type,
                 const std::vector<hsize_t>& dims, const T* data, const std::string& fname) {
  h5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  h5::Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  h5::Handle dcpl = untimed(H5P_DATASET_CREATE);
  h5::Handle set(h5::check(H5Dcreate2(file, path.c_str(), file_type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
                           fname, "cannot create " + path));
  h5::check_status(H5Dwrite(set.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), fname, "cannot write " + path);
}

void write_strings(hid_t file, const std::string& path, const std::vector<std::string>& values,
                   const std::string& fname) {
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  h5::Handle type = h5::vlen_utf8_type();
  write_array(file, path, type.get(), type.get(), {values.size()}, ptrs.data(), fname);
}

}  // namespace

ShardWriter::ShardWriter(const std::string& path, const ShardLayout& layout, int64_t num_samples)
    : path_(path), tmp_path_(path + ".partial"), layout_(layout), capacity_(num_samples) {
  h5::quiet();
  FASRL_CHECK(num_samples > 0 && layout.height > 0 && layout.width > 0);
  file_ = h5::Handle(h5::check(H5Fcreate(tmp_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), tmp_path_,
                               "cannot create shard file"));
  h5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  {
    h5::Handle gcpl = untimed(H5P_GROUP_CREATE);
    for (const char* group : {"/images", "/labels", "/meta", "/text"})
      h5::Handle(h5::check(H5Gcreate2(file_.get(), group, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), tmp_path_,
                           std::string("cannot create group ") + group));
  }
  for (const auto& m : layout.modalities) {
    const hsize_t dims[4] = {static_cast<hsize_t>(num_samples), static_cast<hsize_t>(layout.height),
                             static_cast<hsize_t>(layout.width), static_cast<hsize_t>(m.channels)};
    hsize_t chunk[4] = {1, dims[1], dims[2], dims[3]};
    h5::Handle dcpl = untimed(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl.get(), 4, chunk);
    if (layout.compression_level > 0) H5Pset_deflate(dcpl.get(), static_cast<unsigned>(layout.compression_level));
    h5::Handle space(H5Screate_simple(4, dims, nullptr));
    const std::string p = image_path(m.name);
    image_sets_.emplace_back(h5::check(
        H5Dcreate2(file_.get(), p.c_str(), H5T_STD_U8LE, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT), tmp_path_,
        "cannot create " + p));
  }
  texts_.resize(layout.text_fields.size());
}

ShardWriter::~ShardWriter() {
  if (file_.valid()) {  // abandoned: never leave a partial shard behind
    file_.reset();
    std::remove(tmp_path_.c_str());
  }
}

void ShardWriter::add(const Sample& s) {
  const size_t m_count = layout_.modalities.size();
  if (count_ >= capacity_) raise(ErrorKind::kInvalidArgument, path_, ": more than ", capacity_, " samples added");
  if (s.images.size() != m_count || s.modality_mask.size() != m_count)
    raise(ErrorKind::kInvalidArgument, path_, ": sample '", s.sample_id, "' has ", s.images.size(), " images and ",
          s.modality_mask.size(), " mask entries, expected ", m_count);
  for (size_t m = 0; m < m_count; ++m) {
    const auto& spec = layout_.modalities[m];
    const size_t bytes = static_cast<size_t>(layout_.height) * layout_.width * spec.channels;
    std::vector<uint8_t> zeros;
    const uint8_t* pixels = s.images[m].data();
    if (s.images[m].empty()) {
      zeros.assign(bytes, 0);
      pixels = zeros.data();
    } else if (s.images[m].size() != bytes) {
      raise(ErrorKind::kInvalidArgument, path_, ": sample '", s.sample_id, "' modality ", spec.name, " has ",
            s.images[m].size(), " bytes, expected ", bytes);
    }
    const hsize_t start[4] = {static_cast<hsize_t>(count_), 0, 0, 0};
    const hsize_t count[4] = {1, static_cast<hsize_t>(layout_.height), static_cast<hsize_t>(layout_.width),
                              static_cast<hsize_t>(spec.channels)};
    h5::Handle fspace(H5Dget_space(image_sets_[m].get()));
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
    h5::Handle mspace(H5Screate_simple(4, count, nullptr));
    h5::check_status(H5Dwrite(image_sets_[m].get(), H5T_NATIVE_UINT8, mspace.get(), fspace.get(), H5P_DEFAULT, pixels),
                     tmp_path_, "cannot write " + image_path(spec.name));
  }
  rows_.binary.push_back(s.binary);
  rows_.coarse.push_back(s.coarse);
  rows_.fine.push_back(s.fine);
  rows_.subject.push_back(s.subject);
  rows_.domain.push_back(s.domain);
  rows_.modality_mask.insert(rows_.modality_mask.end(), s.modality_mask.begin(), s.modality_mask.end());
  sample_ids_.push_back(s.sample_id);
  for (size_t f = 0; f < layout_.text_fields.size(); ++f) {
    auto it = s.text.find(layout_.text_fields[f]);
    texts_[f].push_back(it == s.text.end() ? "" : it->second);
  }
  ++count_;
}

void ShardWriter::finish() {
  if (count_ != capacity_) raise(ErrorKind::kInvalidArgument, path_, ": finished with ", count_, " of ", capacity_, " samples");
  const hid_t f = file_.get();
  const hsize_t n = static_cast<hsize_t>(count_);
  write_array(f, kModalityMask, H5T_NATIVE_UINT8, H5T_STD_U8LE, {n, layout_.modalities.size()},
              rows_.modality_mask.data(), tmp_path_);
  write_array(f, kLabelBinary, H5T_NATIVE_INT8, H5T_STD_I8LE, {n}, rows_.binary.data(), tmp_path_);
  write_array(f, kLabelCoarse, H5T_NATIVE_INT8, H5T_STD_I8LE, {n}, rows_.coarse.data(), tmp_path_);
  write_array(f, kLabelFine, H5T_NATIVE_INT16, H5T_STD_I16LE, {n}, rows_.fine.data(), tmp_path_);
  write_array(f, kMetaSubject, H5T_NATIVE_INT32, H5T_STD_I32LE, {n}, rows_.subject.data(), tmp_path_);
  write_array(f, kMetaDomain, H5T_NATIVE_INT32, H5T_STD_I32LE, {n}, rows_.domain.data(), tmp_path_);
  write_strings(f, kMetaSampleId, sample_ids_, tmp_path_);
  for (size_t i = 0; i < layout_.text_fields.size(); ++i)
    write_strings(f, text_path(layout_.text_fields[i]), texts_[i], tmp_path_);

  const int version = kSchemaVersion;
  h5::Handle space(H5Screate(H5S_SCALAR));
  h5::Handle attr(h5::check(H5Acreate2(f, kSchemaVersionAttr, H5T_STD_I32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                            tmp_path_, "cannot create schema attribute"));
  H5Awrite(attr.get(), H5T_NATIVE_INT, &version);
  attr.reset();
  image_sets_.clear();
  h5::check_status(H5Fflush(f, H5F_SCOPE_GLOBAL), tmp_path_, "flush failed");
  file_.reset();
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    raise(ErrorKind::kIOError, path_, ": cannot rename from ", tmp_path_);
}

}  // namespace fasrl::data
