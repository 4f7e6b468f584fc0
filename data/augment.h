// Per-sample augmentation. Geometry (random resized crop, horizontal flip) is
// drawn once per sample and applied to every modality so they stay aligned;
// photometry (brightness, contrast) applies to RGB only. Output is float CHW
// in [0, 1], resized bilinearly to the loader's output size.
#pragma once
#include <cstdint>

#include "core/rng.h"
#include "proto/config.pb.h"

namespace fasrl::data {

struct AugmentParams {
  float x0 = 0, y0 = 0, crop_w = 1, crop_h = 1;  // crop box in source pixels
  bool flip = false;
  float brightness = 0;  // added, in [0,1] units
  float contrast = 1;    // multiplied around 0.5
};

AugmentParams identity_augment(int height, int width);
AugmentParams sample_augment(const proto::AugmentConfig& config, int height, int width, Rng& rng);

// src: uint8 [H,W,C]; dst: float [C,out_h,out_w].
void apply_augment(const uint8_t* src, int height, int width, int channels, const AugmentParams& params,
                   bool photometric, float* dst, int out_h, int out_w);

}  // namespace fasrl::data
