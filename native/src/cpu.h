// Runtime CPU dispatch. One build runs on any machine of its architecture: kernels
// are compiled for several instruction sets with function target attributes and the
// best one the CPU supports is picked at run time (LLMFORGE_ISA can force a lower one,
// which is how the tests exercise every path on one machine).
#pragma once

namespace llmf {

enum class Isa { Portable = 0, Neon = 1, Avx2 = 2, Avx512 = 3 };

// The instruction set kernels should use: the best supported, capped by LLMFORGE_ISA.
Isa active_isa();
const char* isa_name(Isa isa);
// Caps the active ISA (used by tests); returns the ISA now active.
Isa set_isa_cap(Isa cap);

}  // namespace llmf

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LLMF_X86 1
#define LLMF_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi2")))
#define LLMF_TARGET_AVX2 __attribute__((target("avx2,fma,bmi2")))
#else
#define LLMF_X86 0
#endif

#if defined(__aarch64__) && defined(__ARM_NEON)
#define LLMF_NEON 1
#else
#define LLMF_NEON 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LLMF_INLINE inline __attribute__((always_inline))
#define LLMF_RESTRICT __restrict__
#else
#define LLMF_INLINE inline
#define LLMF_RESTRICT
#endif
