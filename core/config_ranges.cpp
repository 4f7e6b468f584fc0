#include "core/config_ranges.h"

#include <set>

#include "core/error.h"

namespace fasrl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Sizes and counts: a zero is never meaningful and often a division by zero.
const std::set<std::string> kPositive = {
    "threads_per_rank", "num_subjects", "samples_per_subject", "image_size", "num_domains", "samples_per_shard",
    "batch_size", "experts", "heads", "slots_per_expert", "expert_mlp_ratio", "patch_size", "in_channels", "width",
    "layers", "mlp_ratio", "vocab_size", "context_length", "projection_dim", "eps", "steps", "keep_checkpoints",
    "grad_accum_steps", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "rms_norm_eps", "rope_theta", "max_position_embeddings", "mrope_section", "depth",
    "num_heads", "in_chans", "out_hidden_size", "spatial_merge_size", "temporal_patch_size", "spatial_patch_size",
    "merge_size", "min_pixels", "max_pixels", "image_std", "projector_hidden", "paths_per_sample", "learners",
    "group_size", "prompts_per_batch", "max_new_tokens", "bucket_cap_mb", "first_bucket_mb",
    "prefetch_batches", "advantage_eps", "overlong_penalty_factor"};
// A size whose schema default is 0 takes it from elsewhere when 0 (data.image_size:
// the dataset's; slots_per_expert: SoftMoE's tokens x heads / experts;
// projector_hidden: the decoder width); see zero_is_schema_default.
// Probabilities and fractions.
const std::set<std::string> kFraction = {"missing_modality_prob", "live_fraction", "crop_scale_min", "min_lr_ratio",
                                         "answer_swap_fraction", "top_p", "beta1", "beta2"};
// Numbers that may be negative on purpose (a reward weight can punish).
const std::set<std::string> kSigned = {"format_weight", "accuracy_weight", "kg_weight", "logit_scale_init"};

double number(const Message& m, const Reflection* r, const FieldDescriptor* f, int index) {
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f);
    case FieldDescriptor::CPPTYPE_INT64: return static_cast<double>(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32: return rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f);
    case FieldDescriptor::CPPTYPE_UINT64: return static_cast<double>(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT: return rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f);
    case FieldDescriptor::CPPTYPE_DOUBLE: return rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f);
    default: return 0;
  }
}

// Whether 0 is the field's own schema default (its "unset, derive it" value):
// such a 0 is accepted, so a filled-in effective config always checks again.
bool zero_is_schema_default(const FieldDescriptor* f) {
  if (f->is_repeated()) return false;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return f->default_value_int32() == 0;
    case FieldDescriptor::CPPTYPE_INT64: return f->default_value_int64() == 0;
    case FieldDescriptor::CPPTYPE_UINT32: return f->default_value_uint32() == 0;
    case FieldDescriptor::CPPTYPE_UINT64: return f->default_value_uint64() == 0;
    case FieldDescriptor::CPPTYPE_FLOAT: return f->default_value_float() == 0;
    case FieldDescriptor::CPPTYPE_DOUBLE: return f->default_value_double() == 0;
    default: return false;
  }
}

bool is_number(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: case FieldDescriptor::CPPTYPE_INT64: case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: case FieldDescriptor::CPPTYPE_FLOAT: case FieldDescriptor::CPPTYPE_DOUBLE:
      return true;
    default:
      return false;
  }
}

void check(const Message& m, const std::string& prefix, const std::string& source) {
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);  // the set ones
  for (const FieldDescriptor* f : fields) {
    const std::string key = prefix.empty() ? f->name() : prefix + "." + f->name();
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated())
        for (int i = 0; i < r->FieldSize(m, f); ++i) check(r->GetRepeatedMessage(m, f, i), key, source);
      else
        check(r->GetMessage(m, f), key, source);
      continue;
    }
    if (!is_number(f) || kSigned.count(f->name())) continue;
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      const double v = number(m, r, f, i);
      const char* want = nullptr;
      if (v != v) want = "a number, not NaN";
      else if (kPositive.count(f->name()) && !(v > 0) && !(v == 0 && zero_is_schema_default(f))) want = "positive";
      else if (kFraction.count(f->name()) && !(v >= 0 && v <= 1)) want = "between 0 and 1";
      else if (v < 0) want = "not negative";
      if (want) raise(ErrorKind::kConfig, source, ": ", key, " = ", v, ": must be ", want);
    }
  }
}

}  // namespace

void check_config_ranges(const Message& message, const std::string& source) { check(message, "", source); }

}  // namespace fasrl
