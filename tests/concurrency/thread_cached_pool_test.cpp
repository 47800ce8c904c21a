// ThreadCachedPool across threads: blocks freed by a thread other than the one that allocated
// them (they join the freeing thread's cache) are never handed out twice, short-lived threads'
// caches are adopted rather than multiplied, and a pool may die before the threads that used it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

using Pool = ThreadCachedPool;

// Each thread allocates a batch, stamps it, and hands it to its right-hand neighbour, which
// verifies and frees it; repeated, so every cache holds blocks that other threads allocated.
TEST(ThreadCachedPoolConcurrency, CrossThreadFreesNeverHandOutABlockTwice) {
  const std::size_t threads = test::oversubscribed_threads();
  constexpr std::size_t kRounds = 50;
  constexpr std::size_t kPerRound = 200;
  Pool pool(std::size_t{64} << 20);
  struct Handoff {
    std::atomic<std::size_t> ready{0};     // round whose batch the owner has published
    std::atomic<std::size_t> consumed{0};  // round whose batch the neighbour has freed
    std::vector<void*> blocks;
    std::vector<std::size_t> sizes;
  };
  std::vector<Handoff> handoffs(threads);
  std::atomic<std::size_t> corrupted{0}, failed{0};
  auto wait_for = [](std::atomic<std::size_t>& a, std::size_t value) {
    for (std::size_t seen = a.load(std::memory_order_acquire); seen != value; seen = a.load(std::memory_order_acquire))
      a.wait(seen, std::memory_order_acquire);
  };
  test::race(threads, [&](std::size_t t) {
    Handoff& mine = handoffs[t];
    const std::size_t left = (t + threads - 1) % threads;
    Handoff& from_left = handoffs[left];
    for (std::size_t r = 1; r <= kRounds; ++r) {
      wait_for(mine.consumed, r - 1);  // my previous batch is freed: the vectors are mine again
      mine.blocks.clear();
      mine.sizes.clear();
      for (std::size_t i = 0; i < kPerRound; ++i) {
        const std::size_t size = 16 * (1 + (i * 7 + r + t) % 40);
        void* p = pool.allocate(size);
        if (p == nullptr) {
          failed.fetch_add(1);
          continue;
        }
        test::fill_pattern(p, size, t, r * kPerRound + mine.blocks.size());
        mine.blocks.push_back(p);
        mine.sizes.push_back(size);
      }
      mine.ready.store(r, std::memory_order_release);
      mine.ready.notify_all();
      wait_for(from_left.ready, r);
      for (std::size_t i = 0; i < from_left.blocks.size(); ++i) {
        if (!test::check_pattern(from_left.blocks[i], from_left.sizes[i], left, r * kPerRound + i))
          corrupted.fetch_add(1);
        pool.deallocate(from_left.blocks[i], from_left.sizes[i]);
      }
      from_left.consumed.store(r, std::memory_order_release);
      from_left.consumed.notify_all();
    }
    wait_for(mine.consumed, kRounds);
  });
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_EQ(corrupted.load(), 0u);
  EXPECT_EQ(pool.stats().bytes_requested, 0u);  // every block freed; the caches hold the rest
  EXPECT_LE(pool.thread_caches(), threads);
  pool.reset();
  EXPECT_EQ(pool.used(), 0u);
}

TEST(ThreadCachedPoolConcurrency, ShortLivedThreadsAdoptCachesInsteadOfMultiplyingThem) {
  if constexpr (debug::checked) GTEST_SKIP() << "checked builds bypass the caches";
  Pool pool(std::size_t{16} << 20);
  constexpr int kWaves = 50;
  for (int wave = 0; wave < kWaves; ++wave) {
    std::thread t([&] {
      std::vector<void*> blocks;
      for (int i = 0; i < 100; ++i) blocks.push_back(pool.allocate(32 + 16 * (i % 10)));
      for (int i = 0; i < 100; ++i) pool.deallocate(blocks[static_cast<std::size_t>(i)], 32 + 16 * (i % 10));
    });
    t.join();
  }
  // One thread at a time: each adopted the cache (and its parked blocks) of the one before.
  EXPECT_EQ(pool.thread_caches(), 1u);
  EXPECT_LE(pool.used(), 10 * Pool::cache_limit * (192 + CoalescingPool::header_size));
}

TEST(ThreadCachedPoolConcurrency, APoolMayDieBeforeTheThreadsThatUsedIt) {
  auto pool = std::make_unique<Pool>(std::size_t{1} << 20);
  std::atomic<int> stage{0};
  std::thread t([&] {
    void* p = pool->allocate(64);
    pool->deallocate(p, 64);  // parked in this thread's cache
    stage.store(1);
    stage.notify_all();
    while (stage.load() != 2) stage.wait(1);
    // The pool is gone; a new one gets a new id, so this thread's old cache is never used.
    Pool next(std::size_t{1} << 20);
    void* q = next.allocate(64);
    EXPECT_NE(q, nullptr);
    next.deallocate(q, 64);
  });
  while (stage.load() != 1) stage.wait(0);
  pool.reset();
  pool = nullptr;
  stage.store(2);
  stage.notify_all();
  t.join();  // the thread's exit only drops its reference to the dead pool's cache
}

}  // namespace
}  // namespace alloclab
