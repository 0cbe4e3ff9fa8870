#include "cpu.h"

#include <cstdlib>
#include <cstring>

namespace llmf {

static Isa detect() {
#if LLMF_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
  return Isa::Portable;
#elif LLMF_NEON
  return Isa::Neon;
#else
  return Isa::Portable;
#endif
}

static Isa cap_from_env(Isa best) {
  const char* env = std::getenv("LLMFORGE_ISA");
  if (!env || !*env) return best;
  Isa want = best;
  if (!std::strcmp(env, "portable")) want = Isa::Portable;
  else if (!std::strcmp(env, "avx2")) want = Isa::Avx2;
  else if (!std::strcmp(env, "avx512")) want = Isa::Avx512;
  else if (!std::strcmp(env, "neon")) want = Isa::Neon;
  return static_cast<int>(want) < static_cast<int>(best) ? want : best;
}

static const Isa kBest = detect();
static Isa g_active = cap_from_env(kBest);

Isa active_isa() { return g_active; }

Isa set_isa_cap(Isa cap) {
  g_active = static_cast<int>(cap) < static_cast<int>(kBest) ? cap : kBest;
  return g_active;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    case Isa::Neon: return "neon";
    default: return "portable";
  }
}

}  // namespace llmf
