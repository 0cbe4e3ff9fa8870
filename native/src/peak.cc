// Measures the machine's peak FP32 FMA throughput: the denominator of MFU. Each
// thread runs independent FMA chains on registers only (no memory traffic), with
// enough accumulators to cover the FMA latency, using the best ISA available.
#include <chrono>
#include <vector>

#include "args.h"
#include "cpu.h"
#include "pool.h"
#include "registry.h"

#if LLMF_X86
#include <immintrin.h>
#endif

namespace llmf {
namespace {

constexpr int kAcc = 12;

#if LLMF_X86
LLMF_TARGET_AVX512 double fma_loop_avx512(int64_t iters) {
  __m512 acc[kAcc];
  for (int i = 0; i < kAcc; i++) acc[i] = _mm512_set1_ps(0.001f * i);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; it++)
    for (int i = 0; i < kAcc; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  alignas(64) float lanes[16];
  float sink = 0;
  for (int i = 0; i < kAcc; i++) {
    _mm512_store_ps(lanes, acc[i]);
    for (float l : lanes) sink += l;
  }
  volatile float keep = sink;
  (void)keep;
  return static_cast<double>(iters) * kAcc * 16 * 2;
}

LLMF_TARGET_AVX2 double fma_loop_avx2(int64_t iters) {
  __m256 acc[kAcc];
  for (int i = 0; i < kAcc; i++) acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; it++)
    for (int i = 0; i < kAcc; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  alignas(32) float lanes[8];
  float sink = 0;
  for (int i = 0; i < kAcc; i++) {
    _mm256_store_ps(lanes, acc[i]);
    for (float l : lanes) sink += l;
  }
  volatile float keep = sink;
  (void)keep;
  return static_cast<double>(iters) * kAcc * 8 * 2;
}
#endif

double fma_loop_portable(int64_t iters) {
  float acc[kAcc * 8];
  for (int i = 0; i < kAcc * 8; i++) acc[i] = 0.001f * i;
  for (int64_t it = 0; it < iters; it++)
    for (int i = 0; i < kAcc * 8; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
  float sink = 0;
  for (float x : acc) sink += x;
  volatile float keep = sink;
  (void)keep;
  return static_cast<double>(iters) * kAcc * 8 * 2;
}

double fma_loop(int64_t iters) {
#if LLMF_X86
  switch (active_isa()) {
    case Isa::Avx512: return fma_loop_avx512(iters);
    case Isa::Avx2: return fma_loop_avx2(iters);
    default: break;
  }
#endif
  return fma_loop_portable(iters);
}

// peakFlops(iterations) → FLOP/s summed over all pool threads.
Napi::Value PeakFlops(const Napi::CallbackInfo& info) {
  int64_t iters = int_arg(info, "peakFlops", 0, 1);
  std::vector<double> flops(num_threads(), 0.0);
  fma_loop(iters / 10 + 1);  // wake the cores up before timing
  auto t0 = std::chrono::steady_clock::now();
  parallel_run([&](int tid, int) { flops[tid] = fma_loop(iters); });
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double total = 0;
  for (double f : flops) total += f;
  return Napi::Number::New(info.Env(), total / secs);
}

LLMF_EXPORT("peakFlops", PeakFlops);

}  // namespace
}  // namespace llmf
