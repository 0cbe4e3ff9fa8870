// Pointwise activations: GELU (tanh approximation), SiLU, SwiGLU, forward and
// backward. One pass over memory each; the exp is the vector polynomial from
// ops_simd.h (~2e-7 relative), and tails run through the same vector code.
#include <napi.h>

#include "args.h"
#include "ops_simd.h"
#include "ops_bind.h"
#include "ops_util.h"
#include "registry.h"

namespace llmf {
namespace {

using namespace simd;

// exp-heavy, so threads pay off sooner than for plain elementwise kernels.
constexpr int64_t kMinPerThread = 1 << 12;

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluC = 0.044715f;

// GELU's 0.5·(1 + tanh(u)) equals sigmoid(2u), so gelu(x) = x·σ(2u) with
// u = √(2/π)·(x + 0.044715·x³): one exp, no cancellation in 1 + tanh for negative u.
template <int W>
struct GeluForwardBody {
  static LLMF_INLINE VF<W> f(const VF<W>& x) {
    VF<W> two_u = x * (2.0f * kSqrt2OverPi + (2.0f * kSqrt2OverPi * kGeluC) * (x * x));
    return x * vsigmoid<W>(two_u);
  }
  static LLMF_INLINE void run(const float* x, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) store<W>(out + i, f(load<W>(x + i)));
    if (i < n) store_part<W>(out + i, f(load_part<W>(x + i, n - i)), n - i);
  }
};

// σ(z) and 1 - σ(z). With e = exp(-z): σ = 1/(1 + e) and 1 - σ = e·σ, which keeps
// its relative precision where σ rounds to 1 (1.0f - σ would be 0 or one ulp there,
// and x·(1 - σ) would be off by a visible amount for x around 5).
template <int W>
struct Sigmoid {
  VF<W> s, one_minus_s;
};
template <int W>
LLMF_INLINE Sigmoid<W> sigmoid_pair(const VF<W>& z) {
  VF<W> e = vexp<W>(-z);
  VF<W> s = 1.0f / (1.0f + e);
  return {s, e * s};
}

// With s = σ(2u), tanh(u) = 2s - 1 and 1 - tanh² = 4s(1 - s), so
// gelu'(x) = s + 2x·s(1 - s)·u',  u' = √(2/π)·(1 + 3·0.044715·x²).
template <int W>
struct GeluBackwardBody {
  static LLMF_INLINE VF<W> f(const VF<W>& x, const VF<W>& dout, const VF<W>& dx) {
    VF<W> x2 = x * x;
    Sigmoid<W> sg = sigmoid_pair<W>(x * (2.0f * kSqrt2OverPi + (2.0f * kSqrt2OverPi * kGeluC) * x2));
    VF<W> du = kSqrt2OverPi + (3.0f * kSqrt2OverPi * kGeluC) * x2;
    return dx + dout * (sg.s + 2.0f * x * sg.s * sg.one_minus_s * du);
  }
  static LLMF_INLINE void run(const float* x, const float* dout, float* dx, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) store<W>(dx + i, f(load<W>(x + i), load<W>(dout + i), load<W>(dx + i)));
    if (i < n) {
      int64_t k = n - i;
      store_part<W>(dx + i, f(load_part<W>(x + i, k), load_part<W>(dout + i, k), load_part<W>(dx + i, k)), k);
    }
  }
};

template <int W>
struct SiluForwardBody {
  static LLMF_INLINE VF<W> f(const VF<W>& x) { return x * vsigmoid<W>(x); }
  static LLMF_INLINE void run(const float* x, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) store<W>(out + i, f(load<W>(x + i)));
    if (i < n) store_part<W>(out + i, f(load_part<W>(x + i, n - i)), n - i);
  }
};

// silu'(x) = σ(x)·(1 + x·(1 - σ(x))).
template <int W>
LLMF_INLINE VF<W> silu_grad(const VF<W>& x, const Sigmoid<W>& sg) {
  return sg.s * (1.0f + x * sg.one_minus_s);
}

template <int W>
struct SiluBackwardBody {
  static LLMF_INLINE VF<W> f(const VF<W>& x, const VF<W>& dout, const VF<W>& dx) {
    return dx + dout * silu_grad<W>(x, sigmoid_pair<W>(x));
  }
  static LLMF_INLINE void run(const float* x, const float* dout, float* dx, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) store<W>(dx + i, f(load<W>(x + i), load<W>(dout + i), load<W>(dx + i)));
    if (i < n) {
      int64_t k = n - i;
      store_part<W>(dx + i, f(load_part<W>(x + i, k), load_part<W>(dout + i, k), load_part<W>(dx + i, k)), k);
    }
  }
};

template <int W>
struct SwigluForwardBody {
  static LLMF_INLINE VF<W> f(const VF<W>& g, const VF<W>& up) { return g * vsigmoid<W>(g) * up; }
  static LLMF_INLINE void run(const float* gate, const float* up, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) store<W>(out + i, f(load<W>(gate + i), load<W>(up + i)));
    if (i < n) store_part<W>(out + i, f(load_part<W>(gate + i, n - i), load_part<W>(up + i, n - i)), n - i);
  }
};

// dgate += dout·up·silu'(gate), dup += dout·silu(gate); k lanes (k = W, or the tail).
template <int W>
struct SwigluBackwardBody {
  static LLMF_INLINE void step(const float* gate, const float* up, const float* dout, float* dgate, float* dup,
                               int64_t k) {
    bool full = k == W;
    VF<W> g = full ? load<W>(gate) : load_part<W>(gate, k);
    VF<W> u = full ? load<W>(up) : load_part<W>(up, k);
    VF<W> d = full ? load<W>(dout) : load_part<W>(dout, k);
    VF<W> dg = full ? load<W>(dgate) : load_part<W>(dgate, k);
    VF<W> du = full ? load<W>(dup) : load_part<W>(dup, k);
    Sigmoid<W> sg = sigmoid_pair<W>(g);
    dg = dg + d * u * silu_grad<W>(g, sg);
    du = du + d * (g * sg.s);
    if (full) {
      store<W>(dgate, dg);
      store<W>(dup, du);
    } else {
      store_part<W>(dgate, dg, k);
      store_part<W>(dup, du, k);
    }
  }
  static LLMF_INLINE void run(const float* gate, const float* up, const float* dout, float* dgate, float* dup,
                              int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) step(gate + i, up + i, dout + i, dgate + i, dup + i, W);
    if (i < n) step(gate + i, up + i, dout + i, dgate + i, dup + i, n - i);
  }
};

// ---- N-API bindings -------------------------------------------------------------

Napi::Value GeluForward(const Napi::CallbackInfo& info) { return map1<GeluForwardBody>(info, "geluForward", kMinPerThread); }
Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  return map1_backward<GeluBackwardBody>(info, "geluBackward", kMinPerThread);
}
Napi::Value SiluForward(const Napi::CallbackInfo& info) { return map1<SiluForwardBody>(info, "siluForward", kMinPerThread); }
Napi::Value SiluBackward(const Napi::CallbackInfo& info) {
  return map1_backward<SiluBackwardBody>(info, "siluBackward", kMinPerThread);
}
Napi::Value SwigluForward(const Napi::CallbackInfo& info) {
  return map2<SwigluForwardBody>(info, "swigluForward", "gate", "up", kMinPerThread);
}
Napi::Value SwigluBackward(const Napi::CallbackInfo& info) {
  return map2_backward<SwigluBackwardBody>(info, "swigluBackward", "gate", "up", kMinPerThread);
}

}  // namespace

LLMF_EXPORT("geluForward", GeluForward);
LLMF_EXPORT("geluBackward", GeluBackward);
LLMF_EXPORT("siluForward", SiluForward);
LLMF_EXPORT("siluBackward", SiluBackward);
LLMF_EXPORT("swigluForward", SwigluForward);
LLMF_EXPORT("swigluBackward", SwigluBackward);

}  // namespace llmf
