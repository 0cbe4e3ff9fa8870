// Token embedding lookup and its gradient. Every id is checked before any memory is
// touched. The backward splits the embedding dimension (not the tokens) over threads:
// each thread owns a band of columns of dtable and walks all tokens in order, so
// repeated ids never race and the sum order is fixed whatever the thread count.
#include <napi.h>

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
// Column bands are whole cache lines (16 floats).
constexpr int64_t kBand = 16;

void check_ids(const Napi::CallbackInfo& info, const char* op, const I32Arg& ids, int64_t n, int64_t vocab) {
  for (int64_t i = 0; i < n; i++) {
    int32_t id = ids.data[i];
    if (id < 0 || id >= vocab)
      throw Napi::RangeError::New(info.Env(), std::string(op) + ": token id " + std::to_string(id) + " at position " +
                                                  std::to_string(i) + " is out of range [0, " +
                                                  std::to_string(vocab) + ")");
  }
}

// dtable[ids[i], c0:c1] += dout[i, c0:c1] for every i, in order of i.
template <int W>
struct EmbeddingBackwardBody {
  static LLMF_INLINE void run(const int32_t* ids, const float* dout, float* dtable, int64_t n, int64_t dim, int64_t c0,
                              int64_t c1) {
    for (int64_t i = 0; i < n; i++) {
      const float* src = dout + i * dim;
      float* dst = dtable + static_cast<int64_t>(ids[i]) * dim;
      int64_t j = c0;
      for (; j + W <= c1; j += W) store<W>(dst + j, load<W>(dst + j) + load<W>(src + j));
      if (j < c1) store_part<W>(dst + j, load_part<W>(dst + j, c1 - j) + load_part<W>(src + j, c1 - j), c1 - j);
    }
  }
};

// embeddingForward(ids, table, out, n, dim, vocab)
Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  const char* op = "embeddingForward";
  I32Arg ids = i32_arg(info, op, 0);
  F32Arg table = f32_arg(info, op, 1), out = f32_arg(info, op, 2);
  int64_t n = int_arg(info, op, 3), dim = int_arg(info, op, 4), vocab = int_arg(info, op, 5);
  require_length(info, op, "ids", ids, n);
  require_length(info, op, "table", table, checked_mul(info, op, vocab, dim));
  require_length(info, op, "out", out, checked_mul(info, op, n, dim));
  check_ids(info, op, ids, n, vocab);
  if (dim == 0) return info.Env().Undefined();
  int64_t min_rows = std::max<int64_t>(1, kMinElemsPerThread / dim);
  parallel_for(n, min_rows, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++)
      std::memcpy(out.data + i * dim, table.data + static_cast<int64_t>(ids.data[i]) * dim, sizeof(float) * dim);
  });
  return info.Env().Undefined();
}

// embeddingBackward(ids, dout, dtable, n, dim, vocab)
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  const char* op = "embeddingBackward";
  I32Arg ids = i32_arg(info, op, 0);
  F32Arg dout = f32_arg(info, op, 1), dtable = f32_arg(info, op, 2);
  int64_t n = int_arg(info, op, 3), dim = int_arg(info, op, 4), vocab = int_arg(info, op, 5);
  require_length(info, op, "ids", ids, n);
  require_length(info, op, "dout", dout, checked_mul(info, op, n, dim));
  require_length(info, op, "dtable", dtable, checked_mul(info, op, vocab, dim));
  check_ids(info, op, ids, n, vocab);
  if (n == 0 || dim == 0) return info.Env().Undefined();
  int64_t bands = (dim + kBand - 1) / kBand;
  int64_t min_bands = std::max<int64_t>(1, kMinElemsPerThread / (n * kBand));
  parallel_chunks(bands, plan_threads(bands, min_bands), 1, [&](int, int64_t b0, int64_t b1) {
    simd_call<EmbeddingBackwardBody>(static_cast<const int32_t*>(ids.data), static_cast<const float*>(dout.data),
                                     dtable.data, n, dim, b0 * kBand, std::min(b1 * kBand, dim));
  });
  return info.Env().Undefined();
}

}  // namespace

LLMF_EXPORT("embeddingForward", EmbeddingForward);
LLMF_EXPORT("embeddingBackward", EmbeddingBackward);

}  // namespace llmf
