// Renders one synthetic multimodal face sample (RGB, depth, IR) whose attack
// cues are real signals in the pixels:
//   live          skin texture, facial relief in depth, 3-D shading in IR
//   print         halftone dots + washed-out colour; flat depth; uniform IR
//   replay        moire + screen bezel; flat depth; dark screen with IR glare
//   mask          glossy pore-less surface; shallow relief, no nose; bright IR material
//   face_swap     inner face from another subject with a blending seam
//   reenactment   warped, blurred mouth/eye region
//   gan_synthesis over-smooth texture + checkerboard (upsampling) spectrum
//   adversarial   low-amplitude structured perturbation
// Digital edits touch RGB only; their depth and IR are the live capture's.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/rng.h"

namespace fasrl::synth {

// Per-identity appearance, fixed by (seed, subject).
struct SubjectLook {
  float skin[3], hair[3], iris[3];
  float half_width, half_height;  // face ellipse, in [-1,1] image units
  float eye_y, eye_dx, mouth_y, mouth_w, hairline;
};

// Per-domain capture conditions, fixed by (seed, domain).
struct DomainLook {
  float gain[3];       // colour temperature
  float light_x, light_y;
  float ambient;
  float noise_sigma;   // sensor noise in grey levels
};

SubjectLook make_subject_look(uint64_t seed, int subject);
DomainLook make_domain_look(uint64_t seed, int domain);

struct RenderedFace {
  std::vector<uint8_t> rgb;    // [S,S,3]
  std::vector<uint8_t> depth;  // [S,S,1], nearer = brighter, 0 = background
  std::vector<uint8_t> ir;     // [S,S,1]
  std::map<std::string, std::vector<std::string>> cues;  // modality -> cue names present
};

// `fine` uses the default vocabulary (data/schema.h). `other` is the donor
// identity for face_swap. adversarial_strength scales the adversarial
// perturbation (synth.adversarial_strength; 1 = the default amplitude).
RenderedFace render_face(int size, int fine, const SubjectLook& subject, const SubjectLook& other,
                         const DomainLook& domain, Rng& rng, float adversarial_strength);

}  // namespace fasrl::synth
