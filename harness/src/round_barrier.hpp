// The barrier at which the threads of a run meet around a shared arena's reset.
//
// Why not std::barrier: its arrive_and_wait sleeps in the kernel and is woken by a futex, which
// costs over an order of magnitude more than a spinning barrier, and more than a whole `small`
// round of bump allocations. Behind two std::barrier waits per periodic reset a shared arena at
// 2 threads was charged more than half of its time — the harness measured itself, not the
// allocator.
//
// The waiters spin (with a pause) while every thread has a core of its own, and block at once
// in std::atomic::wait when the run has more threads than the machine has hardware threads:
// spinning there would take the core a thread that has not arrived yet needs.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "alloclab/allocator.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace alloclab::harness {

class RoundBarrier {
 public:
  explicit RoundBarrier(int threads) noexcept
      : threads_(threads),
        spin_(threads <= static_cast<int>(std::thread::hardware_concurrency())),
        waiting_(threads) {}
  RoundBarrier(const RoundBarrier&) = delete;
  RoundBarrier& operator=(const RoundBarrier&) = delete;

  void arrive_and_wait() noexcept {
    const std::uint32_t generation = generation_.load(std::memory_order_acquire);
    if (waiting_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // The last to arrive re-arms the count before it opens the barrier: no one can arrive
      // for the next generation before seeing the new one.
      waiting_.store(threads_, std::memory_order_relaxed);
      generation_.store(generation + 1, std::memory_order_release);
      generation_.notify_all();
      return;
    }
    if (spin_) {
      // spin_limit pauses (a pause's length varies by CPU generation), then sleep.
      for (int i = 0; i < spin_limit; ++i) {
        if (generation_.load(std::memory_order_acquire) != generation) return;
        pause();
      }
    }
    while (generation_.load(std::memory_order_acquire) == generation)
      generation_.wait(generation, std::memory_order_acquire);
  }

 private:
  static constexpr int spin_limit = 1 << 14;

  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  const int threads_;
  const bool spin_;
  alignas(cache_line_size) std::atomic<int> waiting_;
  alignas(cache_line_size) std::atomic<std::uint32_t> generation_{0};
};

}  // namespace alloclab::harness
