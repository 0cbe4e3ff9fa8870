// Rotary position embedding, Hugging Face "rotate_half" layout: in each rotated head,
// element i pairs with i + headDim/2. The first rotHeads heads of each row are rotated
// and the rest of the row is passed through, so one call can rotate the q and k heads
// of a packed qkv row. Rows are split over threads; out may be x (in place). Row r sits
// at position pos_offset + r % seq, or pos_offset + positions[r] when position ids are
// given (packed sequences, each restarting at 0 inside one row).
#include <napi.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "args.h"
#include "ops_simd.h"
#include "ops_util.h"
#include "registry.h"

namespace llmf {
namespace {

using namespace simd;

constexpr int64_t kMinElemsPerThread = 1 << 14;

struct RopeShape {
  int64_t seq, row_width, rot_heads, head_dim, pos_offset;
  const int32_t* positions;  // nullptr: row r at pos_offset + r % seq
};

// One vector (k lanes) of a head: rotate by +θ (forward) or accumulate the rotation by
// -θ (backward, the transpose). Both halves are loaded before either is written.
template <int W, bool kBackward>
LLMF_INLINE void rotate_step(const float* src, float* dst, const float* c, const float* s, int64_t half, int64_t k) {
  bool full = k == W;
  VF<W> x1 = full ? load<W>(src) : load_part<W>(src, k);
  VF<W> x2 = full ? load<W>(src + half) : load_part<W>(src + half, k);
  VF<W> cv = full ? load<W>(c) : load_part<W>(c, k);
  VF<W> sv = full ? load<W>(s) : load_part<W>(s, k);
  VF<W> y1, y2;
  if (kBackward) {
    y1 = (full ? load<W>(dst) : load_part<W>(dst, k)) + (x1 * cv + x2 * sv);
    y2 = (full ? load<W>(dst + half) : load_part<W>(dst + half, k)) + (x2 * cv - x1 * sv);
  } else {
    y1 = x1 * cv - x2 * sv;
    y2 = x2 * cv + x1 * sv;
  }
  if (full) {
    store<W>(dst, y1);
    store<W>(dst + half, y2);
  } else {
    store_part<W>(dst, y1, k);
    store_part<W>(dst + half, y2, k);
  }
}

// Forward: dst = R(θ)·src. Backward: dst += R(-θ)·src. Rows [r0, r1).
template <int W, bool kBackward>
LLMF_INLINE void rope_rows(const float* src, float* dst, const float* cos, const float* sin, int64_t r0, int64_t r1,
                           const RopeShape& sh) {
  const int64_t half = sh.head_dim / 2, rot = sh.rot_heads * sh.head_dim, width = sh.row_width;
  for (int64_t r = r0; r < r1; r++) {
    const int64_t t = (sh.pos_offset + (sh.positions ? sh.positions[r] : r % sh.seq)) * half;
    const float* c = cos + t;
    const float* s = sin + t;
    const float* sr = src + r * width;
    float* dr = dst + r * width;
    for (int64_t h = 0; h < sh.rot_heads; h++) {
      const float* src_head = sr + h * sh.head_dim;
      float* dst_head = dr + h * sh.head_dim;
      int64_t i = 0;
      for (; i + W <= half; i += W) rotate_step<W, kBackward>(src_head + i, dst_head + i, c + i, s + i, half, W);
      if (i < half) rotate_step<W, kBackward>(src_head + i, dst_head + i, c + i, s + i, half, half - i);
    }
    // The unrotated rest of the row.
    if (kBackward) {
      int64_t j = rot;
      for (; j + W <= width; j += W) store<W>(dr + j, load<W>(dr + j) + load<W>(sr + j));
      if (j < width) store_part<W>(dr + j, load_part<W>(dr + j, width - j) + load_part<W>(sr + j, width - j), width - j);
    } else if (dr != sr && width > rot) {
      std::memcpy(dr + rot, sr + rot, sizeof(float) * static_cast<size_t>(width - rot));
    }
  }
}

template <int W>
struct RopeForwardBody {
  static LLMF_INLINE void run(const float* x, float* out, const float* cos, const float* sin, int64_t r0, int64_t r1,
                              const RopeShape* sh) {
    rope_rows<W, false>(x, out, cos, sin, r0, r1, *sh);
  }
};

template <int W>
struct RopeBackwardBody {
  static LLMF_INLINE void run(const float* dout, float* dx, const float* cos, const float* sin, int64_t r0, int64_t r1,
                              const RopeShape* sh) {
    rope_rows<W, true>(dout, dx, cos, sin, r0, r1, *sh);
  }
};

// ropeForward(x, out, cos, sin, rows, seq, rowWidth, rotHeads, headDim, posOffset, positions?), and
// ropeBackward(dout, dx, ...) with the same shape arguments.
template <template <int> class Body>
Napi::Value Rope(const Napi::CallbackInfo& info, const char* op, const char* src_name, const char* dst_name) {
  F32Arg src = f32_arg(info, op, 0), dst = f32_arg(info, op, 1), cos = f32_arg(info, op, 2), sin = f32_arg(info, op, 3);
  int64_t rows = int_arg(info, op, 4);
  RopeShape sh;
  sh.seq = int_arg(info, op, 5);
  sh.row_width = int_arg(info, op, 6);
  sh.rot_heads = int_arg(info, op, 7);
  sh.head_dim = int_arg(info, op, 8);
  sh.pos_offset = int_arg(info, op, 9);
  const bool has_positions = static_cast<int>(info.Length()) > 10 && !info[10].IsNull() && !info[10].IsUndefined();
  I32Arg positions = has_positions ? i32_arg(info, op, 10) : I32Arg{nullptr, 0};
  sh.positions = positions.data;
  auto fail = [&](const std::string& msg) { return Napi::RangeError::New(info.Env(), std::string(op) + ": " + msg); };
  if (sh.rot_heads > 0 && (sh.head_dim <= 0 || sh.head_dim % 2 != 0))
    throw fail("headDim must be a positive even number, got " + std::to_string(sh.head_dim));
  if (checked_mul(info, op, sh.rot_heads, sh.head_dim) > sh.row_width)
    throw fail(std::to_string(sh.rot_heads) + " heads of " + std::to_string(sh.head_dim) +
               " do not fit in a row of " + std::to_string(sh.row_width));
  if (rows > 0 && sh.seq < 1) throw fail("seq must be >= 1, got " + std::to_string(sh.seq));
  int64_t n = checked_mul(info, op, rows, sh.row_width);
  require_length(info, op, src_name, src, n);
  require_length(info, op, dst_name, dst, n);
  int64_t max_id = std::min(sh.seq, rows) - 1;
  if (positions.data) {
    require_length(info, op, "positions", positions, rows);
    max_id = -1;
    for (int64_t r = 0; r < rows; r++) {
      const int32_t p = positions.data[r];
      if (p < 0)
        throw fail("position id " + std::to_string(p) + " at row " + std::to_string(r) + " is negative");
      max_id = std::max<int64_t>(max_id, p);
    }
  }
  if (rows > 0 && sh.rot_heads > 0) {
    int64_t last_pos = sh.pos_offset + max_id;
    int64_t need = checked_mul(info, op, last_pos + 1, sh.head_dim / 2);
    if (cos.length < need || sin.length < need)
      throw fail("position " + std::to_string(last_pos) + " needs cos/sin tables of " + std::to_string(need) +
                 " elements, got " + std::to_string(std::min(cos.length, sin.length)));
  }
  if (n == 0) return info.Env().Undefined();
  int64_t min_rows = std::max<int64_t>(1, kMinElemsPerThread / std::max<int64_t>(1, sh.row_width));
  parallel_chunks(rows, plan_threads(rows, min_rows), 1, [&](int, int64_t r0, int64_t r1) {
    simd_call<Body>(static_cast<const float*>(src.data), dst.data, static_cast<const float*>(cos.data),
                    static_cast<const float*>(sin.data), r0, r1, static_cast<const RopeShape*>(&sh));
  });
  return info.Env().Undefined();
}

Napi::Value RopeForward(const Napi::CallbackInfo& info) { return Rope<RopeForwardBody>(info, "ropeForward", "x", "out"); }
Napi::Value RopeBackward(const Napi::CallbackInfo& info) {
  return Rope<RopeBackwardBody>(info, "ropeBackward", "dout", "dx");
}

}  // namespace

LLMF_EXPORT("ropeForward", RopeForward);
LLMF_EXPORT("ropeBackward", RopeBackward);

}  // namespace llmf
