// ThreadLocalArena across thread lifetimes: short-lived threads (their states adopted by the
// next ones, so memory stays flat), several arenas used alternately by the same threads, an
// arena destroyed while a thread that used it lives on, reset()/release() covering every
// thread's blocks, and block reuse across resets. Run under ASan/TSan, a thread-exit hook that
// touched a dead arena, or a block handed to two threads, is reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <memory>
#include <random>
#include <semaphore>
#include <thread>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

struct Grant {
  void* p;
  std::size_t size;
  std::uint64_t owner;
  std::uint64_t index;
};

using test::race;

// A heap source that counts what it holds in a shared place (the arena keeps its own copy of
// the source, and calls it under its mutex).
struct CountingSource {
  struct Shared {
    std::atomic<std::size_t> held{0};
    std::atomic<std::size_t> blocks{0};
    std::atomic<std::size_t> taken{0};  // blocks ever taken
  };
  Shared* shared;

  [[nodiscard]] MemoryBlock allocate_block(std::size_t size) noexcept {
    const MemoryBlock b = HeapBlockSource{}.allocate_block(size);
    if (b) {
      shared->held.fetch_add(b.size, std::memory_order_relaxed);
      shared->blocks.fetch_add(1, std::memory_order_relaxed);
      shared->taken.fetch_add(1, std::memory_order_relaxed);
    }
    return b;
  }
  void deallocate_block(MemoryBlock b) noexcept {
    if (b.data == nullptr) return;
    shared->held.fetch_sub(b.size, std::memory_order_relaxed);
    shared->blocks.fetch_sub(1, std::memory_order_relaxed);
    HeapBlockSource{}.deallocate_block(b);
  }
};
static_assert(BlockSource<CountingSource>);
// Counted (Counting::on): these tests check every request was seen, through the counters.
using CountedArena = BasicThreadLocalArena<CountingSource, Counting::on>;
using CountedThreadLocalArena = BasicThreadLocalArena<HeapBlockSource, Counting::on>;

// --- short-lived threads -------------------------------------------------------------------

constexpr std::size_t kShortLivedThreads = 1000;
constexpr std::size_t kPerThread = 100;
constexpr std::size_t kObject = 64;
constexpr std::size_t kBlock = 16 * 1024;  // 256 objects: a thread uses part of one block

// Runs `total` threads in waves of `width`: each allocates kPerThread objects, stamps them,
// verifies them and exits. `between_waves` runs after every wave (threads joined).
template <class Arena, class BetweenWaves>
std::size_t run_short_lived_waves(Arena& arena, std::size_t total, std::size_t width,
                                  BetweenWaves between_waves) {
  std::atomic<std::size_t> failures{0};
  std::size_t started = 0;
  while (started < total) {
    const std::size_t wave = std::min(width, total - started);
    race(wave, [&](std::size_t t) {
      const std::uint64_t owner = started + t;
      std::vector<void*> mine;
      mine.reserve(kPerThread);
      for (std::size_t i = 0; i < kPerThread; ++i) {
        void* p = arena.allocate(kObject);
        if (p == nullptr) {
          failures.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        test::fill_pattern(p, kObject, owner, i);
        mine.push_back(p);
      }
      for (std::size_t i = 0; i < mine.size(); ++i)
        if (!test::check_pattern(mine[i], kObject, owner, i))
          failures.fetch_add(1, std::memory_order_relaxed);
    });
    started += wave;
    between_waves(started);
  }
  return failures.load();
}

TEST(ThreadLocalArenaLifetime, ShortLivedThreadsDoNotStrandBlocks) {
  const std::size_t width = test::oversubscribed_threads();
  CountedThreadLocalArena arena(kBlock);
  std::size_t worst_states = 0;
  const std::size_t failures =
      run_short_lived_waves(arena, kShortLivedThreads, width, [&](std::size_t) {
        worst_states = std::max(worst_states, arena.thread_states());
      });
  EXPECT_EQ(failures, 0u);
  // States of exited threads were adopted: never more than one wave's worth.
  EXPECT_LE(worst_states, width);
  EXPECT_LE(arena.thread_states(), width);

  const std::size_t live_bytes = kShortLivedThreads * kPerThread * kObject;
  const AllocatorStats s = arena.stats();
  EXPECT_EQ(s.allocations, kShortLivedThreads * kPerThread);
  EXPECT_EQ(s.bytes_requested, live_bytes);
  EXPECT_GE(s.used, live_bytes);
  // Every block but the last of each state is full: the live bytes plus at most one partly
  // used block per state. A block per thread (stranded tails) would be ~1000 blocks.
  const std::size_t bound_blocks = live_bytes / arena.block_size() + arena.thread_states() + 1;
  EXPECT_LE(s.capacity, bound_blocks * arena.block_size())
      << "capacity " << s.capacity / arena.block_size() << " blocks for "
      << kShortLivedThreads << " threads";
  EXPECT_LT(s.capacity, kShortLivedThreads / 2 * arena.block_size());
}

TEST(ThreadLocalArenaLifetime, ShortLivedThreadsWithResetBetweenWavesStayFlat) {
  const std::size_t width = test::oversubscribed_threads();
  CountingSource::Shared shared;
  CountedArena arena(kBlock, CountingSource{&shared});
  std::size_t worst_capacity = 0;
  std::size_t worst_states = 0;
  std::size_t allocations = 0;
  const std::size_t failures =
      run_short_lived_waves(arena, kShortLivedThreads, width, [&](std::size_t started) {
        const AllocatorStats s = arena.stats();
        worst_capacity = std::max(worst_capacity, s.capacity);
        worst_states = std::max(worst_states, arena.thread_states());
        allocations = s.allocations;
        EXPECT_EQ(s.allocations, started * kPerThread);
        arena.reset();
        EXPECT_EQ(arena.used(), 0u);
      });
  EXPECT_EQ(failures, 0u);
  EXPECT_EQ(allocations, kShortLivedThreads * kPerThread);
  EXPECT_LE(worst_states, width);
  // One block per live thread at most, whatever the number of threads that came and went.
  EXPECT_LE(worst_capacity, width * arena.block_size());
  EXPECT_LE(arena.capacity(), width * arena.block_size());
  EXPECT_LE(shared.taken.load(), width) << "blocks were taken again instead of recycled";
  arena.release();
  EXPECT_EQ(arena.capacity(), 0u);
  EXPECT_EQ(shared.held.load(), 0u);
  EXPECT_EQ(shared.blocks.load(), 0u);
}

// --- several arenas used alternately ---------------------------------------------------------

TEST(ThreadLocalArenaLifetime, SeveralArenasUsedAlternatelyByTheSameThreads) {
  const std::size_t threads = test::oversubscribed_threads();
  constexpr std::size_t kArenas = 3;
  constexpr std::size_t kCalls = 3000;
  std::vector<std::unique_ptr<CountedThreadLocalArena>> arenas;
  for (std::size_t a = 0; a < kArenas; ++a)
    arenas.push_back(std::make_unique<CountedThreadLocalArena>(4096 << a));

  std::vector<std::vector<Grant>> grants(kArenas * threads);  // [arena * threads + thread]
  std::vector<std::size_t> calls(kArenas * threads, 0);
  std::vector<std::size_t> bytes(kArenas * threads, 0);
  std::atomic<std::size_t> failures{0};
  std::atomic<std::size_t> corrupted{0};
  std::latch stamped(static_cast<std::ptrdiff_t>(threads));
  race(threads, [&](std::size_t t) {
    std::mt19937_64 rng(t + 17);
    for (std::size_t i = 0; i < kCalls; ++i) {
      // Mostly round-robin (a switch on every call), sometimes a random arena.
      const std::size_t a = (i % 4 == 3) ? rng() % kArenas : i % kArenas;
      const std::size_t size = 8 + rng() % 505;
      const std::size_t alignment = std::size_t{8} << (rng() % 6);
      void* p = arenas[a]->allocate(size, alignment);
      ++calls[a * threads + t];
      if (p == nullptr || reinterpret_cast<std::uintptr_t>(p) % alignment != 0) {
        failures.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      bytes[a * threads + t] += size;
      test::fill_pattern(p, size, t, i);
      grants[a * threads + t].push_back({p, size, t, i});
    }
    stamped.arrive_and_wait();
    for (std::size_t a = 0; a < kArenas; ++a)
      for (const Grant& g : grants[a * threads + t])
        if (!test::check_pattern(g.p, g.size, g.owner, g.index))
          corrupted.fetch_add(1, std::memory_order_relaxed);
  });
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(corrupted.load(), 0u);

  for (std::size_t a = 0; a < kArenas; ++a) {
    std::size_t expected_calls = 0;
    std::size_t expected_bytes = 0;
    for (std::size_t t = 0; t < threads; ++t) {
      expected_calls += calls[a * threads + t];
      expected_bytes += bytes[a * threads + t];
    }
    const AllocatorStats s = arenas[a]->stats();
    EXPECT_EQ(s.allocations, expected_calls) << "arena " << a;
    EXPECT_EQ(s.bytes_requested, expected_bytes) << "arena " << a;
    EXPECT_GE(s.used, expected_bytes) << "arena " << a;
    EXPECT_LE(arenas[a]->thread_states(), threads) << "arena " << a;
  }

  // Each block lives in its own arena's memory: giving one arena's blocks back upstream leaves
  // the others' blocks intact (and, under ASan, readable).
  for (std::size_t gone = 0; gone < kArenas; ++gone) {
    arenas[gone]->release();
    EXPECT_EQ(arenas[gone]->capacity(), 0u);
    std::size_t damaged = 0;
    for (std::size_t a = gone + 1; a < kArenas; ++a)
      for (std::size_t t = 0; t < threads; ++t)
        for (const Grant& g : grants[a * threads + t])
          if (!test::check_pattern(g.p, g.size, g.owner, g.index)) ++damaged;
    EXPECT_EQ(damaged, 0u) << "after releasing arena " << gone;
  }
}

// --- an arena dying before its threads --------------------------------------------------------

TEST(ThreadLocalArenaLifetime, ArenaDestroyedWhileItsThreadsLiveOn) {
  const std::size_t threads = test::oversubscribed_threads();
  auto arena = std::make_unique<CountedThreadLocalArena>(4096);
  std::unique_ptr<CountedThreadLocalArena> successor;
  std::latch used(static_cast<std::ptrdiff_t>(threads));
  std::latch arena_gone(1);
  std::latch used_successor(static_cast<std::ptrdiff_t>(threads));
  std::atomic<std::size_t> failures{0};

  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (std::size_t i = 0; i < 200; ++i) {
        void* p = arena->allocate(48);
        if (p == nullptr) {
          failures.fetch_add(1);
          continue;
        }
        test::fill_pattern(p, 48, t, i);
        if (!test::check_pattern(p, 48, t, i)) failures.fetch_add(1);
      }
      used.count_down();
      arena_gone.wait();
      // The old arena is gone; a new one (quite possibly at the same address) works for a
      // thread whose cache and state list still name the dead one.
      std::vector<void*> mine;
      for (std::size_t i = 0; i < 200; ++i) {
        void* p = successor->allocate(48);
        if (p == nullptr) {
          failures.fetch_add(1);
          continue;
        }
        test::fill_pattern(p, 48, t, 1000 + i);
        mine.push_back(p);
      }
      for (std::size_t i = 0; i < mine.size(); ++i)
        if (!test::check_pattern(mine[i], 48, t, 1000 + i)) failures.fetch_add(1);
      // Nobody exits before everybody has a state of its own in the successor (an exited
      // thread's state would be adopted instead).
      used_successor.arrive_and_wait();
      // Exiting now: the exit hook must skip the dead arena and retire the live one's state.
    });
  }
  used.wait();
  EXPECT_EQ(arena->stats().allocations, threads * 200);
  arena.reset();  // destroyed while every thread that used it is still alive
  successor = std::make_unique<CountedThreadLocalArena>(4096);
  arena_gone.count_down();
  for (auto& w : workers) w.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(successor->stats().allocations, threads * 200);
  EXPECT_EQ(successor->thread_states(), threads);

  // The successor's states were retired at exit: new threads adopt them, no new ones appear.
  race(threads, [&](std::size_t t) {
    for (std::size_t i = 0; i < 50; ++i) {
      void* p = successor->allocate(32);
      if (p == nullptr) {
        failures.fetch_add(1);
        continue;
      }
      test::fill_pattern(p, 32, t, i);
      if (!test::check_pattern(p, 32, t, i)) failures.fetch_add(1);
    }
  });
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(successor->thread_states(), threads);
  EXPECT_EQ(successor->stats().allocations, threads * 250);
  successor.reset();

  // And an arena made after both are gone works for fresh threads.
  CountedThreadLocalArena third(4096);
  race(threads, [&](std::size_t t) {
    void* p = third.allocate(100, 64);
    if (p == nullptr || reinterpret_cast<std::uintptr_t>(p) % 64 != 0) {
      failures.fetch_add(1);
      return;
    }
    test::fill_pattern(p, 100, t, 0);
    if (!test::check_pattern(p, 100, t, 0)) failures.fetch_add(1);
  });
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(third.stats().allocations, threads);
}

// A thread that outlives an arena it used and then exits without touching any other arena.
TEST(ThreadLocalArenaLifetime, ThreadExitsAfterItsOnlyArenaDied) {
  auto arena = std::make_unique<CountedThreadLocalArena>(1024);
  std::binary_semaphore allocated{0};
  std::binary_semaphore destroyed{0};
  bool ok = false;
  std::thread worker([&] {
    void* p = arena->allocate(64);
    ok = p != nullptr;
    if (ok) test::fill_pattern(p, 64, 1, 1);
    if (ok) ok = test::check_pattern(p, 64, 1, 1);
    allocated.release();
    destroyed.acquire();
  });
  allocated.acquire();
  arena.reset();
  destroyed.release();
  worker.join();
  EXPECT_TRUE(ok);
  CountedThreadLocalArena next(1024);
  void* p = next.allocate(64);
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(next.stats().allocations, 1u);
}

// A long-lived thread that uses many short-lived arenas (one per request, say) keeps a short
// list of its states: entries of dead arenas are dropped, and the arena that lives on keeps its
// state (and its bytes) through the pruning.
TEST(ThreadLocalArenaLifetime, LongLivedThreadForgetsArenasThatDied) {
  std::size_t longest = 0;
  bool ok = true;
  std::size_t survivor_states = 0, survivor_allocations = 0;
  std::thread worker([&] {
    CountedThreadLocalArena survivor(1024);
    void* first = survivor.allocate(64);
    ok = first != nullptr;
    if (ok) test::fill_pattern(first, 64, 7, 0);
    for (int i = 0; i < 1000 && ok; ++i) {
      CountedThreadLocalArena short_lived(1024);
      ok = short_lived.allocate(32) != nullptr && survivor.allocate(16) != nullptr;
      longest = std::max(longest, detail::thread_local_arena_thread_states.owned.size());
    }
    ok = ok && test::check_pattern(first, 64, 7, 0);
    survivor_states = survivor.thread_states();
    survivor_allocations = survivor.stats().allocations;
  });
  worker.join();
  EXPECT_TRUE(ok);
  EXPECT_LE(longest, 16u);            // not 1001
  EXPECT_EQ(survivor_states, 1u);     // the same state all along, never a new one
  EXPECT_EQ(survivor_allocations, 1001u);
}

// --- reset() and release() cover every thread's blocks --------------------------------------

TEST(ThreadLocalArenaLifetime, ResetAndReleaseCoverEveryThreadsBlocks) {
  const std::size_t threads = test::oversubscribed_threads();
  CountingSource::Shared shared;
  CountedArena arena(4096, CountingSource{&shared});
  std::vector<std::vector<Grant>> grants(threads);
  std::atomic<std::size_t> failures{0};

  const auto work = [&](std::uint64_t round) {
    race(threads, [&](std::size_t t) {
      grants[t].clear();
      // Several standard blocks per thread, and one request too big for a standard block.
      for (std::size_t i = 0; i < 40; ++i) {
        const std::size_t size = i == 20 ? 10000 : 200;
        void* p = arena.allocate(size);
        if (p == nullptr) {
          failures.fetch_add(1);
          continue;
        }
        test::fill_pattern(p, size, t, round * 100 + i);
        grants[t].push_back({p, size, t, round * 100 + i});
      }
      for (const Grant& g : grants[t])
        if (!test::check_pattern(g.p, g.size, g.owner, g.index)) failures.fetch_add(1);
    });
  };

  work(0);
  EXPECT_EQ(failures.load(), 0u);
  const std::size_t held_before = shared.held.load();
  EXPECT_GT(arena.capacity(), threads * 10000);
  EXPECT_EQ(arena.capacity() + arena.stats().blocks * chain_header_size, held_before);

  arena.reset();  // threads joined: quiescent
  EXPECT_EQ(arena.used(), 0u);
  EXPECT_EQ(arena.remaining(), arena.capacity());
  // Dedicated blocks went upstream, every standard block (of every thread) is kept for reuse.
  EXPECT_EQ(shared.held.load(), arena.capacity() + arena.stats().blocks * chain_header_size);
  EXPECT_LE(arena.capacity(), held_before - threads * 10000);
  if constexpr (debug::asan) {
    std::size_t still_addressable = 0;
    for (const auto& mine : grants)
      for (const Grant& g : mine)
        if (!debug::is_poisoned(g.p)) ++still_addressable;
    EXPECT_EQ(still_addressable, 0u) << "reset() left some thread's blocks unpoisoned";
  }

  work(1);
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(arena.used(), 0u);
  arena.release();  // quiescent
  EXPECT_EQ(arena.capacity(), 0u);
  EXPECT_EQ(arena.used(), 0u);
  EXPECT_EQ(arena.stats().blocks, 0u);
  EXPECT_EQ(shared.held.load(), 0u);
  EXPECT_EQ(shared.blocks.load(), 0u);

  // Usable again after release.
  work(2);
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(arena.capacity(), 0u);
}

// --- block recycling --------------------------------------------------------------------------

// The same work 100 times over, reset between cycles (in the barrier's completion step, when
// every thread is waiting): after the first cycle no block is taken from upstream again.
TEST(ThreadLocalArenaLifetime, ResetCyclesReuseBlocks) {
  const std::size_t threads = test::oversubscribed_threads();
  constexpr std::size_t kCycles = 100;
  CountingSource::Shared shared;
  CountedArena arena(8192, CountingSource{&shared});
  std::vector<std::size_t> capacity_at_end(kCycles, 0);
  std::vector<std::size_t> taken_at_end(kCycles, 0);
  std::size_t cycle = 0;
  std::atomic<std::size_t> failures{0};
  std::barrier sync(static_cast<std::ptrdiff_t>(threads), [&]() noexcept {
    capacity_at_end[cycle] = arena.capacity();
    taken_at_end[cycle] = shared.taken.load();
    arena.reset();
    ++cycle;
  });

  race(threads, [&](std::size_t t) {
    std::vector<Grant> mine;
    for (std::size_t c = 0; c < kCycles; ++c) {
      mine.clear();
      // Identical work every cycle; alignments up to 32 (the block data's own alignment), so
      // the padding, and so the blocks a thread needs, are the same every time.
      std::mt19937 rng(static_cast<std::uint32_t>(t + 1));
      for (std::size_t i = 0; i < 120; ++i) {
        const std::size_t size = 16 + rng() % 240;
        const std::size_t alignment = std::size_t{8} << (rng() % 3);
        void* p = arena.allocate(size, alignment);
        if (p == nullptr) {
          failures.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        test::fill_pattern(p, size, t, c * 1000 + i);
        mine.push_back({p, size, t, c * 1000 + i});
      }
      // One dedicated block per thread per cycle: goes upstream at every reset.
      if (t == 0) {
        void* big = arena.allocate(20000);
        if (big == nullptr) failures.fetch_add(1, std::memory_order_relaxed);
      }
      for (const Grant& g : mine)
        if (!test::check_pattern(g.p, g.size, g.owner, g.index))
          failures.fetch_add(1, std::memory_order_relaxed);
      sync.arrive_and_wait();
    }
  });
  EXPECT_EQ(failures.load(), 0u);
  ASSERT_EQ(cycle, kCycles);
  for (std::size_t c = 1; c < kCycles; ++c) {
    EXPECT_EQ(capacity_at_end[c], capacity_at_end[0]) << "cycle " << c;
    // Only the dedicated block is new each cycle.
    EXPECT_EQ(taken_at_end[c] - taken_at_end[c - 1], 1u) << "cycle " << c;
    if (capacity_at_end[c] != capacity_at_end[0]) break;
  }
  EXPECT_EQ(arena.stats().allocations, kCycles * (threads * 120 + 1));
}

}  // namespace
}  // namespace alloclab
