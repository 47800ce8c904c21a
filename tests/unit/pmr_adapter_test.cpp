// PmrAdapter: alloclab allocators behind std::pmr containers. Contents must survive heavy use,
// a pool must get every byte back when the containers die, exhaustion must surface as
// std::bad_alloc (the one throw in the library), and only the same adapter compares equal.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory_resource>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "alloclab/alloclab.hpp"

namespace alloclab {
namespace {

// Long enough that every string lives on the heap (past any small-string buffer).
std::string value_for(int key) {
  return "value number " + std::to_string(key) + " padded past the small-string buffer";
}

// A vector grown one element at a time (reallocating, so freeing, on the way).
void exercise_vector(std::pmr::memory_resource& resource) {
  std::pmr::vector<int> v(&resource);
  for (int i = 0; i < 20000; ++i) v.push_back(i * 3);
  ASSERT_EQ(v.size(), 20000u);
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(v[static_cast<std::size_t>(i)], i * 3);
  v.resize(100);
  v.shrink_to_fit();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(v[static_cast<std::size_t>(i)], i * 3);
}

// A map of strings: nodes and strings both come from the resource (uses-allocator).
void exercise_map(std::pmr::memory_resource& resource) {
  std::pmr::map<int, std::pmr::string> m(&resource);
  for (int i = 0; i < 3000; ++i) m.try_emplace((i * 7919) % 3000, value_for((i * 7919) % 3000));
  ASSERT_EQ(m.size(), 3000u);
  for (int k = 0; k < 3000; k += 2) m.erase(k);
  for (int k = 0; k < 3000; k += 2) m.try_emplace(k, value_for(k + 1));
  ASSERT_EQ(m.size(), 3000u);
  int expected_key = 0;
  for (const auto& [key, value] : m) {
    ASSERT_EQ(key, expected_key);
    ASSERT_EQ(std::string_view(value), value_for(key % 2 == 0 ? key + 1 : key));
    ASSERT_EQ(value.get_allocator().resource(), &resource);
    ++expected_key;
  }
}

TEST(PmrAdapter, VectorOverCoalescingPoolGivesEverythingBack) {
  CoalescingPool pool(1 << 20);
  PmrAdapter adapter(pool);
  EXPECT_EQ(&adapter.allocator(), &pool);
  exercise_vector(adapter);
  EXPECT_EQ(pool.used(), 0u);
  const AllocatorStats s = pool.stats();
  EXPECT_GT(s.allocations, 10u);
  EXPECT_EQ(s.deallocations, s.allocations);
  EXPECT_EQ(s.bytes_requested, 0u);
  EXPECT_EQ(pool.largest_request(), pool.capacity() - CoalescingPool::header_size);
}

TEST(PmrAdapter, MapOfStringsOverCoalescingPoolGivesEverythingBack) {
  CoalescingPool pool(4 << 20);
  PmrAdapter adapter(pool);
  exercise_map(adapter);
  EXPECT_EQ(pool.used(), 0u);
  const AllocatorStats s = pool.stats();
  EXPECT_GT(s.allocations, 6000u);  // a node and a string per entry, at least
  EXPECT_EQ(s.deallocations, s.allocations);
  EXPECT_EQ(pool.largest_request(), pool.capacity() - CoalescingPool::header_size);
}

TEST(PmrAdapter, ContainersOverChainedArena) {
  ChainedArena arena(4096);
  PmrAdapter adapter(arena);
  exercise_vector(adapter);
  exercise_map(adapter);
  // An arena frees nothing individually: everything stays used until reset.
  EXPECT_GT(arena.used(), 0u);
  EXPECT_GT(arena.stats().blocks, 1u);
  arena.reset();
  EXPECT_EQ(arena.used(), 0u);
  exercise_map(adapter);  // and the kept blocks serve again
}

TEST(PmrAdapter, PassesAlignmentAndServesZeroBytes) {
  CoalescingPool pool(64 * 1024);
  PmrAdapter adapter(pool);
  std::pmr::memory_resource& r = adapter;
  for (std::size_t alignment = 1; alignment <= 4096; alignment *= 2) {
    void* p = r.allocate(100, alignment);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % alignment, 0u) << "alignment " << alignment;
    r.deallocate(p, 100, alignment);
  }
  // pmr may ask for 0 bytes and needs a real pointer back.
  void* zero = r.allocate(0, 8);
  EXPECT_NE(zero, nullptr);
  EXPECT_GT(pool.used(), 0u);
  r.deallocate(zero, 0, 8);
  EXPECT_EQ(pool.used(), 0u);
}

TEST(PmrAdapter, ExhaustionThrowsBadAlloc) {
  MutexArena tiny(64);
  PmrAdapter adapter(tiny);
  std::pmr::memory_resource& r = adapter;
  EXPECT_THROW((void)r.allocate(128, 8), std::bad_alloc);
  EXPECT_EQ(tiny.used(), 0u);  // the failed request left the arena as it was
  void* p = r.allocate(32, 8);
  EXPECT_NE(p, nullptr);
  EXPECT_THROW((void)r.allocate(64, 8), std::bad_alloc);
  EXPECT_THROW((void)r.allocate(8, 4096), std::bad_alloc);
  EXPECT_EQ(tiny.used(), 32u);
  EXPECT_EQ(tiny.stats().failed_allocations, 3u);

  // Through a container: the growth that does not fit throws, and the vector keeps its contents.
  tiny.reset();
  std::pmr::vector<int> v(&adapter);
  EXPECT_THROW(
      {
        for (int i = 0; i < 1000; ++i) v.push_back(i);
      },
      std::bad_alloc);
  ASSERT_GT(v.size(), 0u);
  ASSERT_LT(v.size(), 1000u);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], static_cast<int>(i));
}

TEST(PmrAdapter, EqualOnlyToItself) {
  CoalescingPool pool(4096);
  PmrAdapter first(pool);
  PmrAdapter second(pool);  // same allocator, another adapter
  CoalescingPool other_pool(4096);
  PmrAdapter third(other_pool);
  EXPECT_TRUE(first.is_equal(first));
  EXPECT_TRUE(first == first);
  EXPECT_FALSE(first.is_equal(second));
  EXPECT_FALSE(second.is_equal(first));
  EXPECT_FALSE(first == second);
  EXPECT_FALSE(first.is_equal(third));
  EXPECT_FALSE(first.is_equal(*std::pmr::new_delete_resource()));
  EXPECT_FALSE(std::pmr::new_delete_resource()->is_equal(first));
  // Containers see the same: allocators over different adapters are unequal.
  using IntAllocator = std::pmr::polymorphic_allocator<int>;
  EXPECT_NE(IntAllocator(&first), IntAllocator(&second));
  EXPECT_EQ(IntAllocator(&first), IntAllocator(&first));
}

}  // namespace
}  // namespace alloclab
