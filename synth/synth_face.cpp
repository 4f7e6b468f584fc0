#include "synth/synth_face.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace fasrl::synth {
namespace {

enum Fine { kLive = 0, kPrint, kReplay, kMask, kFaceSwap, kReenactment, kGan, kAdversarial };

// Float planes while composing; quantised at the end.
struct Planes {
  int s;
  std::vector<float> rgb, depth, ir;  // rgb [S,S,3]
  explicit Planes(int size) : s(size), rgb(size * size * 3), depth(size * size), ir(size * size) {}
  float* px(int x, int y) { return &rgb[(y * s + x) * 3]; }
};

struct Pose {
  float cx, cy, scale;
};

// Hash noise in [-1, 1] for a pixel (pores, print grain).
float hash_noise(int x, int y, uint64_t salt) {
  const uint64_t h = mix64((static_cast<uint64_t>(x) << 32) ^ static_cast<uint64_t>(y) ^ (salt * 0x9e3779b97f4a7c15ULL));
  return static_cast<float>((h >> 40) & 0xffff) / 32767.5f - 1.0f;
}

struct FaceOptions {
  bool skin_texture = true;  // pores: live skin only
  bool nose = true;
  float relief = 1.0f;       // depth amplitude
  bool glossy = false;       // mask material
  float ir_albedo = 0.0f;    // > 0: flat material IR instead of skin shading
};

// Draws a face into all three planes over the background already there.
void draw_face(Planes& p, const SubjectLook& look, const DomainLook& dom, const Pose& pose, const FaceOptions& opt,
               uint64_t salt) {
  const int s = p.s;
  float lx = dom.light_x, ly = dom.light_y, lz = 1.0f;
  const float ln = std::sqrt(lx * lx + ly * ly + lz * lz);
  lx /= ln, ly /= ln, lz /= ln;
  for (int y = 0; y < s; ++y) {
    for (int x = 0; x < s; ++x) {
      const float u = (x + 0.5f) / s * 2 - 1, v = (y + 0.5f) / s * 2 - 1;
      const float fx = (u - pose.cx) / (look.half_width * pose.scale);
      const float fy = (v - pose.cy) / (look.half_height * pose.scale);
      const float r2 = fx * fx + fy * fy;
      if (r2 >= 1.0f) continue;
      // Height field: ellipsoid plus a nose bump; normal from its gradient.
      const float base = std::sqrt(1.0f - r2);
      float h = base, dhx = -fx / base, dhy = -fy / base;
      if (opt.nose) {
        const float ex = fx * fx / 0.012f, ey = (fy - 0.08f) * (fy - 0.08f) / 0.06f;
        const float bump = 0.35f * std::exp(-(ex + ey));
        h += bump;
        dhx += bump * (-2 * fx / 0.012f);
        dhy += bump * (-2 * (fy - 0.08f) / 0.06f);
      }
      dhx = std::clamp(dhx, -4.0f, 4.0f), dhy = std::clamp(dhy, -4.0f, 4.0f);
      const float nl = std::sqrt(dhx * dhx + dhy * dhy + 1);
      const float nx = -dhx / nl, ny = -dhy / nl, nz = 1 / nl;
      const float diffuse = std::max(0.0f, nx * lx + ny * ly + nz * lz);
      const float shade = dom.ambient + (1 - dom.ambient) * diffuse;

      float c[3];
      for (int k = 0; k < 3; ++k) c[k] = look.skin[k] * shade;
      if (opt.skin_texture) {
        const float pore = 7.0f * hash_noise(x, y, salt);
        for (float& ck : c) ck += pore;
      }
      if (opt.glossy) {
        const float spec = std::pow(std::max(0.0f, nz * 0.9f + ny * 0.3f), 24.0f);
        for (float& ck : c) ck += 70.0f * spec;
      }
      float ir_value = opt.ir_albedo > 0 ? opt.ir_albedo * (0.85f + 0.15f * nz) : 45.0f + 190.0f * (0.25f + 0.75f * nz);
      bool feature = false;
      if (fy < look.hairline) {  // hair
        for (int k = 0; k < 3; ++k) c[k] = look.hair[k] * shade;
        ir_value *= 0.45f;
        feature = true;
      }
      for (int side = -1; side <= 1 && !feature; side += 2) {  // eyes: sclera + iris
        const float ex = (fx - side * look.eye_dx) / 0.15f, ey = (fy - look.eye_y) / 0.07f;
        if (ex * ex + ey * ey < 1) {
          const bool iris = ex * ex * 0.15f * 0.15f + ey * ey * 0.07f * 0.07f < 0.055f * 0.055f;
          for (int k = 0; k < 3; ++k) c[k] = iris ? look.iris[k] : 225.0f * shade;
          ir_value = iris ? 35.0f : ir_value * 0.8f;
          feature = true;
        }
      }
      if (!feature) {  // mouth
        const float mx = fx / look.mouth_w, my = (fy - look.mouth_y) / 0.055f;
        if (mx * mx + my * my < 1) {
          c[0] = look.skin[0] * 1.05f * shade, c[1] = look.skin[1] * 0.55f * shade, c[2] = look.skin[2] * 0.55f * shade;
          ir_value *= 0.85f;
        }
      }
      float* out = p.px(x, y);
      for (int k = 0; k < 3; ++k) out[k] = c[k] * dom.gain[k];
      p.depth[y * s + x] = 60.0f + 150.0f * opt.relief * std::min(h, 1.3f);
      p.ir[y * s + x] = ir_value;
    }
  }
}

void draw_background(Planes& p, const DomainLook& dom, Rng& rng) {
  float bg[3];
  for (float& b : bg) b = static_cast<float>(rng.uniform(40, 210));
  const int s = p.s;
  for (int y = 0; y < s; ++y)
    for (int x = 0; x < s; ++x) {
      const float grad = 0.85f + 0.3f * y / s;
      float* out = p.px(x, y);
      for (int k = 0; k < 3; ++k) out[k] = bg[k] * grad * dom.gain[k];
      p.depth[y * s + x] = 0;
      p.ir[y * s + x] = 18;
    }
}

Pose random_pose(Rng& rng) {
  return {static_cast<float>(rng.uniform(-0.06, 0.06)), static_cast<float>(rng.uniform(-0.05, 0.05)),
          static_cast<float>(rng.uniform(0.9, 1.05))};
}

// 3x3 box blur of the RGB plane where mask(x, y) is true.
template <typename Mask>
void blur_rgb(Planes& p, Mask mask) {
  const int s = p.s;
  std::vector<float> src = p.rgb;
  for (int y = 1; y < s - 1; ++y)
    for (int x = 1; x < s - 1; ++x) {
      if (!mask(x, y)) continue;
      for (int k = 0; k < 3; ++k) {
        float acc = 0;
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) acc += src[((y + dy) * s + x + dx) * 3 + k];
        p.rgb[(y * s + x) * 3 + k] = acc / 9;
      }
    }
}

void flat_depth(Planes& p, Rng& rng) {  // a sheet or screen held in front of the camera
  const float tx = static_cast<float>(rng.uniform(-25, 25)), ty = static_cast<float>(rng.uniform(-25, 25));
  const float bend = static_cast<float>(rng.uniform(-12, 12));
  const int s = p.s;
  for (int y = 0; y < s; ++y)
    for (int x = 0; x < s; ++x) {
      const float u = (x + 0.5f) / s * 2 - 1, v = (y + 0.5f) / s * 2 - 1;
      p.depth[y * s + x] = 130 + tx * u + ty * v + bend * u * u;
    }
}

std::vector<uint8_t> quantise(const std::vector<float>& plane, float noise_sigma, Rng& rng) {
  std::vector<uint8_t> out(plane.size());
  for (size_t i = 0; i < plane.size(); ++i) {
    const float v = plane[i] + (noise_sigma > 0 ? noise_sigma * static_cast<float>(rng.normal()) : 0.0f);
    out[i] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
  }
  return out;
}

}  // namespace

SubjectLook make_subject_look(uint64_t seed, int subject) {
  Rng rng(derive_seed(seed, 0x5b1ec7, static_cast<uint64_t>(subject)));
  SubjectLook l{};
  static const float kTones[5][3] = {{235, 200, 175}, {215, 170, 140}, {190, 140, 105}, {150, 105, 75}, {110, 75, 55}};
  const auto* tone = kTones[rng.below(5)];
  for (int k = 0; k < 3; ++k) l.skin[k] = tone[k] * static_cast<float>(rng.uniform(0.92, 1.08));
  const float hair_level = static_cast<float>(rng.uniform(20, 120));
  l.hair[0] = hair_level * 1.1f, l.hair[1] = hair_level * 0.9f, l.hair[2] = hair_level * 0.7f;
  const float iris = static_cast<float>(rng.uniform(30, 110));
  l.iris[0] = iris * 0.8f, l.iris[1] = iris, l.iris[2] = iris * static_cast<float>(rng.uniform(0.6, 1.4));
  l.half_width = static_cast<float>(rng.uniform(0.42, 0.52));
  l.half_height = static_cast<float>(rng.uniform(0.56, 0.66));
  l.eye_y = static_cast<float>(rng.uniform(-0.2, -0.08));
  l.eye_dx = static_cast<float>(rng.uniform(0.32, 0.42));
  l.mouth_y = static_cast<float>(rng.uniform(0.45, 0.58));
  l.mouth_w = static_cast<float>(rng.uniform(0.22, 0.34));
  l.hairline = static_cast<float>(rng.uniform(-0.75, -0.55));
  return l;
}

DomainLook make_domain_look(uint64_t seed, int domain) {
  Rng rng(derive_seed(seed, 0xd0a1, static_cast<uint64_t>(domain)));
  DomainLook d{};
  for (float& g : d.gain) g = static_cast<float>(rng.uniform(0.85, 1.15));
  d.light_x = static_cast<float>(rng.uniform(-0.8, 0.8));
  d.light_y = static_cast<float>(rng.uniform(-0.8, 0.2));
  d.ambient = static_cast<float>(rng.uniform(0.3, 0.5));
  d.noise_sigma = static_cast<float>(rng.uniform(1.5, 5.0));
  return d;
}

RenderedFace render_face(int size, int fine, const SubjectLook& subject, const SubjectLook& other,
                         const DomainLook& domain, Rng& rng, float adversarial_strength) {
  FASRL_CHECK(size >= 16, "image size ", size, " is too small to draw a face");
  FASRL_CHECK(fine >= kLive && fine <= kAdversarial, "unknown fine label ", fine);
  Planes p(size);
  const int s = size;
  const uint64_t salt = rng.next();
  const Pose pose = random_pose(rng);
  RenderedFace out;
  draw_background(p, domain, rng);

  FaceOptions live_opt;
  switch (fine) {
    case kLive:
    case kFaceSwap:
    case kReenactment:
    case kGan:
    case kAdversarial:
      draw_face(p, subject, domain, pose, live_opt, salt);
      out.cues["depth"] = {"facial_relief"};
      out.cues["ir"] = {"skin_ir_shading"};
      out.cues["rgb"] = {"natural_skin_texture"};
      break;
    case kPrint: {
      draw_face(p, subject, domain, pose, live_opt, salt);
      const float period = static_cast<float>(rng.uniform(2.8, 4.2));
      for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x) {
          float* c = p.px(x, y);
          const float grey = (c[0] + c[1] + c[2]) / 3;
          const float dots = 0.86f + 0.14f * std::cos(6.2832f * x / period) * std::cos(6.2832f * y / period);
          for (int k = 0; k < 3; ++k) c[k] = (128 + 0.8f * (0.5f * c[k] + 0.5f * grey - 128)) * dots + 12;
          p.ir[y * s + x] = 150 - 0.12f * grey;  // ink absorbs a little IR; paper has no 3-D shading
        }
      flat_depth(p, rng);
      out.cues = {{"rgb", {"halftone_dots", "washed_out_colour"}}, {"depth", {"flat_depth"}}, {"ir", {"uniform_ir_reflectance"}}};
      break;
    }
    case kReplay: {
      draw_face(p, subject, domain, pose, live_opt, salt);
      const float freq = static_cast<float>(rng.uniform(0.16, 0.3)), angle = static_cast<float>(rng.uniform(0, 3.1416));
      const float fx = freq * std::cos(angle), fy = freq * std::sin(angle), phase = static_cast<float>(rng.uniform(0, 6.28));
      const int bezel = std::max(2, static_cast<int>(s * rng.uniform(0.05, 0.08)));
      const float gx = static_cast<float>(rng.uniform(0.2, 0.8)) * s, gy = static_cast<float>(rng.uniform(0.2, 0.8)) * s;
      const float gsig = 0.12f * s;
      for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x) {
          float* c = p.px(x, y);
          const bool edge = x < bezel || y < bezel || x >= s - bezel || y >= s - bezel;
          const float moire = 1 + 0.16f * std::sin(6.2832f * (fx * x + fy * y) + phase);
          for (int k = 0; k < 3; ++k) c[k] = edge ? 18.0f : c[k] * moire + (k == 2 ? 14 : 6);
          const float d2 = ((x - gx) * (x - gx) + (y - gy) * (y - gy)) / (2 * gsig * gsig);
          p.ir[y * s + x] = (edge ? 25.0f : 35.0f) + 190.0f * std::exp(-d2);  // LCDs emit little IR; glass glares
        }
      flat_depth(p, rng);
      out.cues = {{"rgb", {"moire_pattern", "screen_bezel"}}, {"depth", {"flat_depth"}}, {"ir", {"screen_glare"}}};
      break;
    }
    case kMask: {
      FaceOptions mask_opt;
      mask_opt.skin_texture = false;
      mask_opt.nose = false;
      mask_opt.relief = 0.6f;
      mask_opt.glossy = true;
      mask_opt.ir_albedo = 225.0f;
      SubjectLook mask_look = subject;
      for (int k = 0; k < 3; ++k) mask_look.skin[k] = 0.6f * subject.skin[k] + 0.4f * 220.0f;
      draw_face(p, mask_look, domain, pose, mask_opt, salt);
      out.cues = {{"rgb", {"glossy_poreless_surface"}}, {"depth", {"shallow_relief"}}, {"ir", {"material_ir_reflectance"}}};
      break;
    }
  }

  const auto inside = [&](int x, int y, float rx, float ry, float oy) {
    const float u = (x + 0.5f) / s * 2 - 1, v = (y + 0.5f) / s * 2 - 1;
    const float fx = (u - pose.cx) / (subject.half_width * pose.scale), fy = (v - pose.cy) / (subject.half_height * pose.scale);
    return (fx / rx) * (fx / rx) + ((fy - oy) / ry) * ((fy - oy) / ry);
  };
  switch (fine) {
    case kFaceSwap: {  // donor's inner face pasted in, with a seam at the blend boundary
      Planes donor(size);
      donor.rgb = p.rgb;
      SubjectLook donor_look = other;
      donor_look.half_width = subject.half_width, donor_look.half_height = subject.half_height;
      donor_look.hairline = -2.0f;  // the pasted region carries no hair
      draw_face(donor, donor_look, domain, pose, live_opt, salt ^ 0xfaceULL);
      for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x) {
          const float r = inside(x, y, 0.7f, 0.72f, 0.12f);
          if (r >= 1.0f) continue;
          float* c = p.px(x, y);
          const float* d = donor.px(x, y);
          const float seam = std::abs(std::sqrt(r) - 0.94f) < 0.06f ? 0.7f : 1.0f;
          for (int k = 0; k < 3; ++k) c[k] = d[k] * seam;
        }
      out.cues["rgb"] = {"blending_seam", "skin_tone_mismatch"};
      break;
    }
    case kReenactment: {  // mouth/eye region resampled through a smooth warp, then blurred
      std::vector<float> src = p.rgb;
      const float amp = static_cast<float>(rng.uniform(0.07, 0.11)) * s, wl = static_cast<float>(rng.uniform(0.2, 0.35)) * s;
      auto region = [&](int x, int y) { return inside(x, y, 0.8f, 0.55f, 0.3f) < 1.0f; };
      for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x) {
          if (!region(x, y)) continue;
          const int sx = std::clamp(static_cast<int>(std::lround(x + amp * std::sin(6.2832f * y / wl))), 0, s - 1);
          const int sy = std::clamp(static_cast<int>(std::lround(y + 0.5f * amp * std::cos(6.2832f * x / wl))), 0, s - 1);
          for (int k = 0; k < 3; ++k) p.rgb[(y * s + x) * 3 + k] = src[(sy * s + sx) * 3 + k];
        }
      blur_rgb(p, region);
      out.cues["rgb"] = {"warping_artifacts", "local_blur"};
      break;
    }
    case kGan: {  // generator output: smooth texture with a period-2 upsampling checkerboard
      blur_rgb(p, [](int, int) { return true; });
      const float amp = static_cast<float>(rng.uniform(10, 14));
      for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x) {
          float* c = p.px(x, y);
          const float sign = ((x + y) & 1) ? 1.0f : -1.0f;
          for (int k = 0; k < 3; ++k) c[k] += amp * sign;
        }
      out.cues["rgb"] = {"spectral_artifacts", "over_smooth_texture"};
      break;
    }
    case kAdversarial: {  // +-eps structured perturbation
      const float eps = static_cast<float>(rng.uniform(9, 13)) * adversarial_strength;
      const float p1 = static_cast<float>(rng.uniform(0, 6.28)), p2 = static_cast<float>(rng.uniform(0, 6.28));
      for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x) {
          float* c = p.px(x, y);
          for (int k = 0; k < 3; ++k) {
            const float z = std::sin(0.9f * x + 1.7f * y + p1 + k) + std::sin(1.3f * x - 0.7f * y + p2) + 0.5f * hash_noise(x, y, salt + k);
            c[k] += z > 0 ? eps : -eps;
          }
        }
      out.cues["rgb"] = {"adversarial_perturbation"};
      break;
    }
    default:
      break;
  }
  out.rgb = quantise(p.rgb, domain.noise_sigma, rng);
  out.depth = quantise(p.depth, 1.0f, rng);
  out.ir = quantise(p.ir, domain.noise_sigma * 0.7f, rng);
  return out;
}

}  // namespace fasrl::synth
