// SGEMM internals shared by the matmul files.
//
//   matmul.cc           N-API entry, argument checks, batching, threading, path choice
//   matmul_blocked.h    the BLIS-style blocked algorithm (packing + loops), generic over a micro-kernel
//   matmul_avx512.cc    AVX-512 micro-kernel, packing and small-m kernels
//   matmul_avx2.cc      AVX2 micro-kernel and small-m kernels
//   matmul_portable.cc  plain C++ (auto-vectorized) micro-kernel and small-m kernels
//
// Every entry point below is single-threaded and works on one matrix; matmul.cc splits
// the output between threads and calls them on the pieces.
#pragma once
#include <cstdint>

namespace llmf {
namespace gemm {

// One matrix product C = op(A)·op(B) (+ C), described by element strides so that the
// transposes (and sub-matrices handed to threads) are just different strides:
//   op(A)(i, p) = a[i·a_rs + p·a_cs]    i < m, p < k
//   op(B)(p, j) = b[p·b_rs + j·b_cs]    p < k, j < n
//   C(i, j)     = c[i·ldc + j]
struct Problem {
  int64_t m, n, k;
  const float* a;
  int64_t a_rs, a_cs;
  const float* b;
  int64_t b_rs, b_cs;
  float* c;
  int64_t ldc;
  bool accumulate;

  // The sub-problem of rows [i0, i0+rows) and columns [j0, j0+cols) of C.
  Problem sub(int64_t i0, int64_t rows, int64_t j0, int64_t cols) const {
    Problem s = *this;
    s.m = rows;
    s.n = cols;
    s.a = a + i0 * a_rs;
    s.b = b + j0 * b_cs;
    s.c = c + i0 * ldc + j0;
    return s;
  }
};

// The depth of one K block. It depends on k alone (never on the thread split or on
// which rows a thread got), which is what makes results independent of the thread
// count: every C element is summed in the same order, one K block at a time.
// Blocks are balanced (k = 300 → 150 + 150, not 256 + 44) and at most `max_kc` deep.
inline int64_t kc_for(int64_t k, int64_t max_kc) {
  int64_t blocks = (k + max_kc - 1) / max_kc;
  int64_t kc = (k + blocks - 1) / blocks;
  return (kc + 7) & ~int64_t{7};
}

// The depth limit shared by every ISA, so that all paths block K identically (this
// also keeps accuracy the same across ISAs; it is not needed for determinism). The
// 14-row AVX-512 A micro-panel at this depth (21 KiB) stays in L1 beside streaming B.
// Overridable at build time for tuning experiments.
#ifndef LLMF_GEMM_KC
#define LLMF_GEMM_KC 384
#endif
constexpr int64_t kMaxKc = LLMF_GEMM_KC;

// What one instruction set provides.
struct Impl {
  const char* name;
  int mr, nr;  // micro-tile of the blocked path (threads split C on these boundaries)
  // Blocked GEMM of one matrix (any shape; best when m and n are a few tiles or more).
  void (*blocked)(const Problem& p);
  // Few-row GEMM without packing (see kUnpackedMaxM): streams op(B) once. Needs a_cs == 1
  // (rows of op(A) contiguous; matmul.cc copies them out first when they are not) and
  // either b_cs == 1 (B rows contiguous: axpy form) or b_rs == 1 (B columns contiguous:
  // dot-product form).
  void (*small_m)(const Problem& p);
};

// The unpacked small-m path runs for m <= kSmallM, or m <= kUnpackedMaxM while k <= kUnpackedMaxK.
// Packing op(B) costs about as much as 30-50 rows of compute, so below that the unpacked
// kernels win (measured on Zen 5); the k limit keeps one 64-column strip of op(B) in L2
// while every group of rows runs over it.
constexpr int64_t kSmallM = 6;
constexpr int64_t kUnpackedMaxM = 48;
constexpr int64_t kUnpackedMaxK = 2048;
// Tiles in which threads split the small-m path: rows in groups, columns in strips.
constexpr int kSmallRows = 6, kSmallCols = 64;

const Impl& impl_portable();
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
const Impl& impl_avx2();
const Impl& impl_avx512();
#endif

}  // namespace gemm

// C = op(A)·op(B) (+ C) for `batch` contiguous matrices, exactly as the JS kernel
// `matmul` (see src/tensor/kernels.ts), on the pool threads. For other native kernels;
// sizes must already be checked. May throw std::bad_alloc (pack buffers).
void sgemm(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n, int64_t k, bool trans_a,
           bool trans_b, bool accumulate);

}  // namespace llmf
