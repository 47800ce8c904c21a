// remaining() as allocator.hpp's glossary defines it: remaining == capacity - used, always —
// for a growable arena with several blocks the free tail of each block being bumped through
// plus every block held for reuse, whole. Not the largest request that fits without a new
// block: that one is at most remaining, and equal only when the free bytes lie in one block.
// Checked against sizes counted here (alignment 1: no padding), with several blocks, several
// threads, and over every allocator through a long mixed sequence.
#include <gtest/gtest.h>

#include <cstddef>
#include <latch>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "edge_support.hpp"

namespace alloclab {
namespace {

using edge::CountingSource;
using edge::rebind_t;

template <class A>
::testing::AssertionResult keeps_the_equation(const A& a, const std::string& where) {
  const AllocatorStats s = a.stats();
  if (a.remaining() != a.capacity() - a.used() || s.remaining != s.capacity - s.used ||
      s.remaining != a.remaining() || s.capacity != a.capacity())
    return ::testing::AssertionFailure() << where << ": capacity " << a.capacity() << ", used " << a.used()
                                         << ", remaining " << a.remaining() << " (stats: " << s.capacity << ", "
                                         << s.used << ", " << s.remaining << ")";
  return ::testing::AssertionSuccess();
}

template <class A>
class GrowableRemaining : public ::testing::Test {};
using GrowableArenas =
    ::testing::Types<BasicChainedArena<HeapBlockSource, Counting::on>, BasicChainedArena<HeapBlockSource, Counting::off>,
                     BasicThreadLocalArena<HeapBlockSource, Counting::on>,
                     BasicThreadLocalArena<HeapBlockSource, Counting::off>>;
TYPED_TEST_SUITE(GrowableRemaining, GrowableArenas, edge::AllocatorName);

// Several blocks after a reset: remaining is their sum (tail + reused blocks), the largest
// request without a new block is one block, and the two differ.
TYPED_TEST(GrowableRemaining, IsTheSumOfFreeBytesNotTheLargestRequest) {
  using A = rebind_t<TypeParam, CountingSource>;
  constexpr std::size_t block = 256;
  constexpr std::size_t blocks = 5;
  CountingSource::Shared shared;
  A arena(block, CountingSource{&shared});
  for (std::size_t i = 0; i < blocks; ++i) ASSERT_NE(arena.allocate(block - debug::guard_bytes, 1), nullptr);
  ASSERT_EQ(arena.capacity(), blocks * block);
  EXPECT_EQ(arena.remaining(), 0u);
  ASSERT_TRUE(keeps_the_equation(arena, "five full blocks"));
  arena.reset();
  EXPECT_EQ(arena.remaining(), blocks * block);
  ASSERT_TRUE(keeps_the_equation(arena, "after reset"));

  ASSERT_NE(arena.allocate(100 - debug::guard_bytes, 1), nullptr);
  EXPECT_EQ(arena.used(), 100u);
  EXPECT_EQ(arena.remaining(), blocks * block - 100);  // a tail of 156 and four blocks of 256
  ASSERT_TRUE(keeps_the_equation(arena, "one request after reset"));

  // remaining() bytes do not fit anywhere the arena holds: they take a new block.
  const std::size_t asked = shared.asked.load();
  const std::size_t remaining = arena.remaining();
  ASSERT_NE(arena.allocate(remaining, 1), nullptr);
  EXPECT_EQ(shared.asked.load(), asked + 1) << "remaining() is a sum over blocks, not one request";
  EXPECT_EQ(arena.remaining(), remaining);  // the dedicated block is consumed whole
  ASSERT_TRUE(keeps_the_equation(arena, "after a dedicated block"));

  // What does fit without a new block: the tail, then a whole reused block.
  ASSERT_NE(arena.allocate(block - 100 - debug::guard_bytes, 1), nullptr);
  EXPECT_EQ(arena.remaining(), (blocks - 1) * block);
  ASSERT_NE(arena.allocate(block - debug::guard_bytes, 1), nullptr);
  EXPECT_EQ(arena.remaining(), (blocks - 2) * block);
  EXPECT_EQ(shared.asked.load(), asked + 1) << "a request that fit a held block took a new one";
  ASSERT_TRUE(keeps_the_equation(arena, "tail and a reused block consumed"));

  // A request larger than the current tail abandons it: the tail becomes used, not remaining.
  ASSERT_NE(arena.allocate(10, 1), nullptr);  // a fresh reused block: tail 246
  EXPECT_EQ(arena.remaining(), (blocks - 3) * block + block - 10 - debug::guard_bytes);
  ASSERT_NE(arena.allocate(block - debug::guard_bytes, 1), nullptr);  // the next reused block
  EXPECT_EQ(arena.remaining(), (blocks - 4) * block);
  ASSERT_TRUE(keeps_the_equation(arena, "a tail abandoned"));
}

// Several threads, each in its own block: remaining is the sum of their tails.
TEST(ThreadLocalArenaRemaining, IsTheSumOfEveryThreadsTail) {
  constexpr std::size_t block = 4096;
  BasicThreadLocalArena<HeapBlockSource, Counting::on> arena(block);
  constexpr std::size_t threads = 4;
  // No thread exits before all have allocated: an exited thread's state would be adopted.
  std::latch allocated(threads);
  test::race(threads, [&](std::size_t t) {
    for (std::size_t i = 0; i <= t; ++i) EXPECT_NE(arena.allocate(100, 1), nullptr);
    allocated.arrive_and_wait();
  });
  const std::size_t used = 100 * (1 + 2 + 3 + 4) + debug::guard_bytes * 10;
  EXPECT_EQ(arena.capacity(), threads * block);
  EXPECT_EQ(arena.used(), used);
  EXPECT_EQ(arena.remaining(), threads * block - used);
  ASSERT_TRUE(keeps_the_equation(arena, "four threads"));
  arena.reset();
  EXPECT_EQ(arena.remaining(), threads * block);
  ASSERT_TRUE(keeps_the_equation(arena, "after reset"));
}

// Every allocator, growable ones over the heap with small blocks (many blocks, dedicated
// ones, abandoned tails), through a long mixed sequence: the equation at every step.
template <class A>
class EveryRemaining : public ::testing::Test {};
TYPED_TEST_SUITE(EveryRemaining, edge::EveryAllocator, edge::AllocatorName);

TYPED_TEST(EveryRemaining, EqualsCapacityMinusUsedAtEveryStep) {
  std::unique_ptr<TypeParam> a;
  if constexpr (Growable<TypeParam>) {
    a = std::make_unique<TypeParam>(256, HeapBlockSource{});
  } else {
    a = std::make_unique<TypeParam>(std::size_t{1} << 20);
  }
  ASSERT_TRUE(keeps_the_equation(*a, "fresh"));
  std::mt19937_64 rng(15);
  std::vector<std::pair<void*, std::size_t>> live;
  for (std::size_t step = 0; step < 3000; ++step) {
    const auto roll = rng() % 100;
    if (roll < 60) {
      const std::size_t size = rng() % 3 == 0 ? rng() % 600 + 1 : rng() % 64 + 1;
      void* p = a->allocate(size, std::size_t{1} << (rng() % 8));
      if (p != nullptr) live.emplace_back(p, size);
    } else if (roll < 95) {
      if (!live.empty()) {
        const std::size_t i = rng() % live.size();
        a->deallocate(live[i].first, live[i].second);
        live[i] = live.back();
        live.pop_back();
      }
    } else if (roll < 97) {
      a->reset();
      live.clear();
    } else {
      (void)a->allocate(0, 16);
    }
    ASSERT_TRUE(keeps_the_equation(*a, "step " + std::to_string(step)));
  }
  // A fixed arena's free bytes are one range: there remaining is also the largest request.
  if constexpr (FixedCapacity<TypeParam> && !TypeParam::supports_free) {
    const std::size_t r = a->remaining();
    ASSERT_GT(r, 0u);
    EXPECT_EQ(a->allocate(r + 1, 1), nullptr);
    EXPECT_NE(a->allocate(r - debug::guard_bytes, 1), nullptr);
    EXPECT_EQ(a->remaining(), 0u);
  }
  a->release();
  ASSERT_TRUE(keeps_the_equation(*a, "released"));
}

}  // namespace
}  // namespace alloclab
