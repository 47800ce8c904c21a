// Under AddressSanitizer the allocators poison memory that is not handed out: after reset()
// every arena's old allocations are poisoned (touching one is a use-after-poison report) and
// fresh allocations are addressable; the pool poisons freed payloads. Without ASan the
// poisoning is compiled out and these tests skip, saying so.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

using test::all_poisoned;
using test::none_poisoned;

constexpr std::size_t kCapacity = 16 * 1024;

template <class A>
class AsanPoisoning : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_ASAN(); }
};

template <class A>
class AsanPoisoningDeathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_ASAN();
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

using Arenas = ::testing::Types<MutexArena, AtomicBumpArena, ChainedArena, ThreadLocalArena>;
class ArenaNames {
 public:
  template <class A>
  static std::string GetName(int) {
    return std::string(A::name);
  }
};
TYPED_TEST_SUITE(AsanPoisoning, Arenas, ArenaNames);
TYPED_TEST_SUITE(AsanPoisoningDeathTest, Arenas, ArenaNames);

TYPED_TEST(AsanPoisoning, ResetPoisonsOldAllocationsAndFreshOnesAreAddressable) {
  auto arena = test::make_bounded<TypeParam>(kCapacity);
  std::vector<std::pair<char*, std::size_t>> old;
  for (std::size_t size : {std::size_t{1}, std::size_t{24}, std::size_t{100}, std::size_t{1000},
                           std::size_t{4096}}) {
    auto* p = static_cast<char*>(arena->allocate(size));
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(none_poisoned(p, size)) << "fresh allocation of " << size;
    std::memset(p, 0x11, size);
    old.emplace_back(p, size);
  }
  arena->reset();
  for (auto [p, size] : old) {
    SCOPED_TRACE(size);
    EXPECT_TRUE(all_poisoned(p, size));
  }
  // Fresh allocations after reset() reuse the same memory, addressable again — only them.
  auto* fresh = static_cast<char*>(arena->allocate(100));
  ASSERT_NE(fresh, nullptr);
  EXPECT_TRUE(none_poisoned(fresh, 100));
  std::memset(fresh, 0x22, 100);
  EXPECT_TRUE(debug::is_poisoned(old.back().first));
  EXPECT_TRUE(debug::is_poisoned(old.back().first + old.back().second - 1));
  arena->reset();
  EXPECT_TRUE(all_poisoned(fresh, 100));
}

// An allocation whose end is not on an ASan granule (8 bytes): reset() must poison its last,
// partial granule too.
TYPED_TEST(AsanPoisoning, ResetPoisonsAnAllocationEndingMidGranule) {
  auto arena = test::make_bounded<TypeParam>(kCapacity);
  auto* p = static_cast<char*>(arena->allocate(13));
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(none_poisoned(p, 13));
  std::memset(p, 0x66, 13);
  arena->reset();
  for (std::size_t i = 0; i < 13; ++i) EXPECT_TRUE(debug::is_poisoned(p + i)) << "byte " << i;
}

// A chained arena keeps its blocks across reset(): a recycled block is poisoned while it waits
// and only the part handed out again is unpoisoned.
TEST(AsanPoisoningChained, RecycledBlockReusedAfterReset) {
  SKIP_WITHOUT_ASAN();
  constexpr std::size_t kBlock = 4096;
  ChainedArena arena(kBlock);
  auto* a = static_cast<char*>(arena.allocate(3000));
  auto* b = static_cast<char*>(arena.allocate(3000));  // does not fit after a: a second block
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(arena.stats().blocks, 2u);
  arena.reset();
  EXPECT_EQ(arena.stats().blocks, 2u);  // both kept for reuse
  EXPECT_TRUE(all_poisoned(a, 3000));
  EXPECT_TRUE(all_poisoned(b, 3000));

  auto* c = static_cast<char*>(arena.allocate(3000));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c == a || c == b) << "the fresh allocation comes from a recycled block";
  EXPECT_EQ(arena.stats().blocks, 2u);
  EXPECT_TRUE(none_poisoned(c, 3000));
  std::memset(c, 0x33, 3000);
  EXPECT_TRUE(all_poisoned(c + 3000, kBlock - 3000));  // the rest of its block
  EXPECT_TRUE(all_poisoned(c == a ? b : a, 3000));     // the other recycled block

  auto* d = static_cast<char*>(arena.allocate(3000));  // the second recycled block
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d, c == a ? b : a);
  EXPECT_TRUE(none_poisoned(d, 3000));
  EXPECT_EQ(arena.stats().blocks, 2u);
}

// The pool: a freed block's payload is poisoned beyond the free-list links in its first 16
// bytes (and before the 8-byte size footer at its end); a block handed out again is not.
TEST(AsanPoisoningPool, FreedPayloadIsPoisoned) {
  SKIP_WITHOUT_ASAN();
  CoalescingPool pool(64 * 1024);
  auto* a = static_cast<char*>(pool.allocate(1000));  // a 1024-byte block, 1008 payload bytes
  auto* b = static_cast<char*>(pool.allocate(100));   // keeps a from merging with the rest
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(none_poisoned(a, 1000));
  // The block's slack after the request is a red zone.
  EXPECT_TRUE(all_poisoned(a + 1000, 8));
  std::memset(a, 0x44, 1000);
  pool.deallocate(a, 1000);
  EXPECT_TRUE(all_poisoned(a + 16, 1000 - 16));
  EXPECT_TRUE(all_poisoned(a + 16, 1024 - CoalescingPool::header_size - 16 - 8));

  // Merged with a freed neighbour, the neighbour's header and payload are poisoned too.
  pool.deallocate(b, 100);
  EXPECT_TRUE(all_poisoned(b - CoalescingPool::header_size, 100 + CoalescingPool::header_size));

  auto* c = static_cast<char*>(pool.allocate(1000));
  ASSERT_EQ(c, a);
  EXPECT_TRUE(none_poisoned(c, 1000));
  // The free rest of the pool after c's block: its header and links (32 bytes from c + 1008)
  // are addressable, its payload beyond them is not.
  EXPECT_TRUE(none_poisoned(c + 1008, 32));
  EXPECT_TRUE(all_poisoned(c + 1008 + 32, 256));
  pool.deallocate(c, 1000);
  pool.reset();
  EXPECT_TRUE(all_poisoned(a + 16, 1000 - 16));
}

TEST(AsanPoisoningPool, UseAfterFreeIsReported) {
  SKIP_WITHOUT_ASAN();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  CoalescingPool pool(64 * 1024);
  auto* a = static_cast<char*>(pool.allocate(1000));
  ASSERT_NE(pool.allocate(100), nullptr);
  pool.deallocate(a, 1000);
  EXPECT_DEATH(
      {
        volatile char* q = a + 500;
        *q = 1;
      },
      "use-after-poison");
}

TYPED_TEST(AsanPoisoningDeathTest, TouchingMemoryAfterResetIsUseAfterPoison) {
  auto arena = test::make_bounded<TypeParam>(kCapacity);
  auto* p = static_cast<char*>(arena->allocate(256));
  ASSERT_NE(p, nullptr);
  std::memset(p, 0x55, 256);
  arena->reset();
  EXPECT_DEATH(
      {
        volatile char* q = p + 17;
        *q = 1;
      },
      "AddressSanitizer: use-after-poison");
  EXPECT_DEATH(
      {
        volatile const char* q = p;
        (void)*q;
      },
      "AddressSanitizer: use-after-poison");
}

}  // namespace
}  // namespace alloclab
