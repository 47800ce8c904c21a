// The harness's RoundBarrier (the meeting around a shared arena's reset, RoundSync::bulk): what
// a thread wrote before arriving is seen by every thread after, and what one thread wrote
// between two barriers — the leader's reset — is seen by all after the second. The slots are
// plain memory, so a missing ordering is a data race TSan reports, and a thread let through
// early reads a stale value the checks catch. Run where the waiters spin (threads <= cores)
// and where they sleep (more threads than cores).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>
#include <vector>

#include "round_barrier.hpp"

namespace alloclab::harness {
namespace {

constexpr int generations = 2000;

// More threads than hardware threads, so that the barrier's waiters sleep (a count of 0, when
// the machine does not say, makes the barrier sleep at any count).
int oversubscribed_threads() {
  return static_cast<int>(std::max(2u, std::thread::hardware_concurrency() + 1));
}

// Runs body(0..threads-1) on threads of their own. A barrier bug shows as threads waiting for
// ever (a lost wake-up, a miscount): after 60 s the test aborts, naming it, rather than hang.
void run_threads(int threads, const std::function<void(int)>& body) {
  std::atomic<int> finished{0};
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      body(i);
      finished.fetch_add(1, std::memory_order_release);
    });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (finished.load(std::memory_order_acquire) < threads) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "RoundBarrier: %d of %d threads still waiting after 60 s\n",
                   threads - finished.load(), threads);
      std::abort();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (auto& t : pool) t.join();
}

// Every thread writes its slot and meets the others; all read every slot; the leader then
// counts, between two barriers, as RoundSync::bulk resets; all read the count.
void run(int threads) {
  RoundBarrier barrier(threads);
  std::vector<int> slots(static_cast<std::size_t>(threads), -1);
  long leader_count = 0;  // written only by the leader, between two barriers
  std::atomic<long> errors{0};
  run_threads(threads, [&](int index) {
    for (int g = 0; g < generations; ++g) {
      slots[static_cast<std::size_t>(index)] = g;
      barrier.arrive_and_wait();
      for (int s : slots)
        if (s != g) errors.fetch_add(1, std::memory_order_relaxed);
      barrier.arrive_and_wait();  // nobody writes generation g+1 before everyone read g
      if (index == 0) ++leader_count;
      barrier.arrive_and_wait();
      if (leader_count != g + 1) errors.fetch_add(1, std::memory_order_relaxed);
    }
  });
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(leader_count, generations);
}

TEST(RoundBarrier, OrdersMemorySpinning) { run(2); }
TEST(RoundBarrier, OrdersMemorySleeping) { run(oversubscribed_threads()); }

}  // namespace
}  // namespace alloclab::harness
