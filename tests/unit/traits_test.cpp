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
  // Cross-thread free needs both traits (workloads::incompatibility derives it from them).
  EXPECT_TRUE(allocator_traits<CoalescingPool>::thread_safe && allocator_traits<CoalescingPool>::supports_free);
  EXPECT_FALSE(allocator_traits<ThreadLocalArena>::thread_safe && allocator_traits<ThreadLocalArena>::supports_free);
  EXPECT_EQ(allocator_traits<MutexArena>::name, "mutex_arena");
  EXPECT_EQ(allocator_traits<AtomicBumpArena>::name, "atomic_bump_arena");
  EXPECT_EQ(allocator_traits<ThreadLocalArena>::name, "thread_local_arena");
  EXPECT_EQ(allocator_traits<ChainedArena>::name, "chained_arena");
  EXPECT_EQ(allocator_traits<CoalescingPool>::name, "coalescing_pool");
  EXPECT_TRUE(allocator_traits<ThreadCachedPool>::thread_safe);
  EXPECT_TRUE(allocator_traits<ThreadCachedPool>::supports_free);
  EXPECT_TRUE(allocator_traits<ThreadCachedPool>::thread_safe && allocator_traits<ThreadCachedPool>::supports_free);
  EXPECT_EQ(allocator_traits<ThreadCachedPool>::name, "thread_cached_pool");
}

// The construction shapes generic code builds allocators by (the driver's factory, make_bounded).
TEST(Contract, ConstructionShapes) {
  static_assert(FixedCapacity<MutexArena> && FixedCapacity<AtomicBumpArena> && FixedCapacity<CoalescingPool> &&
                FixedCapacity<ThreadCachedPool>);
  static_assert(Growable<ChainedArena> && Growable<ThreadLocalArena>);
  static_assert(!FixedCapacity<ChainedArena> && !FixedCapacity<ThreadLocalArena>);
  SUCCEED();
}

// Every library allocator describes itself in one line.
template <class... As>
void expect_described(TypeList<As...>) {
  ([] {
    EXPECT_FALSE(As::description.empty()) << As::name;
    EXPECT_EQ(As::description.find('\n'), std::string_view::npos) << As::name;
  }(), ...);
}
TEST(Contract, LibraryAllocatorsAreDescribed) { expect_described(LibraryAllocators{}); }

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
