// ThreadCachedPool's own behaviour, single-threaded: the contract's bad requests, LIFO reuse
// from the cache, the cache's bound (a full class goes back to the pool in a batch), trim(),
// reset(), requests that bypass the cache (large, over-aligned), exhaustion, and statistics
// that count cached blocks as used but not requested. Checked builds (ALLOCLAB_CHECKED=1) send
// every call to the pool, so the tests of caching itself are skipped there. Threads: concurrency/thread_cached_pool_test.cpp.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include "alloclab/alloclab.hpp"

namespace alloclab {
namespace {

using Pool = ThreadCachedPool;
constexpr std::size_t kCapacity = 1 << 20;

TEST(ThreadCachedPool, BadRequestsReturnNull) {
  Pool pool(kCapacity);
  EXPECT_EQ(pool.allocate(0), nullptr);
  EXPECT_EQ(pool.allocate(16, 0), nullptr);
  EXPECT_EQ(pool.allocate(16, 24), nullptr);
  EXPECT_EQ(pool.allocate(SIZE_MAX), nullptr);
  EXPECT_EQ(pool.allocate(SIZE_MAX - 8, 64), nullptr);
  EXPECT_EQ(pool.allocate(kCapacity * 2), nullptr);
  pool.deallocate(nullptr, 16);  // a no-op
  EXPECT_EQ(pool.used(), 0u);
}

TEST(ThreadCachedPool, EverySizeAndAlignmentIsAlignedDisjointAndWritable) {
  Pool pool(kCapacity);
  struct Block {
    unsigned char* p;
    std::size_t size;
  };
  std::vector<Block> blocks;
  for (std::size_t size : {1, 8, 15, 16, 17, 100, 512, 1023, 1024, 1025, 4000})
    for (std::size_t alignment : {1, 8, 16, 32, 64, 256}) {
      auto* p = static_cast<unsigned char*>(pool.allocate(size, alignment));
      ASSERT_NE(p, nullptr) << size << " at " << alignment;
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % alignment, 0u) << size << " at " << alignment;
      std::memset(p, static_cast<int>(blocks.size() & 0xFF), size);
      blocks.push_back({p, size});
    }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    for (std::size_t k = 0; k < blocks[i].size; ++k)
      ASSERT_EQ(blocks[i].p[k], static_cast<unsigned char>(i & 0xFF)) << "block " << i << " overwritten";
  }
  for (const Block& b : blocks) pool.deallocate(b.p, b.size);
  pool.trim();
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(pool.pool().free_blocks(), 1u);  // everything merged back into one block
}

TEST(ThreadCachedPool, AFreedBlockIsReusedFirstBySameClass) {
  if constexpr (debug::checked) GTEST_SKIP() << "checked builds bypass the caches";
  Pool pool(kCapacity);
  void* a = pool.allocate(40);
  void* b = pool.allocate(48);  // same 16-byte class (33..48)
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  pool.deallocate(a, 40);
  EXPECT_EQ(pool.allocate(33), a);  // LIFO from this thread's cache, no trip to the pool
  void* c = pool.allocate(64);      // another class: not a
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
}

TEST(ThreadCachedPool, AClassKeepsAtMostCacheLimitBlocks) {
  if constexpr (debug::checked) GTEST_SKIP() << "checked builds bypass the caches";
  Pool pool(kCapacity);
  constexpr std::size_t kBlock = 64 + CoalescingPool::header_size;  // a 64-byte class block in the pool
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(pool.allocate(64));
  EXPECT_GE(pool.used(), 100 * kBlock);
  for (void* p : blocks) pool.deallocate(p, 64);
  // Everything went back to the pool in batches but what one class may keep.
  EXPECT_GT(pool.used(), 0u);
  EXPECT_LE(pool.used(), Pool::cache_limit * kBlock);
  EXPECT_EQ(pool.stats().bytes_requested, 0u);  // nothing live: cached blocks are not requested
  pool.trim();
  EXPECT_EQ(pool.used(), 0u);
}

TEST(ThreadCachedPool, LargeAndOverAlignedRequestsBypassTheCache) {
  if constexpr (debug::checked) GTEST_SKIP() << "checked builds bypass the caches";
  Pool pool(kCapacity);
  void* big = pool.allocate(Pool::max_cached + 1);
  ASSERT_NE(big, nullptr);
  pool.deallocate(big, Pool::max_cached + 1);
  EXPECT_EQ(pool.used(), 0u);  // straight back to the pool
  void* aligned = pool.allocate(64, 256);
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % 256, 0u);
  pool.deallocate(aligned, 64);  // cached like any 64-byte block, then reused
  void* again = pool.allocate(64);
  EXPECT_EQ(again, aligned);
}

TEST(ThreadCachedPool, ExhaustionFailsCleanlyAndFreeingRecovers) {
  Pool pool(64 * 1024);
  std::vector<void*> blocks;
  while (void* p = pool.allocate(256)) blocks.push_back(p);
  EXPECT_GT(blocks.size(), 100u);
  EXPECT_GE(pool.stats().failed_allocations, 1u);
  for (void* p : blocks) pool.deallocate(p, 256);
  pool.trim();
  EXPECT_EQ(pool.used(), 0u);
  void* whole = pool.allocate(60 * 1024);  // merged again: one large request fits
  EXPECT_NE(whole, nullptr);
}

TEST(ThreadCachedPool, ResetEmptiesCachesAndPool) {
  Pool pool(kCapacity);
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(pool.allocate(16 + 16 * (i % 8)));
  for (int i = 0; i < 50; ++i) pool.deallocate(blocks[static_cast<std::size_t>(i)], 16 + 16 * (i % 8));
  pool.reset();
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(pool.pool().free_blocks(), 1u);
  // The cache is empty after reset: the next request comes from the fresh pool.
  void* p = pool.allocate(32);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(pool.stats().bytes_requested, 32u);
}

TEST(ThreadCachedPool, StatsCountCachedBlocksAsUsedNotRequested) {
  if constexpr (debug::checked) GTEST_SKIP() << "checked builds bypass the caches";
  Pool pool(kCapacity);
  void* a = pool.allocate(100);  // class 112
  void* b = pool.allocate(200);  // class 208
  AllocatorStats s = pool.stats();
  EXPECT_TRUE(s.counted);
  EXPECT_EQ(s.bytes_requested, 112u + 208u);
  pool.deallocate(a, 100);
  s = pool.stats();
  EXPECT_EQ(s.bytes_requested, 208u);
  EXPECT_GE(s.bytes_reserved, 112u + 208u);  // the cached block still occupies the pool
  EXPECT_GT(s.overhead_ratio(), 1.5);
  pool.deallocate(b, 200);
  EXPECT_EQ(pool.stats().bytes_requested, 0u);
}

TEST(ThreadCachedPool, TwoPoolsUsedAlternatelyKeepTheirBlocks) {
  Pool one(kCapacity), two(kCapacity);
  std::set<void*> from_one, from_two;
  for (int i = 0; i < 200; ++i) {
    from_one.insert(one.allocate(48));
    from_two.insert(two.allocate(48));
  }
  for (void* p : from_one) one.deallocate(p, 48);
  for (void* p : from_two) two.deallocate(p, 48);
  for (int i = 0; i < 50; ++i) {
    EXPECT_FALSE(from_two.count(one.allocate(48))) << "a block of pool two handed out by pool one";
    EXPECT_FALSE(from_one.count(two.allocate(48))) << "a block of pool one handed out by pool two";
  }
  const std::size_t caches = debug::checked ? 0 : 1;  // checked builds bypass the caches
  EXPECT_EQ(one.thread_caches(), caches);
  EXPECT_EQ(two.thread_caches(), caches);
}

}  // namespace
}  // namespace alloclab
