// Shared plumbing for the non-matmul kernels: size arithmetic that cannot overflow,
// fixed-chunk threading with partial buffers, and reusable scratch memory.
#pragma once
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "pool.h"

namespace llmf {

// a·b as an element count (a, b >= 0), or a RangeError when the product could not be
// the length of any array, so an overflow can never slip past a length check.
inline int64_t checked_mul(const Napi::CallbackInfo& info, const char* op, int64_t a, int64_t b) {
  constexpr int64_t kMax = int64_t{1} << 52;
  if (a != 0 && b > kMax / a)
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": size " + std::to_string(a) + " x " +
                                                std::to_string(b) + " is too large");
  return a * b;
}

// How many threads `parallel_chunks` should split n items over when each thread
// should get at least min_per_thread of them (same rule as parallel_for).
inline int plan_threads(int64_t n, int64_t min_per_thread) {
  if (n <= 0) return 1;
  int64_t want = min_per_thread > 0 ? (n + min_per_thread - 1) / min_per_thread : n;
  int64_t nt = std::min<int64_t>(num_threads(), std::max<int64_t>(1, want));
  return static_cast<int>(nt);
}

// Splits [0, n) into `nt` fixed contiguous chunks and runs f(chunk, begin, end) on
// each, chunk boundaries rounded to multiples of `grain` (keeps threads off each
// other's cache lines). Unlike parallel_for it passes the chunk index, so a kernel
// can give each chunk its own partial buffer and reduce them in chunk order: the same
// thread count always gives bit-identical results. If the pool runs fewer threads
// (a nested call), chunk 0 covers everything; partial buffers must start zeroed.
template <class F>
void parallel_chunks(int64_t n, int nt, int64_t grain, F&& f) {
  if (n <= 0) return;
  if (nt <= 1) {
    f(0, int64_t{0}, n);
    return;
  }
  auto bound = [&](int i, int of) -> int64_t {
    if (i >= of) return n;
    int64_t b = n * i / of;
    b -= b % grain;
    return b;
  };
  parallel_run(
      [&](int tid, int nth) {
        int64_t begin = bound(tid, nth), end = bound(tid + 1, nth);
        if (begin < end) f(tid, begin, end);
      },
      nt);
}

// Grow-only scratch owned by the calling thread (workers write into it through the
// pointer): no allocation per call once a kernel has seen its largest size.
inline double* scratch_f64(size_t n) {
  static thread_local std::vector<double> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}
inline float* scratch_f32(size_t n) {
  static thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// Zeroed per-chunk partial rows for column sums (see flush_partial in ops_simd.h):
// `slots` sums (e.g. weight and bias gradients) × `chunks`, each `stride` long, as
// float rows and float64 rows. Slot s of chunk c is at (s·chunks + c)·stride.
struct ColumnPartials {
  float* f;
  double* d;
  int64_t stride;
  int chunks;
  ColumnPartials(int slots, int chunks_, int64_t dim) : stride((dim + 15) / 16 * 16), chunks(chunks_) {
    size_t n = static_cast<size_t>(slots) * static_cast<size_t>(chunks) * static_cast<size_t>(stride);
    f = scratch_f32(n);
    d = scratch_f64(n);
    std::memset(f, 0, n * sizeof(float));
    std::memset(d, 0, n * sizeof(double));
  }
  float* f_row(int slot, int chunk) const { return f + (slot * chunks + chunk) * stride; }
  double* d_row(int slot, int chunk) const { return d + (slot * chunks + chunk) * stride; }
  // out[0, dim) += Σ over chunks of slot's float64 rows, in chunk order.
  void add_to(float* out, int slot, int64_t dim) const {
    for (int64_t j = 0; j < dim; j++) {
      double s = 0;
      for (int c = 0; c < chunks; c++) s += d_row(slot, c)[j];
      out[j] = static_cast<float>(out[j] + s);
    }
  }
};

}  // namespace llmf
