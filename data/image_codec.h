// PNG (libpng) and JPEG (libjpeg-turbo) decoding to uint8 HWC, and bilinear
// resizing. Errors name the file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fasrl::data {

struct Image {
  int height = 0, width = 0, channels = 0;  // channels 1 or 3
  std::vector<uint8_t> pixels;              // [H,W,C]
};

// Decodes by content (PNG or JPEG signature), converting to `channels` (1 or 3).
Image decode_image_file(const std::string& path, int channels);
Image resize_bilinear(const Image& src, int height, int width);

}  // namespace fasrl::data
