// LayerNorm and RMSNorm over the last dimension, forward and backward.
//
// Rows are split over threads. A row (dim floats) stays in L1 across the passes a
// kernel makes over it, so each kernel reads and writes main memory once. The weight
// and bias gradients are column sums over all rows: each thread chunk accumulates its
// rows into its own partial row (float, flushed to float64 every kFlushRows rows), and
// the chunks' partials are added in chunk order, so a given thread count always
// produces the same bits and threads never write to a shared cache line.
#include <napi.h>

#include <cmath>

#include "args.h"
#include "ops_simd.h"
#include "ops_util.h"
#include "registry.h"

namespace llmf {
namespace {

using namespace simd;

// Elements per thread below which splitting the rows is not worth a wake-up.
constexpr int64_t kMinElemsPerThread = 1 << 13;

int64_t min_rows_per_thread(int64_t dim) { return std::max<int64_t>(1, kMinElemsPerThread / std::max<int64_t>(1, dim)); }

// Σ row[0, dim), float lanes, summed across lanes in double.
template <int W>
LLMF_INLINE double row_sum(const float* row, int64_t dim) {
  VF<W> s0 = VF<W>{}, s1 = VF<W>{};
  int64_t j = 0;
  for (; j + 2 * W <= dim; j += 2 * W) {
    s0 += load<W>(row + j);
    s1 += load<W>(row + j + W);
  }
  for (; j < dim; j += W) s0 += j + W <= dim ? load<W>(row + j) : load_part<W>(row + j, dim - j);
  return hsum<W>(s0 + s1);
}

// Σ (row - c)² over [0, dim); tail lanes masked (a zero-filled lane would add c²).
template <int W>
LLMF_INLINE double row_sum_sq(const float* row, int64_t dim, float c) {
  VF<W> s0 = VF<W>{}, s1 = VF<W>{};
  int64_t j = 0;
  for (; j + 2 * W <= dim; j += 2 * W) {
    VF<W> a = load<W>(row + j) - c, b = load<W>(row + j + W) - c;
    s0 += a * a;
    s1 += b * b;
  }
  for (; j < dim; j += W) {
    VF<W> a = j + W <= dim ? load<W>(row + j) - c
                           : select<W>(first_lanes<W>(dim - j), load_part<W>(row + j, dim - j) - c, VF<W>{});
    s0 += a * a;
  }
  return hsum<W>(s0 + s1);
}

template <int W>
struct LayernormForwardBody {
  static LLMF_INLINE void run(const float* x, const float* weight, const float* bias, float* out, float* mean,
                              float* rstd, int64_t r0, int64_t r1, int64_t dim, double eps) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * dim;
      float* outr = out + r * dim;
      // Two passes (mean, then squared deviations) avoid E[x²] - E[x]² cancellation.
      float mu = static_cast<float>(row_sum<W>(xr, dim) / static_cast<double>(dim));
      double var = row_sum_sq<W>(xr, dim, mu) / static_cast<double>(dim);
      float rs = static_cast<float>(1.0 / std::sqrt(var + eps));
      mean[r] = mu;
      rstd[r] = rs;
      int64_t j = 0;
      for (; j + W <= dim; j += W) {
        VF<W> y = (load<W>(xr + j) - mu) * rs * load<W>(weight + j);
        if (bias) y += load<W>(bias + j);
        store<W>(outr + j, y);
      }
      if (j < dim) {
        int64_t k = dim - j;
        VF<W> y = (load_part<W>(xr + j, k) - mu) * rs * load_part<W>(weight + j, k);
        if (bias) y += load_part<W>(bias + j, k);
        store_part<W>(outr + j, y, k);
      }
    }
  }
};

// One vector of the layernorm backward's second pass: k lanes (W, or the row tail).
template <int W>
LLMF_INLINE void layernorm_dx_step(const float* dout, const float* x, const float* weight, float* dx, float* pw,
                                   float* pb, float mu, float rs, float mean_g, float mean_gx, int64_t k) {
  bool full = k == W;
  VF<W> d = full ? load<W>(dout) : load_part<W>(dout, k);
  VF<W> xhat = ((full ? load<W>(x) : load_part<W>(x, k)) - mu) * rs;
  VF<W> g = d * (full ? load<W>(weight) : load_part<W>(weight, k));
  VF<W> dxv = (full ? load<W>(dx) : load_part<W>(dx, k)) + rs * (g - mean_g - xhat * mean_gx);
  if (full) store<W>(dx, dxv);
  else store_part<W>(dx, dxv, k);
  // Tail lanes have d = 0, so the padded partial lanes only ever add zero.
  accumulate<W>(pw, d * xhat);
  if (pb) accumulate<W>(pb, d);
}

template <int W>
struct LayernormBackwardBody {
  // pw/pb: this chunk's float partial rows, flushed into the float64 rows dw/db
  // (db and pb are null without a bias); stride is their padded length.
  static LLMF_INLINE void run(const float* dout, const float* x, const float* weight, const float* mean,
                              const float* rstd, float* dx, float* pw, float* pb, double* dw, double* db, int64_t r0,
                              int64_t r1, int64_t dim, int64_t stride) {
    for (int64_t r = r0; r < r1; r++) {
      const float* dr = dout + r * dim;
      const float* xr = x + r * dim;
      float* dxr = dx + r * dim;
      float mu = mean[r], rs = rstd[r];
      // Pass 1: Σ g and Σ g·xhat with g = dout·weight (zero-filled tail lanes give g = 0).
      VF<W> sg = VF<W>{}, sgx = VF<W>{};
      for (int64_t j = 0; j < dim; j += W) {
        bool full = j + W <= dim;
        VF<W> d = full ? load<W>(dr + j) : load_part<W>(dr + j, dim - j);
        VF<W> xv = full ? load<W>(xr + j) : load_part<W>(xr + j, dim - j);
        VF<W> g = d * (full ? load<W>(weight + j) : load_part<W>(weight + j, dim - j));
        sg += g;
        sgx += g * ((xv - mu) * rs);
      }
      float mean_g = static_cast<float>(hsum<W>(sg) / static_cast<double>(dim));
      float mean_gx = static_cast<float>(hsum<W>(sgx) / static_cast<double>(dim));
      // Pass 2: dx, and this chunk's weight/bias gradient partials.
      int64_t j = 0;
      for (; j + W <= dim; j += W)
        layernorm_dx_step<W>(dr + j, xr + j, weight + j, dxr + j, pw + j, pb ? pb + j : nullptr, mu, rs, mean_g,
                             mean_gx, W);
      if (j < dim)
        layernorm_dx_step<W>(dr + j, xr + j, weight + j, dxr + j, pw + j, pb ? pb + j : nullptr, mu, rs, mean_g,
                             mean_gx, dim - j);
      if ((r - r0) % kFlushRows == kFlushRows - 1 || r == r1 - 1) {
        flush_partial<W>(pw, dw, stride);
        if (pb) flush_partial<W>(pb, db, stride);
      }
    }
  }
};

template <int W>
struct RmsnormForwardBody {
  static LLMF_INLINE void run(const float* x, const float* weight, float* out, float* rstd, int64_t r0, int64_t r1,
                              int64_t dim, double eps) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * dim;
      float* outr = out + r * dim;
      float rs = static_cast<float>(1.0 / std::sqrt(row_sum_sq<W>(xr, dim, 0.0f) / static_cast<double>(dim) + eps));
      rstd[r] = rs;
      int64_t j = 0;
      for (; j + W <= dim; j += W) store<W>(outr + j, load<W>(xr + j) * rs * load<W>(weight + j));
      if (j < dim) {
        int64_t k = dim - j;
        store_part<W>(outr + j, load_part<W>(xr + j, k) * rs * load_part<W>(weight + j, k), k);
      }
    }
  }
};

template <int W>
LLMF_INLINE void rmsnorm_dx_step(const float* dout, const float* x, const float* weight, float* dx, float* pw,
                                 float rs, float mean_gx, int64_t k) {
  bool full = k == W;
  VF<W> d = full ? load<W>(dout) : load_part<W>(dout, k);
  VF<W> xhat = (full ? load<W>(x) : load_part<W>(x, k)) * rs;
  VF<W> g = d * (full ? load<W>(weight) : load_part<W>(weight, k));
  VF<W> dxv = (full ? load<W>(dx) : load_part<W>(dx, k)) + rs * (g - xhat * mean_gx);
  if (full) store<W>(dx, dxv);
  else store_part<W>(dx, dxv, k);
  accumulate<W>(pw, d * xhat);
}

template <int W>
struct RmsnormBackwardBody {
  static LLMF_INLINE void run(const float* dout, const float* x, const float* weight, const float* rstd, float* dx,
                              float* pw, double* dw, int64_t r0, int64_t r1, int64_t dim, int64_t stride) {
    for (int64_t r = r0; r < r1; r++) {
      const float* dr = dout + r * dim;
      const float* xr = x + r * dim;
      float* dxr = dx + r * dim;
      float rs = rstd[r];
      VF<W> sgx = VF<W>{};
      for (int64_t j = 0; j < dim; j += W) {
        bool full = j + W <= dim;
        VF<W> d = full ? load<W>(dr + j) : load_part<W>(dr + j, dim - j);
        VF<W> xv = full ? load<W>(xr + j) : load_part<W>(xr + j, dim - j);
        sgx += d * (full ? load<W>(weight + j) : load_part<W>(weight + j, dim - j)) * xv;
      }
      float mean_gx = static_cast<float>(hsum<W>(sgx) * rs / static_cast<double>(dim));
      int64_t j = 0;
      for (; j + W <= dim; j += W) rmsnorm_dx_step<W>(dr + j, xr + j, weight + j, dxr + j, pw + j, rs, mean_gx, W);
      if (j < dim) rmsnorm_dx_step<W>(dr + j, xr + j, weight + j, dxr + j, pw + j, rs, mean_gx, dim - j);
      if ((r - r0) % kFlushRows == kFlushRows - 1 || r == r1 - 1) flush_partial<W>(pw, dw, stride);
    }
  }
};

// ---- N-API bindings -------------------------------------------------------------

// layernormForward(x, weight, bias|null, out, mean, rstd, rows, dim, eps)
Napi::Value LayernormForward(const Napi::CallbackInfo& info) {
  const char* op = "layernormForward";
  F32Arg x = f32_arg(info, op, 0), weight = f32_arg(info, op, 1), bias = f32_arg_optional(info, op, 2);
  F32Arg out = f32_arg(info, op, 3), mean = f32_arg(info, op, 4), rstd = f32_arg(info, op, 5);
  int64_t rows = int_arg(info, op, 6), dim = int_arg(info, op, 7, 1);
  double eps = num_arg(info, op, 8);
  int64_t n = checked_mul(info, op, rows, dim);
  require_length(info, op, "x", x, n);
  require_length(info, op, "weight", weight, dim);
  if (bias.data) require_length(info, op, "bias", bias, dim);
  require_length(info, op, "out", out, n);
  require_length(info, op, "mean", mean, rows);
  require_length(info, op, "rstd", rstd, rows);
  int nt = plan_threads(rows, min_rows_per_thread(dim));
  parallel_chunks(rows, nt, 1, [&](int, int64_t r0, int64_t r1) {
    simd_call<LayernormForwardBody>(static_cast<const float*>(x.data), static_cast<const float*>(weight.data),
                                    static_cast<const float*>(bias.data), out.data, mean.data, rstd.data, r0, r1, dim,
                                    eps);
  });
  return info.Env().Undefined();
}

// layernormBackward(dout, x, weight, mean, rstd, dx, dweight, dbias|null, rows, dim)
Napi::Value LayernormBackward(const Napi::CallbackInfo& info) {
  const char* op = "layernormBackward";
  F32Arg dout = f32_arg(info, op, 0), x = f32_arg(info, op, 1), weight = f32_arg(info, op, 2);
  F32Arg mean = f32_arg(info, op, 3), rstd = f32_arg(info, op, 4), dx = f32_arg(info, op, 5);
  F32Arg dweight = f32_arg(info, op, 6), dbias = f32_arg_optional(info, op, 7);
  int64_t rows = int_arg(info, op, 8), dim = int_arg(info, op, 9, 1);
  int64_t n = checked_mul(info, op, rows, dim);
  require_length(info, op, "dout", dout, n);
  require_length(info, op, "x", x, n);
  require_length(info, op, "weight", weight, dim);
  require_length(info, op, "mean", mean, rows);
  require_length(info, op, "rstd", rstd, rows);
  require_length(info, op, "dx", dx, n);
  require_length(info, op, "dweight", dweight, dim);
  if (dbias.data) require_length(info, op, "dbias", dbias, dim);
  if (rows == 0) return info.Env().Undefined();

  int nt = plan_threads(rows, min_rows_per_thread(dim));
  bool has_bias = dbias.data != nullptr;
  ColumnPartials partials(has_bias ? 2 : 1, nt, dim);
  parallel_chunks(rows, nt, 1, [&](int chunk, int64_t r0, int64_t r1) {
    simd_call<LayernormBackwardBody>(static_cast<const float*>(dout.data), static_cast<const float*>(x.data),
                                     static_cast<const float*>(weight.data), static_cast<const float*>(mean.data),
                                     static_cast<const float*>(rstd.data), dx.data, partials.f_row(0, chunk),
                                     has_bias ? partials.f_row(1, chunk) : nullptr, partials.d_row(0, chunk),
                                     has_bias ? partials.d_row(1, chunk) : nullptr, r0, r1, dim, partials.stride);
  });
  partials.add_to(dweight.data, 0, dim);
  if (has_bias) partials.add_to(dbias.data, 1, dim);
  return info.Env().Undefined();
}

// rmsnormForward(x, weight, out, rstd, rows, dim, eps)
Napi::Value RmsnormForward(const Napi::CallbackInfo& info) {
  const char* op = "rmsnormForward";
  F32Arg x = f32_arg(info, op, 0), weight = f32_arg(info, op, 1), out = f32_arg(info, op, 2);
  F32Arg rstd = f32_arg(info, op, 3);
  int64_t rows = int_arg(info, op, 4), dim = int_arg(info, op, 5, 1);
  double eps = num_arg(info, op, 6);
  int64_t n = checked_mul(info, op, rows, dim);
  require_length(info, op, "x", x, n);
  require_length(info, op, "weight", weight, dim);
  require_length(info, op, "out", out, n);
  require_length(info, op, "rstd", rstd, rows);
  int nt = plan_threads(rows, min_rows_per_thread(dim));
  parallel_chunks(rows, nt, 1, [&](int, int64_t r0, int64_t r1) {
    simd_call<RmsnormForwardBody>(static_cast<const float*>(x.data), static_cast<const float*>(weight.data), out.data,
                                  rstd.data, r0, r1, dim, eps);
  });
  return info.Env().Undefined();
}

// rmsnormBackward(dout, x, weight, rstd, dx, dweight, rows, dim)
Napi::Value RmsnormBackward(const Napi::CallbackInfo& info) {
  const char* op = "rmsnormBackward";
  F32Arg dout = f32_arg(info, op, 0), x = f32_arg(info, op, 1), weight = f32_arg(info, op, 2);
  F32Arg rstd = f32_arg(info, op, 3), dx = f32_arg(info, op, 4), dweight = f32_arg(info, op, 5);
  int64_t rows = int_arg(info, op, 6), dim = int_arg(info, op, 7, 1);
  int64_t n = checked_mul(info, op, rows, dim);
  require_length(info, op, "dout", dout, n);
  require_length(info, op, "x", x, n);
  require_length(info, op, "weight", weight, dim);
  require_length(info, op, "rstd", rstd, rows);
  require_length(info, op, "dx", dx, n);
  require_length(info, op, "dweight", dweight, dim);
  if (rows == 0) return info.Env().Undefined();

  int nt = plan_threads(rows, min_rows_per_thread(dim));
  ColumnPartials partials(1, nt, dim);
  parallel_chunks(rows, nt, 1, [&](int chunk, int64_t r0, int64_t r1) {
    simd_call<RmsnormBackwardBody>(static_cast<const float*>(dout.data), static_cast<const float*>(x.data),
                                   static_cast<const float*>(weight.data), static_cast<const float*>(rstd.data),
                                   dx.data, partials.f_row(0, chunk), partials.d_row(0, chunk), r0, r1, dim,
                                   partials.stride);
  });
  partials.add_to(dweight.data, 0, dim);
  return info.Env().Undefined();
}

}  // namespace

LLMF_EXPORT("layernormForward", LayernormForward);
LLMF_EXPORT("layernormBackward", LayernormBackward);
LLMF_EXPORT("rmsnormForward", RmsnormForward);
LLMF_EXPORT("rmsnormBackward", RmsnormBackward);

}  // namespace llmf
