// Portable SGEMM: the same blocked algorithm with a plain C++ micro-kernel written so
// the compiler vectorizes it for the baseline ISA (SSE2 on x86-64, NEON on arm64).
#include <algorithm>

#include "cpu.h"
#include "matmul_blocked.h"

namespace llmf {
namespace gemm {
namespace {

struct Portable {
  // 4×8: eight 4-lane accumulators fit SSE2's 16 registers with room for the operands
  // (4×16 spilled and ran at a quarter of the speed).
  static constexpr int MR = 4, NR = 8;
  static constexpr int64_t kMaxMc = 4 * 256;
  static constexpr int64_t kBBlockBytes = 256 * 1024;

  static void kernel(int64_t kc, const float* LLMF_RESTRICT a, const float* LLMF_RESTRICT b, float* c,
                     int64_t ldc, int mr, int nr, bool overwrite) {
    // MR×NR accumulators; the j loops are the ones the compiler turns into vectors.
    float acc[MR][NR] = {};
    for (int64_t p = 0; p < kc; p++) {
      for (int i = 0; i < MR; i++) {
        const float ai = a[i];
        for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];
      }
      a += MR;
      b += NR;
    }
    for (int i = 0; i < mr; i++) {
      float* ci = c + i * ldc;
      if (overwrite) {
        for (int j = 0; j < nr; j++) ci[j] = acc[i][j];
      } else {
        for (int j = 0; j < nr; j++) ci[j] += acc[i][j];
      }
    }
  }

  static void pack_a(const Problem& P, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
    pack_a_generic<MR>(P, i0, mc, p0, kc, dst);
  }
  static void pack_b(const Problem& P, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
    pack_b_generic<NR>(P, p0, kc, j0, nc, dst);
  }
};

// Small m, B rows contiguous: C[i, :] (+)= Σ_p A[i, p] · B[p, :], one row at a time in
// column strips that stay in L1 while k is swept.
void small_axpy(const Problem& P) {
  constexpr int64_t kStrip = 256;
  float acc[kStrip];
  for (int64_t i = 0; i < P.m; i++) {
    const float* a = P.a + i * P.a_rs;
    float* c = P.c + i * P.ldc;
    for (int64_t j0 = 0; j0 < P.n; j0 += kStrip) {
      const int64_t w = std::min(kStrip, P.n - j0);
      std::fill(acc, acc + w, 0.0f);
      for (int64_t p = 0; p < P.k; p++) {
        const float ap = a[p];
        const float* LLMF_RESTRICT bp = P.b + p * P.b_rs + j0;
        for (int64_t j = 0; j < w; j++) acc[j] += ap * bp[j];
      }
      for (int64_t j = 0; j < w; j++) c[j0 + j] = P.accumulate ? c[j0 + j] + acc[j] : acc[j];
    }
  }
}

// Small m, B columns contiguous (transB): dot products with 8 interleaved partial sums
// (vectorizable without reassociating), added up in a fixed order.
void small_dot(const Problem& P) {
  for (int64_t i = 0; i < P.m; i++) {
    const float* a = P.a + i * P.a_rs;
    for (int64_t j = 0; j < P.n; j++) {
      const float* b = P.b + j * P.b_cs;
      float part[8] = {};
      int64_t p = 0;
      for (; p + 8 <= P.k; p += 8)
        for (int l = 0; l < 8; l++) part[l] += a[p + l] * b[p + l];
      for (int l = 0; p + l < P.k; l++) part[l] += a[p + l] * b[p + l];
      const float s = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
      float* c = P.c + i * P.ldc + j;
      *c = P.accumulate ? *c + s : s;
    }
  }
}

void small_m(const Problem& P) {
  if (P.b_cs == 1) small_axpy(P);
  else small_dot(P);
}

void blocked(const Problem& P) { blocked_gemm<Portable>(P); }

}  // namespace

const Impl& impl_portable() {
  static const Impl impl{"portable", Portable::MR, Portable::NR, blocked, small_m};
  return impl;
}

}  // namespace gemm
}  // namespace llmf
