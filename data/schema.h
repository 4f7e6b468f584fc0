// Shard format v1 (DESIGN.md section 5): dataset paths, dtypes and the
// default label vocabularies. Every reader and writer takes names from here.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace fasrl::data {

constexpr int kSchemaVersion = 1;
constexpr const char* kSchemaVersionAttr = "fasrl_schema_version";
constexpr const char* kManifestFile = "manifest.json";

constexpr const char* kImagesGroup = "/images";
constexpr const char* kModalityMask = "/modality_mask";   // uint8 [N,M]
constexpr const char* kLabelBinary = "/labels/binary";    // int8  [N]
constexpr const char* kLabelCoarse = "/labels/coarse";    // int8  [N]
constexpr const char* kLabelFine = "/labels/fine";        // int16 [N]
constexpr const char* kMetaSubject = "/meta/subject";     // int32 [N]
constexpr const char* kMetaDomain = "/meta/domain";       // int32 [N]
constexpr const char* kMetaSampleId = "/meta/sample_id";  // vlen UTF-8 [N]
constexpr const char* kTextGroup = "/text";               // vlen UTF-8 [N] each

inline std::string image_path(const std::string& modality) { return std::string(kImagesGroup) + "/" + modality; }
inline std::string text_path(const std::string& field) { return std::string(kTextGroup) + "/" + field; }

// Default vocabularies (the manifest may carry others).
inline const std::vector<std::string>& default_binary_labels() {
  static const std::vector<std::string> v{"live", "attack"};
  return v;
}
inline const std::vector<std::string>& default_coarse_labels() {
  static const std::vector<std::string> v{"live", "physical", "digital"};
  return v;
}
// Fine attack types; fine_to_coarse below maps each to its coarse class.
inline const std::vector<std::string>& default_fine_labels() {
  static const std::vector<std::string> v{"live",      "print",       "replay",        "mask",
                                          "face_swap", "reenactment", "gan_synthesis", "adversarial"};
  return v;
}
inline const std::vector<int>& default_fine_to_coarse() {
  static const std::vector<int> v{0, 1, 1, 1, 2, 2, 2, 2};
  return v;
}

struct ModalitySpec {
  std::string name;
  int channels = 0;
};
inline std::vector<ModalitySpec> default_modalities() { return {{"rgb", 3}, {"depth", 1}, {"ir", 1}}; }

}  // namespace fasrl::data
