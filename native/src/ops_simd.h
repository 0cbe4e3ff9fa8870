// SIMD building blocks for the pointwise and row kernels (everything but matmul and
// attention).
//
// Each kernel body is written once, as a struct template over a lane count W whose
// static `run` is always_inline and uses the vector types below (GCC/Clang vector
// extensions). simd_call<Body>(args...) calls Body<W>::run from an entry function
// compiled for the active ISA: W = 16 under the AVX-512 target attribute, 8 under
// AVX2, and kPortableW = 4 without one (SSE2 on x86-64, NEON on AArch64). Inlining a
// default-target body into a target function is allowed, and generic vectors are
// lowered after inlining, so one source gives zmm, ymm or xmm code. Compilers without
// vector extensions (MSVC) get small structs with the same operators instead
// (LLMF_EMULATE_VECTORS forces that on GCC, to test it).
//
// Rules for bodies, so that all their code lands inside the target function:
// only always_inline helpers, no lambdas. Helpers take vectors by const reference
// (free once inlined), which keeps GCC from noting ABI changes for 64-byte vector
// parameters on every build.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu.h"

#if (defined(__GNUC__) || defined(__clang__)) && !defined(LLMF_EMULATE_VECTORS)
#define LLMF_VECTOR_EXT 1
#define LLMF_NOINLINE __attribute__((noinline))
#else
#define LLMF_VECTOR_EXT 0
#if defined(_MSC_VER)
#define LLMF_NOINLINE __declspec(noinline)
#elif defined(__GNUC__)
#define LLMF_NOINLINE __attribute__((noinline))
#else
#define LLMF_NOINLINE
#endif
#endif

#if defined(__GNUC__) && !defined(__clang__)
// "AVX vector return without AVX enabled changes the ABI": true, and irrelevant,
// because every function taking a vector is inlined into a caller of its ISA.
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace llmf {
namespace simd {

#if LLMF_VECTOR_EXT
// F: W floats; I: W int32 (masks, exponent bits); D: W/2 doubles, the same register
// width as F (wider generic vectors make GCC keep accumulators in memory).
template <int W>
struct Vec;
template <>
struct Vec<16> {
  typedef float F __attribute__((vector_size(64)));
  typedef float H __attribute__((vector_size(32)));  // half of F
  typedef int32_t I __attribute__((vector_size(64)));
  typedef double D __attribute__((vector_size(64)));
  static I iota() { return I{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}; }
};
template <>
struct Vec<8> {
  typedef float F __attribute__((vector_size(32)));
  typedef float H __attribute__((vector_size(16)));
  typedef int32_t I __attribute__((vector_size(32)));
  typedef double D __attribute__((vector_size(32)));
  static I iota() { return I{0, 1, 2, 3, 4, 5, 6, 7}; }
};
template <>
struct Vec<4> {
  typedef float F __attribute__((vector_size(16)));
  typedef float H __attribute__((vector_size(8)));
  typedef int32_t I __attribute__((vector_size(16)));
  typedef double D __attribute__((vector_size(16)));
  static I iota() { return I{0, 1, 2, 3}; }
};
// The portable path: 128-bit vectors are baseline on x86-64 (SSE2) and AArch64 (NEON).
constexpr int kPortableW = 4;

#else
// Lane arrays with the vector-extension operators the kernels use (elementwise
// arithmetic, scalar broadcast, comparisons giving all-ones/zero int lanes, shifts).
template <class T, int N>
struct Lanes {
  T v[N];
  T operator[](int i) const { return v[i]; }
  T& operator[](int i) { return v[i]; }
};
#define LLMF_LANES_BINOP(OP, R)                                                                     \
  template <class T, int N>                                                                         \
  LLMF_INLINE Lanes<R, N> operator OP(const Lanes<T, N>& a, const Lanes<T, N>& b) {                 \
    Lanes<R, N> r;                                                                                  \
    for (int i = 0; i < N; i++) r.v[i] = static_cast<R>(a.v[i] OP b.v[i]);                          \
    return r;                                                                                       \
  }                                                                                                 \
  template <class T, int N>                                                                         \
  LLMF_INLINE Lanes<R, N> operator OP(const Lanes<T, N>& a, T b) {                                  \
    Lanes<R, N> r;                                                                                  \
    for (int i = 0; i < N; i++) r.v[i] = static_cast<R>(a.v[i] OP b);                               \
    return r;                                                                                       \
  }                                                                                                 \
  template <class T, int N>                                                                         \
  LLMF_INLINE Lanes<R, N> operator OP(T a, const Lanes<T, N>& b) {                                  \
    Lanes<R, N> r;                                                                                  \
    for (int i = 0; i < N; i++) r.v[i] = static_cast<R>(a OP b.v[i]);                               \
    return r;                                                                                       \
  }
LLMF_LANES_BINOP(+, T)
LLMF_LANES_BINOP(-, T)
LLMF_LANES_BINOP(*, T)
LLMF_LANES_BINOP(/, T)
LLMF_LANES_BINOP(&, T)
LLMF_LANES_BINOP(|, T)
#undef LLMF_LANES_BINOP
#define LLMF_LANES_CMP(OP)                                                                          \
  template <class T, int N>                                                                         \
  LLMF_INLINE Lanes<int32_t, N> operator OP(const Lanes<T, N>& a, const Lanes<T, N>& b) {           \
    Lanes<int32_t, N> r;                                                                            \
    for (int i = 0; i < N; i++) r.v[i] = a.v[i] OP b.v[i] ? -1 : 0;                                 \
    return r;                                                                                       \
  }                                                                                                 \
  template <class T, int N>                                                                         \
  LLMF_INLINE Lanes<int32_t, N> operator OP(const Lanes<T, N>& a, T b) {                            \
    Lanes<int32_t, N> r;                                                                            \
    for (int i = 0; i < N; i++) r.v[i] = a.v[i] OP b ? -1 : 0;                                      \
    return r;                                                                                       \
  }
LLMF_LANES_CMP(<)
LLMF_LANES_CMP(>)
#undef LLMF_LANES_CMP
template <class T, int N>
LLMF_INLINE Lanes<T, N> operator-(const Lanes<T, N>& a) {
  return T(0) - a;
}
template <class T, int N>
LLMF_INLINE Lanes<T, N> operator~(const Lanes<T, N>& a) {
  Lanes<T, N> r;
  for (int i = 0; i < N; i++) r.v[i] = ~a.v[i];
  return r;
}
template <class T, int N>
LLMF_INLINE Lanes<T, N> operator<<(const Lanes<T, N>& a, int s) {
  Lanes<T, N> r;
  for (int i = 0; i < N; i++) r.v[i] = static_cast<T>(static_cast<uint32_t>(a.v[i]) << s);
  return r;
}
template <class T, int N>
LLMF_INLINE Lanes<T, N>& operator+=(Lanes<T, N>& a, const Lanes<T, N>& b) {
  return a = a + b;
}

template <int W>
struct Vec {
  typedef Lanes<float, W> F;
  typedef Lanes<int32_t, W> I;
  typedef Lanes<double, W / 2> D;
  static I iota() {
    I r;
    for (int i = 0; i < W; i++) r.v[i] = i;
    return r;
  }
};
constexpr int kPortableW = 4;
#endif

template <int W> using VF = typename Vec<W>::F;
template <int W> using VI = typename Vec<W>::I;
template <int W> using VD = typename Vec<W>::D;

// ---- loads, stores, lanes -------------------------------------------------------
// memcpy is the portable unaligned load/store; compilers turn it into one vmovups.

template <int W>
LLMF_INLINE VF<W> splat(float s) {
  return VF<W>{} + s;
}
template <int W>
LLMF_INLINE VF<W> load(const float* p) {
  VF<W> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <int W>
LLMF_INLINE void store(float* p, const VF<W>& v) {
  std::memcpy(p, &v, sizeof v);
}
template <int W>
LLMF_INLINE VD<W> load_f64(const double* p) {
  VD<W> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <int W>
LLMF_INLINE void store_f64(double* p, const VD<W>& v) {
  std::memcpy(p, &v, sizeof v);
}
// The first k (< W) lanes from p, the rest `fill`: row tails go through the same
// vector code as full vectors, so a result never depends on where a chunk ends.
template <int W>
LLMF_INLINE VF<W> load_part(const float* p, int64_t k, float fill = 0.0f) {
  float tmp[W];
  for (int i = 0; i < W; i++) tmp[i] = fill;
  std::memcpy(tmp, p, static_cast<size_t>(k) * sizeof(float));
  return load<W>(tmp);
}
template <int W>
LLMF_INLINE void store_part(float* p, const VF<W>& v, int64_t k) {
  float tmp[W];
  store<W>(tmp, v);
  std::memcpy(p, tmp, static_cast<size_t>(k) * sizeof(float));
}

template <class V>
LLMF_INLINE auto lane(const V& v, int i) {
  return v[i];
}

template <int W>
LLMF_INLINE VF<W> bits_to_float(const VI<W>& i) {
  VF<W> f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}
#if LLMF_VECTOR_EXT
template <int W>
LLMF_INLINE VI<W> to_int(const VF<W>& v) {  // truncates toward zero
  return __builtin_convertvector(v, VI<W>);
}
// The low and high halves of v, widened to double.
template <int W>
LLMF_INLINE VD<W> lo_f64(const VF<W>& v) {
  typename Vec<W>::H h;
  std::memcpy(&h, &v, sizeof h);
  return __builtin_convertvector(h, VD<W>);
}
template <int W>
LLMF_INLINE VD<W> hi_f64(const VF<W>& v) {
  typename Vec<W>::H h;
  std::memcpy(&h, reinterpret_cast<const char*>(&v) + sizeof h, sizeof h);
  return __builtin_convertvector(h, VD<W>);
}
#else
template <int W>
LLMF_INLINE VI<W> to_int(const VF<W>& v) {
  VI<W> r;
  for (int i = 0; i < W; i++) r.v[i] = static_cast<int32_t>(v.v[i]);
  return r;
}
template <int W>
LLMF_INLINE VD<W> lo_f64(const VF<W>& v) {
  VD<W> r;
  for (int i = 0; i < W / 2; i++) r.v[i] = v.v[i];
  return r;
}
template <int W>
LLMF_INLINE VD<W> hi_f64(const VF<W>& v) {
  VD<W> r;
  for (int i = 0; i < W / 2; i++) r.v[i] = v.v[W / 2 + i];
  return r;
}
#endif
// acc[0, W) += v in float64 (acc is a double array, e.g. a partial column sum).
template <int W>
LLMF_INLINE void accumulate_f64(double* acc, const VF<W>& v) {
  store_f64<W>(acc, load_f64<W>(acc) + lo_f64<W>(v));
  store_f64<W>(acc + W / 2, load_f64<W>(acc + W / 2) + hi_f64<W>(v));
}
// mask lanes are all-ones or zero, as vector comparisons produce.
template <int W>
LLMF_INLINE VF<W> select(const VI<W>& mask, const VF<W>& a, const VF<W>& b) {
#if defined(__clang__) || !LLMF_VECTOR_EXT
  VI<W> ia, ib;
  std::memcpy(&ia, &a, sizeof a);
  std::memcpy(&ib, &b, sizeof b);
  return bits_to_float<W>((ia & mask) | (ib & ~mask));
#else
  return mask ? a : b;
#endif
}

// max/min written so that x86 maxps/minps implement them exactly (they return the
// second operand when either is NaN): vmax(a, b) is b when a is NaN, and vice versa.
template <int W>
LLMF_INLINE VF<W> vmax(const VF<W>& a, const VF<W>& b) {
  return select<W>(a > b, a, b);
}
template <int W>
LLMF_INLINE VF<W> vmin(const VF<W>& a, const VF<W>& b) {
  return select<W>(a < b, a, b);
}
// acc[0, W) += v.
template <int W>
LLMF_INLINE void accumulate(float* acc, const VF<W>& v) {
  store<W>(acc, load<W>(acc) + v);
}

// Column sums over many rows (weight and bias gradients): each row adds into a float
// partial row (one add per vector), and every kFlushRows rows the float row is added
// into a float64 row and cleared, so float rounding never builds up over more than
// kFlushRows terms while the per-row cost stays that of float.
constexpr int64_t kFlushRows = 32;
template <int W>
LLMF_INLINE void flush_partial(float* f, double* d, int64_t len) {  // len: a multiple of W
  for (int64_t j = 0; j < len; j += W) {
    accumulate_f64<W>(d + j, load<W>(f + j));
    store<W>(f + j, VF<W>{});
  }
}

// Lanes [0, k) set, for masking a partial last vector.
template <int W>
LLMF_INLINE auto first_lanes(int64_t k) {
  return Vec<W>::iota() < static_cast<int32_t>(k);
}

// Horizontal reductions in a fixed lane order (determinism).
template <int W>
LLMF_INLINE double hsum(const VF<W>& v) {
  double s = 0;
  for (int i = 0; i < W; i++) s += lane(v, i);
  return s;
}
template <int W>
LLMF_INLINE double hsum_f64(const VD<W>& v) {
  double s = 0;
  for (int i = 0; i < W / 2; i++) s += lane(v, i);
  return s;
}
template <int W>
LLMF_INLINE float hmax(const VF<W>& v) {
  float m = lane(v, 0);
  for (int i = 1; i < W; i++) m = lane(v, i) > m ? lane(v, i) : m;
  return m;
}

// Lane-wise sqrt; with -fno-math-errno the compiler turns the lane loop into one
// vsqrtps of the function's ISA.
template <int W>
LLMF_INLINE VF<W> vsqrt(const VF<W>& v) {
  float tmp[W];
  store<W>(tmp, v);
  for (int i = 0; i < W; i++) tmp[i] = std::sqrt(tmp[i]);
  return load<W>(tmp);
}

// ---- transcendental functions ---------------------------------------------------

// exp(x), Cephes-style: x = n·ln2 + r with |r| <= ln2/2, exp(r) by a degree-6
// polynomial, 2^n built in the exponent bits. Relative error ~2e-7 for
// x in [-87.3, 88]; above, saturates at exp(88) ~ 1.65e38, so 1 + e and e·σ(x) stay
// finite in sigmoid-style uses; below (including -inf), exactly 0; NaN stays NaN.
template <int W>
LLMF_INLINE VF<W> vexp(const VF<W>& x) {
  const VF<W> lo = splat<W>(-87.33654f), hi = splat<W>(88.0f);
  // Clamp (one maxps and one minps); a NaN x passes through and makes the result NaN.
  VF<W> xc = vmin<W>(hi, vmax<W>(lo, x));
  // Round x·log2(e) to the nearest integer: adding and subtracting 1.5·2^23 leaves
  // no fraction bits (|value| < 2^22 here).
  VF<W> n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  // r = x - n·ln2, with ln2 split in two so the product is exact in the first part.
  VF<W> r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  VF<W> p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  VF<W> scale = bits_to_float<W>((to_int<W>(n) + 127) << 23);
  return select<W>(x < lo, VF<W>{}, p * scale);
}

// 1 / (1 + exp(-x)). Exact limits: 0 for x -> -inf, 1 for x -> +inf.
template <int W>
LLMF_INLINE VF<W> vsigmoid(const VF<W>& x) {
  return 1.0f / (1.0f + vexp<W>(-x));
}

// ---- dispatch ---------------------------------------------------------------------

// The entry points are static: each translation unit gets its own copies, so bodies
// of the same name in two files (anonymous namespaces mangle alike) never merge.
#if LLMF_X86
template <template <int> class Body, class... A>
LLMF_TARGET_AVX512 LLMF_NOINLINE static void run_avx512(A... a) {
  Body<16>::run(a...);
}
template <template <int> class Body, class... A>
LLMF_TARGET_AVX2 LLMF_NOINLINE static void run_avx2(A... a) {
  Body<8>::run(a...);
}
#endif
template <template <int> class Body, class... A>
LLMF_NOINLINE static void run_portable(A... a) {
  Body<kPortableW>::run(a...);
}

// Body<W>::run(args...) for the active ISA. Called per thread chunk (a lambda does not
// inherit a target attribute, so dispatch happens inside the parallel region).
template <template <int> class Body, class... A>
static inline void simd_call(A... a) {
#if LLMF_X86
  switch (active_isa()) {
    case Isa::Avx512: return run_avx512<Body>(a...);
    case Isa::Avx2: return run_avx2<Body>(a...);
    default: break;
  }
#endif
  run_portable<Body>(a...);
}

}  // namespace simd
}  // namespace llmf
