// AVX-512 SGEMM: a 14×32 micro-kernel (28 zmm accumulators), vectorized packing
// (16×16 in-register transposes for the strided layouts) and unpacked small-m kernels.
#include "cpu.h"
#include "matmul_blocked.h"

#if LLMF_X86
// GCC 12 reports -Wmaybe-uninitialized inside its own AVX-512 intrinsic headers when
// they are inlined here (GCC bug 105593); the warning is spurious.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
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

// Fixed-order horizontal sum of 16 lanes (pairwise; runs once per dot product).
LLMF_TARGET_AVX512 LLMF_INLINE float hsum16(__m512 v) {
  alignas(64) float l[16];
  _mm512_store_ps(l, v);
  for (int w = 8; w >= 1; w /= 2)
    for (int i = 0; i < w; i++) l[i] += l[i + w];
  return l[0];
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

// ---- small m: C has at most kSmallM rows, op(B) is streamed once, nothing is packed ----

// B rows contiguous (b_cs == 1): C[i, :] (+)= Σ_p A[i, p] · B[p, :], R rows at a time,
// 64 columns (4 vectors) per pass over k.
template <int R>
LLMF_TARGET_AVX512 void small_rows_axpy(const Problem& P, int64_t i0) {
  const float* a = P.a + i0 * P.a_rs;
  float* c = P.c + i0 * P.ldc;
  for (int64_t j = 0; j < P.n; j += 64) {
    const __mmask16 mk[4] = {lanes(P.n - j), lanes(P.n - j - 16), lanes(P.n - j - 32), lanes(P.n - j - 48)};
    __m512 acc[R][4];
    for (int i = 0; i < R; i++)
      for (int v = 0; v < 4; v++) acc[i][v] = _mm512_setzero_ps();
    const float* bj = P.b + j;
    for (int64_t p = 0; p < P.k; p++) {
      const float* bp = bj + p * P.b_rs;
      _mm_prefetch(reinterpret_cast<const char*>(bp + 8 * P.b_rs), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(bp + 8 * P.b_rs + 32), _MM_HINT_T0);
      __m512 bv[4];
      for (int v = 0; v < 4; v++) bv[v] = _mm512_maskz_loadu_ps(mk[v], bp + 16 * v);
      for (int i = 0; i < R; i++) {
        const __m512 ai = _mm512_set1_ps(a[i * P.a_rs + p]);
        for (int v = 0; v < 4; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
      }
    }
    for (int i = 0; i < R; i++) {
      float* ci = c + i * P.ldc + j;
      for (int v = 0; v < 4; v++) {
        __m512 x = acc[i][v];
        if (P.accumulate) x = _mm512_add_ps(_mm512_maskz_loadu_ps(mk[v], ci + 16 * v), x);
        _mm512_mask_storeu_ps(ci + 16 * v, mk[v], x);
      }
    }
  }
}

// B columns contiguous (b_rs == 1, transB): C[i, j] (+)= dot(A[i, :], B[:, j]), R rows ×
// 4 columns per pass, 16 k-lanes summed at the end in a fixed order.
template <int R>
LLMF_TARGET_AVX512 void small_rows_dot(const Problem& P, int64_t i0) {
  const float* a = P.a + i0 * P.a_rs;
  float* c = P.c + i0 * P.ldc;
  for (int64_t j = 0; j < P.n; j += 4) {
    const int cols = static_cast<int>(std::min<int64_t>(4, P.n - j));
    const float* bc[4];
    for (int q = 0; q < 4; q++) bc[q] = P.b + (j + std::min(q, cols - 1)) * P.b_cs;  // repeat the last column at the edge
    __m512 acc[R][4];
    for (int i = 0; i < R; i++)
      for (int q = 0; q < 4; q++) acc[i][q] = _mm512_setzero_ps();
    for (int64_t p = 0; p < P.k; p += 16) {
      const __mmask16 mk = lanes(P.k - p);
      __m512 bv[4];
      for (int q = 0; q < 4; q++) bv[q] = _mm512_maskz_loadu_ps(mk, bc[q] + p);
      for (int i = 0; i < R; i++) {
        const __m512 av = _mm512_maskz_loadu_ps(mk, a + i * P.a_rs + p);
        for (int q = 0; q < 4; q++) acc[i][q] = _mm512_fmadd_ps(av, bv[q], acc[i][q]);
      }
    }
    for (int i = 0; i < R; i++)
      for (int q = 0; q < cols; q++) {
        float* ci = c + i * P.ldc + j + q;
        const float s = hsum16(acc[i][q]);
        *ci = P.accumulate ? *ci + s : s;
      }
  }
}

template <template <int> class F>
void for_row_groups(const Problem& P) {
  // F<R> handles R rows; 6 rows × 4 vectors is 24 accumulators, within the 32 registers.
  int64_t i = 0;
  for (; i + 6 <= P.m; i += 6) F<6>::run(P, i);
  switch (P.m - i) {
    case 5: F<5>::run(P, i); break;
    case 4: F<4>::run(P, i); break;
    case 3: F<3>::run(P, i); break;
    case 2: F<2>::run(P, i); break;
    case 1: F<1>::run(P, i); break;
    default: break;
  }
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

void blocked(const Problem& P) { blocked_gemm<Avx512>(P); }

}  // namespace

const Impl& impl_avx512() {
  static const Impl impl{"avx512", Avx512::MR, Avx512::NR, blocked, small_m};
  return impl;
}

}  // namespace gemm
}  // namespace llmf

#endif  // LLMF_X86
