// AVX2 + FMA SGEMM: the classic 6×16 micro-kernel (12 ymm accumulators) on the generic
// packers, and unpacked small-m kernels.
#include "cpu.h"
#include "matmul_blocked.h"

#if LLMF_X86
#include <immintrin.h>

namespace llmf {
namespace gemm {
namespace {

// Integer lane mask for _mm256_maskload/maskstore: lanes [0, n) set, n clamped to [0, 8].
LLMF_TARGET_AVX2 LLMF_INLINE __m256i lanes8(int64_t n) {
  const int c = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(8, n)));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

struct Avx2 {
  static constexpr int MR = 6, NR = 16;
  static constexpr int64_t kMaxMc = 6 * 200;
  static constexpr int64_t kBBlockBytes = 512 * 1024;

  LLMF_TARGET_AVX2 static void kernel(int64_t kc, const float* LLMF_RESTRICT a, const float* LLMF_RESTRICT b,
                                      float* c, int64_t ldc, int mr, int nr, bool overwrite) {
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; p++) {
      const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
      for (int i = 0; i < MR; i++) {
        const __m256 ai = _mm256_broadcast_ss(a + i);
        acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
      }
      a += MR;
      b += NR;
    }
    const __m256i m0 = lanes8(nr), m1 = lanes8(nr - 8);
    // A constant trip count (fully unrolled) keeps acc in registers through the loop above.
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      if (i >= mr) break;
      float* ci = c + i * ldc;
      __m256 x0 = acc[i][0], x1 = acc[i][1];
      if (!overwrite) {
        x0 = _mm256_add_ps(_mm256_maskload_ps(ci, m0), x0);
        x1 = _mm256_add_ps(_mm256_maskload_ps(ci + 8, m1), x1);
      }
      _mm256_maskstore_ps(ci, m0, x0);
      _mm256_maskstore_ps(ci + 8, m1, x1);
    }
  }

  // The generic packers (row copies and scalar transposes) are fast enough here: the
  // AVX2 path is the fallback for CPUs without AVX-512.
  static void pack_a(const Problem& P, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
    pack_a_generic<MR>(P, i0, mc, p0, kc, dst);
  }
  static void pack_b(const Problem& P, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
    pack_b_generic<NR>(P, p0, kc, j0, nc, dst);
  }
};

// ---- small m: few rows of C; op(B) is streamed once, nothing is packed ----
// Same structure as the AVX-512 file: strips of op(B) outside, groups of rows inside.

// B rows contiguous: C[i0.., j0:j0+32] (+)= Σ_p A[i, p] · B[p, j0:j0+32] for R rows
// (R × 4 vectors = 12 accumulators at R = 3). Full strips use plain loads: masked
// loads are slow on AMD, so only the last, partial strip uses them.
template <int R, bool Full>
LLMF_TARGET_AVX2 void axpy_tile_impl(const Problem& P, int64_t i0, int64_t j0) {
  const float* a = P.a + i0 * P.a_rs;
  __m256i mk[4];
#pragma GCC unroll 4
  for (int v = 0; v < 4; v++) mk[v] = lanes8(P.n - j0 - 8 * v);
  __m256 acc[R][4];
#pragma GCC unroll 4
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) acc[i][v] = _mm256_setzero_ps();
  const int64_t k = P.k, lda = P.a_rs, ldb = P.b_rs;  // locals: C stores could alias P
  const float* b = P.b + j0;
  for (int64_t p = 0; p < k; p++) {
    const float* bp = b + p * ldb;
    __m256 bv[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) bv[v] = Full ? _mm256_loadu_ps(bp + 8 * v) : _mm256_maskload_ps(bp + 8 * v, mk[v]);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
      const __m256 ai = _mm256_broadcast_ss(a + i * lda + p);
#pragma GCC unroll 4
      for (int v = 0; v < 4; v++) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) {
      float* ci = P.c + (i0 + i) * P.ldc + j0 + 8 * v;
      __m256 x = acc[i][v];
      if (P.accumulate) x = _mm256_add_ps(_mm256_maskload_ps(ci, mk[v]), x);
      _mm256_maskstore_ps(ci, mk[v], x);
    }
}

template <int R>
void axpy_tile(const Problem& P, int64_t i0, int64_t j0) {
  if (P.n - j0 >= 32) axpy_tile_impl<R, true>(P, i0, j0);
  else axpy_tile_impl<R, false>(P, i0, j0);
}

// The four horizontal sums of x[0..3] (fixed order).
LLMF_TARGET_AVX2 LLMF_INLINE __m128 hsum4x8(const __m256 x[4]) {
  const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(x[0], x[1]), _mm256_hadd_ps(x[2], x[3]));
  return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

// B columns contiguous (transB): C[i, j0..j0+3] (+)= dot(A[i, :], B[:, j]) for R rows ×
// 4 columns (R = 2: 8 accumulators + 4 B vectors + 1 A vector fit the 16 registers).
template <int R>
LLMF_TARGET_AVX2 void dot_tile(const Problem& P, int64_t i0, int64_t j0) {
  const float* a = P.a + i0 * P.a_rs;
  const int cols = static_cast<int>(std::min<int64_t>(4, P.n - j0));
  const float* bc[4];
  for (int q = 0; q < 4; q++) bc[q] = P.b + (j0 + std::min(q, cols - 1)) * P.b_cs;  // repeat the last column
  __m256 acc[R][4];
#pragma GCC unroll 4
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) acc[i][q] = _mm256_setzero_ps();
  const int64_t k = P.k, lda = P.a_rs;
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 bv[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) bv[q] = _mm256_loadu_ps(bc[q] + p);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
      const __m256 av = _mm256_loadu_ps(a + i * lda + p);
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) acc[i][q] = _mm256_fmadd_ps(av, bv[q], acc[i][q]);
    }
  }
  if (p < k) {  // the k tail, masked (zeros in the lanes past k)
    const __m256i mk = lanes8(k - p);
    __m256 bv[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) bv[q] = _mm256_maskload_ps(bc[q] + p, mk);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
      const __m256 av = _mm256_maskload_ps(a + i * lda + p, mk);
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) acc[i][q] = _mm256_fmadd_ps(av, bv[q], acc[i][q]);
    }
  }
  alignas(16) float sums[4];
#pragma GCC unroll 4
  for (int i = 0; i < R; i++) {
    _mm_store_ps(sums, hsum4x8(acc[i]));
    float* ci = P.c + (i0 + i) * P.ldc + j0;
    for (int q = 0; q < cols; q++) ci[q] = P.accumulate ? ci[q] + sums[q] : sums[q];
  }
}

template <int R>
struct Axpy {
  static void run(const Problem& P, int64_t i0, int64_t j0) { axpy_tile<R>(P, i0, j0); }
};
template <int R>
struct Dot {
  static void run(const Problem& P, int64_t i0, int64_t j0) { dot_tile<R>(P, i0, j0); }
};

// Runs Tile over all rows in groups of G (the last group smaller), for one strip.
template <template <int> class Tile, int G>
void row_groups(const Problem& P, int64_t j0) {
  int64_t i = 0;
  for (; i + G <= P.m; i += G) Tile<G>::run(P, i, j0);
  if (P.m - i >= 2) Tile<2>::run(P, i, j0), i += 2;
  if (P.m - i == 1) Tile<1>::run(P, i, j0);
}

void small_m(const Problem& P) {
  if (P.b_cs == 1) {
    for (int64_t j0 = 0; j0 < P.n; j0 += 32) row_groups<Axpy, 3>(P, j0);
  } else {
    for (int64_t j0 = 0; j0 < P.n; j0 += 4) row_groups<Dot, 2>(P, j0);
  }
}

void blocked(const Problem& P) { blocked_gemm<Avx2>(P); }

}  // namespace

const Impl& impl_avx2() {
  static const Impl impl{"avx2", Avx2::MR, Avx2::NR, blocked, small_m};
  return impl;
}

}  // namespace gemm
}  // namespace llmf

#endif  // LLMF_X86
