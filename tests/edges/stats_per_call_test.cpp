// The statistics mean what stats.hpp says, in every allocator (both counting variants): one
// allocate() call that returns memory is one allocation, one that returns nullptr is one
// failure, one deallocate() that gives memory back is one deallocation — whatever happens
// inside (thread_cached_pool's refills and flushes between its caches and its pool, a batch
// cut short by exhaustion, a dedicated block, a new block). Uncounted variants keep failures
// and read 0 for the rest. Checked after every call, single-threaded and across threads.
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "edge_support.hpp"

namespace alloclab {
namespace {

using edge::AllocatorName;
using edge::EveryAllocator;

template <class A>
constexpr bool counts_calls = std::is_same_v<A, with_counting_t<A, Counting::on>>;

// Calls made and what they returned, against what the allocator reports.
template <class A>
struct Tally {
  A& a;
  std::size_t allocations = 0;
  std::size_t failures = 0;
  std::size_t deallocations = 0;

  void* allocate(std::size_t size, std::size_t alignment = default_alignment) {
    void* p = a.allocate(size, alignment);
    ++(p != nullptr ? allocations : failures);
    return p;
  }
  void deallocate(void* p, std::size_t size) {
    a.deallocate(p, size);
    if (p != nullptr && A::supports_free) ++deallocations;
  }
  ::testing::AssertionResult matches(const std::string& where) const {
    const AllocatorStats s = a.stats();
    const bool counted = counts_calls<A>;
    if (s.counted != counted)
      return ::testing::AssertionFailure() << where << ": counted " << s.counted << ", expected " << counted;
    const std::size_t want_allocations = counted ? allocations : 0;
    const std::size_t want_deallocations = counted ? deallocations : 0;
    if (s.allocations != want_allocations || s.failed_allocations != failures ||
        s.deallocations != want_deallocations)
      return ::testing::AssertionFailure()
             << where << ": stats say " << s.allocations << " allocations, " << s.failed_allocations
             << " failures, " << s.deallocations << " deallocations; the calls were " << want_allocations
             << ", " << failures << ", " << want_deallocations;
    return ::testing::AssertionSuccess();
  }
};

template <class A>
class StatsPerCall : public ::testing::Test {};
TYPED_TEST_SUITE(StatsPerCall, EveryAllocator, AllocatorName);

// The example: one call of a cached size is one allocation (thread_cached_pool
// reported its refill of 16 blocks as 16), and one free is one deallocation.
TYPED_TEST(StatsPerCall, OneCallIsOneAllocation) {
  auto a = test::make_bounded<TypeParam>(std::size_t{1} << 20);
  Tally<TypeParam> t{*a};
  void* p = t.allocate(32);
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(t.matches("one allocate(32)"));
  t.deallocate(p, 32);
  ASSERT_TRUE(t.matches("one deallocate"));
  EXPECT_EQ(t.allocate(0), nullptr);
  ASSERT_TRUE(t.matches("one allocate(0)"));
}

// Many sizes (cached classes and beyond), alignments, frees in bursts larger than any cache
// (flushes), refills, bad requests, a reset: checked after every call.
TYPED_TEST(StatsPerCall, EveryCallCountsOnceWhateverServesIt) {
  auto a = test::make_bounded<TypeParam>(std::size_t{4} << 20);
  Tally<TypeParam> t{*a};
  struct Live {
    void* p;
    std::size_t size;
  };
  for (int round = 0; round < 3; ++round) {
    std::vector<Live> live;
    for (std::size_t i = 0; i < 600; ++i) {
      const std::size_t size = i % 3 == 0 ? 48 : (i * 37) % 2100 + 1;  // one class often: bursts
      const std::size_t alignment = std::size_t{1} << (i % 9);
      void* p = t.allocate(size, alignment);
      ASSERT_NE(p, nullptr) << "round " << round << ", request " << i;
      live.push_back({p, size});
      ASSERT_TRUE(t.matches("allocation " + std::to_string(i)));
      if (i % 50 == 0) {
        for (const auto& [size_bad, alignment_bad] : {std::pair<std::size_t, std::size_t>{0, 16}, {64, 3},
                                                      {SIZE_MAX, 16}, {1, std::size_t{1} << 63}}) {
          ASSERT_EQ(t.allocate(size_bad, alignment_bad), nullptr);
          ASSERT_TRUE(t.matches("bad request after " + std::to_string(i)));
        }
      }
    }
    // Free in an order that sends whole bursts of one class to a cache (flushes) and back.
    for (std::size_t i = 0; i < live.size(); i += 3) {
      t.deallocate(live[i].p, live[i].size);
      ASSERT_TRUE(t.matches("free " + std::to_string(i)));
    }
    for (std::size_t i = live.size(); i-- > 0;) {
      if (i % 3 == 0) continue;
      t.deallocate(live[i].p, live[i].size);
      ASSERT_TRUE(t.matches("free " + std::to_string(i)));
    }
    if (round == 1) {
      a->reset();  // counts calls since construction: a reset keeps them
      ASSERT_TRUE(t.matches("after reset"));
    }
  }
}

// Exhaustion: a small allocator driven full by cached-class requests (thread_cached_pool's
// refills come back short, then empty); every call is one allocation or one failure.
TYPED_TEST(StatsPerCall, ExhaustionCountsOneFailurePerCall) {
  auto a = test::make_bounded<TypeParam>(8 * 1024);
  Tally<TypeParam> t{*a};
  for (const std::size_t size : {std::size_t{32}, std::size_t{100}, std::size_t{16}}) {
    std::vector<void*> got;
    std::size_t failed = 0;
    for (std::size_t i = 0; i < 2000 && failed < 10; ++i) {
      void* p = t.allocate(size);
      if (p == nullptr) {
        ++failed;
      } else {
        got.push_back(p);
      }
      ASSERT_TRUE(t.matches("size " + std::to_string(size) + ", call " + std::to_string(i)));
    }
    ASSERT_EQ(failed, 10u) << "never exhausted";
    ASSERT_FALSE(got.empty());
    for (void* p : got) {
      t.deallocate(p, size);
      ASSERT_TRUE(t.matches("freeing"));
    }
    if constexpr (!TypeParam::supports_free) a->reset();
    ASSERT_TRUE(t.matches("after size " + std::to_string(size)));
  }
}

// Across threads (the thread-safe allocators): each thread's calls, summed after the join.
TYPED_TEST(StatsPerCall, CallsFromManyThreadsAddUp) {
  if constexpr (!TypeParam::thread_safe) {
    GTEST_SKIP() << "not thread-safe";
  } else {
    auto a = test::make_bounded<TypeParam>(std::size_t{8} << 20);
    constexpr std::size_t threads = 6;
    constexpr std::size_t per_thread = 400;
    std::vector<std::size_t> nulls(threads, 0);
    test::race(threads, [&](std::size_t id) {
      std::vector<std::pair<void*, std::size_t>> mine;
      for (std::size_t i = 0; i < per_thread; ++i) {
        const std::size_t size = (i * 53 + id * 7) % 700 + 1;
        void* p = a->allocate(size, std::size_t{1} << (i % 7));
        if (p == nullptr) ++nulls[id];
        else mine.emplace_back(p, size);
        if (i % 40 == 0 && a->allocate(0) == nullptr) ++nulls[id];
      }
      for (const auto& [p, size] : mine) a->deallocate(p, size);
    });
    std::size_t failures = 0;
    for (std::size_t n : nulls) failures += n;
    const std::size_t calls = threads * (per_thread + per_thread / 40);
    const AllocatorStats s = a->stats();
    EXPECT_EQ(s.failed_allocations, failures);
    if constexpr (counts_calls<TypeParam>) {
      EXPECT_EQ(s.allocations, calls - failures);
      EXPECT_EQ(s.deallocations, TypeParam::supports_free ? calls - failures : 0u);
    } else {
      EXPECT_EQ(s.allocations, 0u);
      EXPECT_EQ(s.deallocations, 0u);
    }
  }
}

}  // namespace
}  // namespace alloclab
