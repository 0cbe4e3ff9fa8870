// Causal self-attention, flash-style (the contract is in src/tensor/kernels.ts; the
// readable reference is src/tensor/ref/attention.ts).
//
// Forward (per (batch, query head), one thread each): queries in tiles of kTile rows,
// keys in tiles of kTile columns; a kTile×kTile score block lives in L1 and an online
// softmax folds each key tile into the running output, so no T×T matrix exists.
// Scores are kept in log2 units (q is pre-scaled by scale·log2e) so the softmax uses
// exp2. lse (natural log) is saved for backward.
//
// Backward (FlashAttention-2 recompute, per (batch, kv head), one thread each): for
// each key tile, for every query head of the kv group and every query tile at or after
// it: P = exp(S - lse), dV += Pᵀ dO, dP = dO Vᵀ, dS = P∘(dP - Δ), dQ += dS K·scale,
// dK += dSᵀ Q·scale, with Δ = rowsum(dO∘O). The thread owns the kv head's dK/dV rows
// and its query heads' dQ rows, so there are no atomics and the summation order is
// fixed: results are bit-identical for any thread count.
//
// Packed rows (segStart): query t sees keys segStart[t] .. t only. Key tiles that no
// query of a tile can see are skipped, and within a visited tile each row group's
// products start at the 16-column block of its first visible key, so a row packed with
// several sequences costs no more than the same row unpacked (usually less). Masked
// entries are zeroed exactly (not exp of -inf), and with segStart absent every call is
// the one the unmasked kernel makes, so that path is unchanged bit for bit.
//
// Cached (decode): per (batch, query head), each batch entry at its own position and
// cache row when given; one query at a time with plain dot
// products for short query blocks, the flash forward with a position offset for
// long ones (prefill).
//
// All matrix products go through the small strided GEMM of attention_ops.h, with the
// operands packed into per-thread scratch: kᵀ/vᵀ in kTile-column tiles (so a tile row
// is one contiguous 64-float line) and row operands padded to Dp = round_up(D, 16).
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include "args.h"
#include "attention_ops.h"
#include "cpu.h"
#include "pool.h"
#include "registry.h"

namespace llmf {
namespace attn {
namespace {

constexpr int64_t kTile = 64;      // query rows and key columns per tile
constexpr int64_t kGroup = 12;     // rows per GEMM call: the causal-skipping granularity
constexpr int64_t kDirectMaxTq = 4;  // cached: at most this many queries use the direct path

LLMF_INLINE int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
LLMF_INLINE int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

// Grow-only, 64-byte aligned scratch. Allocation failure returns nullptr (never throws:
// this runs on pool threads, where an exception would terminate the process).
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(p_); }
  float* get(int64_t n) {
    if (n > cap_) {
      std::free(p_);
      const size_t bytes = static_cast<size_t>(round_up(n, 16)) * sizeof(float);
      p_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      cap_ = p_ ? n : 0;
    }
    return p_;
  }

 private:
  float* p_ = nullptr;
  int64_t cap_ = 0;
};

// Per-thread buffers, reused across calls so a training step does not allocate.
struct ThreadScratch {
  Scratch kt, vt, krows, vrows;  // packed keys / values
  Scratch q, dout, lse2, delta, dq;  // packed query side
  Scratch s, dp, o, ml, dk, dv;  // tile work areas
};
thread_local ThreadScratch t_scratch;

// dst (tiles × D × kTile): dst[t][d][c] = src[(t·kTile + c)·ld + d], 0 past n rows.
template <class Ops>
void pack_transposed_tiles(const float* src, int64_t ld, int64_t n, int64_t D, float* dst) {
  const int64_t tiles = ceil_div(n, kTile);
  for (int64_t t = 0; t < tiles; t++) {
    float* tile = dst + t * D * kTile;
    const float* rows = src + t * kTile * ld;
    const int64_t c_end = std::min(kTile, n - t * kTile);
    const int64_t c8 = c_end / 8 * 8, d8 = D / 8 * 8;
    for (int64_t c = 0; c < c8; c += 8)
      for (int64_t d = 0; d < d8; d += 8) Ops::transpose8(rows + c * ld + d, ld, tile + d * kTile + c, kTile);
    for (int64_t c = 0; c < c_end; c++) {
      const int64_t d_begin = c < c8 ? d8 : 0;  // full 8×8 blocks are done
      for (int64_t d = d_begin; d < D; d++) tile[d * kTile + c] = rows[c * ld + d];
    }
    for (int64_t d = 0; d < D; d++)
      for (int64_t c = c_end; c < kTile; c++) tile[d * kTile + c] = 0.f;
  }
}

// dst (rows_total × Dp): dst[r][d] = mul · src[r·ld + d] for r < n and d < D, else 0.
void pack_rows(const float* src, int64_t ld, int64_t n, int64_t D, int64_t Dp, int64_t rows_total, float mul,
               float* dst) {
  for (int64_t r = 0; r < rows_total; r++) {
    float* out = dst + r * Dp;
    int64_t d = 0;
    if (r < n)
      for (; d < D; d++) out[d] = mul * src[r * ld + d];
    for (; d < Dp; d++) out[d] = 0.f;
  }
}

// Smallest segment start of queries [i0, i0 + n): the first key any of them can see.
LLMF_INLINE int64_t seg_min(const int32_t* seg, int64_t i0, int64_t n) {
  int64_t m = seg[i0];
  for (int64_t i = 1; i < n; i++) m = std::min<int64_t>(m, seg[i0 + i]);
  return m;
}

// Columns of a key tile starting at k0 that a row group must compute, given the group's
// smallest segment start (0 when unmasked) and its causal column count `need`: from
// the 16-column block holding the first visible key. Returns false when the group sees
// no key of the tile.
LLMF_INLINE bool group_columns(int64_t first_key, int64_t k0, int64_t need, int64_t* c_lo) {
  if (first_key >= k0 + need) return false;
  *c_lo = first_key > k0 ? (first_key - k0) / 16 * 16 : 0;
  return true;
}

// One head's queries and keys, as strided views of the caller's buffers.
struct HeadView {
  const float* q;  // query i at q + i·ldq (D floats)
  int64_t ldq;
  const float* k;  // key j at k + j·ldk
  int64_t ldk;
  const float* v;  // value j at v + j·ldv
  int64_t ldv;
  float* out;      // output i at out + i·ldo
  int64_t ldo;
  float* lse;      // lse[i], or nullptr
  const int32_t* seg;  // query i sees keys seg[i] .. pos0+i; nullptr: keys 0 .. pos0+i
  int64_t Tq;      // queries, at positions pos0 .. pos0+Tq-1; query at position p sees keys 0..p
  int64_t pos0;
  int64_t D;
  float scale;
};

// Flash forward of one head. Returns false when scratch could not be allocated.
template <class Ops>
bool forward_head(const HeadView& hv) {
  ThreadScratch& sc = t_scratch;
  const int64_t D = hv.D, Dp = round_up(D, 16);
  const int64_t nkeys = hv.pos0 + hv.Tq;
  const int64_t nkt = ceil_div(nkeys, kTile);
  float* kt = sc.kt.get(nkt * D * kTile);      // (tiles, D, kTile)
  float* vrows = sc.vrows.get(nkt * kTile * Dp);  // (tiles·kTile, Dp)
  float* q = sc.q.get(kTile * Dp);             // (kTile, Dp), scaled to log2 units
  float* s = sc.s.get(kTile * kTile);          // (kTile, kTile) scores, then probabilities
  float* o = sc.o.get(kTile * Dp);             // (kTile, Dp) unnormalised output
  float* ml = sc.ml.get(2 * kTile);            // running max m and sum l per row
  if (!kt || !vrows || !q || !s || !o || !ml) return false;
  float* m = ml;
  float* l = ml + kTile;

  pack_transposed_tiles<Ops>(hv.k, hv.ldk, nkeys, D, kt);
  pack_rows(hv.v, hv.ldv, nkeys, D, Dp, nkt * kTile, 1.f, vrows);

  for (int64_t i0 = 0; i0 < hv.Tq; i0 += kTile) {
    const int64_t rows = std::min(kTile, hv.Tq - i0);
    const int64_t p0 = hv.pos0 + i0;  // position of the tile's first query
    pack_rows(hv.q + i0 * hv.ldq, hv.ldq, rows, D, Dp, rows, hv.scale * kLog2e, q);
    for (int64_t r = 0; r < rows; r++) {
      m[r] = -INFINITY;
      l[r] = 0.f;
    }
    std::fill(o, o + rows * Dp, 0.f);
    const int32_t* seg = hv.seg ? hv.seg + i0 : nullptr;  // segment starts of this tile's rows
    // Key tiles before the first one any row of this tile can see are skipped.
    const int64_t k_first = seg ? seg_min(seg, 0, rows) / kTile * kTile : 0;

    for (int64_t k0 = k_first; k0 <= p0 + rows - 1; k0 += kTile) {
      const float* kt_tile = kt + (k0 / kTile) * D * kTile;
      // S = Q Kᵀ for each row group, only over the keys its rows can see.
      for (int64_t r0 = 0; r0 < rows; r0 += kGroup) {
        const int64_t g = std::min(kGroup, rows - r0);
        const int64_t need = std::min(kTile, p0 + r0 + g - k0);
        int64_t c0 = 0;
        if (need > 0 && group_columns(seg ? seg_min(seg, r0, g) : 0, k0, need, &c0))
          Ops::gemm(g, round_up(need, 16) - c0, D, q + r0 * Dp, Dp, 1, kt_tile + c0, kTile, s + r0 * kTile + c0, kTile,
                    false);
      }
      // Online softmax: fold this tile into the running max/sum and rescale O.
      for (int64_t r = 0; r < rows; r++) {
        float* srow = s + r * kTile;
        const int64_t n = std::min(kTile, p0 + r - k0 + 1);  // keys of this tile row r sees: [lo, n)
        const int64_t lo = seg ? std::max<int64_t>(0, seg[r] - k0) : 0;
        if (n <= lo) {
          std::fill(srow, srow + kTile, 0.f);
          continue;
        }
        std::fill(srow, srow + lo, 0.f);
        const float m_new = std::max(m[r], Ops::row_max(srow + lo, n - lo));
        const float alpha = m[r] == -INFINITY ? 0.f : std::exp2(m[r] - m_new);
        const float sum = Ops::exp2_row(srow + lo, n - lo, kTile - lo, m_new);
        l[r] = l[r] * alpha + sum;
        m[r] = m_new;
        if (alpha != 1.f)
          for (int64_t d = 0; d < Dp; d++) o[r * Dp + d] *= alpha;
      }
      // O += P V.
      for (int64_t r0 = 0; r0 < rows; r0 += kGroup) {
        const int64_t g = std::min(kGroup, rows - r0);
        const int64_t need = std::min(kTile, p0 + r0 + g - k0);
        int64_t c0 = 0;
        if (need > 0 && group_columns(seg ? seg_min(seg, r0, g) : 0, k0, need, &c0))
          Ops::gemm(g, Dp, need - c0, s + r0 * kTile + c0, kTile, 1, vrows + (k0 + c0) * Dp, Dp, o + r0 * Dp, Dp, true);
      }
    }

    for (int64_t r = 0; r < rows; r++) {
      const float inv = 1.f / l[r];
      float* dst = hv.out + (i0 + r) * hv.ldo;
      for (int64_t d = 0; d < D; d++) dst[d] = o[r * Dp + d] * inv;
      if (hv.lse) hv.lse[i0 + r] = (m[r] + std::log2(l[r])) * kLn2;
    }
  }
  return true;
}

// Decode path: each query against its visible cache entries (scores, softmax, weighted
// sum of values) without packing, so one new token reads its kv head's cache once.
template <class Ops>
bool cached_direct_head(const HeadView& hv) {
  ThreadScratch& sc = t_scratch;
  const int64_t D = hv.D;
  float* scores = sc.s.get(hv.pos0 + hv.Tq);
  float* o = sc.o.get(D);
  if (!scores || !o) return false;
  const float qscale = hv.scale * kLog2e;
  for (int64_t i = 0; i < hv.Tq; i++) {
    const int64_t n = hv.pos0 + i + 1;
    const float* qi = hv.q + i * hv.ldq;
    Ops::dots(qi, hv.k, hv.ldk, n, D, qscale, scores);
    const float l = Ops::exp2_row(scores, n, n, Ops::row_max(scores, n));
    Ops::weighted_rows(scores, hv.v, hv.ldv, n, D, o);
    const float inv = 1.f / l;
    float* dst = hv.out + i * hv.ldo;
    for (int64_t d = 0; d < D; d++) dst[d] = o[d] * inv;
  }
  return true;
}

// Backward problem for one (batch, kv head) group; pointers are already offset to batch b.
struct GroupView {
  const float* qkv;  // (T, W) for batch b
  const float* out;  // (T, H·D)
  const float* dout;
  const float* lse;  // (H, T)
  float* dqkv;       // (T, W)
  const int32_t* seg;  // (T) segment starts, or nullptr
  int64_t T, H, Hkv, D, kvh;
  float scale;
};

template <class Ops>
bool backward_group(const GroupView& gv) {
  ThreadScratch& sc = t_scratch;
  const int64_t T = gv.T, D = gv.D, Dp = round_up(D, 16);
  const int64_t G = gv.H / gv.Hkv, h0 = gv.kvh * G;
  const int64_t W = (gv.H + 2 * gv.Hkv) * D, ldo = gv.H * D;
  const int64_t nkt = ceil_div(T, kTile), Tp = nkt * kTile;
  float* kt = sc.kt.get(nkt * D * kTile);   // Kᵀ tiles (tiles, D, kTile): S = Q Kᵀ
  float* vt = sc.vt.get(nkt * D * kTile);   // Vᵀ tiles: dP = dO Vᵀ
  float* krows = sc.krows.get(Tp * Dp);     // K rows (Tp, Dp): dQ += dS K
  float* q = sc.q.get(G * Tp * Dp);         // Q·scale rows per head (G, Tp, Dp)
  float* dout = sc.dout.get(G * Tp * Dp);   // dO rows per head
  float* lse2 = sc.lse2.get(G * Tp);        // lse·log2e per head and row
  float* delta = sc.delta.get(G * Tp);      // Δ = rowsum(dO∘O)
  float* dq = sc.dq.get(G * Tp * Dp);       // dQ accumulators (scaled at the end)
  float* s = sc.s.get(kTile * kTile);       // S, then P
  float* dp = sc.dp.get(kTile * kTile);     // dP, then dS
  float* dk = sc.dk.get(kTile * Dp);        // this key tile's dK, dV
  float* dv = sc.dv.get(kTile * Dp);
  if (!kt || !vt || !krows || !q || !dout || !lse2 || !delta || !dq || !s || !dp || !dk || !dv) return false;

  const float* kbase = gv.qkv + (gv.H + gv.kvh) * D;
  const float* vbase = gv.qkv + (gv.H + gv.Hkv + gv.kvh) * D;
  pack_transposed_tiles<Ops>(kbase, W, T, D, kt);
  pack_transposed_tiles<Ops>(vbase, W, T, D, vt);
  pack_rows(kbase, W, T, D, Dp, Tp, 1.f, krows);
  for (int64_t g = 0; g < G; g++) {
    const int64_t h = h0 + g;
    pack_rows(gv.qkv + h * D, W, T, D, Dp, Tp, gv.scale, q + g * Tp * Dp);
    pack_rows(gv.dout + h * D, ldo, T, D, Dp, Tp, 1.f, dout + g * Tp * Dp);
    for (int64_t t = 0; t < T; t++) {
      delta[g * Tp + t] = Ops::dot(gv.dout + t * ldo + h * D, gv.out + t * ldo + h * D, D);
      lse2[g * Tp + t] = gv.lse[h * T + t] * kLog2e;
    }
  }
  std::fill(dq, dq + G * Tp * Dp, 0.f);

  for (int64_t k0 = 0; k0 < T; k0 += kTile) {
    const int64_t kc = std::min(kTile, T - k0);
    const float* kt_tile = kt + (k0 / kTile) * D * kTile;
    const float* vt_tile = vt + (k0 / kTile) * D * kTile;
    std::fill(dk, dk + kTile * Dp, 0.f);
    std::fill(dv, dv + kTile * Dp, 0.f);
    for (int64_t g = 0; g < G; g++) {
      const float* qg = q + g * Tp * Dp;
      const float* dog = dout + g * Tp * Dp;
      float* dqg = dq + g * Tp * Dp;
      // Tiles are aligned, so the first query tile that sees this key tile starts at k0.
      for (int64_t i0 = k0; i0 < T; i0 += kTile) {
        const int64_t rows = std::min(kTile, T - i0);
        const int32_t* seg = gv.seg ? gv.seg + i0 : nullptr;  // segment starts of this tile's rows
        // A query tile whose rows all start after this key tile sees none of it.
        if (seg && seg_min(seg, 0, rows) >= k0 + kc) continue;
        // S = (Q·scale) Kᵀ and dP = dO Vᵀ, per row group over the keys it can see.
        for (int64_t r0 = 0; r0 < rows; r0 += kGroup) {
          const int64_t g_rows = std::min(kGroup, rows - r0);
          const int64_t need = std::min(kTile, i0 + r0 + g_rows - k0);
          int64_t cl = 0;
          if (!group_columns(seg ? seg_min(seg, r0, g_rows) : 0, k0, need, &cl)) continue;
          const int64_t nc = round_up(need, 16) - cl;
          Ops::gemm(g_rows, nc, D, qg + (i0 + r0) * Dp, Dp, 1, kt_tile + cl, kTile, s + r0 * kTile + cl, kTile, false);
          Ops::gemm(g_rows, nc, D, dog + (i0 + r0) * Dp, Dp, 1, vt_tile + cl, kTile, dp + r0 * kTile + cl, kTile, false);
        }
        // P and dS in place; masked entries become 0 across the whole tile row.
        for (int64_t r = 0; r < rows; r++) {
          float* srow = s + r * kTile;
          float* dprow = dp + r * kTile;
          const int64_t n = std::min(kTile, i0 + r - k0 + 1);  // visible keys of this tile: [lo, n)
          const int64_t lo = seg ? std::max<int64_t>(0, seg[r] - k0) : 0;
          if (n <= lo) {
            std::fill(srow, srow + kTile, 0.f);
            std::fill(dprow, dprow + kTile, 0.f);
            continue;
          }
          std::fill(srow, srow + lo, 0.f);
          std::fill(dprow, dprow + lo, 0.f);
          Ops::bwd_row(srow + lo, dprow + lo, n - lo, kTile - lo, lse2[g * Tp + i0 + r], delta[g * Tp + i0 + r]);
        }
        // dV += Pᵀ dO and dK += dSᵀ (Q·scale), per group of keys, over the query rows
        // that can see the group: from its first key (causal) to the last row whose
        // segment starts at or before its last key.
        for (int64_t c0 = 0; c0 < kc; c0 += kGroup) {
          const int64_t cg = std::min(kGroup, kc - c0);
          const int64_t r_start = std::max<int64_t>(0, k0 + c0 - i0);
          int64_t r_end = rows;
          if (seg)
            while (r_end > r_start && seg[r_end - 1] > k0 + c0 + cg - 1) r_end--;
          if (r_start >= r_end) continue;
          const int64_t nr = r_end - r_start;
          Ops::gemm(cg, Dp, nr, s + r_start * kTile + c0, 1, kTile, dog + (i0 + r_start) * Dp, Dp, dv + c0 * Dp, Dp, true);
          Ops::gemm(cg, Dp, nr, dp + r_start * kTile + c0, 1, kTile, qg + (i0 + r_start) * Dp, Dp, dk + c0 * Dp, Dp, true);
        }
        // dQ += dS K (scale applied once at the end).
        for (int64_t r0 = 0; r0 < rows; r0 += kGroup) {
          const int64_t g_rows = std::min(kGroup, rows - r0);
          const int64_t need = std::min(kTile, i0 + r0 + g_rows - k0);
          int64_t cl = 0;
          if (!group_columns(seg ? seg_min(seg, r0, g_rows) : 0, k0, need, &cl)) continue;
          Ops::gemm(g_rows, Dp, need - cl, dp + r0 * kTile + cl, kTile, 1, krows + (k0 + cl) * Dp, Dp,
                    dqg + (i0 + r0) * Dp, Dp, true);
        }
      }
    }
    for (int64_t c = 0; c < kc; c++) {
      float* dk_dst = gv.dqkv + (k0 + c) * W + (gv.H + gv.kvh) * D;
      float* dv_dst = gv.dqkv + (k0 + c) * W + (gv.H + gv.Hkv + gv.kvh) * D;
      for (int64_t d = 0; d < D; d++) {
        dk_dst[d] += dk[c * Dp + d];
        dv_dst[d] += dv[c * Dp + d];
      }
    }
  }
  for (int64_t g = 0; g < G; g++) {
    for (int64_t t = 0; t < T; t++) {
      float* dst = gv.dqkv + t * W + (h0 + g) * D;
      const float* src = dq + (g * Tp + t) * Dp;
      for (int64_t d = 0; d < D; d++) dst[d] += gv.scale * src[d];
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------
// Drivers: parallel loops over independent heads / groups.
// ---------------------------------------------------------------------------------

// Runs f(item) for item < items, each item entirely on one thread. Threads take the
// next item from a shared counter rather than a fixed chunk: which thread runs an
// item never changes its result (items write disjoint outputs and use only their own
// scratch), and a thread that is descheduled or has heavier items no longer holds
// the others up. Returns false if any f returned false (then the rest are skipped).
template <class F>
bool for_each_item(int64_t items, int64_t min_items_per_thread, F&& f) {
  const int64_t want = ceil_div(items, std::max<int64_t>(1, min_items_per_thread));
  const int nt = static_cast<int>(std::min<int64_t>(num_threads(), want));
  std::atomic<int64_t> next{0};
  std::atomic<bool> ok{true};
  auto work = [&](int, int) {
    for (int64_t item = next.fetch_add(1, std::memory_order_relaxed); item < items && ok.load(std::memory_order_relaxed);
         item = next.fetch_add(1, std::memory_order_relaxed))
      if (!f(item)) ok.store(false, std::memory_order_relaxed);
  };
  if (nt <= 1) work(0, 1);
  else parallel_run([&](int tid, int nth) { work(tid, nth); }, nt);  // (parallel_run takes an rvalue)
  return ok.load();
}

template <class Ops>
bool run_forward(const float* qkv, float* out, float* lse, const int32_t* seg, int64_t B, int64_t T, int64_t H,
                 int64_t Hkv, int64_t D, float scale) {
  const int64_t W = (H + 2 * Hkv) * D, G = H / Hkv;
  return for_each_item(B * H, 1, [&](int64_t item) {
    const int64_t b = item / H, h = item % H, kvh = h / G;
    const float* base = qkv + b * T * W;  // (T, W) rows of batch b
    HeadView hv{base + h * D, W, base + (H + kvh) * D, W, base + (H + Hkv + kvh) * D, W,
                out + b * T * H * D + h * D, H * D, lse + (b * H + h) * T, seg ? seg + b * T : nullptr, T, 0, D, scale};
    return forward_head<Ops>(hv);
  });
}

template <class Ops>
bool run_backward(const float* qkv, const float* out, const float* dout, const float* lse, float* dqkv,
                  const int32_t* seg, int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t D, float scale) {
  const int64_t W = (H + 2 * Hkv) * D;
  // One item per (batch, kv head): its thread owns the kv head's dK/dV rows and the
  // dQ rows of the query heads that read it.
  return for_each_item(B * Hkv, 1, [&](int64_t item) {
    const int64_t b = item / Hkv, kvh = item % Hkv;
    GroupView gv{qkv + b * T * W, out + b * T * H * D, dout + b * T * H * D, lse + b * H * T, dqkv + b * T * W,
                 seg ? seg + b * T : nullptr, T, H, Hkv, D, kvh, scale};
    return backward_group<Ops>(gv);
  });
}

// Per-entry positions and cache rows: entry b's queries sit at pos[b] .. pos[b]+Tq-1
// (pos0 for every entry when pos is nullptr) and read cache row rows[b] (b when
// rows is nullptr). A decode batch whose sequences joined at different steps is then one
// call, its (batch, head) items spread over the threads like a uniform batch's.
template <class Ops>
bool run_cached(const float* q, const float* kc, const float* vc, float* out, int64_t B, int64_t Tq, int64_t H,
                int64_t Hkv, int64_t D, int64_t pos0, const int32_t* pos, const int32_t* rows, int64_t capacity,
                float scale) {
  const int64_t G = H / Hkv;
  // Small decode calls stay on fewer threads: waking a worker costs more than a
  // few thousand multiply-adds. Items differ in length when positions do, so the
  // split goes by their mean work (the same as before for one shared position).
  int64_t keys = 0;  // Σ_b (pos[b] + Tq)
  for (int64_t b = 0; b < B; b++) keys += (pos ? pos[b] : pos0) + Tq;
  const int64_t work_per_item = std::max<int64_t>(1, keys / B * Tq * D);
  const int64_t min_items = std::max<int64_t>(1, 65536 / work_per_item);
  return for_each_item(B * H, min_items, [&](int64_t item) {
    const int64_t b = item / H, h = item % H, kvh = h / G;
    const int64_t row = rows ? rows[b] : b;
    const float* kbase = kc + (row * Hkv + kvh) * capacity * D;  // (capacity, D) of this kv head
    const float* vbase = vc + (row * Hkv + kvh) * capacity * D;
    HeadView hv{q + b * Tq * H * D + h * D, H * D, kbase, D, vbase, D,
                out + b * Tq * H * D + h * D, H * D, nullptr, nullptr, Tq, pos ? pos[b] : pos0, D, scale};
    return Tq <= kDirectMaxTq ? cached_direct_head<Ops>(hv) : forward_head<Ops>(hv);
  });
}

// Calls f(Ops{}) with the Ops struct of the active instruction set.
template <class F>
bool dispatch(F&& f) {
  switch (active_isa()) {
#if LLMF_X86
    case Isa::Avx512: return f(OpsAvx512{});
    case Isa::Avx2: return f(OpsAvx2{});
#endif
    default: return f(OpsPortable{});
  }
}

// ---------------------------------------------------------------------------------
// N-API entry points: validate everything before touching memory.
// ---------------------------------------------------------------------------------

// Element counts must stay exact in a double and far from int64 overflow.
constexpr int64_t kMaxElems = int64_t{1} << 50;

// A size argument (index `index`), bounded so sums and products of a few of them cannot overflow.
int64_t dim_arg(const Napi::CallbackInfo& info, const char* op, int index, int64_t min_value) {
  const int64_t v = int_arg(info, op, index, min_value);
  if (v > kMaxElems)
    throw Napi::RangeError::New(info.Env(), arg_error_prefix(op, index) + " is too large: " + std::to_string(v));
  return v;
}

int64_t checked_product(const Napi::CallbackInfo& info, const char* op, std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (int64_t f : factors) {
    if (f != 0 && p > kMaxElems / f)
      throw Napi::RangeError::New(info.Env(), std::string(op) + ": sizes are too large");
    p *= f;
  }
  return p;
}

struct Heads {
  int64_t H, Hkv, D;
};

Heads heads_args(const Napi::CallbackInfo& info, const char* op, int iH) {
  Heads h{dim_arg(info, op, iH, 1), dim_arg(info, op, iH + 1, 1), dim_arg(info, op, iH + 2, 1)};
  if (h.H % h.Hkv != 0)
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": H (" + std::to_string(h.H) +
                                                ") must be divisible by Hkv (" + std::to_string(h.Hkv) + ")");
  return h;
}

float scale_arg(const Napi::CallbackInfo& info, const char* op, int index) {
  const double s = num_arg(info, op, index);
  if (!std::isfinite(s)) throw Napi::RangeError::New(info.Env(), arg_error_prefix(op, index) + " (scale) must be finite");
  return static_cast<float>(s);
}

void throw_if_failed(const Napi::CallbackInfo& info, const char* op, bool ok) {
  if (!ok) throw Napi::Error::New(info.Env(), std::string(op) + ": out of memory for scratch buffers");
}

// Optional segStart (index `index`): nullptr when absent or null, else a B·T Int32Array
// with 0 <= segStart[b·T + t] <= t, checked entry by entry.
const int32_t* seg_arg(const Napi::CallbackInfo& info, const char* op, int index, int64_t B, int64_t T) {
  if (static_cast<int>(info.Length()) <= index || info[index].IsNull() || info[index].IsUndefined()) return nullptr;
  I32Arg seg = i32_arg(info, op, index);
  require_length(info, op, "segStart", seg, checked_product(info, op, {B, T}));
  for (int64_t i = 0; i < B * T; i++) {
    const int64_t t = i % T, v = seg.data[i];
    if (v < 0 || v > t)
      throw Napi::RangeError::New(info.Env(), std::string(op) + ": segStart[" + std::to_string(i) + "] = " +
                                                  std::to_string(v) + " must be in [0, " + std::to_string(t) +
                                                  "] (position " + std::to_string(t) + " of its row)");
  }
  return seg.data;
}

// attentionForward(qkv, out, lse, B, T, H, Hkv, D, scale, segStart?)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  const char* op = "attentionForward";
  F32Arg qkv = f32_arg(info, op, 0), out = f32_arg(info, op, 1), lse = f32_arg(info, op, 2);
  const int64_t B = dim_arg(info, op, 3, 0), T = dim_arg(info, op, 4, 0);
  const Heads hd = heads_args(info, op, 5);
  const float scale = scale_arg(info, op, 8);
  require_length(info, op, "qkv", qkv, checked_product(info, op, {B, T, hd.H + 2 * hd.Hkv, hd.D}));
  require_length(info, op, "out", out, checked_product(info, op, {B, T, hd.H, hd.D}));
  require_length(info, op, "lse", lse, checked_product(info, op, {B, hd.H, T}));
  const int32_t* seg = seg_arg(info, op, 9, B, T);
  if (B == 0 || T == 0) return info.Env().Undefined();
  const bool ok = dispatch([&](auto ops) {
    return run_forward<decltype(ops)>(qkv.data, out.data, lse.data, seg, B, T, hd.H, hd.Hkv, hd.D, scale);
  });
  throw_if_failed(info, op, ok);
  return info.Env().Undefined();
}

// attentionBackward(qkv, out, dout, lse, dqkv, B, T, H, Hkv, D, scale, segStart?)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const char* op = "attentionBackward";
  F32Arg qkv = f32_arg(info, op, 0), out = f32_arg(info, op, 1), dout = f32_arg(info, op, 2);
  F32Arg lse = f32_arg(info, op, 3), dqkv = f32_arg(info, op, 4);
  const int64_t B = dim_arg(info, op, 5, 0), T = dim_arg(info, op, 6, 0);
  const Heads hd = heads_args(info, op, 7);
  const float scale = scale_arg(info, op, 10);
  const int64_t n_qkv = checked_product(info, op, {B, T, hd.H + 2 * hd.Hkv, hd.D});
  const int64_t n_out = checked_product(info, op, {B, T, hd.H, hd.D});
  require_length(info, op, "qkv", qkv, n_qkv);
  require_length(info, op, "out", out, n_out);
  require_length(info, op, "dout", dout, n_out);
  require_length(info, op, "lse", lse, checked_product(info, op, {B, hd.H, T}));
  require_length(info, op, "dqkv", dqkv, n_qkv);
  const int32_t* seg = seg_arg(info, op, 11, B, T);
  if (B == 0 || T == 0) return info.Env().Undefined();
  const bool ok = dispatch([&](auto ops) {
    return run_backward<decltype(ops)>(qkv.data, out.data, dout.data, lse.data, dqkv.data, seg, B, T, hd.H, hd.Hkv,
                                       hd.D, scale);
  });
  throw_if_failed(info, op, ok);
  return info.Env().Undefined();
}

// An optional Int32Array (index `index`): nullptr when absent, null or undefined, else
// exactly B entries, each in [lo, hi] (named `name` in errors).
const int32_t* entries_arg(const Napi::CallbackInfo& info, const char* op, int index, const char* name, int64_t B,
                           int64_t lo, int64_t hi, const std::string& why) {
  if (static_cast<int>(info.Length()) <= index || info[index].IsNull() || info[index].IsUndefined()) return nullptr;
  I32Arg a = i32_arg(info, op, index);
  if (a.length != B)
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": " + name + " has " + std::to_string(a.length) +
                                                " entries, needs B = " + std::to_string(B));
  for (int64_t b = 0; b < B; b++) {
    const int64_t v = a.data[b];
    if (v < lo || v > hi)
      throw Napi::RangeError::New(info.Env(), std::string(op) + ": " + name + "[" + std::to_string(b) + "] = " +
                                                  std::to_string(v) + " must be in [" + std::to_string(lo) + ", " +
                                                  std::to_string(hi) + "] (" + why + ")");
  }
  return a.data;
}

// attentionCached(q, kCache, vCache, out, B, Tq, H, Hkv, D, pos0, capacity, scale, cacheRows?)
// pos0: one position for every entry, or an Int32Array of B positions. cacheRows: entry
// b reads cache row cacheRows[b] (the caches then hold any number of rows); default b.
Napi::Value AttentionCached(const Napi::CallbackInfo& info) {
  const char* op = "attentionCached";
  F32Arg q = f32_arg(info, op, 0), kc = f32_arg(info, op, 1), vc = f32_arg(info, op, 2), out = f32_arg(info, op, 3);
  const int64_t B = dim_arg(info, op, 4, 0), Tq = dim_arg(info, op, 5, 0);
  const Heads hd = heads_args(info, op, 6);
  const int64_t capacity = dim_arg(info, op, 10, 0);
  const float scale = scale_arg(info, op, 11);
  int64_t pos0 = 0;
  const int32_t* pos = nullptr;
  if (static_cast<int>(info.Length()) > 9 && info[9].IsTypedArray()) {
    pos = entries_arg(info, op, 9, "pos0", B, 0, capacity - Tq, "pos0[b] + Tq must not exceed the cache capacity " +
                                                                   std::to_string(capacity));
  } else {
    pos0 = dim_arg(info, op, 9, 0);
    if (pos0 + Tq > capacity)
      throw Napi::RangeError::New(info.Env(), std::string(op) + ": pos0 + Tq (" + std::to_string(pos0 + Tq) +
                                                  ") exceeds the cache capacity (" + std::to_string(capacity) + ")");
  }
  const int64_t row_elems = checked_product(info, op, {hd.Hkv, capacity, hd.D});
  // With cacheRows the caches may hold more (or fewer) rows than B: as many as their length holds.
  const bool has_rows = static_cast<int>(info.Length()) > 12 && !info[12].IsNull() && !info[12].IsUndefined();
  const int64_t cache_rows = has_rows ? (row_elems == 0 ? 0 : std::min(kc.length, vc.length) / row_elems) : B;
  const int32_t* rows = entries_arg(info, op, 12, "cacheRows", B, 0, cache_rows - 1,
                                    "rows held by kCache and vCache: " + std::to_string(cache_rows));
  const int64_t n_q = checked_product(info, op, {B, Tq, hd.H, hd.D});
  const int64_t n_cache = checked_product(info, op, {cache_rows, row_elems});
  require_length(info, op, "q", q, n_q);
  require_length(info, op, "kCache", kc, n_cache);
  require_length(info, op, "vCache", vc, n_cache);
  require_length(info, op, "out", out, n_q);
  if (B == 0 || Tq == 0) return info.Env().Undefined();
  const bool ok = dispatch([&](auto ops) {
    return run_cached<decltype(ops)>(q.data, kc.data, vc.data, out.data, B, Tq, hd.H, hd.Hkv, hd.D, pos0, pos, rows,
                                     capacity, scale);
  });
  throw_if_failed(info, op, ok);
  return info.Env().Undefined();
}

}  // namespace

LLMF_EXPORT("attentionForward", AttentionForward);
LLMF_EXPORT("attentionBackward", AttentionBackward);
LLMF_EXPORT("attentionCached", AttentionCached);

}  // namespace attn
}  // namespace llmf
