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
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
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
    for (int i = 0; i < MR && i < mr; i++) {
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

// B rows contiguous: R rows × 32 columns (12 accumulators at R = 3) per pass over k.
template <int R>
LLMF_TARGET_AVX2 void small_rows_axpy(const Problem& P, int64_t i0) {
  const float* a = P.a + i0 * P.a_rs;
  float* c = P.c + i0 * P.ldc;
  for (int64_t j = 0; j < P.n; j += 32) {
    __m256i mk[4];
    for (int v = 0; v < 4; v++) mk[v] = lanes8(P.n - j - 8 * v);
    __m256 acc[R][4];
    for (int i = 0; i < R; i++)
      for (int v = 0; v < 4; v++) acc[i][v] = _mm256_setzero_ps();
    for (int64_t p = 0; p < P.k; p++) {
      const float* bp = P.b + p * P.b_rs + j;
      __m256 bv[4];
      for (int v = 0; v < 4; v++) bv[v] = _mm256_maskload_ps(bp + 8 * v, mk[v]);
      for (int i = 0; i < R; i++) {
        const __m256 ai = _mm256_broadcast_ss(a + i * P.a_rs + p);
        for (int v = 0; v < 4; v++) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
      }
    }
    for (int i = 0; i < R; i++)
      for (int v = 0; v < 4; v++) {
        float* ci = c + i * P.ldc + j + 8 * v;
        __m256 x = acc[i][v];
        if (P.accumulate) x = _mm256_add_ps(_mm256_maskload_ps(ci, mk[v]), x);
        _mm256_maskstore_ps(ci, mk[v], x);
      }
  }
}

// Fixed-order horizontal sum of 8 lanes.
LLMF_TARGET_AVX2 LLMF_INLINE float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// B columns contiguous (transB): R rows × 4 columns of dot products per pass.
template <int R>
LLMF_TARGET_AVX2 void small_rows_dot(const Problem& P, int64_t i0) {
  const float* a = P.a + i0 * P.a_rs;
  float* c = P.c + i0 * P.ldc;
  for (int64_t j = 0; j < P.n; j += 4) {
    const int cols = static_cast<int>(std::min<int64_t>(4, P.n - j));
    const float* bc[4];
    for (int q = 0; q < 4; q++) bc[q] = P.b + (j + std::min(q, cols - 1)) * P.b_cs;
    __m256 acc[R][4];
    for (int i = 0; i < R; i++)
      for (int q = 0; q < 4; q++) acc[i][q] = _mm256_setzero_ps();
    for (int64_t p = 0; p < P.k; p += 8) {
      const __m256i mk = lanes8(P.k - p);
      __m256 bv[4];
      for (int q = 0; q < 4; q++) bv[q] = _mm256_maskload_ps(bc[q] + p, mk);
      for (int i = 0; i < R; i++) {
        const __m256 av = _mm256_maskload_ps(a + i * P.a_rs + p, mk);
        for (int q = 0; q < 4; q++) acc[i][q] = _mm256_fmadd_ps(av, bv[q], acc[i][q]);
      }
    }
    for (int i = 0; i < R; i++)
      for (int q = 0; q < cols; q++) {
        float* ci = c + i * P.ldc + j + q;
        const float s = hsum8(acc[i][q]);
        *ci = P.accumulate ? *ci + s : s;
      }
  }
}

// Rows in groups of up to 3 (12 accumulators + operands fit the 16 ymm registers).
template <template <int> class F>
void for_row_groups(const Problem& P) {
  int64_t i = 0;
  for (; i + 3 <= P.m; i += 3) F<3>::run(P, i);
  if (P.m - i == 2) F<2>::run(P, i);
  else if (P.m - i == 1) F<1>::run(P, i);
}
template <int R>
struct AxpyRows {
  static void run(const Problem& P, int64_t i0) { small_rows_axpy<R>(P, i0); }
};
template <int R>
struct DotRows {
  static void run(const Problem& P, int64_t i0) { small_rows_dot<R>(P, i0); }
};

void small_m(const Problem& P) {
  if (P.b_cs == 1) for_row_groups<AxpyRows>(P);
  else for_row_groups<DotRows>(P);
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
