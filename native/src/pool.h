// One persistent thread pool for every kernel. The calling (JS) thread is worker 0,
// so a pool of N threads starts N-1 OS threads. Work is split in fixed contiguous
// chunks by thread index, never stolen, so a given thread count always produces
// the same reduction order and bit-identical results.
#pragma once
#include <cstdint>
#include <algorithm>
#include <type_traits>

namespace llmf {

int num_threads();
// n >= 1. Safe to call between kernels; not from inside a parallel region.
void set_num_threads(int n);

using TaskFn = void (*)(void* ctx, int tid, int nthreads);
// Runs fn(ctx, tid, nthreads) once on each of `nthreads` threads (capped at the pool
// size) and returns when all finished. Called from inside a task, runs inline on one thread.
void run_on_threads(int nthreads, TaskFn fn, void* ctx);

// f(tid, nthreads) on every pool thread.
template <class F>
void parallel_run(F&& f, int max_threads = 1 << 30) {
  int n = std::min(num_threads(), max_threads);
  if (n < 1) n = 1;
  using Fn = std::remove_reference_t<F>;  // F is a reference type when f is a named lambda
  Fn* fn = &f;
  run_on_threads(n, [](void* ctx, int tid, int nt) { (*static_cast<Fn*>(ctx))(tid, nt); }, const_cast<void*>(static_cast<const void*>(fn)));
}

// Splits [0, n) into one contiguous chunk per thread; f(begin, end). `min_per_thread`
// keeps tiny loops on fewer threads, where waking a worker costs more than it saves.
template <class F>
void parallel_for(int64_t n, int64_t min_per_thread, F&& f) {
  if (n <= 0) return;
  int64_t want = min_per_thread > 0 ? (n + min_per_thread - 1) / min_per_thread : n;
  int nt = static_cast<int>(std::min<int64_t>(num_threads(), std::max<int64_t>(1, want)));
  if (nt <= 1) {
    f(int64_t{0}, n);
    return;
  }
  parallel_run(
      [&](int tid, int nth) {
        int64_t begin = n * tid / nth, end = n * (tid + 1) / nth;
        if (begin < end) f(begin, end);
      },
      nt);
}

}  // namespace llmf
