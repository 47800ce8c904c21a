// CoalescingPool under real races: more threads than cores, released together behind a latch.
// Threads keep live sets and free at random, hand blocks to a neighbour to be freed on another
// thread, and check every block's pattern before it is freed: a block handed out twice, or
// memory reused while still live, breaks some pattern. When everything is freed the pool must
// have merged back into one free block of its whole capacity.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

struct Live {
  void* p;
  std::size_t size;
  std::uint64_t owner;  // thread that allocated and stamped it
  std::uint64_t index;
};

using test::race;

std::size_t random_size(std::mt19937_64& rng) { return 8 + rng() % 505; }  // 8..512
// Powers of two from 8 to max_alignment.
std::size_t random_alignment(std::mt19937_64& rng, std::size_t max_alignment) {
  std::size_t choices = 0;
  for (std::size_t a = 8; a <= max_alignment; a *= 2) ++choices;
  return std::size_t{8} << (rng() % choices);
}

struct Counters {
  std::atomic<std::size_t> allocations{0};
  std::atomic<std::size_t> failures{0};
  std::atomic<std::size_t> frees{0};
  std::atomic<std::size_t> cross_frees{0};
  std::atomic<std::size_t> misaligned{0};
  std::atomic<std::size_t> corrupted{0};
};

// Every thread allocates `per_thread` mixed blocks, stamps them, waits for everybody, verifies
// and frees its own. Returns the pool's state checks to the caller.
void allocate_stamp_verify_free(CoalescingPool& pool, std::size_t threads, std::size_t per_thread,
                                std::size_t max_alignment, Counters& c) {
  std::latch stamped(static_cast<std::ptrdiff_t>(threads));
  race(threads, [&](std::size_t t) {
    std::mt19937_64 rng(t * 31 + max_alignment);
    std::vector<Live> live;
    live.reserve(per_thread);
    for (std::size_t i = 0; i < per_thread; ++i) {
      const std::size_t size = random_size(rng);
      const std::size_t alignment = random_alignment(rng, max_alignment);
      void* p = pool.allocate(size, alignment);
      if (p == nullptr) {
        c.failures.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      c.allocations.fetch_add(1, std::memory_order_relaxed);
      if (reinterpret_cast<std::uintptr_t>(p) % alignment != 0)
        c.misaligned.fetch_add(1, std::memory_order_relaxed);
      test::fill_pattern(p, size, t, i);
      live.push_back({p, size, t, i});
    }
    stamped.arrive_and_wait();
    for (const Live& b : live) {
      if (!test::check_pattern(b.p, b.size, b.owner, b.index))
        c.corrupted.fetch_add(1, std::memory_order_relaxed);
      pool.deallocate(b.p, b.size);
      c.frees.fetch_add(1, std::memory_order_relaxed);
    }
  });
}

// A mailbox per thread: thread i frees what thread i + 1 posts to it.
struct alignas(cache_line_size) Mailbox {
  std::mutex mutex;
  std::vector<Live> blocks;
};

constexpr std::size_t kLiveLimit = 64;
constexpr std::size_t kTotalOps = 48000;

// Random allocate / free / post-to-neighbour over a live set per thread; all freed at the end.
void churn_with_cross_thread_frees(CoalescingPool& pool, std::size_t threads,
                                   std::size_t max_alignment, std::uint64_t seed, Counters& c) {
  const std::size_t ops = std::max<std::size_t>(1000, kTotalOps / threads);
  std::vector<Mailbox> mailboxes(threads);
  std::latch done_posting(static_cast<std::ptrdiff_t>(threads));

  race(threads, [&](std::size_t t) {
    std::mt19937_64 rng(seed * 7777 + t);
    std::vector<Live> live;
    live.reserve(kLiveLimit + 1);
    std::uint64_t next_index = 0;
    Mailbox& mine = mailboxes[t];
    Mailbox& neighbour = mailboxes[(t + threads - 1) % threads];  // it frees my blocks
    std::vector<Live> inbox;

    const auto free_checked = [&](const Live& b) {
      if (!test::check_pattern(b.p, b.size, b.owner, b.index))
        c.corrupted.fetch_add(1, std::memory_order_relaxed);
      pool.deallocate(b.p, b.size);
      c.frees.fetch_add(1, std::memory_order_relaxed);
    };
    const auto drain_inbox = [&] {
      {
        std::lock_guard lock(mine.mutex);
        inbox.swap(mine.blocks);
      }
      for (const Live& b : inbox) {
        if (b.owner != (t + 1) % threads) c.corrupted.fetch_add(1, std::memory_order_relaxed);
        free_checked(b);
        c.cross_frees.fetch_add(1, std::memory_order_relaxed);
      }
      inbox.clear();
    };
    const auto take_random = [&] {
      const std::size_t k = rng() % live.size();
      const Live b = live[k];
      live[k] = live.back();
      live.pop_back();
      return b;
    };

    for (std::size_t op = 0; op < ops; ++op) {
      const unsigned r = static_cast<unsigned>(rng() % 100);
      if (live.size() < kLiveLimit && (live.size() < 8 || r < 50)) {
        const std::size_t size = random_size(rng);
        const std::size_t alignment = random_alignment(rng, max_alignment);
        void* p = pool.allocate(size, alignment);
        if (p == nullptr) {
          c.failures.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        c.allocations.fetch_add(1, std::memory_order_relaxed);
        if (reinterpret_cast<std::uintptr_t>(p) % alignment != 0)
          c.misaligned.fetch_add(1, std::memory_order_relaxed);
        test::fill_pattern(p, size, t, next_index);
        live.push_back({p, size, t, next_index});
        ++next_index;
      } else if (r < 80) {
        free_checked(take_random());
      } else {
        const Live b = take_random();
        // Checked here too: the block must still be ours when we give it away.
        if (!test::check_pattern(b.p, b.size, b.owner, b.index))
          c.corrupted.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(neighbour.mutex);
        neighbour.blocks.push_back(b);
      }
      if (op % 16 == 0) drain_inbox();
    }
    // Keep some blocks crossing threads right to the end.
    while (!live.empty()) {
      const Live b = take_random();
      if (live.size() % 2 == 0) {
        free_checked(b);
      } else {
        std::lock_guard lock(neighbour.mutex);
        neighbour.blocks.push_back(b);
      }
    }
    done_posting.arrive_and_wait();  // after this nobody posts: one last drain empties my box
    drain_inbox();
  });
}

void expect_counters_clean(const Counters& c) {
  EXPECT_EQ(c.failures.load(), 0u);
  EXPECT_EQ(c.misaligned.load(), 0u);
  EXPECT_EQ(c.corrupted.load(), 0u);
  EXPECT_EQ(c.frees.load(), c.allocations.load());
}

// Everything freed: one free block spanning the whole capacity, nothing used.
void expect_fully_merged(const CoalescingPool& pool, const Counters& c) {
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(pool.free_blocks(), 1u);
  EXPECT_EQ(pool.largest_free_block(), pool.capacity());
  EXPECT_EQ(pool.remaining(), pool.capacity());
  const AllocatorStats s = pool.stats();
  EXPECT_EQ(s.allocations, c.allocations.load());
  EXPECT_EQ(s.deallocations, c.frees.load());
  EXPECT_EQ(s.failed_allocations, c.failures.load());
  EXPECT_EQ(s.bytes_requested, 0u);
  EXPECT_LE(s.peak_used, s.capacity);
}

constexpr std::size_t kPoolCapacity = 8 * 1024 * 1024;

// Parameter: the largest alignment requested (16: the pool's natural granule; 256: over-aligned
// requests, which split a free front gap off the block they take).
class PoolConcurrency : public ::testing::TestWithParam<std::size_t> {};

TEST_P(PoolConcurrency, MixedRequestsNeverOverlapAndMergeBack) {
  const std::size_t threads = test::oversubscribed_threads();
  CoalescingPool pool(kPoolCapacity);
  ASSERT_EQ(pool.capacity(), kPoolCapacity);
  Counters c;
  allocate_stamp_verify_free(pool, threads, 1000, GetParam(), c);
  EXPECT_EQ(c.allocations.load(), threads * 1000);
  expect_counters_clean(c);
  expect_fully_merged(pool, c);
}

TEST_P(PoolConcurrency, RandomChurnWithCrossThreadFreesMergesBackToOneBlock) {
  const std::size_t threads = test::oversubscribed_threads();
  CoalescingPool pool(kPoolCapacity);
  ASSERT_EQ(pool.capacity(), kPoolCapacity);
  Counters c;
  churn_with_cross_thread_frees(pool, threads, GetParam(), 1, c);
  EXPECT_GT(c.cross_frees.load(), 0u);
  expect_counters_clean(c);
  expect_fully_merged(pool, c);
}

// The same churn, several times over one pool with reset() between (after joining), and once
// more without reset: the merged state carries over and nothing leaks between rounds.
TEST_P(PoolConcurrency, RepeatedChurnRoundsWithAndWithoutReset) {
  const std::size_t threads = test::oversubscribed_threads();
  CoalescingPool pool(kPoolCapacity);
  Counters c;
  for (std::uint64_t round = 0; round < 3; ++round) {
    churn_with_cross_thread_frees(pool, threads, GetParam(), 10 + round, c);
    expect_counters_clean(c);
    EXPECT_EQ(pool.used(), 0u) << "round " << round;
    EXPECT_EQ(pool.free_blocks(), 1u) << "round " << round;
    if (round == 1) {
      pool.reset();
      EXPECT_EQ(pool.free_blocks(), 1u);
      EXPECT_EQ(pool.largest_free_block(), pool.capacity());
    }
  }
  expect_fully_merged(pool, c);
}

INSTANTIATE_TEST_SUITE_P(Alignment, PoolConcurrency, ::testing::Values(16, 256),
                         [](const ::testing::TestParamInfo<std::size_t>& param) {
                           return "MaxAlign" + std::to_string(param.param);
                         });

// The smallest form of what the over-aligned runs above exercise, on one thread: an
// over-aligned block splits a free gap off its front; freeing the block must merge it back.
TEST(PoolOverAligned, FreeingAnOverAlignedBlockMergesWithItsFrontGap) {
  CoalescingPool pool(64 * 1024);
  ASSERT_EQ(pool.free_blocks(), 1u);
  void* p = pool.allocate(64, 256);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 256, 0u);
  pool.deallocate(p, 64);
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(pool.free_blocks(), 1u) << "two adjacent free blocks were left unmerged";
  EXPECT_EQ(pool.largest_free_block(), pool.capacity());
}

}  // namespace
}  // namespace alloclab
