#include "models/qwen_image.h"

#include <cmath>

#include "core/error.h"

namespace fasrl::models {

ImageSize smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels, int64_t max_pixels) {
  if (height <= 0 || width <= 0 || factor <= 0)
    raise(ErrorKind::kInvalidArgument, "qwen image: size ", height, "x", width, " (factor ", factor, ") is not positive");
  if (static_cast<double>(std::max(height, width)) / static_cast<double>(std::min(height, width)) > 200)
    raise(ErrorKind::kInvalidArgument, "qwen image: aspect ratio of ", height, "x", width, " exceeds 200");
  const double h = static_cast<double>(height), w = static_cast<double>(width), f = static_cast<double>(factor);
  // Python's round() is round-half-to-even: std::nearbyint under the default rounding mode.
  int64_t hb = static_cast<int64_t>(std::nearbyint(h / f)) * factor;
  int64_t wb = static_cast<int64_t>(std::nearbyint(w / f)) * factor;
  if (hb * wb > max_pixels) {
    const double beta = std::sqrt(h * w / static_cast<double>(max_pixels));
    hb = std::max<int64_t>(factor, static_cast<int64_t>(std::floor(h / beta / f)) * factor);
    wb = std::max<int64_t>(factor, static_cast<int64_t>(std::floor(w / beta / f)) * factor);
  } else if (hb * wb < min_pixels) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / (h * w));
    hb = static_cast<int64_t>(std::ceil(h * beta / f)) * factor;
    wb = static_cast<int64_t>(std::ceil(w * beta / f)) * factor;
  }
  return {hb, wb};
}

QwenImagePatches qwen_image_patches(const torch::Tensor& image, const proto::QwenImageProcessorConfig& c) {
  if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3))
    raise(ErrorKind::kInvalidArgument, "qwen image: expected [C, H, W] with C 1 or 3, got ", image.sizes());
  const int64_t p = c.patch_size(), m = c.merge_size(), tp = c.temporal_patch_size();
  const ImageSize size = smart_resize(image.size(1), image.size(2), p * m, c.min_pixels(), c.max_pixels());
  torch::Tensor x = image.to(torch::kFloat32).expand({3, -1, -1}).unsqueeze(0);  // [1, 3, H, W]
  if (size.height != image.size(1) || size.width != image.size(2))
    x = torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{size.height, size.width})
                                                  .mode(torch::kBicubic)
                                                  .align_corners(false)
                                                  .antialias(true));
  static const float kClipMean[] = {0.48145466f, 0.4578275f, 0.40821073f};
  static const float kClipStd[] = {0.26862954f, 0.26130258f, 0.27577711f};
  auto channels = [](const google::protobuf::RepeatedField<float>& v, const float* fallback, const char* key) {
    if (v.empty()) return torch::tensor({fallback[0], fallback[1], fallback[2]});
    if (v.size() != 3) raise(ErrorKind::kConfig, "preprocessor config: ", key, " must have 3 values, got ", v.size());
    return torch::tensor({v[0], v[1], v[2]});
  };
  const torch::Tensor mean = channels(c.image_mean(), kClipMean, "image_mean").view({1, 3, 1, 1});
  const torch::Tensor std = channels(c.image_std(), kClipStd, "image_std").view({1, 3, 1, 1});
  x = (x.clamp(0, 1) - mean) / std;  // [1, 3, H', W']
  const int64_t gh = size.height / p, gw = size.width / p;
  // [T, C, H', W'] -> [t, T, C, gh/m, m, P, gw/m, m, P] -> [t, gh/m, gw/m, m, m, C, T, P, P]
  x = x.expand({tp, 3, -1, -1}).reshape({1, tp, 3, gh / m, m, p, gw / m, m, p}).permute({0, 3, 6, 4, 7, 2, 1, 5, 8});
  return {x.reshape({gh * gw, 3 * tp * p * p}).contiguous(), PatchGrid{1, gh, gw}};
}

}  // namespace fasrl::models
