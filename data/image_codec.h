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

// The largest image decoded by default: 64 megapixels (8192 x 8192). A header
// claiming more is refused before any pixel memory is allocated (a 2 KB JPEG
// can claim 30000 x 30000 = 2.7 GB).
inline constexpr int64_t kDefaultMaxImagePixels = int64_t{1} << 26;

// Decodes by content (PNG or JPEG signature), converting to `channels` (1 or
// 3). Corrupt or truncated data is an error, also where the decoder would
// only warn and fill the rest with grey.
Image decode_image_file(const std::string& path, int channels, int64_t max_pixels = kDefaultMaxImagePixels);
Image resize_bilinear(const Image& src, int height, int width);

}  // namespace fasrl::data
