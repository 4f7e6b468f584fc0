#include "data/image_codec.h"

#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstring>

#include "core/error.h"
#include "core/io.h"

namespace fasrl::data {
namespace {

void check_size(const std::string& path, uint64_t width, uint64_t height, int64_t max_pixels) {
  if (width * height > static_cast<uint64_t>(max_pixels))
    raise(ErrorKind::kInvalidArgument, path, ": the image claims ", width, "x", height, " pixels, more than the limit of ",
          max_pixels, " (raise it with --max-pixels if the image is real)");
}

Image decode_png(const std::string& path, const std::string& bytes, int channels, int64_t max_pixels) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size()))
    raise(ErrorKind::kCorruption, path, ": cannot decode PNG (", img.message, ")");
  if (static_cast<uint64_t>(img.width) * img.height > static_cast<uint64_t>(max_pixels)) {
    png_image_free(&img);
    check_size(path, img.width, img.height, max_pixels);
  }
  img.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  Image out{static_cast<int>(img.height), static_cast<int>(img.width), channels, {}};
  out.pixels.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, out.pixels.data(), 0, nullptr)) {
    const std::string msg = img.message;
    png_image_free(&img);
    raise(ErrorKind::kCorruption, path, ": cannot decode PNG (", msg, ")");
  }
  return out;
}

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr info) {
  auto* err = reinterpret_cast<JpegError*>(info->err);
  (*info->err->format_message)(info, err->message);
  std::longjmp(err->jump, 1);
}

// libjpeg only warns on corrupt or truncated data ("Premature end of JPEG
// file") and decodes the rest as grey; a dataset must not silently hold that.
void jpeg_warning_is_error(j_common_ptr info, int level) {
  if (level < 0) jpeg_fail(info);
}

Image decode_jpeg(const std::string& path, const std::string& bytes, int channels, int64_t max_pixels) {
  jpeg_decompress_struct info;
  JpegError err;
  info.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_warning_is_error;
  Image out;
  // Everything touched after setjmp lives outside this frame or is POD.
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&info);
    raise(ErrorKind::kCorruption, path, ": cannot decode JPEG (", err.message, ")");
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  jpeg_read_header(&info, TRUE);
  if (static_cast<uint64_t>(info.image_width) * info.image_height > static_cast<uint64_t>(max_pixels)) {
    const uint64_t w = info.image_width, h = info.image_height;
    jpeg_destroy_decompress(&info);
    check_size(path, w, h, max_pixels);
  }
  info.out_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_start_decompress(&info);
  out.height = static_cast<int>(info.output_height);
  out.width = static_cast<int>(info.output_width);
  out.channels = channels;
  out.pixels.resize(static_cast<size_t>(out.height) * out.width * channels);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = out.pixels.data() + static_cast<size_t>(info.output_scanline) * out.width * channels;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return out;
}

}  // namespace

Image decode_image_file(const std::string& path, int channels, int64_t max_pixels) {
  FASRL_CHECK(channels == 1 || channels == 3);
  const std::string bytes = read_file(path);
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0) return decode_png(path, bytes, channels, max_pixels);
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF && static_cast<unsigned char>(bytes[1]) == 0xD8)
    return decode_jpeg(path, bytes, channels, max_pixels);
  raise(ErrorKind::kInvalidArgument, path, ": not a PNG or JPEG file");
}

Image resize_bilinear(const Image& src, int height, int width) {
  if (src.height == height && src.width == width) return src;
  Image out{height, width, src.channels, std::vector<uint8_t>(static_cast<size_t>(height) * width * src.channels)};
  const int c = src.channels;
  for (int y = 0; y < height; ++y) {
    const float sy = std::clamp((y + 0.5f) * src.height / height - 0.5f, 0.0f, static_cast<float>(src.height - 1));
    const int y0 = static_cast<int>(sy), y1 = std::min(y0 + 1, src.height - 1);
    const float ty = sy - y0;
    for (int x = 0; x < width; ++x) {
      const float sx = std::clamp((x + 0.5f) * src.width / width - 0.5f, 0.0f, static_cast<float>(src.width - 1));
      const int x0 = static_cast<int>(sx), x1 = std::min(x0 + 1, src.width - 1);
      const float tx = sx - x0;
      for (int k = 0; k < c; ++k) {
        auto at = [&](int yy, int xx) { return static_cast<float>(src.pixels[(static_cast<size_t>(yy) * src.width + xx) * c + k]); };
        const float v = (1 - ty) * ((1 - tx) * at(y0, x0) + tx * at(y0, x1)) + ty * ((1 - tx) * at(y1, x0) + tx * at(y1, x1));
        out.pixels[(static_cast<size_t>(y) * width + x) * c + k] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 255.0f)));
      }
    }
  }
  return out;
}

}  // namespace fasrl::data
