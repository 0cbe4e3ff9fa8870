// N-API bindings shared by the elementwise kernels: check every buffer against n, split
// [0, n) into per-thread chunks, run Body<W> on each chunk with the active ISA's width.
// min_per_thread keeps small calls on one thread (memory-bound kernels want more work
// per thread than exp-heavy ones before a second thread pays off).
#pragma once
#include <napi.h>

#include <string>

#include "args.h"
#include "ops_simd.h"
#include "ops_util.h"

namespace llmf {

constexpr int64_t kElementwiseGrain = 16;

// (x, out, n): out = f(x)
template <template <int> class Body>
Napi::Value map1(const Napi::CallbackInfo& info, const char* op, int64_t min_per_thread) {
  F32Arg x = f32_arg(info, op, 0), out = f32_arg(info, op, 1);
  int64_t n = int_arg(info, op, 2);
  require_length(info, op, "x", x, n);
  require_length(info, op, "out", out, n);
  parallel_chunks(n, plan_threads(n, min_per_thread), kElementwiseGrain, [&](int, int64_t i0, int64_t i1) {
    simd::simd_call<Body>(static_cast<const float*>(x.data + i0), out.data + i0, i1 - i0);
  });
  return info.Env().Undefined();
}

// (x, dout, dx, n): dx += dout · f'(x)
template <template <int> class Body>
Napi::Value map1_backward(const Napi::CallbackInfo& info, const char* op, int64_t min_per_thread) {
  F32Arg x = f32_arg(info, op, 0), dout = f32_arg(info, op, 1), dx = f32_arg(info, op, 2);
  int64_t n = int_arg(info, op, 3);
  require_length(info, op, "x", x, n);
  require_length(info, op, "dout", dout, n);
  require_length(info, op, "dx", dx, n);
  parallel_chunks(n, plan_threads(n, min_per_thread), kElementwiseGrain, [&](int, int64_t i0, int64_t i1) {
    simd::simd_call<Body>(static_cast<const float*>(x.data + i0), static_cast<const float*>(dout.data + i0),
                          dx.data + i0, i1 - i0);
  });
  return info.Env().Undefined();
}

// (a, b, out, n): out = f(a, b); errors call the inputs a_name and b_name.
template <template <int> class Body>
Napi::Value map2(const Napi::CallbackInfo& info, const char* op, const char* a_name, const char* b_name,
                 int64_t min_per_thread) {
  F32Arg a = f32_arg(info, op, 0), b = f32_arg(info, op, 1), out = f32_arg(info, op, 2);
  int64_t n = int_arg(info, op, 3);
  require_length(info, op, a_name, a, n);
  require_length(info, op, b_name, b, n);
  require_length(info, op, "out", out, n);
  parallel_chunks(n, plan_threads(n, min_per_thread), kElementwiseGrain, [&](int, int64_t i0, int64_t i1) {
    simd::simd_call<Body>(static_cast<const float*>(a.data + i0), static_cast<const float*>(b.data + i0),
                          out.data + i0, i1 - i0);
  });
  return info.Env().Undefined();
}

// (a, b, dout, da, db, n): da += dout · ∂f/∂a, db += dout · ∂f/∂b.
template <template <int> class Body>
Napi::Value map2_backward(const Napi::CallbackInfo& info, const char* op, const char* a_name, const char* b_name,
                          int64_t min_per_thread) {
  F32Arg a = f32_arg(info, op, 0), b = f32_arg(info, op, 1), dout = f32_arg(info, op, 2);
  F32Arg da = f32_arg(info, op, 3), db = f32_arg(info, op, 4);
  int64_t n = int_arg(info, op, 5);
  const std::string da_name = std::string("d") + a_name, db_name = std::string("d") + b_name;
  require_length(info, op, a_name, a, n);
  require_length(info, op, b_name, b, n);
  require_length(info, op, "dout", dout, n);
  require_length(info, op, da_name.c_str(), da, n);
  require_length(info, op, db_name.c_str(), db, n);
  parallel_chunks(n, plan_threads(n, min_per_thread), kElementwiseGrain, [&](int, int64_t i0, int64_t i1) {
    simd::simd_call<Body>(static_cast<const float*>(a.data + i0), static_cast<const float*>(b.data + i0),
                          static_cast<const float*>(dout.data + i0), da.data + i0, db.data + i0, i1 - i0);
  });
  return info.Env().Undefined();
}

}  // namespace llmf
