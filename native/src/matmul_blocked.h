// The blocked SGEMM algorithm of BLIS / GotoBLAS, generic over a micro-kernel.
//
// Loop nest for one thread's piece of C (m×n, depth k):
//
//   for each MC block of rows (i0)                      (usually one: all of the thread's rows)
//     for each K block (p0, depth kc)
//       for each NC block of columns (j0)
//         pack op(B)[p0 : p0+kc, j0 : j0+nc] → Bp       (NR-column micro-panels; stays in L2)
//         for each MR-row micro-panel of the A block (ir)
//           (first NC block only: pack op(A)[ir.., p0 : p0+kc] → Ap, a few panels at a time)
//           for each NR-column micro-panel of Bp (jr)    (the A micro-panel stays in L1 while
//             C[ir.., jr..] (+)= Ap[ir] · Bp[jr]         B micro-panels stream from L2;
//                                                        micro-kernel: MR×NR tile in registers)
//
// Packing copies both operands into the exact order the micro-kernel reads them
// (contiguous, aligned, zero-padded to whole tiles), which is also where the four
// transpose combinations are absorbed: the micro-kernel never sees a stride.
// A and B are each packed once per thread; the pack buffers are thread-local and reused,
// so a training step does not allocate.
//
// A kernel-traits type K supplies:
//   static constexpr int MR, NR;
//   static void kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
//                      int mr, int nr, bool overwrite);  // writes only the mr×nr corner
//   static void pack_a(const Problem&, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst);
//   static void pack_b(const Problem&, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst);
//     (whole blocks: micro-panel q of the block starts at dst + q·MR·kc, resp. q·NR·kc)
//   static constexpr int64_t kMaxMc;        // rows per A block
//   static constexpr int64_t kBBlockBytes;  // L2 budget for one packed B block
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "matmul.h"

namespace llmf {
namespace gemm {

// Per-thread pack buffers, grown on first use and then reused for every call.
struct Workspace {
  float* a = nullptr;
  float* b = nullptr;
  size_t a_cap = 0, b_cap = 0;
  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() {
    std::free(a);
    std::free(b);
  }

  static float* ensure(float*& buf, size_t& cap, size_t floats) {
    if (floats <= cap) return buf;
    // Slack at the end lets vector packers store a full vector at the last position.
    size_t bytes = ((floats + 64) * sizeof(float) + 63) & ~size_t{63};
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    std::free(buf);
    buf = static_cast<float*>(p);
    cap = floats;
    return buf;
  }
  float* a_buf(size_t floats) { return ensure(a, a_cap, floats); }
  float* b_buf(size_t floats) { return ensure(b, b_cap, floats); }
};

Workspace& thread_workspace();

inline int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// Splits `total` into equal blocks of at most `max_block` (rounded up to `align`), so
// the last block is not a sliver.
inline int64_t balanced_block(int64_t total, int64_t max_block, int64_t align) {
  int64_t blocks = (total + max_block - 1) / max_block;
  return round_up((total + blocks - 1) / blocks, align);
}

// Scalar packers: correct for any strides; ISA traits override the common layouts.
// One MR-row micro-panel: dst[p·MR + i] = op(A)(i0 + i, p0 + p), rows i >= mr zero.
template <int MR>
inline void pack_a_panel_generic(const Problem& P, int64_t i0, int mr, int64_t p0, int64_t kc, float* dst) {
  for (int64_t p = 0; p < kc; p++) {
    const float* src = P.a + i0 * P.a_rs + (p0 + p) * P.a_cs;
    for (int i = 0; i < MR; i++) dst[p * MR + i] = i < mr ? src[i * P.a_rs] : 0.0f;
  }
}

// One NR-column micro-panel: dst[p·NR + j] = op(B)(p0 + p, j0 + j), columns j >= nr zero.
template <int NR>
inline void pack_b_panel_generic(const Problem& P, int64_t p0, int64_t kc, int64_t j0, int nr, float* dst) {
  for (int64_t p = 0; p < kc; p++) {
    const float* src = P.b + (p0 + p) * P.b_rs + j0 * P.b_cs;
    for (int j = 0; j < NR; j++) dst[p * NR + j] = j < nr ? src[j * P.b_cs] : 0.0f;
  }
}

// Packs a block whose k index is the slow one (op(A) with transA, op(B) without transB):
// row p of the source, src + p·ld, holds `width` contiguous values, which are cut into
// W-wide panels (dst + q·W·kc + p·W). Reading whole rows keeps the reads sequential,
// which matters when the rows are far apart (one page each for a 4096-wide dy).
template <int W>
inline void pack_rows_generic(const float* src, int64_t ld, int64_t width, int64_t kc, float* dst) {
  for (int64_t p = 0; p < kc; p++) {
    const float* row = src + p * ld;
    for (int64_t q0 = 0; q0 < width; q0 += W) {
      float* out = dst + q0 * kc + p * W;
      const int64_t w = std::min<int64_t>(W, width - q0);
      for (int j = 0; j < W; j++) out[j] = j < w ? row[q0 + j] : 0.0f;
    }
  }
}

template <int MR>
inline void pack_a_generic(const Problem& P, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  if (P.a_rs == 1) return pack_rows_generic<MR>(P.a + i0 + p0 * P.a_cs, P.a_cs, mc, kc, dst);
  for (int64_t ir = 0; ir < mc; ir += MR)
    pack_a_panel_generic<MR>(P, i0 + ir, static_cast<int>(std::min<int64_t>(MR, mc - ir)), p0, kc, dst + ir * kc);
}

template <int NR>
inline void pack_b_generic(const Problem& P, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
  if (P.b_cs == 1) return pack_rows_generic<NR>(P.b + p0 * P.b_rs + j0, P.b_rs, nc, kc, dst);
  for (int64_t jr = 0; jr < nc; jr += NR)
    pack_b_panel_generic<NR>(P, p0, kc, j0 + jr, static_cast<int>(std::min<int64_t>(NR, nc - jr)), dst + jr * kc);
}

// Panels of A packed together, the first time through, just before their first use.
// Small groups keep the fresh panels in L1/L2 for the micro-kernel; larger ones read
// longer contiguous runs of a transposed A (one row segment per k step). 16 was the
// best compromise measured (within a few % of either extreme on every shape).
constexpr int64_t kPackGroup = 16;

template <class K>
void blocked_gemm(const Problem& P) {
  constexpr int MR = K::MR, NR = K::NR;
  const int64_t m = P.m, n = P.n, k = P.k;
  if (m <= 0 || n <= 0 || k <= 0) return;  // k == 0 is handled by the caller
  const int64_t kc_max = kc_for(k, kMaxKc);
  const int64_t mc_max = balanced_block(m, K::kMaxMc, MR);
  const int64_t nc_budget = std::max<int64_t>(NR, K::kBBlockBytes / (kc_max * 4) / NR * NR);
  const int64_t nc_max = balanced_block(n, nc_budget, NR);

  Workspace& ws = thread_workspace();
  float* ap = ws.a_buf(static_cast<size_t>(mc_max * kc_max));
  float* bp = ws.b_buf(static_cast<size_t>(nc_max * kc_max));

  for (int64_t i0 = 0; i0 < m; i0 += mc_max) {
    const int64_t mc = std::min(mc_max, m - i0);
    for (int64_t p0 = 0; p0 < k; p0 += kc_max) {
      const int64_t kc = std::min(kc_max, k - p0);
      const bool overwrite = p0 == 0 && !P.accumulate;

      for (int64_t j0 = 0; j0 < n; j0 += nc_max) {
        const int64_t nc = std::min(nc_max, n - j0);
        K::pack_b(P, p0, kc, j0, nc, bp);
        for (int64_t ir = 0; ir < mc; ir += MR) {
          // A is packed during the first column block, a few panels just before their
          // first use (still in L1/L2 when the micro-kernel reads them), and reused by
          // the other column blocks.
          if (j0 == 0 && ir % (kPackGroup * MR) == 0)
            K::pack_a(P, i0 + ir, std::min<int64_t>(kPackGroup * MR, mc - ir), p0, kc, ap + ir * kc);
          const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
          float* crow = P.c + (i0 + ir) * P.ldc + j0;
          for (int64_t jr = 0; jr < nc; jr += NR) {
            const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
            K::kernel(kc, ap + ir * kc, bp + jr * kc, crow + jr, P.ldc, mr, nr, overwrite);
          }
        }
      }
    }
  }
}

}  // namespace gemm
}  // namespace llmf
