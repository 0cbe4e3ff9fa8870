// Softmax cross-entropy (fused with its gradient) and token log-probabilities over
// rows of logits. Rows are split over threads; each row is visited three times (max,
// Σ exp, write), and a row of even a 50k vocabulary (200 KB) stays in L2 between the
// visits, so main memory sees one read and one write of the logits.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "args.h"
#include "ops_simd.h"
#include "ops_util.h"
#include "registry.h"

namespace llmf {
namespace {

using namespace simd;

constexpr int64_t kMinElemsPerThread = 1 << 14;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Vectors of exps summed in float before the partial sum moves to float64.
constexpr int64_t kSumBlock = 64;

struct RowStats {
  float max;
  double sum;  // Σ exp(x - max)
  double lse() const { return max + std::log(sum); }
};

// Max, then Σ exp(x - max) of one row; tail lanes are filled with -inf, which
// vexp maps to exactly 0.
template <int W>
LLMF_INLINE RowStats row_stats(const float* x, int64_t vocab) {
  VF<W> m0 = splat<W>(kNegInf), m1 = m0;
  int64_t j = 0;
  for (; j + 2 * W <= vocab; j += 2 * W) {
    m0 = vmax<W>(m0, load<W>(x + j));
    m1 = vmax<W>(m1, load<W>(x + j + W));
  }
  for (; j < vocab; j += W)
    m0 = vmax<W>(m0, j + W <= vocab ? load<W>(x + j) : load_part<W>(x + j, vocab - j, kNegInf));
  float m = hmax<W>(vmax<W>(m0, m1));

  // Float lanes summed over blocks of kSumBlock vectors, each block's sum added in
  // float64: float adds keep the exp loop cheap, the blocks keep the rounding small.
  VD<W> total = VD<W>{};
  for (j = 0; j < vocab;) {
    const int64_t end = std::min(vocab, j + kSumBlock * W);
    VF<W> s0 = VF<W>{}, s1 = VF<W>{};
    for (; j + 2 * W <= end; j += 2 * W) {
      s0 += vexp<W>(load<W>(x + j) - m);
      s1 += vexp<W>(load<W>(x + j + W) - m);
    }
    for (; j < end; j += W) s0 += vexp<W>((j + W <= vocab ? load<W>(x + j) : load_part<W>(x + j, vocab - j, kNegInf)) - m);
    VF<W> s = s0 + s1;
    total += lo_f64<W>(s) + hi_f64<W>(s);
  }
  return {m, hsum_f64<W>(total)};
}

// out[j] = exp(x[j] - max)·scale (+ out[j] when kAccumulate). out may be x.
template <int W, bool kAccumulate>
LLMF_INLINE void write_scaled_softmax(const float* x, float* out, int64_t vocab, float max, float scale) {
  int64_t j = 0;
  for (; j + W <= vocab; j += W) {
    VF<W> p = vexp<W>(load<W>(x + j) - max) * scale;
    store<W>(out + j, kAccumulate ? load<W>(out + j) + p : p);
  }
  if (j < vocab) {
    int64_t k = vocab - j;
    VF<W> p = vexp<W>(load_part<W>(x + j, k) - max) * scale;
    store_part<W>(out + j, kAccumulate ? load_part<W>(out + j, k) + p : p, k);
  }
}

template <int W>
struct CrossEntropyBody {
  static LLMF_INLINE void run(const float* logits, const int32_t* targets, float* losses, float* dlogits, int64_t r0,
                              int64_t r1, int64_t vocab, float grad_scale) {
    for (int64_t r = r0; r < r1; r++) {
      const float* x = logits + r * vocab;
      float* g = dlogits ? dlogits + r * vocab : nullptr;
      int32_t t = targets[r];
      if (t < 0) {
        losses[r] = 0.0f;
        if (g) std::memset(g, 0, sizeof(float) * static_cast<size_t>(vocab));
        continue;
      }
      RowStats st = row_stats<W>(x, vocab);
      // Read the target logit before the gradient may overwrite it (dlogits may be logits).
      losses[r] = static_cast<float>(st.lse() - x[t]);
      if (g) {
        write_scaled_softmax<W, false>(x, g, vocab, st.max, static_cast<float>(grad_scale / st.sum));
        g[t] -= grad_scale;
      }
    }
  }
};

template <int W>
struct LogprobForwardBody {
  static LLMF_INLINE void run(const float* logits, const int32_t* targets, float* logp, int64_t r0, int64_t r1,
                              int64_t vocab) {
    for (int64_t r = r0; r < r1; r++) {
      int32_t t = targets[r];
      const float* x = logits + r * vocab;
      logp[r] = t < 0 ? 0.0f : static_cast<float>(x[t] - row_stats<W>(x, vocab).lse());
    }
  }
};

template <int W>
struct LogprobBackwardBody {
  static LLMF_INLINE void run(const float* logits, const int32_t* targets, const float* dlogp, float* dlogits,
                              int64_t r0, int64_t r1, int64_t vocab) {
    for (int64_t r = r0; r < r1; r++) {
      int32_t t = targets[r];
      if (t < 0) continue;
      const float* x = logits + r * vocab;
      float* g = dlogits + r * vocab;
      RowStats st = row_stats<W>(x, vocab);
      write_scaled_softmax<W, true>(x, g, vocab, st.max, static_cast<float>(-dlogp[r] / st.sum));
      g[t] += dlogp[r];
    }
  }
};

// Throws unless every target is < vocab; returns how many are >= 0 (not ignored).
int64_t check_targets(const Napi::CallbackInfo& info, const char* op, const I32Arg& targets, int64_t rows,
                      int64_t vocab) {
  int64_t count = 0;
  for (int64_t i = 0; i < rows; i++) {
    int32_t t = targets.data[i];
    if (t >= vocab)
      throw Napi::RangeError::New(info.Env(), std::string(op) + ": target " + std::to_string(t) + " at row " +
                                                  std::to_string(i) + " is out of range [0, " +
                                                  std::to_string(vocab) + ")");
    count += t >= 0;
  }
  return count;
}

int threads_for(int64_t rows, int64_t vocab) {
  return plan_threads(rows, std::max<int64_t>(1, kMinElemsPerThread / vocab));
}

// ---- N-API bindings -------------------------------------------------------------

// crossEntropyForwardBackward(logits, targets, losses, dlogits|null, rows, vocab, gradScale) → count
Napi::Value CrossEntropyForwardBackward(const Napi::CallbackInfo& info) {
  const char* op = "crossEntropyForwardBackward";
  F32Arg logits = f32_arg(info, op, 0);
  I32Arg targets = i32_arg(info, op, 1);
  F32Arg losses = f32_arg(info, op, 2), dlogits = f32_arg_optional(info, op, 3);
  int64_t rows = int_arg(info, op, 4), vocab = int_arg(info, op, 5, 1);
  float grad_scale = static_cast<float>(num_arg(info, op, 6));
  int64_t n = checked_mul(info, op, rows, vocab);
  require_length(info, op, "logits", logits, n);
  require_length(info, op, "targets", targets, rows);
  require_length(info, op, "losses", losses, rows);
  if (dlogits.data) require_length(info, op, "dlogits", dlogits, n);
  int64_t count = check_targets(info, op, targets, rows, vocab);
  parallel_chunks(rows, threads_for(rows, vocab), 1, [&](int, int64_t r0, int64_t r1) {
    simd_call<CrossEntropyBody>(static_cast<const float*>(logits.data), static_cast<const int32_t*>(targets.data),
                                losses.data, dlogits.data, r0, r1, vocab, grad_scale);
  });
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

// logprobForward(logits, targets, logp, rows, vocab)
Napi::Value LogprobForward(const Napi::CallbackInfo& info) {
  const char* op = "logprobForward";
  F32Arg logits = f32_arg(info, op, 0);
  I32Arg targets = i32_arg(info, op, 1);
  F32Arg logp = f32_arg(info, op, 2);
  int64_t rows = int_arg(info, op, 3), vocab = int_arg(info, op, 4, 1);
  require_length(info, op, "logits", logits, checked_mul(info, op, rows, vocab));
  require_length(info, op, "targets", targets, rows);
  require_length(info, op, "logp", logp, rows);
  check_targets(info, op, targets, rows, vocab);
  parallel_chunks(rows, threads_for(rows, vocab), 1, [&](int, int64_t r0, int64_t r1) {
    simd_call<LogprobForwardBody>(static_cast<const float*>(logits.data), static_cast<const int32_t*>(targets.data),
                                  logp.data, r0, r1, vocab);
  });
  return info.Env().Undefined();
}

// logprobBackward(logits, targets, dlogp, dlogits, rows, vocab)
Napi::Value LogprobBackward(const Napi::CallbackInfo& info) {
  const char* op = "logprobBackward";
  F32Arg logits = f32_arg(info, op, 0);
  I32Arg targets = i32_arg(info, op, 1);
  F32Arg dlogp = f32_arg(info, op, 2), dlogits = f32_arg(info, op, 3);
  int64_t rows = int_arg(info, op, 4), vocab = int_arg(info, op, 5, 1);
  int64_t n = checked_mul(info, op, rows, vocab);
  require_length(info, op, "logits", logits, n);
  require_length(info, op, "targets", targets, rows);
  require_length(info, op, "dlogp", dlogp, rows);
  require_length(info, op, "dlogits", dlogits, n);
  check_targets(info, op, targets, rows, vocab);
  parallel_chunks(rows, threads_for(rows, vocab), 1, [&](int, int64_t r0, int64_t r1) {
    simd_call<LogprobBackwardBody>(static_cast<const float*>(logits.data), static_cast<const int32_t*>(targets.data),
                                   static_cast<const float*>(dlogp.data), dlogits.data, r0, r1, vocab);
  });
  return info.Env().Undefined();
}

}  // namespace

LLMF_EXPORT("crossEntropyForwardBackward", CrossEntropyForwardBackward);
LLMF_EXPORT("logprobForward", LogprobForward);
LLMF_EXPORT("logprobBackward", LogprobBackward);

}  // namespace llmf
