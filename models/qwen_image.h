// Qwen2-VL / Qwen2.5-VL image processing in C++ (what HF's
// Qwen2VLImageProcessor does): smart resize to sides that are multiples of
// patch_size x merge_size (28) with the pixel count kept within
// [min_pixels, max_pixels] and the aspect ratio close to the original;
// bicubic, antialiased resampling; CLIP mean/std; the frame repeated over
// temporal_patch_size; patches flattened in the processor's order (merge
// blocks row-major, their patches row-major; each patch C x T x P x P).
#pragma once
#include <torch/torch.h>

#include "models/qwen_vision.h"
#include "proto/config.pb.h"

namespace fasrl::models {

struct ImageSize {
  int64_t height = 0, width = 0;
};
// Errors on an aspect ratio over 200 (as HF) or a non-positive size.
ImageSize smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels, int64_t max_pixels);

struct QwenImagePatches {
  torch::Tensor patches;  // [t*h*w, C*T*P*P] float32
  PatchGrid grid;
};
// image [C, H, W] in [0, 1] (C = 1 is replicated to 3).
QwenImagePatches qwen_image_patches(const torch::Tensor& image, const proto::QwenImageProcessorConfig& config);

}  // namespace fasrl::models
