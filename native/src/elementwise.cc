// Elementwise kernels and reductions: add, mul, mulBackward, axpy, scaleInPlace,
// addBias, biasBackward, sum, sumSquares. All are memory-bound single passes; outputs
// may alias inputs (each element is read before it is written), so no restrict.
#include <napi.h>

#include "args.h"
#include "ops_simd.h"
#include "ops_bind.h"
#include "ops_util.h"
#include "registry.h"

namespace llmf {
namespace {

using namespace simd;

// Below this many elements per thread, waking a worker costs more than it saves.
constexpr int64_t kMinPerThread = 1 << 14;
// Chunk boundaries on whole cache lines.
constexpr int64_t kGrain = 16;
// sum/sumSquares add fixed blocks, then the block sums in order, so the result does
// not depend on the thread count.
constexpr int64_t kSumBlock = 8192;

template <int W>
struct AddBody {
  static LLMF_INLINE void run(const float* a, const float* b, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) store<W>(out + i, load<W>(a + i) + load<W>(b + i));
    if (i < n) store_part<W>(out + i, load_part<W>(a + i, n - i) + load_part<W>(b + i, n - i), n - i);
  }
};

template <int W>
struct MulBody {
  static LLMF_INLINE void run(const float* a, const float* b, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) store<W>(out + i, load<W>(a + i) * load<W>(b + i));
    if (i < n) store_part<W>(out + i, load_part<W>(a + i, n - i) * load_part<W>(b + i, n - i), n - i);
  }
};

template <int W>
struct MulBackwardBody {
  static LLMF_INLINE void step(const float* a, const float* b, const float* dout, float* da, float* db, int64_t k) {
    if (k == W) {
      VF<W> av = load<W>(a), bv = load<W>(b), d = load<W>(dout);
      VF<W> dav = load<W>(da) + d * bv, dbv = load<W>(db) + d * av;
      store<W>(da, dav);
      store<W>(db, dbv);
    } else {
      VF<W> av = load_part<W>(a, k), bv = load_part<W>(b, k), d = load_part<W>(dout, k);
      VF<W> dav = load_part<W>(da, k) + d * bv, dbv = load_part<W>(db, k) + d * av;
      store_part<W>(da, dav, k);
      store_part<W>(db, dbv, k);
    }
  }
  static LLMF_INLINE void run(const float* a, const float* b, const float* dout, float* da, float* db, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) step(a + i, b + i, dout + i, da + i, db + i, W);
    if (i < n) step(a + i, b + i, dout + i, da + i, db + i, n - i);
  }
};

template <int W>
struct AxpyBody {
  static LLMF_INLINE void run(float* dst, const float* src, float alpha, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) store<W>(dst + i, load<W>(dst + i) + alpha * load<W>(src + i));
    if (i < n) store_part<W>(dst + i, load_part<W>(dst + i, n - i) + alpha * load_part<W>(src + i, n - i), n - i);
  }
};

template <int W>
struct ScaleBody {
  static LLMF_INLINE void run(float* x, float alpha, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) store<W>(x + i, load<W>(x + i) * alpha);
    if (i < n) store_part<W>(x + i, load_part<W>(x + i, n - i) * alpha, n - i);
  }
};

// Rows [r0, r1) of x (width dim) += bias.
template <int W>
struct AddBiasBody {
  static LLMF_INLINE void run(float* x, const float* bias, int64_t r0, int64_t r1, int64_t dim) {
    for (int64_t r = r0; r < r1; r++) {
      float* row = x + r * dim;
      int64_t j = 0;
      for (; j + W <= dim; j += W) store<W>(row + j, load<W>(row + j) + load<W>(bias + j));
      if (j < dim) store_part<W>(row + j, load_part<W>(row + j, dim - j) + load_part<W>(bias + j, dim - j), dim - j);
    }
  }
};

// sum[0, dim) += Σ rows [r0, r1) of dout, through the float partial row `partial`
// (flushed every kFlushRows rows). Both are `stride` long, a multiple of W, so they
// can be read and written in whole vectors.
template <int W>
struct ColumnSumBody {
  static LLMF_INLINE void run(const float* dout, float* partial, double* sum, int64_t r0, int64_t r1, int64_t dim,
                              int64_t stride) {
    for (int64_t r = r0; r < r1; r++) {
      const float* row = dout + r * dim;
      int64_t j = 0;
      for (; j + W <= dim; j += W) accumulate<W>(partial + j, load<W>(row + j));
      if (j < dim) accumulate<W>(partial + j, load_part<W>(row + j, dim - j));
      if ((r - r0) % kFlushRows == kFlushRows - 1 || r == r1 - 1) flush_partial<W>(partial, sum, stride);
    }
  }
};

// Σ x (or Σ x²) over [0, n): each float widened to double first (squares are then
// exact), four float64 accumulators.
template <int W, bool kSquares>
LLMF_INLINE double sum_block(const float* x, int64_t n) {
  VD<W> acc0 = VD<W>{}, acc1 = VD<W>{}, acc2 = VD<W>{}, acc3 = VD<W>{};
  int64_t i = 0;
  for (; i < n; i += 2 * W) {
    VF<W> u = i + W <= n ? load<W>(x + i) : load_part<W>(x + i, n - i);
    VF<W> v = i + 2 * W <= n ? load<W>(x + i + W) : (i + W < n ? load_part<W>(x + i + W, n - i - W) : VF<W>{});
    VD<W> a = lo_f64<W>(u), b = hi_f64<W>(u), c = lo_f64<W>(v), d = hi_f64<W>(v);
    if (kSquares) {
      acc0 += a * a;
      acc1 += b * b;
      acc2 += c * c;
      acc3 += d * d;
    } else {
      acc0 += a;
      acc1 += b;
      acc2 += c;
      acc3 += d;
    }
  }
  return hsum_f64<W>((acc0 + acc1) + (acc2 + acc3));
}

// block_sums[b] = Σ of block b, for blocks [b0, b1).
template <int W>
struct BlockSumBody {
  static LLMF_INLINE void run(const float* x, int64_t n, bool squares, double* block_sums, int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      int64_t begin = b * kSumBlock, len = std::min(kSumBlock, n - begin);
      block_sums[b] = squares ? sum_block<W, true>(x + begin, len) : sum_block<W, false>(x + begin, len);
    }
  }
};

double reduce(const float* x, int64_t n, bool squares) {
  if (n <= 0) return 0.0;
  int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
  double* block_sums = scratch_f64(static_cast<size_t>(blocks));
  int nt = plan_threads(n, kMinPerThread * 4);
  parallel_chunks(blocks, nt, 1, [&](int, int64_t b0, int64_t b1) {
    simd_call<BlockSumBody>(x, n, squares, block_sums, b0, b1);
  });
  double s = 0;
  for (int64_t b = 0; b < blocks; b++) s += block_sums[b];
  return s;
}

// ---- N-API bindings -------------------------------------------------------------

Napi::Value Add(const Napi::CallbackInfo& info) { return map2<AddBody>(info, "add", "a", "b", kMinPerThread); }
Napi::Value Mul(const Napi::CallbackInfo& info) { return map2<MulBody>(info, "mul", "a", "b", kMinPerThread); }
Napi::Value MulBackward(const Napi::CallbackInfo& info) {
  return map2_backward<MulBackwardBody>(info, "mulBackward", "a", "b", kMinPerThread);
}

Napi::Value Axpy(const Napi::CallbackInfo& info) {
  const char* op = "axpy";
  F32Arg dst = f32_arg(info, op, 0), src = f32_arg(info, op, 1);
  float alpha = static_cast<float>(num_arg(info, op, 2));
  int64_t n = int_arg(info, op, 3);
  require_length(info, op, "dst", dst, n);
  require_length(info, op, "src", src, n);
  parallel_chunks(n, plan_threads(n, kMinPerThread), kGrain, [&](int, int64_t i0, int64_t i1) {
    simd_call<AxpyBody>(dst.data + i0, static_cast<const float*>(src.data + i0), alpha, i1 - i0);
  });
  return info.Env().Undefined();
}

Napi::Value ScaleInPlace(const Napi::CallbackInfo& info) {
  const char* op = "scaleInPlace";
  F32Arg x = f32_arg(info, op, 0);
  float alpha = static_cast<float>(num_arg(info, op, 1));
  int64_t n = int_arg(info, op, 2);
  require_length(info, op, "x", x, n);
  parallel_chunks(n, plan_threads(n, kMinPerThread), kGrain, [&](int, int64_t i0, int64_t i1) {
    simd_call<ScaleBody>(x.data + i0, alpha, i1 - i0);
  });
  return info.Env().Undefined();
}

Napi::Value AddBias(const Napi::CallbackInfo& info) {
  const char* op = "addBias";
  F32Arg x = f32_arg(info, op, 0), bias = f32_arg(info, op, 1);
  int64_t rows = int_arg(info, op, 2), dim = int_arg(info, op, 3);
  require_length(info, op, "x", x, checked_mul(info, op, rows, dim));
  require_length(info, op, "bias", bias, dim);
  if (dim == 0) return info.Env().Undefined();
  int nt = plan_threads(rows, std::max<int64_t>(1, kMinPerThread / dim));
  parallel_chunks(rows, nt, 1, [&](int, int64_t r0, int64_t r1) {
    simd_call<AddBiasBody>(x.data, static_cast<const float*>(bias.data), r0, r1, dim);
  });
  return info.Env().Undefined();
}

Napi::Value BiasBackward(const Napi::CallbackInfo& info) {
  const char* op = "biasBackward";
  F32Arg dout = f32_arg(info, op, 0), dbias = f32_arg(info, op, 1);
  int64_t rows = int_arg(info, op, 2), dim = int_arg(info, op, 3);
  require_length(info, op, "dout", dout, checked_mul(info, op, rows, dim));
  require_length(info, op, "dbias", dbias, dim);
  if (dim == 0 || rows == 0) return info.Env().Undefined();
  // Each chunk of rows sums into its own partial row; the partials are added in chunk
  // order, so a given thread count always gives the same bits.
  int nt = plan_threads(rows, std::max<int64_t>(1, kMinPerThread / dim));
  ColumnPartials partials(1, nt, dim);
  parallel_chunks(rows, nt, 1, [&](int chunk, int64_t r0, int64_t r1) {
    simd_call<ColumnSumBody>(static_cast<const float*>(dout.data), partials.f_row(0, chunk), partials.d_row(0, chunk),
                             r0, r1, dim, partials.stride);
  });
  partials.add_to(dbias.data, 0, dim);
  return info.Env().Undefined();
}

Napi::Value Sum(const Napi::CallbackInfo& info) {
  F32Arg x = f32_arg(info, "sum", 0);
  int64_t n = int_arg(info, "sum", 1);
  require_length(info, "sum", "x", x, n);
  return Napi::Number::New(info.Env(), reduce(x.data, n, false));
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  F32Arg x = f32_arg(info, "sumSquares", 0);
  int64_t n = int_arg(info, "sumSquares", 1);
  require_length(info, "sumSquares", "x", x, n);
  return Napi::Number::New(info.Env(), reduce(x.data, n, true));
}

}  // namespace

LLMF_EXPORT("add", Add);
LLMF_EXPORT("mul", Mul);
LLMF_EXPORT("mulBackward", MulBackward);
LLMF_EXPORT("axpy", Axpy);
LLMF_EXPORT("scaleInPlace", ScaleInPlace);
LLMF_EXPORT("addBias", AddBias);
LLMF_EXPORT("biasBackward", BiasBackward);
LLMF_EXPORT("sum", Sum);
LLMF_EXPORT("sumSquares", SumSquares);

}  // namespace llmf
