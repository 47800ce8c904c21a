// Checked-build faults of the calls the malloc shim adds to the pools: usable_size() and
// resize_in_place() validate their pointer as deallocate() does, so a freed, interior or
// foreign pointer aborts with one line naming the fault instead of reading (or rewriting) a
// header that is not one. Also over a caller-owned region, and through ThreadCachedPool.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <memory>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

static_assert(debug::checked, "the death tests are built with ALLOCLAB_CHECKED=1");

#define POOL_FAULT(text) "alloclab: coalescing_pool: .*" text ".*\\(pointer "

class PoolResizeDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
  char* live(std::size_t size = 100) {
    auto* p = static_cast<char*>(pool_.allocate(size));
    EXPECT_NE(p, nullptr);
    return p;
  }
  // The caller's region, as the shim's reservation is.
  MmapBlockSource source_{/*lazy=*/true};
  MemoryBlock region_ = source_.allocate_block(64 * 1024);
  CoalescingPool pool_{region_};

  ~PoolResizeDeathTest() override {
    pool_.release();
    source_.deallocate_block(region_);
  }
};

TEST_F(PoolResizeDeathTest, ResizeOfAFreedBlock) {
  live();
  char* b = live();
  live();
  pool_.deallocate(b, 100);
  EXPECT_DEATH((void)pool_.resize_in_place(b, 100, 50), POOL_FAULT("double free"));
  EXPECT_DEATH((void)pool_.resize_in_place(b, 100, 500), POOL_FAULT("double free"));
}

// Freed and merged into the block before it: its header is stale, inside a free block.
TEST_F(PoolResizeDeathTest, ResizeOfAFreedBlockThatMerged) {
  char* a = live();
  char* b = live();
  live();
  pool_.deallocate(a, 100);
  pool_.deallocate(b, 100);
  EXPECT_DEATH((void)pool_.resize_in_place(b, 100, 50), POOL_FAULT("double free"));
  EXPECT_DEATH((void)pool_.usable_size(b), POOL_FAULT("double free"));
}

TEST_F(PoolResizeDeathTest, UsableSizeOfAFreedBlock) {
  live();
  char* b = live();
  live();
  pool_.deallocate(b, 100);
  EXPECT_DEATH((void)pool_.usable_size(b), POOL_FAULT("double free"));
}

TEST_F(PoolResizeDeathTest, InteriorPointer) {
  char* a = live(256);
  std::memset(a, 0x5A, 256);
  EXPECT_DEATH((void)pool_.resize_in_place(a + 32, 16, 8), POOL_FAULT("not handed out"));
  EXPECT_DEATH((void)pool_.usable_size(a + 32), POOL_FAULT("not handed out"));
  EXPECT_DEATH((void)pool_.resize_in_place(a + 8, 16, 8), POOL_FAULT("misaligned"));
}

TEST_F(PoolResizeDeathTest, ForeignPointer) {
  live();
  auto heap = std::make_unique<char[]>(64);
  CoalescingPool other(4096);
  char* theirs = static_cast<char*>(other.allocate(64));
  EXPECT_DEATH((void)pool_.resize_in_place(heap.get() + 16, 48, 32), POOL_FAULT("foreign pointer"));
  EXPECT_DEATH((void)pool_.usable_size(heap.get() + 16), POOL_FAULT("foreign pointer"));
  EXPECT_DEATH((void)pool_.usable_size(theirs), POOL_FAULT("foreign pointer"));
  other.deallocate(theirs, 64);
}

TEST_F(PoolResizeDeathTest, OldSizeLargerThanTheBlock) {
  live();
  char* b = live(100);  // 112 payload bytes
  live();
  EXPECT_DEATH((void)pool_.resize_in_place(b, 113, 50), POOL_FAULT("larger than the block"));
}

// ThreadCachedPool's usable_size and resize_in_place are the pool's (checked builds bypass the
// caches, so a freed block is freed in the pool at once).
TEST(ThreadCachedPoolResizeDeathTest, FreedBlock) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ThreadCachedPool pool(64 * 1024);
  void* a = pool.allocate(100);
  void* b = pool.allocate(100);
  void* c = pool.allocate(100);
  pool.deallocate(b, 100);
  EXPECT_DEATH((void)pool.usable_size(b), POOL_FAULT("double free"));
  EXPECT_DEATH((void)pool.resize_in_place(b, 100, 200), POOL_FAULT("double free"));
  pool.deallocate(a, 100);
  pool.deallocate(c, 100);
}

// Correct use never trips a check: usable_size and resize on live blocks, then frees at the
// resized size.
TEST(PoolResizeChecked, CorrectUseNeverTripsACheck) {
  CoalescingPool pool(64 * 1024);
  char* a = static_cast<char*>(pool.allocate(300));
  char* b = static_cast<char*>(pool.allocate(300));
  ASSERT_TRUE(pool.resize_in_place(a, 300, 40));
  ASSERT_TRUE(pool.resize_in_place(a, 40, pool.usable_size(a)));
  ASSERT_TRUE(pool.resize_in_place(b, 300, 3000));
  pool.deallocate(a, pool.usable_size(a));
  pool.deallocate(b, 3000);
  EXPECT_EQ(pool.used(), 0u);
}

}  // namespace
}  // namespace alloclab
