// The thread-safe arenas, long run: MutexArena, AtomicBumpArena and ThreadLocalArena, each
// through rounds of max(16, 4 x cores) threads allocating together — sizes 8 B..4 KiB
// log-uniform with one request in 1000 of 64..256 KiB, alignments 1..256 — stamping every block,
// waiting for everybody, verifying their own blocks, exiting; then join, statistics checks,
// reset(). At least 10 million allocations across the three arenas (ALLOCLAB_STRESS_SCALE
// scales it). Overlapping grants fail a verification; a reset that does not reset, or a
// ThreadLocalArena that strands blocks or thread states round after round, fails a count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "stress_support.hpp"

namespace alloclab {
namespace {

using stress::MiB;
// Counted, so the statistics checks below cover its per-request counters too.
using CountedThreadLocalArena = BasicThreadLocalArena<HeapBlockSource, Counting::on>;

constexpr std::size_t kTotalAllocations = 10'000'000;  // across the three arenas
constexpr std::size_t kArenas = 3;
constexpr std::size_t kPerRound = 65536;              // allocations per round, all threads
constexpr std::size_t kFixedCapacity = 96 * MiB;      // ~50 MiB needed per round on average

struct Grant {
  void* p;
  std::size_t size;
  std::uint64_t seq;
};

// One thread's round.
struct ThreadRound {
  std::vector<Grant> grants;
  std::size_t failures = 0;
  std::size_t misaligned = 0;
  std::size_t corrupted = 0;
  std::size_t out_of_range = 0;
  std::size_t requested = 0;  // bytes of the successful requests
  std::size_t worst = 0;      // sum of size + alignment - 1 over all requests: the most they can use
};

template <class Arena>
std::unique_ptr<Arena> make_arena() {
  if constexpr (std::is_same_v<Arena, CountedThreadLocalArena>) {
    return std::make_unique<CountedThreadLocalArena>();  // 64 KiB blocks from the heap, unbounded
  } else {
    return std::make_unique<Arena>(kFixedCapacity);
  }
}

template <class Arena>
constexpr bool kFixed = !std::is_same_v<Arena, CountedThreadLocalArena>;

template <class Arena>
void stress_rounds(std::uint64_t salt) {
  const std::size_t threads = stress::threads();
  const std::size_t target = (stress::scaled(kTotalAllocations, 3 * kPerRound) + kArenas - 1) / kArenas;
  const std::size_t per_thread = (kPerRound + threads - 1) / threads;
  const std::size_t rounds = (target + per_thread * threads - 1) / (per_thread * threads);

  auto arena = make_arena<Arena>();
  if constexpr (kFixed<Arena>) {
    ASSERT_EQ(arena->capacity(), kFixedCapacity) << "the heap refused the arena's block";
  }

  std::vector<ThreadRound> work(threads);
  for (ThreadRound& w : work) w.grants.reserve(per_thread);
  std::size_t allocations = 0;
  std::size_t failures = 0;
  std::size_t first_round_blocks = 0;
  std::size_t most_blocks = 0;
  std::size_t max_used = 0;

  for (std::size_t round = 0; round < rounds; ++round) {
    std::latch start(static_cast<std::ptrdiff_t>(threads));
    std::latch stamped(static_cast<std::ptrdiff_t>(threads));
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (std::size_t t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        ThreadRound& w = work[t];
        w = ThreadRound{std::move(w.grants)};
        w.grants.clear();
        stress::Rng rng((salt << 40) ^ (round << 16) ^ t);
        start.arrive_and_wait();
        for (std::size_t i = 0; i < per_thread; ++i) {
          const std::size_t size = stress::mixed_size(rng);
          const std::size_t alignment =
              rng() % 2 == 0 ? default_alignment : std::size_t{1} << (rng() % 9);  // 1..256
          w.worst += size + alignment - 1;
          void* p = arena->allocate(size, alignment);
          if (p == nullptr) {
            ++w.failures;
            continue;
          }
          if (reinterpret_cast<std::uintptr_t>(p) % alignment != 0) ++w.misaligned;
          if constexpr (std::is_same_v<Arena, MutexArena>) {
            const auto* begin = static_cast<const char*>(arena->data());
            const auto* q = static_cast<const char*>(p);
            if (q < begin || q + size > begin + kFixedCapacity) {
              ++w.out_of_range;
              continue;  // do not write outside the arena
            }
          }
          stress::stamp(p, size, t, i);
          w.requested += size;
          w.grants.push_back({p, size, i});
        }
        stamped.arrive_and_wait();  // every block of the round is written: now check ours
        for (const Grant& g : w.grants)
          if (!stress::verify(g.p, g.size, t, g.seq)) ++w.corrupted;
      });
    }
    for (auto& th : workers) th.join();

    std::size_t round_allocations = 0, round_failures = 0, requested = 0, worst = 0;
    std::size_t misaligned = 0, corrupted = 0, out_of_range = 0;
    for (const ThreadRound& w : work) {
      round_allocations += w.grants.size();
      round_failures += w.failures;
      requested += w.requested;
      worst += w.worst;
      misaligned += w.misaligned;
      corrupted += w.corrupted;
      out_of_range += w.out_of_range;
    }
    allocations += round_allocations;
    failures += round_failures;
    const std::string where = std::string(Arena::name) + " round " + std::to_string(round);
    ASSERT_EQ(corrupted, 0u) << where << ": overlapping or damaged blocks";
    ASSERT_EQ(misaligned, 0u) << where;
    ASSERT_EQ(out_of_range, 0u) << where;

    const std::size_t used = arena->used();
    const AllocatorStats s = arena->stats();
    max_used = std::max(max_used, used);
    EXPECT_GE(used, requested) << where;
    EXPECT_EQ(s.used, used) << where;
    EXPECT_EQ(s.used + s.remaining, s.capacity) << where;
    if constexpr (kFixed<Arena>) {
      // A bump arena consumes at most size + alignment - 1 per request: when the round's worst
      // case fits, nothing may fail. And the block is the block.
      if (worst <= kFixedCapacity) {
        EXPECT_EQ(round_failures, 0u) << where;
      }
      EXPECT_LE(used, std::min(worst, kFixedCapacity)) << where;
      EXPECT_EQ(s.capacity, kFixedCapacity) << where;
      EXPECT_EQ(s.blocks, 1u) << where;
    } else {
      EXPECT_EQ(round_failures, 0u) << where;  // the heap is the limit
      // The threads of earlier rounds exited; their states were adopted, never multiplied.
      EXPECT_EQ(arena->thread_states(), threads) << where;
      if (round == 0) first_round_blocks = s.blocks;
      most_blocks = std::max(most_blocks, s.blocks);
      // Blocks are recycled by reset(): later rounds need about what the first needed. A
      // round's block count is deterministic (fixed seeds; reset() clears every cursor).
      EXPECT_LE(s.blocks, first_round_blocks * 5 / 4 + threads) << where << ": blocks not recycled";
    }
    if constexpr (!std::is_same_v<Arena, AtomicBumpArena>) {  // counted arenas
      EXPECT_EQ(s.allocations, allocations) << where;
      EXPECT_EQ(s.bytes_requested, requested) << where;
    }

    arena->reset();
    EXPECT_EQ(arena->used(), 0u) << where << ": after reset()";
    if constexpr (kFixed<Arena>) {
      EXPECT_EQ(arena->remaining(), kFixedCapacity) << where << ": after reset()";
    } else {
      EXPECT_EQ(arena->remaining(), arena->capacity()) << where << ": after reset()";
      EXPECT_EQ(arena->stats().bytes_requested, 0u) << where << ": after reset()";
    }
    if (::testing::Test::HasFailure()) return;  // one broken round says it: no flood of repeats
  }

  std::printf(
      "[ stress   ] %s: %zu threads, %zu rounds, %zu allocations, %zu failures, most used %.1f MiB, "
      "%zu blocks%s\n",
      std::string(Arena::name).c_str(), threads, rounds, allocations, failures,
      stress::to_mib(max_used), kFixed<Arena> ? std::size_t{1} : most_blocks,
      kFixed<Arena> ? "" : " at most");
  ::testing::Test::RecordProperty(std::string(Arena::name) + "_allocations", std::to_string(allocations));
  EXPECT_GE(allocations, target);
  EXPECT_EQ(arena->stats().peak_used, max_used);
}

TEST(ArenaStress, MutexArenaRoundsOfConcurrentAllocationAndReset) {
  stress_rounds<MutexArena>(1);
}

TEST(ArenaStress, AtomicBumpArenaRoundsOfConcurrentAllocationAndReset) {
  stress_rounds<AtomicBumpArena>(2);
}

TEST(ArenaStress, ThreadLocalArenaRoundsOfConcurrentAllocationAndReset) {
  stress_rounds<CountedThreadLocalArena>(3);
}

}  // namespace
}  // namespace alloclab
