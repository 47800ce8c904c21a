// The contract as the driver sees it: every allocator satisfies the concept, declares its traits,
// and a type that misses one piece of the contract is rejected by exactly that requirement.
#include <gtest/gtest.h>

#include <string_view>

#include "alloclab/alloclab.hpp"

namespace alloclab {
namespace {

struct NoReset {  // everything but reset()
  static constexpr bool thread_safe = false;
  static constexpr bool supports_free = false;
  static constexpr std::string_view name = "no_reset";
  void* allocate(std::size_t, std::size_t = default_alignment) noexcept { return nullptr; }
  void deallocate(void*, std::size_t) noexcept {}
  std::size_t capacity() const noexcept { return 0; }
  std::size_t used() const noexcept { return 0; }
  std::size_t remaining() const noexcept { return 0; }
  AllocatorStats stats() const noexcept { return {}; }
};

struct ThrowingAllocate : NoReset {  // allocate() may throw: not the contract
  void* allocate(std::size_t, std::size_t = default_alignment) { return nullptr; }
  void reset() noexcept {}
};

TEST(Contract, ConceptNamesTheMissingPiece) {
  static_assert(!Allocator<NoReset>);
  static_assert(!ResetsInBulk<NoReset>);
  static_assert(AllocatesWithAlignment<NoReset> && Deallocates<NoReset> && ReportsStats<NoReset> &&
                DeclaresTraits<NoReset>);
  static_assert(!AllocatesWithAlignment<ThrowingAllocate>);
  SUCCEED();
}

TEST(Contract, TraitsOfEveryAllocator) {
  EXPECT_TRUE(allocator_traits<MutexArena>::thread_safe);
  EXPECT_FALSE(allocator_traits<MutexArena>::supports_free);
  EXPECT_TRUE(allocator_traits<AtomicBumpArena>::thread_safe);
  EXPECT_FALSE(allocator_traits<AtomicBumpArena>::supports_free);
  EXPECT_TRUE(allocator_traits<ThreadLocalArena>::thread_safe);
  EXPECT_FALSE(allocator_traits<ThreadLocalArena>::supports_free);
  EXPECT_FALSE(allocator_traits<ChainedArena>::thread_safe);
  EXPECT_FALSE(allocator_traits<ChainedArena>::supports_free);
  EXPECT_TRUE(allocator_traits<CoalescingPool>::thread_safe);
  EXPECT_TRUE(allocator_traits<CoalescingPool>::supports_free);
  EXPECT_TRUE(allocator_traits<CoalescingPool>::supports_cross_thread_free);
  EXPECT_FALSE(allocator_traits<ThreadLocalArena>::supports_cross_thread_free);
  EXPECT_EQ(allocator_traits<MutexArena>::name, "mutex_arena");
  EXPECT_EQ(allocator_traits<AtomicBumpArena>::name, "atomic_bump_arena");
  EXPECT_EQ(allocator_traits<ThreadLocalArena>::name, "thread_local_arena");
  EXPECT_EQ(allocator_traits<ChainedArena>::name, "chained_arena");
  EXPECT_EQ(allocator_traits<CoalescingPool>::name, "coalescing_pool");
  EXPECT_TRUE(allocator_traits<ThreadCachedPool>::thread_safe);
  EXPECT_TRUE(allocator_traits<ThreadCachedPool>::supports_free);
  EXPECT_TRUE(allocator_traits<ThreadCachedPool>::supports_cross_thread_free);
  EXPECT_EQ(allocator_traits<ThreadCachedPool>::name, "thread_cached_pool");
}

TEST(Stats, FieldListVisitsEveryFieldInOrder) {
  AllocatorStats s;
  s.capacity = 100;
  s.bytes_requested = 40;
  s.bytes_reserved = 50;
  std::vector<std::string_view> names;
  std::size_t capacity_seen = 0;
  s.for_each_field([&](std::string_view name, std::string_view unit, std::size_t value) {
    names.push_back(name);
    EXPECT_FALSE(unit.empty());
    if (name == "capacity") capacity_seen = value;
  });
  ASSERT_EQ(names.size(), 10u);
  EXPECT_EQ(names.front(), "capacity");
  EXPECT_EQ(names.back(), "blocks");
  EXPECT_EQ(capacity_seen, 100u);
  EXPECT_DOUBLE_EQ(s.overhead_ratio(), 1.25);
  s.counted = false;
  EXPECT_DOUBLE_EQ(s.overhead_ratio(), 0.0);
}

}  // namespace
}  // namespace alloclab
