// Per-ISA building blocks of the attention kernels (attention.cc): one small GEMM
// micro-kernel family and the row-wise softmax pieces. Each ISA is a struct of static
// functions with the same signatures; the tiled drivers in attention.cc are templates
// over that struct, so the tiling logic is written once.
//
// Every struct provides:
//   gemm(M, N, K, A, sam, sak, B, ldb, C, ldc, acc)
//       C[i][0..N) (+)= Σ_k A[i·sam + k·sak] · B[k·ldb + 0..N), for i < M.
//       N must be a multiple of 16. A is read one scalar at a time (broadcast), so it
//       may be any strided view: a row-major block (sam = ld, sak = 1) or its
//       transpose (sam = 1, sak = ld).
//   row_max(s, n)                      max of s[0..n), n >= 1
//   exp2_row(s, n, width, m) -> sum    s[c] = 2^(s[c] - m) for c < n, 0 for n <= c < width
//   bwd_row(s, dp, n, width, lse2, delta)
//       p = 2^(s·log2e - lse2), dp = p·(dp - delta), s = p for c < n; both 0 for n <= c < width
//   dot(a, b, n)
//   dots(q, K, ldk, n, D, mul, out)    out[j] = mul · q·K[j·ldk ..], j < n   (decode scores)
//   weighted_rows(p, V, ldv, n, D, out) out[0..D) = Σ_j p[j] · V[j·ldv ..]    (decode output)
//   transpose8(src, lds, dst, ldd)     dst[j·ldd + i] = src[i·lds + j] for i, j < 8
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu.h"

// GCC 12 reports the _mm512_undefined_ps() inside its own AVX-512 intrinsics as
// "used uninitialized" (a false positive). The warning is attributed to lines of the
// intrinsics header, so the suppression must be in effect where that header is read.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#if LLMF_X86
#include <immintrin.h>
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace llmf {
namespace attn {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Cephes exp2f: 2^f = 1 + f·P(f) on f ∈ [-0.5, 0.5], relative error ~2e-7.
constexpr float kExp2P0 = 1.535336188319500e-4f;
constexpr float kExp2P1 = 1.339887440266574e-3f;
constexpr float kExp2P2 = 9.618437357674640e-3f;
constexpr float kExp2P3 = 5.550332471162809e-2f;
constexpr float kExp2P4 = 2.402264791363012e-1f;
constexpr float kExp2P5 = 6.931472028550421e-1f;

// ---------------------------------------------------------------------------------
// Portable C++: plain loops GCC/Clang auto-vectorize at the baseline ISA.
// ---------------------------------------------------------------------------------
struct OpsPortable {
  static LLMF_INLINE float exp2(float x) {
    // Clamp so the exponent bits below stay valid; 2^-127 flushes to 0, which is
    // what a masked or vanishing probability should be anyway.
    x = x < -127.f ? -127.f : (x > 127.f ? 127.f : x);
    const int32_t n = static_cast<int32_t>(x + (x >= 0.f ? 0.5f : -0.5f));  // round to nearest
    const float f = x - static_cast<float>(n);
    float p = kExp2P0;
    p = p * f + kExp2P1;
    p = p * f + kExp2P2;
    p = p * f + kExp2P3;
    p = p * f + kExp2P4;
    p = p * f + kExp2P5;
    p = p * f + 1.f;
    const int32_t bits = (n + 127) << 23;  // 2^n as a float (0 when n = -127)
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
  }

#if defined(__GNUC__) || defined(__clang__)
  // GCC/Clang vector extensions (SSE on x86-64, NEON on arm64): the compilers do not
  // reliably keep a float[R][16] accumulator block in registers on their own.
  typedef float v4 __attribute__((vector_size(16)));
  static LLMF_INLINE v4 load4(const float* p) {
    v4 v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static LLMF_INLINE void store4(float* p, v4 v) { std::memcpy(p, &v, sizeof v); }

  // R rows × 16 columns. R = 2: 8 accumulators + 4 of B + 1 broadcast fit in the 16
  // SSE registers; spilling them costs more than re-reading B.
  template <int R>
  static LLMF_INLINE void kernel(int64_t K, const float* A, int64_t sam, int64_t sak, const float* B, int64_t ldb,
                                 float* C, int64_t ldc, bool acc) {
    v4 c[R][4];
    for (int i = 0; i < R; i++)
      for (int v = 0; v < 4; v++) c[i][v] = acc ? load4(C + i * ldc + 4 * v) : v4{0.f, 0.f, 0.f, 0.f};
    for (int64_t k = 0; k < K; k++) {
      const float* b = B + k * ldb;
      const v4 b0 = load4(b), b1 = load4(b + 4), b2 = load4(b + 8), b3 = load4(b + 12);
      for (int i = 0; i < R; i++) {
        const float x = A[i * sam + k * sak];
        const v4 a = {x, x, x, x};
        c[i][0] += a * b0;
        c[i][1] += a * b1;
        c[i][2] += a * b2;
        c[i][3] += a * b3;
      }
    }
    for (int i = 0; i < R; i++)
      for (int v = 0; v < 4; v++) store4(C + i * ldc + 4 * v, c[i][v]);
  }
#else
  template <int R>
  static LLMF_INLINE void kernel(int64_t K, const float* A, int64_t sam, int64_t sak, const float* B, int64_t ldb,
                                 float* C, int64_t ldc, bool acc) {
    float c[R][16];
    for (int i = 0; i < R; i++)
      for (int j = 0; j < 16; j++) c[i][j] = acc ? C[i * ldc + j] : 0.f;
    for (int64_t k = 0; k < K; k++)
      for (int i = 0; i < R; i++)
        for (int j = 0; j < 16; j++) c[i][j] += A[i * sam + k * sak] * B[k * ldb + j];
    for (int i = 0; i < R; i++)
      for (int j = 0; j < 16; j++) C[i * ldc + j] = c[i][j];
  }
#endif

  static void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t sam, int64_t sak, const float* B,
                   int64_t ldb, float* C, int64_t ldc, bool acc) {
    for (int64_t n0 = 0; n0 < N; n0 += 16) {
      int64_t i = 0;
      for (; i + 2 <= M; i += 2) kernel<2>(K, A + i * sam, sam, sak, B + n0, ldb, C + i * ldc + n0, ldc, acc);
      if (i < M) kernel<1>(K, A + i * sam, sam, sak, B + n0, ldb, C + i * ldc + n0, ldc, acc);
    }
  }

  static void transpose8(const float* src, int64_t lds, float* dst, int64_t ldd) {
    for (int i = 0; i < 8; i++)
      for (int j = 0; j < 8; j++) dst[j * ldd + i] = src[i * lds + j];
  }

  static float row_max(const float* s, int64_t n) {
    float m = s[0];
    for (int64_t c = 1; c < n; c++) m = s[c] > m ? s[c] : m;
    return m;
  }

  static float exp2_row(float* s, int64_t n, int64_t width, float m) {
    float sum = 0.f;
    for (int64_t c = 0; c < n; c++) {
      s[c] = exp2(s[c] - m);
      sum += s[c];
    }
    for (int64_t c = n; c < width; c++) s[c] = 0.f;
    return sum;
  }

  static void bwd_row(float* s, float* dp, int64_t n, int64_t width, float lse2, float delta) {
    for (int64_t c = 0; c < n; c++) {
      const float p = exp2(s[c] * kLog2e - lse2);
      s[c] = p;
      dp[c] = p * (dp[c] - delta);
    }
    for (int64_t c = n; c < width; c++) s[c] = dp[c] = 0.f;
  }

  static float dot(const float* a, const float* b, int64_t n) {
    // Four partial sums: a single float accumulator is one long dependency chain and
    // the compiler may not reassociate it.
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
      for (int l = 0; l < 4; l++) acc[l] += a[i + l] * b[i + l];
    for (; i < n; i++) acc[0] += a[i] * b[i];
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
  }

  static void dots(const float* q, const float* K, int64_t ldk, int64_t n, int64_t D, float mul, float* out) {
    for (int64_t j = 0; j < n; j++) out[j] = mul * dot(q, K + j * ldk, D);
  }

  static void weighted_rows(const float* p, const float* V, int64_t ldv, int64_t n, int64_t D, float* out) {
    for (int64_t d = 0; d < D; d++) out[d] = 0.f;
    for (int64_t j = 0; j < n; j++) {
      const float pj = p[j];
      const float* v = V + j * ldv;
      for (int64_t d = 0; d < D; d++) out[d] += pj * v[d];
    }
  }
};

#if LLMF_X86
// ---------------------------------------------------------------------------------
// AVX2 + FMA: 6 rows × 16 columns (12 accumulators of the 16 ymm registers).
// ---------------------------------------------------------------------------------
struct OpsAvx2 {
  static LLMF_TARGET_AVX2 LLMF_INLINE __m256 exp2v(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-127.f)), _mm256_set1_ps(127.f));
    const __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256 f = _mm256_sub_ps(x, n);
    __m256 p = _mm256_set1_ps(kExp2P0);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2P1));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2P2));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2P3));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2P4));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2P5));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.f));
    // 2^n from the exponent bits; n = -127 gives 0.
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  }

  // Lanes [0, k) set, for tails.
  static LLMF_TARGET_AVX2 LLMF_INLINE __m256i lane_mask(int64_t k) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::min<int64_t>(k, 8))), idx);
  }

  static LLMF_TARGET_AVX2 LLMF_INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }

  static LLMF_TARGET_AVX2 LLMF_INLINE float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }

  template <int R>
  static LLMF_TARGET_AVX2 LLMF_INLINE void kernel(int64_t K, const float* A, int64_t sam, int64_t sak,
                                                  const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
    __m256 c[R][2];
    for (int i = 0; i < R; i++)
      for (int v = 0; v < 2; v++) c[i][v] = acc ? _mm256_loadu_ps(C + i * ldc + 8 * v) : _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
      const __m256 b0 = _mm256_loadu_ps(B + k * ldb), b1 = _mm256_loadu_ps(B + k * ldb + 8);
      for (int i = 0; i < R; i++) {
        const __m256 a = _mm256_broadcast_ss(A + i * sam + k * sak);
        c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
        c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
      }
    }
    for (int i = 0; i < R; i++)
      for (int v = 0; v < 2; v++) _mm256_storeu_ps(C + i * ldc + 8 * v, c[i][v]);
  }

  static LLMF_TARGET_AVX2 void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t sam, int64_t sak,
                                    const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
    for (int64_t n0 = 0; n0 < N; n0 += 16) {
      int64_t i = 0;
      for (; i + 6 <= M; i += 6) kernel<6>(K, A + i * sam, sam, sak, B + n0, ldb, C + i * ldc + n0, ldc, acc);
      const float* a = A + i * sam;
      float* c = C + i * ldc + n0;
      switch (M - i) {
        case 5: kernel<5>(K, a, sam, sak, B + n0, ldb, c, ldc, acc); break;
        case 4: kernel<4>(K, a, sam, sak, B + n0, ldb, c, ldc, acc); break;
        case 3: kernel<3>(K, a, sam, sak, B + n0, ldb, c, ldc, acc); break;
        case 2: kernel<2>(K, a, sam, sak, B + n0, ldb, c, ldc, acc); break;
        case 1: kernel<1>(K, a, sam, sak, B + n0, ldb, c, ldc, acc); break;
        default: break;
      }
    }
  }

  // 8×8 in-register transpose: 8 loads, 24 shuffles, 8 stores.
  static LLMF_TARGET_AVX2 LLMF_INLINE void transpose8_inl(const float* src, int64_t lds, float* dst, int64_t ldd) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * lds);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
      r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int j = 0; j < 4; j++) {
      _mm256_storeu_ps(dst + j * ldd, _mm256_permute2f128_ps(r[j], r[j + 4], 0x20));
      _mm256_storeu_ps(dst + (j + 4) * ldd, _mm256_permute2f128_ps(r[j], r[j + 4], 0x31));
    }
  }
  static LLMF_TARGET_AVX2 void transpose8(const float* src, int64_t lds, float* dst, int64_t ldd) {
    transpose8_inl(src, lds, dst, ldd);
  }

  static LLMF_TARGET_AVX2 float row_max(const float* s, int64_t n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int64_t c = 0;
    for (; c + 8 <= n; c += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(s + c));
    float r = hmax(m);
    for (; c < n; c++) r = s[c] > r ? s[c] : r;
    return r;
  }

  static LLMF_TARGET_AVX2 float exp2_row(float* s, int64_t n, int64_t width, float m) {
    const __m256 mv = _mm256_set1_ps(m);
    __m256 sum = _mm256_setzero_ps();
    for (int64_t c = 0; c < n; c += 8) {
      const __m256i valid = lane_mask(n - c);
      // Masked-off lanes are loaded as 0 and zeroed after the exp.
      __m256 p = exp2v(_mm256_sub_ps(_mm256_maskload_ps(s + c, valid), mv));
      p = _mm256_and_ps(p, _mm256_castsi256_ps(valid));
      sum = _mm256_add_ps(sum, p);
      _mm256_maskstore_ps(s + c, lane_mask(width - c), p);
    }
    for (int64_t c = (n + 7) / 8 * 8; c < width; c++) s[c] = 0.f;
    return hsum(sum);
  }

  static LLMF_TARGET_AVX2 void bwd_row(float* s, float* dp, int64_t n, int64_t width, float lse2, float delta) {
    const __m256 l2 = _mm256_set1_ps(lse2), dl = _mm256_set1_ps(delta), log2e = _mm256_set1_ps(kLog2e);
    for (int64_t c = 0; c < n; c += 8) {
      const __m256i valid = lane_mask(n - c), store = lane_mask(width - c);
      const __m256 sv = _mm256_maskload_ps(s + c, valid), dv = _mm256_maskload_ps(dp + c, valid);
      const __m256 p = _mm256_and_ps(exp2v(_mm256_fmsub_ps(sv, log2e, l2)), _mm256_castsi256_ps(valid));
      _mm256_maskstore_ps(s + c, store, p);
      _mm256_maskstore_ps(dp + c, store, _mm256_mul_ps(p, _mm256_sub_ps(dv, dl)));
    }
    for (int64_t c = (n + 7) / 8 * 8; c < width; c++) s[c] = dp[c] = 0.f;
  }

  static LLMF_TARGET_AVX2 float dot(const float* a, const float* b, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += 8) {
      const __m256i m = lane_mask(n - i);
      acc = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), acc);
    }
    return hsum(acc);
  }

  // Four keys at a time: four independent accumulator chains instead of one.
  static LLMF_TARGET_AVX2 void dots(const float* q, const float* K, int64_t ldk, int64_t n, int64_t D, float mul,
                                    float* out) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
      __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int64_t d = 0; d < D; d += 8) {
        const __m256i m = lane_mask(D - d);
        const __m256 qv = _mm256_maskload_ps(q + d, m);
        for (int i = 0; i < 4; i++) acc[i] = _mm256_fmadd_ps(qv, _mm256_maskload_ps(K + (j + i) * ldk + d, m), acc[i]);
      }
      for (int i = 0; i < 4; i++) out[j + i] = mul * hsum(acc[i]);
    }
    for (; j < n; j++) out[j] = mul * dot(q, K + j * ldk, D);
  }

  // Output columns in blocks of 32 held in registers across all n rows.
  static LLMF_TARGET_AVX2 void weighted_rows(const float* p, const float* V, int64_t ldv, int64_t n, int64_t D,
                                             float* out) {
    for (int64_t d0 = 0; d0 < D; d0 += 32) {
      __m256i m[4];
      __m256 acc[4];
      for (int v = 0; v < 4; v++) {
        m[v] = lane_mask(D - d0 - 8 * v);
        acc[v] = _mm256_setzero_ps();
      }
      for (int64_t j = 0; j < n; j++) {
        const __m256 pj = _mm256_broadcast_ss(p + j);
        const float* row = V + j * ldv + d0;
        for (int v = 0; v < 4; v++) acc[v] = _mm256_fmadd_ps(pj, _mm256_maskload_ps(row + 8 * v, m[v]), acc[v]);
      }
      for (int v = 0; v < 4; v++) _mm256_maskstore_ps(out + d0 + 8 * v, m[v], acc[v]);
    }
  }
};

// ---------------------------------------------------------------------------------
// AVX-512: 6 rows × 64 columns (24 accumulators of the 32 zmm registers).
// ---------------------------------------------------------------------------------
struct OpsAvx512 {
  static LLMF_TARGET_AVX512 LLMF_INLINE __m512 exp2v(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-127.f)), _mm512_set1_ps(127.f));
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(x, n);
    __m512 p = _mm512_set1_ps(kExp2P0);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2P1));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2P2));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2P3));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2P4));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2P5));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f));
    return _mm512_scalef_ps(p, n);  // p · 2^n
  }

  // Horizontal sum / max.
  static LLMF_TARGET_AVX512 LLMF_INLINE float hsum(__m512 v) {
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));  // fold the 256-bit halves
    return OpsAvx2::hsum(_mm512_castps512_ps256(v));
  }
  static LLMF_TARGET_AVX512 LLMF_INLINE float hmax(__m512 v) {
    v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));
    return OpsAvx2::hmax(_mm512_castps512_ps256(v));
  }

  static LLMF_TARGET_AVX512 LLMF_INLINE __mmask16 lane_mask(int64_t k) {
    return k >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (k > 0 ? k : 0)) - 1u);
  }

  template <int R, int NV>
  static LLMF_TARGET_AVX512 LLMF_INLINE void kernel(int64_t K, const float* A, int64_t sam, int64_t sak,
                                                    const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
    __m512 c[R][NV];
    for (int i = 0; i < R; i++)
      for (int v = 0; v < NV; v++) c[i][v] = acc ? _mm512_loadu_ps(C + i * ldc + 16 * v) : _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
      __m512 b[NV];
      for (int v = 0; v < NV; v++) b[v] = _mm512_loadu_ps(B + k * ldb + 16 * v);
      for (int i = 0; i < R; i++) {
        const __m512 a = _mm512_set1_ps(A[i * sam + k * sak]);
        for (int v = 0; v < NV; v++) c[i][v] = _mm512_fmadd_ps(a, b[v], c[i][v]);
      }
    }
    for (int i = 0; i < R; i++)
      for (int v = 0; v < NV; v++) _mm512_storeu_ps(C + i * ldc + 16 * v, c[i][v]);
  }

  template <int R>
  static LLMF_TARGET_AVX512 LLMF_INLINE void kernel_nv(int nv, int64_t K, const float* A, int64_t sam, int64_t sak,
                                                       const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
    switch (nv) {
      case 4: kernel<R, 4>(K, A, sam, sak, B, ldb, C, ldc, acc); break;
      case 3: kernel<R, 3>(K, A, sam, sak, B, ldb, C, ldc, acc); break;
      case 2: kernel<R, 2>(K, A, sam, sak, B, ldb, C, ldc, acc); break;
      default: kernel<R, 1>(K, A, sam, sak, B, ldb, C, ldc, acc); break;
    }
  }

  static LLMF_TARGET_AVX512 void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t sam, int64_t sak,
                                      const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
    for (int64_t n0 = 0; n0 < N; n0 += 64) {
      const int nv = static_cast<int>(std::min<int64_t>(4, (N - n0) / 16));
      int64_t i = 0;
      for (; i + 6 <= M; i += 6) kernel_nv<6>(nv, K, A + i * sam, sam, sak, B + n0, ldb, C + i * ldc + n0, ldc, acc);
      const float* a = A + i * sam;
      float* c = C + i * ldc + n0;
      switch (M - i) {
        case 5: kernel_nv<5>(nv, K, a, sam, sak, B + n0, ldb, c, ldc, acc); break;
        case 4: kernel_nv<4>(nv, K, a, sam, sak, B + n0, ldb, c, ldc, acc); break;
        case 3: kernel_nv<3>(nv, K, a, sam, sak, B + n0, ldb, c, ldc, acc); break;
        case 2: kernel_nv<2>(nv, K, a, sam, sak, B + n0, ldb, c, ldc, acc); break;
        case 1: kernel_nv<1>(nv, K, a, sam, sak, B + n0, ldb, c, ldc, acc); break;
        default: break;
      }
    }
  }

  static LLMF_TARGET_AVX512 void transpose8(const float* src, int64_t lds, float* dst, int64_t ldd) {
    OpsAvx2::transpose8_inl(src, lds, dst, ldd);
  }

  static LLMF_TARGET_AVX512 float row_max(const float* s, int64_t n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (int64_t c = 0; c < n; c += 16) m = _mm512_max_ps(m, _mm512_mask_loadu_ps(m, lane_mask(n - c), s + c));
    return hmax(m);
  }

  static LLMF_TARGET_AVX512 float exp2_row(float* s, int64_t n, int64_t width, float m) {
    const __m512 mv = _mm512_set1_ps(m);
    __m512 sum = _mm512_setzero_ps();
    int64_t c = 0;
    for (; c < n; c += 16) {
      const __mmask16 valid = lane_mask(n - c);
      const __m512 p = _mm512_maskz_mov_ps(valid, exp2v(_mm512_sub_ps(_mm512_maskz_loadu_ps(valid, s + c), mv)));
      sum = _mm512_add_ps(sum, p);
      _mm512_mask_storeu_ps(s + c, lane_mask(width - c), p);
    }
    for (; c < width; c += 16) _mm512_mask_storeu_ps(s + c, lane_mask(width - c), _mm512_setzero_ps());
    return hsum(sum);
  }

  static LLMF_TARGET_AVX512 void bwd_row(float* s, float* dp, int64_t n, int64_t width, float lse2, float delta) {
    const __m512 l2 = _mm512_set1_ps(lse2), dl = _mm512_set1_ps(delta), log2e = _mm512_set1_ps(kLog2e);
    int64_t c = 0;
    for (; c < n; c += 16) {
      const __mmask16 valid = lane_mask(n - c), store = lane_mask(width - c);
      const __m512 sv = _mm512_maskz_loadu_ps(valid, s + c), dv = _mm512_maskz_loadu_ps(valid, dp + c);
      const __m512 p = _mm512_maskz_mov_ps(valid, exp2v(_mm512_fmsub_ps(sv, log2e, l2)));
      _mm512_mask_storeu_ps(s + c, store, p);
      _mm512_mask_storeu_ps(dp + c, store, _mm512_mul_ps(p, _mm512_sub_ps(dv, dl)));
    }
    for (; c < width; c += 16) {
      const __mmask16 store = lane_mask(width - c);
      _mm512_mask_storeu_ps(s + c, store, _mm512_setzero_ps());
      _mm512_mask_storeu_ps(dp + c, store, _mm512_setzero_ps());
    }
  }

  static LLMF_TARGET_AVX512 float dot(const float* a, const float* b, int64_t n) {
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = lane_mask(n - i);
      acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc);
    }
    return hsum(acc);
  }

  // Four keys at a time: four independent accumulator chains instead of one.
  static LLMF_TARGET_AVX512 void dots(const float* q, const float* K, int64_t ldk, int64_t n, int64_t D, float mul,
                                      float* out) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
      __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int64_t d = 0; d < D; d += 16) {
        const __mmask16 m = lane_mask(D - d);
        const __m512 qv = _mm512_maskz_loadu_ps(m, q + d);
        for (int i = 0; i < 4; i++) acc[i] = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, K + (j + i) * ldk + d), acc[i]);
      }
      for (int i = 0; i < 4; i++) out[j + i] = mul * hsum(acc[i]);
    }
    for (; j < n; j++) out[j] = mul * dot(q, K + j * ldk, D);
  }

  // Output columns in blocks of 64 held in registers across all n rows; even and odd
  // rows use separate accumulators to halve the dependency chains.
  static LLMF_TARGET_AVX512 void weighted_rows(const float* p, const float* V, int64_t ldv, int64_t n, int64_t D,
                                               float* out) {
    for (int64_t d0 = 0; d0 < D; d0 += 64) {
      __mmask16 m[4];
      __m512 even[4], odd[4];
      for (int v = 0; v < 4; v++) {
        m[v] = lane_mask(D - d0 - 16 * v);
        even[v] = odd[v] = _mm512_setzero_ps();
      }
      int64_t j = 0;
      for (; j + 2 <= n; j += 2) {
        const __m512 p0 = _mm512_set1_ps(p[j]), p1 = _mm512_set1_ps(p[j + 1]);
        const float* r0 = V + j * ldv + d0;
        const float* r1 = r0 + ldv;
        for (int v = 0; v < 4; v++) {
          even[v] = _mm512_fmadd_ps(p0, _mm512_maskz_loadu_ps(m[v], r0 + 16 * v), even[v]);
          odd[v] = _mm512_fmadd_ps(p1, _mm512_maskz_loadu_ps(m[v], r1 + 16 * v), odd[v]);
        }
      }
      if (j < n) {
        const __m512 p0 = _mm512_set1_ps(p[j]);
        for (int v = 0; v < 4; v++)
          even[v] = _mm512_fmadd_ps(p0, _mm512_maskz_loadu_ps(m[v], V + j * ldv + d0 + 16 * v), even[v]);
      }
      for (int v = 0; v < 4; v++) _mm512_mask_storeu_ps(out + d0 + 16 * v, m[v], _mm512_add_ps(even[v], odd[v]));
    }
  }
};
#endif  // LLMF_X86

}  // namespace attn
}  // namespace llmf
