// Thread-exit order: an allocator used from the destructor of a thread_local that is destroyed
// after the allocator's own per-thread state (a thread_local constructed before the thread's
// first request is destroyed after it). thread_local_arena then touched its dead list of
// states (a heap use-after-free under ASan); thread_cached_pool serves such a thread from its
// pool. Both must hand out good memory there, count it, and give it all back on reset/release
// (ASan's leak check sees the rest), also with many threads exiting at once (TSan).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "edge_support.hpp"

namespace alloclab {
namespace {

using edge::address;

// A thread_local whose destructor runs a hook: constructed first in a thread, destroyed last.
struct AtThreadExit {
  std::function<void()> hook;
  ~AtThreadExit() {
    if (hook) hook();
  }
};
AtThreadExit& at_thread_exit() {
  thread_local AtThreadExit instance;
  return instance;
}

struct Grant {
  void* p;
  std::size_t size;
  std::size_t alignment;
  std::uint64_t owner;
};

template <class A>
class ThreadExitOrder : public ::testing::Test {};
using ExitAllocators = ::testing::Types<BasicThreadLocalArena<HeapBlockSource, Counting::on>,
                                        BasicThreadLocalArena<HeapBlockSource, Counting::off>, ThreadCachedPool>;
TYPED_TEST_SUITE(ThreadExitOrder, ExitAllocators, edge::AllocatorName);

template <class A>
std::unique_ptr<A> make_allocator() {
  if constexpr (Growable<A>) {
    return std::make_unique<A>(4096, HeapBlockSource{});
  } else {
    return std::make_unique<A>(std::size_t{4} << 20);
  }
}

// Runs `threads` threads that each register the exit hook first, then use the allocator (so
// its per-thread state is built after the hook's thread_local, and destroyed before it), and
// whose hook allocates `per_hook` blocks of assorted sizes and alignments, some freed again.
template <class A>
std::vector<Grant> exit_allocations(A& a, std::size_t threads, std::size_t per_hook, std::size_t& calls) {
  std::mutex m;
  std::vector<Grant> kept;
  std::size_t made = 0;
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      at_thread_exit().hook = [&, t] {
        std::vector<Grant> mine;
        std::size_t n = 0;
        for (std::size_t i = 0; i < per_hook; ++i) {
          const std::size_t size = (i * 131 + t) % 5000 + 1;  // cached classes, and past a block
          const std::size_t alignment = std::size_t{1} << (i % 8);
          void* p = a.allocate(size, alignment);
          ++n;
          if (p == nullptr) continue;
          test::fill_pattern(p, size, t, i);
          if (A::supports_free && i % 3 == 0) {
            a.deallocate(p, size);
            continue;
          }
          mine.push_back({p, size, alignment, t * 100000 + i});
        }
        std::lock_guard lock(m);
        made += n;
        kept.insert(kept.end(), mine.begin(), mine.end());
      };
      // The thread's ordinary use: builds the allocator's per-thread state after the hook's.
      std::vector<std::pair<void*, std::size_t>> used;
      for (std::size_t i = 0; i < 50; ++i) {
        void* p = a.allocate(i % 200 + 1);
        if (p != nullptr) used.emplace_back(p, i % 200 + 1);
      }
      for (const auto& [p, size] : used) a.deallocate(p, size);
    });
  }
  for (auto& w : workers) w.join();
  calls = made;
  return kept;
}

TYPED_TEST(ThreadExitOrder, AllocatingFromALateThreadLocalDestructorIsSafe) {
  auto a = make_allocator<TypeParam>();
  std::size_t hook_calls = 0;
  const std::vector<Grant> kept = exit_allocations(*a, 1, 200, hook_calls);
  ASSERT_EQ(hook_calls, 200u) << "the exit hook did not run";
  // (i % 3 == 0 freed again by the pool; the arena keeps all.)
  ASSERT_EQ(kept.size(), TypeParam::supports_free ? 133u : 200u) << "requests at thread exit failed";
  for (const Grant& g : kept) {
    EXPECT_EQ(address(g.p) % g.alignment, 0u);
    EXPECT_TRUE(test::check_pattern(g.p, g.size, g.owner / 100000, g.owner % 100000))
        << "a block handed out at thread exit was overwritten";
  }
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.failed_allocations, 0u);
  if (s.counted) {
    EXPECT_EQ(s.allocations, 50u + 200u);
  }
  EXPECT_EQ(s.used + s.remaining, s.capacity);
  // The memory handed out at exit is the allocator's: freed, reset and released with the rest.
  if constexpr (TypeParam::supports_free) {
    for (const Grant& g : kept) a->deallocate(g.p, g.size);
    if (s.counted) {
      EXPECT_EQ(a->stats().deallocations, 50u + 200u);
    }
  }
  a->reset();
  EXPECT_EQ(a->used(), 0u);
  a->release();
}

// Many threads exiting together, each allocating from its exit hook: no block handed to two
// of them (patterns intact), every request served.
TYPED_TEST(ThreadExitOrder, ManyThreadsAllocatingAtExitGetDisjointBlocks) {
  auto a = make_allocator<TypeParam>();
  const std::size_t threads = test::oversubscribed_threads();
  std::size_t hook_calls = 0;
  std::vector<Grant> kept = exit_allocations(*a, threads, 100, hook_calls);
  ASSERT_EQ(hook_calls, threads * 100);
  ASSERT_EQ(kept.size(), threads * (TypeParam::supports_free ? 66u : 100u));
  std::sort(kept.begin(), kept.end(), [](const Grant& x, const Grant& y) { return x.p < y.p; });
  for (std::size_t i = 0; i < kept.size(); ++i) {
    EXPECT_TRUE(test::check_pattern(kept[i].p, kept[i].size, kept[i].owner / 100000, kept[i].owner % 100000));
    if (i > 0) {
      EXPECT_LE(address(kept[i - 1].p) + kept[i - 1].size, address(kept[i].p)) << "blocks overlap";
    }
  }
  if constexpr (TypeParam::supports_free) {
    for (const Grant& g : kept) a->deallocate(g.p, g.size);
  }
  a->reset();
  // After a reset the arena serves new threads, at exit too, from what it holds.
  std::size_t again = 0;
  EXPECT_EQ(exit_allocations(*a, 2, 100, again).size(), 2 * (TypeParam::supports_free ? 66u : 100u));
  a->release();
}

}  // namespace
}  // namespace alloclab
