#include "pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#define LLMF_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define LLMF_PAUSE() asm volatile("yield")
#else
#define LLMF_PAUSE() ((void)0)
#endif

namespace llmf {
namespace {

thread_local bool t_in_task = false;

// Spinning briefly before sleeping keeps back-to-back kernel launches cheap
// (a training step launches hundreds); sleeping keeps idle workers off the CPU.
constexpr int kSpinIters = 20000;

class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return size_; }

  void resize(int n) {
    if (n < 1) n = 1;
    if (n > 4096) n = 4096;
    if (n == size_) return;
    stop();
    size_ = n;
    quit_ = false;
    const uint64_t gen0 = state_.load(std::memory_order_acquire) >> 16;
    for (int i = 1; i < n; i++) workers_.emplace_back([this, i, gen0] { loop(i, gen0); });
  }

  void run(int nthreads, TaskFn fn, void* ctx) {
    if (nthreads > size_) nthreads = size_;
    if (nthreads <= 1 || t_in_task) {
      bool was = t_in_task;
      t_in_task = true;
      fn(ctx, 0, 1);
      t_in_task = was;
      return;
    }
    fn_ = fn;
    ctx_ = ctx;
    pending_.store(nthreads - 1, std::memory_order_relaxed);
    {
      // Generation and active count travel in one word, so a worker never pairs
      // one job's count with another job's function.
      std::lock_guard<std::mutex> lock(mu_);
      uint64_t next = ((state_.load(std::memory_order_relaxed) >> 16) + 1) << 16;
      state_.store(next | static_cast<uint64_t>(nthreads), std::memory_order_release);
    }
    cv_.notify_all();
    t_in_task = true;
    fn(ctx, 0, nthreads);
    t_in_task = false;
    while (pending_.load(std::memory_order_acquire) != 0) LLMF_PAUSE();
  }

 private:
  void loop(int tid, uint64_t seen) {
    for (;;) {
      uint64_t st = state_.load(std::memory_order_acquire);
      for (int spin = 0; (st >> 16) == seen && spin < kSpinIters; spin++) {
        LLMF_PAUSE();
        st = state_.load(std::memory_order_acquire);
      }
      if ((st >> 16) == seen) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return quit_ || (state_.load(std::memory_order_acquire) >> 16) != seen; });
        if (quit_) return;
        st = state_.load(std::memory_order_acquire);
      }
      seen = st >> 16;
      if (quit_) return;
      int active = static_cast<int>(st & 0xffff);
      if (tid < active) {
        t_in_task = true;
        fn_(ctx_, tid, active);
        t_in_task = false;
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
      state_.fetch_add(1 << 16, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  int size_ = 0;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> state_{0};  // (generation << 16) | active thread count
  std::atomic<int> pending_{0};
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<bool> quit_{false};
};

int default_threads() {
  if (const char* env = std::getenv("LLMFORGE_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

Pool& pool() {
  // Leaked on purpose: joining threads from a static destructor at process exit
  // races with Node tearing down the isolate.
  static Pool* p = new Pool(default_threads());
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }
void set_num_threads(int n) { pool().resize(n); }
void run_on_threads(int nthreads, TaskFn fn, void* ctx) { pool().run(nthreads, fn, ctx); }

}  // namespace llmf
