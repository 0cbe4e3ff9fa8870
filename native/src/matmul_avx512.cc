// AVX-512 SGEMM: a 14×32 micro-kernel (28 zmm accumulators), vectorized packing
// (16×16 in-register transposes for the strided layouts) and unpacked small-m kernels.
#include "cpu.h"
#include "matmul_blocked.h"

#if LLMF_X86
// GCC 12 reports (maybe-)uninitialized values inside its own AVX-512 intrinsic headers
// (the _mm512_undefined_ps() placeholders, GCC bug 105593); the warnings are spurious.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

// Cache blocking (Zen 4/5: 48 KiB L1d, 1 MiB L2 per core). Overridable at build time
// (-DLLMF_GEMM_MC=...) for tuning experiments on other CPUs.
#ifndef LLMF_GEMM_MC
#define LLMF_GEMM_MC (14 * 96)  // rows per packed A block
#endif
#ifndef LLMF_GEMM_BB
#define LLMF_GEMM_BB 640  // KiB of L2 for one packed B block (kc × nc floats)
#endif

namespace llmf {
namespace gemm {
namespace {

// Lanes [0, n) set, n clamped to [0, 16].
LLMF_INLINE __mmask16 lanes(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// r[i] lane j  →  r[j] lane i.
LLMF_TARGET_AVX512 LLMF_INLINE void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4i + c], 128-bit lane l: column 4l + c of rows 4i .. 4i+3.
  for (int i = 0; i < 4; i++) {
    u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
    u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  // Gather 128-bit lane l of u[c], u[4+c], u[8+c], u[12+c] into column 4l + c.
  for (int c = 0; c < 4; c++) {
    __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);   // lanes 0, 2 of each
    __m512 w0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
    __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);   // lanes 1, 3 of each
    __m512 w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_f32x4(v0, w0, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
    r[4 + c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
  }
}

// Packs `rows` (≤ 16) strided vectors of contiguous floats, src + r·stride + [0, kc),
// transposed: dst[p·ld + r] = src[r·stride + p], lanes r ≥ rows zero. Each transposed
// column is written with mask `out` (the lanes that belong to the destination panel).
LLMF_TARGET_AVX512 LLMF_INLINE void pack_transposed(const float* src, int64_t stride, int rows, int64_t kc,
                                                     float* dst, int64_t ld, __mmask16 out) {
  __m512 r[16];
  int64_t p = 0;
  for (; p + 16 <= kc; p += 16) {
    for (int i = 0; i < 16; i++) r[i] = i < rows ? _mm512_loadu_ps(src + i * stride + p) : _mm512_setzero_ps();
    transpose16(r);
    for (int q = 0; q < 16; q++) _mm512_mask_storeu_ps(dst + (p + q) * ld, out, r[q]);
  }
  if (p < kc) {
    const __mmask16 tail = lanes(kc - p);
    for (int i = 0; i < 16; i++)
      r[i] = i < rows ? _mm512_maskz_loadu_ps(tail, src + i * stride + p) : _mm512_setzero_ps();
    transpose16(r);
    for (int q = 0; p + q < kc; q++) _mm512_mask_storeu_ps(dst + (p + q) * ld, out, r[q]);
  }
}

// pack_rows_generic (matmul_blocked.h) with masked vector copies: row p of the source
// (src + p·ld, `width` floats) is cut into W-wide panels, dst + q·W·kc + p·W.
template <int W>
LLMF_TARGET_AVX512 void pack_rows(const float* src, int64_t ld, int64_t width, int64_t kc, float* dst) {
  static_assert(W <= 32, "two vectors per panel row");
  for (int64_t p = 0; p < kc; p++) {
    const float* row = src + p * ld;
    for (int64_t q0 = 0; q0 < width; q0 += W) {
      float* out = dst + q0 * kc + p * W;
      const int64_t w = std::min<int64_t>(W, width - q0);
      _mm512_mask_storeu_ps(out, lanes(std::min(W, 16)), _mm512_maskz_loadu_ps(lanes(w), row + q0));
      if (W > 16) _mm512_mask_storeu_ps(out + 16, lanes(W - 16), _mm512_maskz_loadu_ps(lanes(w - 16), row + q0 + 16));
    }
  }
}

struct Avx512 {
  static constexpr int MR = 14, NR = 32;
  static constexpr int64_t kMaxMc = LLMF_GEMM_MC;
  static constexpr int64_t kBBlockBytes = LLMF_GEMM_BB * 1024;

  // C[0:mr, 0:nr] (+)= Ap (kc × MR) · Bp (kc × NR), both packed.
  LLMF_TARGET_AVX512 static void kernel(int64_t kc, const float* LLMF_RESTRICT a, const float* LLMF_RESTRICT b,
                                        float* c, int64_t ldc, int mr, int nr, bool overwrite) {
    __m512 acc[MR][2];
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    // The C tile is read/written after the loop; start fetching it now.
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16), _MM_HINT_T0);
    }
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; p++) {
      const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
      for (int i = 0; i < MR; i++) {
        const __m512 ai = _mm512_set1_ps(a[i]);
        acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
      }
      a += MR;
      b += NR;
    }
    const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      if (i >= mr) break;
      float* ci = c + i * ldc;
      if (overwrite) {
        _mm512_mask_storeu_ps(ci, m0, acc[i][0]);
        _mm512_mask_storeu_ps(ci + 16, m1, acc[i][1]);
      } else {
        _mm512_mask_storeu_ps(ci, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), acc[i][0]));
        _mm512_mask_storeu_ps(ci + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), acc[i][1]));
      }
    }
  }

  // A block of op(A): micro-panel q holds dst[q·MR·kc + p·MR + i] = op(A)(i0 + q·MR + i, p0 + p).
  LLMF_TARGET_AVX512 static void pack_a(const Problem& P, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                                        float* dst) {
    if (P.a_rs == 1) {  // transA: each k step is a contiguous row of the block
      pack_rows<MR>(P.a + i0 + p0 * P.a_cs, P.a_cs, mc, kc, dst);
    } else if (P.a_cs == 1) {  // rows contiguous: transpose 16 k steps at a time
      for (int64_t ir = 0; ir < mc; ir += MR) {
        const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
        pack_transposed(P.a + (i0 + ir) * P.a_rs + p0, P.a_rs, mr, kc, dst + ir * kc, MR, lanes(MR));
      }
    } else {
      pack_a_generic<MR>(P, i0, mc, p0, kc, dst);
    }
  }

  // A block of op(B): micro-panel q holds dst[q·NR·kc + p·NR + j] = op(B)(p0 + p, j0 + q·NR + j).
  LLMF_TARGET_AVX512 static void pack_b(const Problem& P, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                                        float* dst) {
    if (P.b_cs == 1) {  // B not transposed: each k step is a contiguous row of the block
      pack_rows<NR>(P.b + p0 * P.b_rs + j0, P.b_rs, nc, kc, dst);
    } else if (P.b_rs == 1) {  // transB: columns of op(B) contiguous; transpose 16 at a time
      for (int64_t jr = 0; jr < nc; jr += NR) {
        const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
        const float* src = P.b + (j0 + jr) * P.b_cs + p0;
        pack_transposed(src, P.b_cs, std::min(nr, 16), kc, dst + jr * kc, NR, 0xFFFF);
        pack_transposed(src + 16 * P.b_cs, P.b_cs, std::max(nr - 16, 0), kc, dst + jr * kc + 16, NR, 0xFFFF);
      }
    } else {
      pack_b_generic<NR>(P, p0, kc, j0, nc, dst);
    }
  }
};

// ---- small m: few rows of C; op(B) is streamed once, nothing is packed ----
//
// Both forms walk op(B) in strips (64 columns, or 4 rows of a transposed B) and run
// every group of up to 6 rows of C over a strip while it is still in L1/L2, so op(B)
// comes from memory once however many rows there are.

// B rows contiguous (b_cs == 1): C[i0.., j0:j0+64] (+)= Σ_p A[i, p] · B[p, j0:j0+64] for
// R rows (R × 4 vectors = 24 accumulators at R = 6).
template <int R>
LLMF_TARGET_AVX512 void axpy_tile(const Problem& P, int64_t i0, int64_t j0) {
  const float* a = P.a + i0 * P.a_rs;
  const __mmask16 mk[4] = {lanes(P.n - j0), lanes(P.n - j0 - 16), lanes(P.n - j0 - 32), lanes(P.n - j0 - 48)};
  __m512 acc[R][4];
#pragma GCC unroll 6
  for (int i = 0; i < R; i++)
#pragma GCC unroll 6
    for (int v = 0; v < 4; v++) acc[i][v] = _mm512_setzero_ps();
  // Locals, so the compiler keeps them in registers (C stores could alias P otherwise).
  const int64_t k = P.k, lda = P.a_rs, ldb = P.b_rs;
  const float* b = P.b + j0;
  for (int64_t p = 0; p < k; p++) {
    const float* bp = b + p * ldb;
    _mm_prefetch(reinterpret_cast<const char*>(bp + 8 * ldb), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(bp + 8 * ldb + 32), _MM_HINT_T0);
    __m512 bv[4];
#pragma GCC unroll 6
    for (int v = 0; v < 4; v++) bv[v] = _mm512_maskz_loadu_ps(mk[v], bp + 16 * v);
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
      const __m512 ai = _mm512_set1_ps(a[i * lda + p]);
#pragma GCC unroll 6
      for (int v = 0; v < 4; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < R; i++) {
    float* ci = P.c + (i0 + i) * P.ldc + j0;
#pragma GCC unroll 6
    for (int v = 0; v < 4; v++) {
      __m512 x = acc[i][v];
      if (P.accumulate) x = _mm512_add_ps(_mm512_maskz_loadu_ps(mk[v], ci + 16 * v), x);
      _mm512_mask_storeu_ps(ci + 16 * v, mk[v], x);
    }
  }
}

// The four horizontal sums of x[0..3], as the low 4 lanes (fixed order, 9 instructions).
LLMF_TARGET_AVX512 LLMF_INLINE __m128 hsum4x16(const __m512 x[4]) {
  // Per 128-bit lane: [x0_0+x0_2, x1_0+x1_2, x0_1+x0_3, x1_1+x1_3], and likewise x2, x3.
  const __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(x[0], x[1]), _mm512_unpackhi_ps(x[0], x[1]));
  const __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(x[2], x[3]), _mm512_unpackhi_ps(x[2], x[3]));
  // Per 128-bit lane: [x0, x1, x2, x3] summed over that lane.
  __m512 t = _mm512_add_ps(_mm512_shuffle_ps(s01, s23, 0x44), _mm512_shuffle_ps(s01, s23, 0xEE));
  t = _mm512_add_ps(t, _mm512_shuffle_f32x4(t, t, 0x4E));  // + the other 256-bit half
  t = _mm512_add_ps(t, _mm512_shuffle_f32x4(t, t, 0xB1));  // + the neighbouring 128-bit lane
  return _mm512_castps512_ps128(t);
}

// B columns contiguous (b_rs == 1, transB): C[i, j0..j0+Q-1] (+)= dot(A[i, :], B[:, j])
// for R rows × Q columns, 16 k-lanes per accumulator, reduced at the end in a fixed
// order. Q = 8 for one or two rows (decoding), so enough loads are in flight.
template <int R, int Q>
LLMF_TARGET_AVX512 void dot_tile(const Problem& P, int64_t i0, int64_t j0) {
  static_assert(Q % 4 == 0 && R * Q <= 24, "accumulators must fit the 32 registers");
  const float* a = P.a + i0 * P.a_rs;
  const int cols = static_cast<int>(std::min<int64_t>(Q, P.n - j0));
  const float* bc[Q];
#pragma GCC unroll 8
  for (int q = 0; q < Q; q++) bc[q] = P.b + (j0 + std::min(q, cols - 1)) * P.b_cs;  // repeat the last column at the edge
  __m512 acc[R][Q];
#pragma GCC unroll 6
  for (int i = 0; i < R; i++)
#pragma GCC unroll 8
    for (int q = 0; q < Q; q++) acc[i][q] = _mm512_setzero_ps();
  const int64_t k = P.k, lda = P.a_rs;
  int64_t p = 0;
  for (; p + 16 <= k; p += 16) {
    __m512 bv[Q];
#pragma GCC unroll 8
    for (int q = 0; q < Q; q++) bv[q] = _mm512_loadu_ps(bc[q] + p);
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
      const __m512 av = _mm512_loadu_ps(a + i * lda + p);
#pragma GCC unroll 8
      for (int q = 0; q < Q; q++) acc[i][q] = _mm512_fmadd_ps(av, bv[q], acc[i][q]);
    }
  }
  if (p < k) {
    const __mmask16 mk = lanes(k - p);
    __m512 bv[Q];
#pragma GCC unroll 8
    for (int q = 0; q < Q; q++) bv[q] = _mm512_maskz_loadu_ps(mk, bc[q] + p);
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
      const __m512 av = _mm512_maskz_loadu_ps(mk, a + i * lda + p);
#pragma GCC unroll 8
      for (int q = 0; q < Q; q++) acc[i][q] = _mm512_fmadd_ps(av, bv[q], acc[i][q]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < R; i++) {
#pragma GCC unroll 2
    for (int q0 = 0; q0 < Q; q0 += 4) {
      if (q0 >= cols) break;
      float* ci = P.c + (i0 + i) * P.ldc + j0 + q0;
      const __mmask8 out = static_cast<__mmask8>((1u << std::min(4, cols - q0)) - 1);
      __m128 x = hsum4x16(acc[i] + q0);
      if (P.accumulate) x = _mm_add_ps(_mm_maskz_loadu_ps(out, ci), x);
      _mm_mask_storeu_ps(ci, out, x);
    }
  }
}

// Runs Tile<R>(P, i, j0) over all rows in groups of up to 6 (the last group smaller).
template <template <int> class Tile>
LLMF_INLINE void row_groups(const Problem& P, int64_t j0) {
  int64_t i = 0;
  for (; i + 6 <= P.m; i += 6) Tile<6>::run(P, i, j0);
  switch (P.m - i) {
    case 5: Tile<5>::run(P, i, j0); break;
    case 4: Tile<4>::run(P, i, j0); break;
    case 3: Tile<3>::run(P, i, j0); break;
    case 2: Tile<2>::run(P, i, j0); break;
    case 1: Tile<1>::run(P, i, j0); break;
    default: break;
  }
}
template <int R>
struct Axpy {
  static void run(const Problem& P, int64_t i0, int64_t j0) { axpy_tile<R>(P, i0, j0); }
};
template <int R>
struct Dot {
  static void run(const Problem& P, int64_t i0, int64_t j0) { dot_tile<R, 4>(P, i0, j0); }
};

void small_m(const Problem& P) {
  if (P.b_cs == 1) {
    for (int64_t j0 = 0; j0 < P.n; j0 += 64) row_groups<Axpy>(P, j0);
  } else if (P.m == 1) {
    for (int64_t j0 = 0; j0 < P.n; j0 += 8) dot_tile<1, 8>(P, 0, j0);
  } else if (P.m == 2) {
    for (int64_t j0 = 0; j0 < P.n; j0 += 8) dot_tile<2, 8>(P, 0, j0);
  } else {
    for (int64_t j0 = 0; j0 < P.n; j0 += 4) row_groups<Dot>(P, j0);
  }
}

void blocked(const Problem& P) { blocked_gemm<Avx512>(P); }

}  // namespace

const Impl& impl_avx512() {
  static const Impl impl{"avx512", Avx512::MR, Avx512::NR, blocked, small_m};
  return impl;
}

}  // namespace gemm
}  // namespace llmf

#endif  // LLMF_X86
