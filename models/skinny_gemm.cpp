#include "models/skinny_gemm.h"

namespace fasrl::models {

#if defined(FASRL_SKINNY_GEMM_X86)
void skinny_gemm_avx2(const float*, int64_t, int64_t, const float*, const float*, float*, int64_t, int64_t, int64_t);
void skinny_gemm_avx512(const float*, int64_t, int64_t, const float*, const float*, float*, int64_t, int64_t, int64_t);
#endif

SkinnyGemmFn skinny_gemm_for(const std::string& isa) {
#if defined(FASRL_SKINNY_GEMM_X86)
  __builtin_cpu_init();
  if (isa == "avx512" && __builtin_cpu_supports("avx512f")) return skinny_gemm_avx512;
  if (isa == "avx2" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return skinny_gemm_avx2;
#endif
  (void)isa;
  return nullptr;
}

SkinnyGemmFn best_skinny_gemm(const char** name) {
  for (const char* isa : {"avx512", "avx2"})
    if (SkinnyGemmFn fn = skinny_gemm_for(isa)) {
      *name = isa;
      return fn;
    }
  *name = "none";
  return nullptr;
}

}  // namespace fasrl::models
