// matmul: the N-API entry, argument checks, and the parallel driver of the SGEMM.
//
// Paths (chosen from the shape alone, never from the thread count):
//   - n == 1 is turned into m == 1 (C m×1 and Cᵀ 1×m are the same memory);
//   - few rows (decoding; see kUnpackedMaxM): unpacked kernels that stream op(B) once;
//   - otherwise the blocked, packed GEMM (matmul_blocked.h) with the ISA's micro-kernel.
//
// Threads split C into rectangles of whole micro-tiles (over M and N only, never K), or
// take whole matrices of a batch. Every C element is therefore computed by the same
// instructions in the same order whatever the partition: results are bit-identical
// across repeated calls AND across thread counts (for a given ISA). No atomics, no
// reductions across threads.
#include "matmul.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "args.h"
#include "cpu.h"
#include "matmul_blocked.h"
#include "pool.h"
#include "registry.h"

namespace llmf {
namespace gemm {

Workspace& thread_workspace() {
  thread_local Workspace ws;
  return ws;
}

namespace {

// Below this many multiply-adds per thread, waking another thread costs more than it saves.
constexpr double kMinMacsPerThread = 1 << 18;
// Batches of matrices smaller than this are spread over threads a whole matrix at a time.
constexpr double kSmallMatrixMacs = 1 << 22;

const Impl& pick_impl() {
#if LLMF_X86
  switch (active_isa()) {
    case Isa::Avx512: return impl_avx512();
    case Isa::Avx2: return impl_avx2();
    default: break;
  }
#endif
  return impl_portable();
}

// Runs body(tid, nthreads) on up to `want` pool threads. An exception on any thread
// (only std::bad_alloc is possible) is rethrown on the caller instead of terminating.
template <class F>
void run_threads(int want, F&& body) {
  std::exception_ptr error;
  std::mutex mu;
  parallel_run(
      [&](int tid, int nt) {
        try {
          body(tid, nt);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu);
          if (!error) error = std::current_exception();
        }
      },
      std::max(1, want));
  if (error) std::rethrow_exception(error);
}

int threads_for(double macs, int available) {
  double want = macs / kMinMacsPerThread;
  return want >= available ? available : std::max(1, static_cast<int>(want));
}

// C m×1 holds the same memory as Cᵀ 1×m = op(B)ᵀ · op(A)ᵀ, which the small-m path
// handles well; the blocked path would waste 31 of 32 lanes on a one-column C.
Problem canonical(const Problem& P) {
  if (P.n != 1 || P.m == 1) return P;
  Problem s = P;
  s.m = 1;
  s.n = P.m;
  s.a = P.b;  // op(B)ᵀ: 1×k, element p at b[p·b_rs]
  s.a_rs = 0;
  s.a_cs = P.b_rs;
  s.b = P.a;  // op(A)ᵀ: k×m
  s.b_rs = P.a_cs;
  s.b_cs = P.a_rs;
  s.ldc = P.m;
  return s;
}

bool small_path(const Problem& P) {
  return P.m <= kSmallM || (P.m <= kUnpackedMaxM && P.k <= kUnpackedMaxK);
}

// The small-m kernels want contiguous rows of op(A); transA gives strided ones, so copy
// them (m·k floats, at most kUnpackedMaxM rows) into a thread-local buffer first.
Problem with_contiguous_a(const Problem& P) {
  if (P.a_cs == 1) return P;
  thread_local std::vector<float> rows;
  if (rows.size() < static_cast<size_t>(P.m * P.k)) rows.resize(static_cast<size_t>(P.m * P.k));
  for (int64_t i = 0; i < P.m; i++)
    for (int64_t p = 0; p < P.k; p++) rows[i * P.k + p] = P.a[i * P.a_rs + p * P.a_cs];
  Problem s = P;
  s.a = rows.data();
  s.a_rs = P.k;
  s.a_cs = 1;
  return s;
}

// One matrix on the calling thread only.
void run_serial(const Impl& impl, const Problem& P0) {
  const Problem P = canonical(P0);
  if (small_path(P)) impl.small_m(with_contiguous_a(P));
  else impl.blocked(P);
}

// How C is split between nt threads: a tm × tn grid of rectangles of whole tiles
// (tile_m × tile_n: micro-tiles for the blocked path); threads beyond tm·tn idle.
// Minimizes the largest rectangle's compute plus its packing (each thread packs its own
// rows of A and columns of B; packing one row or column costs about as much as
// computing 16 C elements).
struct Grid {
  int tm = 1, tn = 1;
};

Grid choose_grid(int64_t m, int64_t n, int64_t tile_m, int64_t tile_n, int nt) {
  const int64_t tiles_m = (m + tile_m - 1) / tile_m, tiles_n = (n + tile_n - 1) / tile_n;
  Grid best;
  double best_cost = -1;
  for (int tm = 1; tm <= nt && tm <= tiles_m; tm++) {
    const int tn = static_cast<int>(std::min<int64_t>(nt / tm, tiles_n));
    const double rows = static_cast<double>((tiles_m + tm - 1) / tm * tile_m);
    const double cols = static_cast<double>((tiles_n + tn - 1) / tn * tile_n);
    const double cost = rows * cols + 16 * (rows + cols);
    if (best_cost < 0 || cost < best_cost) {
      best_cost = cost;
      best = {tm, tn};
    }
  }
  return best;
}

// [begin, end) of part `i` of `parts` over `tiles` tiles of `size`, clamped to `total`.
inline void tile_range(int64_t tiles, int parts, int i, int64_t size, int64_t total, int64_t& begin, int64_t& end) {
  begin = std::min(total, tiles * i / parts * size);
  end = std::min(total, tiles * (i + 1) / parts * size);
}

// One matrix on up to `threads` threads.
void run_parallel(const Impl& impl, const Problem& P0, int threads) {
  const Problem P = canonical(P0);
  const int nt = threads_for(static_cast<double>(P.m) * static_cast<double>(P.n) * static_cast<double>(P.k), threads);
  if (nt <= 1) return run_serial(impl, P);

  const bool small = small_path(P);
  // The small-m kernels read op(A) rows contiguously; copy them once for all threads.
  const Problem S = small ? with_contiguous_a(P) : P;
  const int64_t tile_m = small ? kSmallRows : impl.mr, tile_n = small ? kSmallCols : impl.nr;
  run_threads(nt, [&](int tid, int nth) {
    const Grid g = choose_grid(S.m, S.n, tile_m, tile_n, nth);
    if (tid >= g.tm * g.tn) return;
    int64_t i0, i1, j0, j1;
    tile_range((S.m + tile_m - 1) / tile_m, g.tm, tid / g.tn, tile_m, S.m, i0, i1);
    tile_range((S.n + tile_n - 1) / tile_n, g.tn, tid % g.tn, tile_n, S.n, j0, j1);
    if (i0 >= i1 || j0 >= j1) return;
    const Problem piece = S.sub(i0, i1 - i0, j0, j1 - j0);
    if (small) impl.small_m(piece);
    else impl.blocked(piece);
  });
}

}  // namespace
}  // namespace gemm

void sgemm(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n, int64_t k, bool trans_a,
           bool trans_b, bool accumulate) {
  using gemm::Problem;
  if (batch <= 0 || m <= 0 || n <= 0) return;
  if (k <= 0) {  // empty sum: C = 0, or C unchanged when accumulating
    if (!accumulate) std::memset(c, 0, static_cast<size_t>(batch * m * n) * sizeof(float));
    return;
  }
  Problem P{m, n, k, a, trans_a ? 1 : k, trans_a ? m : 1, b, trans_b ? 1 : n, trans_b ? k : 1, c, n, accumulate};
  const gemm::Impl& impl = gemm::pick_impl();
  const int threads = num_threads();
  auto matrix = [&](int64_t i) {
    Problem s = P;
    s.a += i * m * k;
    s.b += i * k * n;
    s.c += i * m * n;
    return s;
  };

  const double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const bool by_matrix = batch > 1 && (macs < gemm::kSmallMatrixMacs || batch >= 4 * threads);
  if (!by_matrix) {
    for (int64_t i = 0; i < batch; i++) gemm::run_parallel(impl, matrix(i), threads);
    return;
  }
  const int nt = static_cast<int>(std::min<int64_t>(batch, gemm::threads_for(macs * batch, threads)));
  gemm::run_threads(nt, [&](int tid, int nth) {
    for (int64_t i = batch * tid / nth; i < batch * (tid + 1) / nth; i++) gemm::run_serial(impl, matrix(i));
  });
}

namespace {

// a, b, c, batch, m, n, k, transA, transB, accumulate → undefined.
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const char* op = "matmul";
  const F32Arg a = f32_arg(info, op, 0), b = f32_arg(info, op, 1), c = f32_arg(info, op, 2);
  const int64_t batch = int_arg(info, op, 3), m = int_arg(info, op, 4), n = int_arg(info, op, 5),
                k = int_arg(info, op, 6);
  const bool trans_a = bool_arg(info, op, 7), trans_b = bool_arg(info, op, 8), accumulate = bool_arg(info, op, 9);

  // Element counts, checked against overflow before they are compared with the lengths.
  auto count = [&](const char* name, int64_t x, int64_t y, int64_t z) {
    int64_t xy, xyz;
    if (__builtin_mul_overflow(x, y, &xy) || __builtin_mul_overflow(xy, z, &xyz))
      throw Napi::RangeError::New(info.Env(), std::string(op) + ": " + name + " size overflows");
    return xyz;
  };
  const int64_t need_a = count("a", batch, m, k), need_b = count("b", batch, k, n), need_c = count("c", batch, m, n);
  require_length(info, op, "a", a, need_a);
  require_length(info, op, "b", b, need_b);
  require_length(info, op, "c", c, need_c);

  // Packing reads A and B while C is being written, so C may not share memory with them.
  auto overlaps = [](const float* x, int64_t nx, const float* y, int64_t ny) {
    return nx > 0 && ny > 0 && x < y + ny && y < x + nx;
  };
  if (overlaps(c.data, need_c, a.data, need_a) || overlaps(c.data, need_c, b.data, need_b))
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": c must not overlap a or b");

  try {
    sgemm(a.data, b.data, c.data, batch, m, n, k, trans_a, trans_b, accumulate);
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": out of memory for pack buffers");
  }
  return info.Env().Undefined();
}

LLMF_EXPORT("matmul", Matmul);

}  // namespace
}  // namespace llmf
