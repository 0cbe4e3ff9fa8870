// AdamW: one fused, memory-bound pass over the parameters (reads p, g, m, v; writes
// p, m, v). Bias corrections are computed once per call in double.
#include <napi.h>

#include <cmath>

#include "args.h"
#include "ops_simd.h"
#include "ops_util.h"
#include "registry.h"

namespace llmf {
namespace {

using namespace simd;

constexpr int64_t kMinPerThread = 1 << 14;
constexpr int64_t kGrain = 16;

struct AdamwConsts {
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float step_size;        // lr / (1 - β1^step)
  float inv_sqrt_bc2;     // 1 / sqrt(1 - β2^step)
  float eps;
  float decay;            // lr · weightDecay
  float grad_scale;
};

// p -= lr·(m̂ / (sqrt(v̂) + eps) + wd·p), with m̂ = m/bc1 and sqrt(v̂) = sqrt(v)/sqrt(bc2).
template <int W>
LLMF_INLINE void adamw_step(float* p, const float* g, float* m, float* v, const AdamwConsts& c, int64_t k) {
  bool full = k == W;
  VF<W> gv = (full ? load<W>(g) : load_part<W>(g, k)) * c.grad_scale;
  VF<W> mv = c.beta1 * (full ? load<W>(m) : load_part<W>(m, k)) + c.one_minus_beta1 * gv;
  VF<W> vv = c.beta2 * (full ? load<W>(v) : load_part<W>(v, k)) + c.one_minus_beta2 * (gv * gv);
  VF<W> pv = full ? load<W>(p) : load_part<W>(p, k);
  pv = pv - c.decay * pv - c.step_size * mv / (vsqrt<W>(vv) * c.inv_sqrt_bc2 + c.eps);
  if (full) {
    store<W>(m, mv);
    store<W>(v, vv);
    store<W>(p, pv);
  } else {
    store_part<W>(m, mv, k);
    store_part<W>(v, vv, k);
    store_part<W>(p, pv, k);
  }
}

template <int W>
struct AdamwBody {
  static LLMF_INLINE void run(float* p, const float* g, float* m, float* v, int64_t n, const AdamwConsts* c) {
    int64_t i = 0;
    for (; i + W <= n; i += W) adamw_step<W>(p + i, g + i, m + i, v + i, *c, W);
    if (i < n) adamw_step<W>(p + i, g + i, m + i, v + i, *c, n - i);
  }
};

// adamw(param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step, gradScale)
Napi::Value Adamw(const Napi::CallbackInfo& info) {
  const char* op = "adamw";
  F32Arg param = f32_arg(info, op, 0), grad = f32_arg(info, op, 1), m = f32_arg(info, op, 2), v = f32_arg(info, op, 3);
  int64_t n = int_arg(info, op, 4);
  double lr = num_arg(info, op, 5), beta1 = num_arg(info, op, 6), beta2 = num_arg(info, op, 7);
  double eps = num_arg(info, op, 8), weight_decay = num_arg(info, op, 9);
  int64_t step = int_arg(info, op, 10, 1);
  double grad_scale = num_arg(info, op, 11);
  require_length(info, op, "param", param, n);
  require_length(info, op, "grad", grad, n);
  require_length(info, op, "m", m, n);
  require_length(info, op, "v", v, n);

  double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  AdamwConsts c;
  c.beta1 = static_cast<float>(beta1);
  c.one_minus_beta1 = static_cast<float>(1.0 - beta1);
  c.beta2 = static_cast<float>(beta2);
  c.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  c.step_size = static_cast<float>(lr / bc1);
  c.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  c.eps = static_cast<float>(eps);
  c.decay = static_cast<float>(lr * weight_decay);
  c.grad_scale = static_cast<float>(grad_scale);
  const AdamwConsts* cp = &c;
  parallel_chunks(n, plan_threads(n, kMinPerThread), kGrain, [&](int, int64_t i0, int64_t i1) {
    simd_call<AdamwBody>(param.data + i0, static_cast<const float*>(grad.data + i0), m.data + i0, v.data + i0, i1 - i0,
                         cp);
  });
  return info.Env().Undefined();
}

}  // namespace

LLMF_EXPORT("adamw", Adamw);

}  // namespace llmf
