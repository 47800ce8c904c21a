// Checked-build faults of the coalescing pool: every misuse of deallocate() aborts with one line
// naming the fault ("alloclab: coalescing_pool: <fault> (pointer 0x...)"), and a correct
// program never trips a check.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

static_assert(debug::checked, "the death tests are built with ALLOCLAB_CHECKED=1");

// A fault line: allocator name, then a message containing the fault, then the pointer.
#define POOL_FAULT(text) "alloclab: coalescing_pool: .*" text ".*\\(pointer "

class CoalescingPoolDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }

  // A few live blocks, so that a faulty pointer is never simply the pool's first block.
  char* live(std::size_t size = 100) {
    auto* p = static_cast<char*>(pool_.allocate(size));
    EXPECT_NE(p, nullptr);
    return p;
  }

  CoalescingPool pool_{64 * 1024};
};

TEST_F(CoalescingPoolDeathTest, DoubleFree) {
  char* a = live();
  char* b = live();
  char* c = live();
  pool_.deallocate(b, 100);  // a hole between two live blocks: nothing merges
  EXPECT_DEATH(pool_.deallocate(b, 100), POOL_FAULT("double free"));
  pool_.deallocate(a, 100);
  pool_.deallocate(c, 100);
}

TEST_F(CoalescingPoolDeathTest, DoubleFreeAfterTheBlockMerged) {
  char* a = live();
  char* b = live();
  char* c = live();
  pool_.deallocate(a, 100);
  pool_.deallocate(b, 100);  // merges into a's block: b's header is now stale, inside it
  EXPECT_DEATH(pool_.deallocate(b, 100), POOL_FAULT("double free"));
  EXPECT_DEATH(pool_.deallocate(a, 100), POOL_FAULT("double free"));
  pool_.deallocate(c, 100);  // merges with both sides
  EXPECT_DEATH(pool_.deallocate(c, 100), POOL_FAULT("double free"));
  EXPECT_DEATH(pool_.deallocate(a, 100), POOL_FAULT("double free"));
}

TEST_F(CoalescingPoolDeathTest, ForeignHeapPointer) {
  live();
  auto foreign = std::make_unique<char[]>(64);
  EXPECT_DEATH(pool_.deallocate(foreign.get(), 64), POOL_FAULT("foreign pointer"));
}

TEST_F(CoalescingPoolDeathTest, ForeignStackPointer) {
  live();
  alignas(16) char on_stack[64] = {};
  EXPECT_DEATH(pool_.deallocate(on_stack, sizeof on_stack), POOL_FAULT("foreign pointer"));
}

TEST_F(CoalescingPoolDeathTest, PointerFromAnotherPool) {
  CoalescingPool other(64 * 1024);
  void* p = other.allocate(100);
  ASSERT_NE(p, nullptr);
  live();
  EXPECT_DEATH(pool_.deallocate(p, 100), POOL_FAULT("foreign pointer"));
  other.deallocate(p, 100);
}

TEST_F(CoalescingPoolDeathTest, InteriorPointer) {
  char* a = live(256);
  char* b = live(256);
  std::memset(a, 0, 256);
  std::memset(b, 0x5A, 256);
  EXPECT_DEATH(pool_.deallocate(a + 16, 16), POOL_FAULT("not handed out"));
  EXPECT_DEATH(pool_.deallocate(b + 16, 16), POOL_FAULT("not handed out"));
  EXPECT_DEATH(pool_.deallocate(b + 128, 16), POOL_FAULT("not handed out"));
  pool_.deallocate(a, 256);
  pool_.deallocate(b, 256);
}

TEST_F(CoalescingPoolDeathTest, MisalignedPointer) {
  live();
  char* b = live();
  EXPECT_DEATH(pool_.deallocate(b + 1, 16), POOL_FAULT("misaligned"));
  EXPECT_DEATH(pool_.deallocate(b + 8, 16), POOL_FAULT("misaligned"));
  pool_.deallocate(b, 100);
}

// One byte of a live block's 16-byte header overwritten (headers are not poisoned under ASan,
// so only the pool's check can notice).
TEST_F(CoalescingPoolDeathTest, CorruptedHeaderSizeWord) {
  live();
  char* b = live();
  live();
  auto* header = reinterpret_cast<unsigned char*>(b) - CoalescingPool::header_size;
  header[7] ^= 0x40;  // the size word's top byte
  EXPECT_DEATH(pool_.deallocate(b, 100), POOL_FAULT("corrupted block header"));
}

TEST_F(CoalescingPoolDeathTest, CorruptedHeaderSizeBits) {
  live();
  char* b = live();
  live();
  auto* header = reinterpret_cast<unsigned char*>(b) - CoalescingPool::header_size;
  header[0] = 0;  // a stray zero over the size word's low byte (size and allocated flag)
  EXPECT_DEATH(pool_.deallocate(b, 100), POOL_FAULT("corrupted block header"));
}

TEST_F(CoalescingPoolDeathTest, CorruptedHeaderTag) {
  live();
  char* b = live();
  live();
  auto* header = reinterpret_cast<unsigned char*>(b) - CoalescingPool::header_size;
  header[15] ^= 0x01;  // the checked-build tag
  EXPECT_DEATH(pool_.deallocate(b, 100), POOL_FAULT("corrupted block header"));
}

// The one header bit the tag leaves out: PREV_FREE (neighbours flip it without rehashing).
// Set by a stray write on a block whose predecessor is live, it would make deallocate() read
// a "footer" out of the predecessor's payload and merge with a block that is not there.
TEST_F(CoalescingPoolDeathTest, CorruptedHeaderPrevFreeBit) {
  char* a = live();
  char* b = live();
  live();
  std::memset(a, 0, 100);
  auto* header = reinterpret_cast<unsigned char*>(b) - CoalescingPool::header_size;
  header[0] |= 0x02;  // PREV_FREE, although a is allocated
  EXPECT_DEATH(pool_.deallocate(b, 100), POOL_FAULT("corrupted block header"));
}

TEST_F(CoalescingPoolDeathTest, CorruptedHeaderOfTheFirstBlock) {
  char* a = live();
  live();
  reinterpret_cast<unsigned char*>(a)[-9] ^= 0x40;
  EXPECT_DEATH(pool_.deallocate(a, 100), POOL_FAULT("corrupted block header"));
}

TEST_F(CoalescingPoolDeathTest, FreeAfterReset) {
  live();
  char* b = live();
  live();
  pool_.reset();
  EXPECT_DEATH(pool_.deallocate(b, 100), POOL_FAULT("free after reset"));
}

// The pool's first block: after reset() its header is the header of the new free block that
// spans the pool, yet the fault is still a free after reset.
TEST_F(CoalescingPoolDeathTest, FreeAfterResetOfTheFirstBlock) {
  char* a = live();
  pool_.reset();
  EXPECT_DEATH(pool_.deallocate(a, 100), POOL_FAULT("free after reset"));
}

TEST_F(CoalescingPoolDeathTest, SizeLargerThanTheBlock) {
  live();
  char* b = live(100);  // a 128-byte block: 112 payload bytes
  live();
  EXPECT_DEATH(pool_.deallocate(b, 113), POOL_FAULT("larger than the block"));
  EXPECT_DEATH(pool_.deallocate(b, 4096), POOL_FAULT("larger than the block"));
  pool_.deallocate(b, 100);
}

// No false positives: a long correct sequence — random sizes, alignments, frees in any order,
// resets — runs through every check without dying.
TEST(CoalescingPoolChecked, CorrectUseNeverTripsACheck) {
  struct Live {
    void* p;
    std::size_t size;
    std::uint64_t id;
  };
  CoalescingPool pool(256 * 1024);
  std::mt19937_64 rng(2024);
  std::vector<Live> live;
  std::uint64_t next_id = 0;
  std::size_t frees = 0;
  for (int op = 0; op < 10000; ++op) {
    if (op == 5000) {  // a reset in the middle: the old pointers are gone, new ones are fine
      pool.reset();
      live.clear();
    }
    if (live.empty() || rng() % 100 < 55) {
      const std::size_t size = 1 + rng() % 2000;
      const std::size_t alignment = std::size_t{16} << (rng() % 5);
      if (void* p = pool.allocate(size, alignment)) {
        test::fill_pattern(p, size, 99, next_id);
        live.push_back({p, size, next_id++});
      }
    } else {
      const std::size_t i = rng() % live.size();
      ASSERT_TRUE(test::check_pattern(live[i].p, live[i].size, 99, live[i].id));
      // Any size up to the requested one is a correct deallocate().
      pool.deallocate(live[i].p, rng() % 4 == 0 ? 1 : live[i].size);
      ++frees;
      live[i] = live.back();
      live.pop_back();
    }
  }
  for (const Live& l : live) pool.deallocate(l.p, l.size);
  EXPECT_GT(frees, 3000u);
  EXPECT_EQ(pool.used(), 0u);
}

}  // namespace
}  // namespace alloclab
