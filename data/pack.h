// `fasrl data pack`: builds a dataset directory from image files listed in a CSV.
//
// CSV (UTF-8, header required, comma-separated, no quoting):
//   sample_id,label,subject,domain,rgb[,depth][,ir]
// label    a fine label name (live, print, replay, mask, face_swap, ...)
// subject  integer identity id; domain: a name (e.g. the source dataset)
// rgb/depth/ir  image paths relative to the image root; an empty cell marks
//          the modality missing for that sample.
// Images are decoded (PNG or JPEG), resized to image_size x image_size and
// written as shards with the standard protocols computed from the subjects.
#pragma once
#include <string>

#include "core/progress_meter.h"

namespace fasrl::data {

struct PackOptions {
  std::string csv_path;
  std::string image_root;  // default: the CSV's directory
  std::string out_dir;
  int image_size = 224;
  int samples_per_shard = 256;
  int compression_level = 4;
  int64_t max_pixels = int64_t{1} << 26;  // per source image (data/image_codec.h)
  std::string name = "packed";
  ProgressMeter* progress = nullptr;  // counts packed samples (null: silent)
};

int64_t pack_dataset(const PackOptions& options);  // returns samples written

}  // namespace fasrl::data
