#include "data/augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace fasrl::data {

AugmentParams identity_augment(int height, int width) {
  AugmentParams p;
  p.crop_w = static_cast<float>(width);
  p.crop_h = static_cast<float>(height);
  return p;
}

AugmentParams sample_augment(const proto::AugmentConfig& c, int height, int width, Rng& rng) {
  AugmentParams p = identity_augment(height, width);
  if (!c.enabled()) return p;
  const float scale = static_cast<float>(rng.uniform(std::clamp(c.crop_scale_min(), 0.1f, 1.0f), 1.0));
  p.crop_w = scale * width;
  p.crop_h = scale * height;
  p.x0 = static_cast<float>(rng.uniform(0, width - p.crop_w));
  p.y0 = static_cast<float>(rng.uniform(0, height - p.crop_h));
  p.flip = c.hflip() && rng.bernoulli(0.5);
  p.brightness = static_cast<float>(rng.uniform(-c.brightness(), c.brightness()));
  p.contrast = static_cast<float>(rng.uniform(1 - c.contrast(), 1 + c.contrast()));
  return p;
}

void apply_augment(const uint8_t* src, int h, int w, int ch, const AugmentParams& p, bool photometric, float* dst,
                   int out_h, int out_w) {
  // Source coordinate of each output column/row (pixel centres), precomputed.
  std::vector<int> x_lo(out_w), x_hi(out_w);
  std::vector<float> x_t(out_w);
  for (int x = 0; x < out_w; ++x) {
    const int xo = p.flip ? out_w - 1 - x : x;
    const float sx = std::clamp(p.x0 + (xo + 0.5f) * p.crop_w / out_w - 0.5f, 0.0f, static_cast<float>(w - 1));
    x_lo[x] = static_cast<int>(sx);
    x_hi[x] = std::min(x_lo[x] + 1, w - 1);
    x_t[x] = sx - x_lo[x];
  }
  const float scale = photometric ? p.contrast / 255.0f : 1.0f / 255.0f;
  const float offset = photometric ? 0.5f - 0.5f * p.contrast + p.brightness : 0.0f;
  const size_t plane = static_cast<size_t>(out_h) * out_w;
  for (int y = 0; y < out_h; ++y) {
    const float sy = std::clamp(p.y0 + (y + 0.5f) * p.crop_h / out_h - 0.5f, 0.0f, static_cast<float>(h - 1));
    const int y0 = static_cast<int>(sy), y1 = std::min(y0 + 1, h - 1);
    const float ty = sy - y0;
    const uint8_t* r0 = src + static_cast<size_t>(y0) * w * ch;
    const uint8_t* r1 = src + static_cast<size_t>(y1) * w * ch;
    for (int x = 0; x < out_w; ++x) {
      const int a = x_lo[x] * ch, b = x_hi[x] * ch;
      const float tx = x_t[x];
      for (int k = 0; k < ch; ++k) {
        const float top = r0[a + k] + tx * (r0[b + k] - r0[a + k]);
        const float bot = r1[a + k] + tx * (r1[b + k] - r1[a + k]);
        const float v = (top + ty * (bot - top)) * scale + offset;
        dst[k * plane + static_cast<size_t>(y) * out_w + x] = photometric ? std::clamp(v, 0.0f, 1.0f) : v;
      }
    }
  }
}

}  // namespace fasrl::data
