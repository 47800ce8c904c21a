// The thread-safe arenas under real races: more threads than cores, released together behind a
// latch. Every thread stamps a pattern unique to (thread, block) into every block it gets and
// verifies it only after every thread has finished writing, so two blocks that overlapped
// cannot both verify (and TSan sees the conflicting writes). Counters the arenas keep are
// compared with what the threads counted; bounds are checked against the arena's first byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

struct Grant {
  void* p;
  std::size_t size;
  std::uint64_t index;  // the block index in the owner's pattern
};

struct Range {
  std::uintptr_t begin;
  std::size_t size;
};

struct ThreadTally {
  std::size_t successes = 0;
  std::size_t failures = 0;
  std::size_t bytes_requested = 0;
  std::size_t misaligned = 0;
  std::size_t corrupted = 0;
  std::vector<Range> ranges;
};

struct Totals {
  std::size_t successes = 0;
  std::size_t failures = 0;
  std::size_t bytes_requested = 0;
  std::size_t misaligned = 0;
  std::size_t corrupted = 0;
  std::vector<Range> ranges;
};

Totals sum(std::vector<ThreadTally>& tallies) {
  Totals t;
  for (auto& r : tallies) {
    t.successes += r.successes;
    t.failures += r.failures;
    t.bytes_requested += r.bytes_requested;
    t.misaligned += r.misaligned;
    t.corrupted += r.corrupted;
    t.ranges.insert(t.ranges.end(), r.ranges.begin(), r.ranges.end());
  }
  return t;
}

// Ranges that intersect (after sorting by address): 0 when all are disjoint.
std::size_t count_overlaps(std::vector<Range> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  std::size_t overlaps = 0;
  for (std::size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i - 1].begin + ranges[i - 1].size > ranges[i].begin) ++overlaps;
  return overlaps;
}

// Ranges not inside [base, base + capacity).
std::size_t count_out_of_bounds(const std::vector<Range>& ranges, std::uintptr_t base,
                                std::size_t capacity) {
  std::size_t out = 0;
  for (const Range& r : ranges)
    if (r.begin < base || r.begin - base > capacity || r.size > capacity - (r.begin - base)) ++out;
  return out;
}

using test::race;

std::size_t random_size(std::mt19937_64& rng) { return 8 + rng() % 505; }  // 8..512
std::size_t random_alignment(std::mt19937_64& rng) {
  return std::size_t{8} << (rng() % 6);  // 8..256
}

// Every thread makes `attempts` requests of mixed sizes (8..512) and alignments (8..256),
// stamps each block, waits until every thread has stamped all of its blocks, then verifies.
template <class A>
std::vector<ThreadTally> race_mixed(A& arena, std::size_t threads, std::size_t attempts,
                                    std::uint64_t seed) {
  std::vector<ThreadTally> tallies(threads);
  std::latch stamped(static_cast<std::ptrdiff_t>(threads));
  race(threads, [&](std::size_t t) {
    ThreadTally& tally = tallies[t];
    std::vector<Grant> grants;
    grants.reserve(attempts);
    std::mt19937_64 rng(seed * 1000003 + t);
    for (std::size_t i = 0; i < attempts; ++i) {
      const std::size_t size = random_size(rng);
      const std::size_t alignment = random_alignment(rng);
      void* p = arena.allocate(size, alignment);
      if (p == nullptr) {
        ++tally.failures;
        continue;
      }
      ++tally.successes;
      tally.bytes_requested += size;
      if (reinterpret_cast<std::uintptr_t>(p) % alignment != 0) ++tally.misaligned;
      test::fill_pattern(p, size, t, i);
      grants.push_back({p, size, i});
    }
    stamped.arrive_and_wait();  // nobody verifies before everybody has written
    for (const Grant& g : grants) {
      if (!test::check_pattern(g.p, g.size, t, g.index)) ++tally.corrupted;
      tally.ranges.push_back({reinterpret_cast<std::uintptr_t>(g.p), g.size});
    }
  });
  return tallies;
}

constexpr std::size_t kMixedAttempts = 600;
// Enough for every mixed request to succeed: size + worst padding, per attempt.
std::size_t roomy_capacity(std::size_t threads) { return threads * kMixedAttempts * (512 + 256); }

// --- MutexArena --------------------------------------------------------------------------

TEST(ArenaConcurrency, MutexArenaMixedRequestsNeverOverlap) {
  const std::size_t threads = test::oversubscribed_threads();
  MutexArena arena(roomy_capacity(threads));
  ASSERT_EQ(arena.capacity(), roomy_capacity(threads));
  auto tallies = race_mixed(arena, threads, kMixedAttempts, 1);
  const Totals t = sum(tallies);

  EXPECT_EQ(t.successes, threads * kMixedAttempts);
  EXPECT_EQ(t.failures, 0u);
  EXPECT_EQ(t.misaligned, 0u);
  EXPECT_EQ(t.corrupted, 0u);
  EXPECT_EQ(count_overlaps(t.ranges), 0u);
  EXPECT_EQ(count_out_of_bounds(t.ranges, reinterpret_cast<std::uintptr_t>(arena.data()),
                                arena.capacity()),
            0u);
  const AllocatorStats s = arena.stats();
  EXPECT_EQ(s.allocations, t.successes);
  EXPECT_EQ(s.failed_allocations, 0u);
  EXPECT_EQ(s.bytes_requested, t.bytes_requested);
  EXPECT_GE(s.used, t.bytes_requested);
  EXPECT_LE(s.used, s.capacity);
  EXPECT_EQ(s.used + s.remaining, s.capacity);
}

TEST(ArenaConcurrency, MutexArenaCountsEverySuccessAndFailureWhenExhausted) {
  const std::size_t threads = test::oversubscribed_threads();
  constexpr std::size_t capacity = 64 * 1024;  // far less than the threads ask for
  MutexArena arena(capacity);
  std::size_t successes = 0;
  std::size_t failures = 0;
  for (std::uint64_t round = 0; round < 4; ++round) {
    auto tallies = race_mixed(arena, threads, kMixedAttempts, 10 + round);
    const Totals t = sum(tallies);
    successes += t.successes;
    failures += t.failures;
    EXPECT_GT(t.failures, 0u) << "round " << round << ": the arena was meant to run out";
    EXPECT_EQ(t.misaligned, 0u);
    EXPECT_EQ(t.corrupted, 0u);
    EXPECT_EQ(count_overlaps(t.ranges), 0u);
    EXPECT_EQ(count_out_of_bounds(t.ranges, reinterpret_cast<std::uintptr_t>(arena.data()),
                                  capacity),
              0u);
    const AllocatorStats s = arena.stats();  // quiescent: the threads are joined
    EXPECT_EQ(s.allocations, successes) << "round " << round;
    EXPECT_EQ(s.failed_allocations, failures) << "round " << round;
    EXPECT_EQ(s.bytes_requested, t.bytes_requested) << "round " << round;
    EXPECT_LE(s.used, capacity);
    EXPECT_GE(s.used, t.bytes_requested);
    arena.reset();
    EXPECT_EQ(arena.used(), 0u);
  }
}

// --- AtomicBumpArena ---------------------------------------------------------------------

// The arena's first byte: after a reset, a 1-byte request with alignment 1 starts at offset 0.
template <class A>
std::uintptr_t probe_base(A& arena) {
  return reinterpret_cast<std::uintptr_t>(arena.allocate(1, 1));
}

template <class A>
void atomic_mixed_requests_never_overlap() {
  const std::size_t threads = test::oversubscribed_threads();
  A arena(roomy_capacity(threads));
  ASSERT_EQ(arena.capacity(), roomy_capacity(threads));
  const std::uintptr_t base = probe_base(arena);
  ASSERT_NE(base, 0u);
  auto tallies = race_mixed(arena, threads, kMixedAttempts, 2);
  const Totals t = sum(tallies);

  EXPECT_EQ(t.successes, threads * kMixedAttempts);
  EXPECT_EQ(t.failures, 0u);
  EXPECT_EQ(t.misaligned, 0u);
  EXPECT_EQ(t.corrupted, 0u);
  EXPECT_EQ(count_overlaps(t.ranges), 0u);
  EXPECT_EQ(count_out_of_bounds(t.ranges, base, arena.capacity()), 0u);
  EXPECT_GE(arena.used(), t.bytes_requested + 1);
  EXPECT_LE(arena.used(), arena.capacity());
  const AllocatorStats s = arena.stats();
  EXPECT_EQ(s.failed_allocations, 0u);
  if constexpr (std::is_same_v<A, BasicAtomicBumpArena<Counting::on>>) {
    EXPECT_TRUE(s.counted);
    EXPECT_EQ(s.allocations, t.successes + 1);  // + the probe
    EXPECT_EQ(s.bytes_requested, t.bytes_requested + 1);
  } else {
    EXPECT_FALSE(s.counted);
  }
}

TEST(ArenaConcurrency, AtomicBumpArenaMixedRequestsNeverOverlap) {
  atomic_mixed_requests_never_overlap<AtomicBumpArena>();
}

TEST(ArenaConcurrency, CountingAtomicBumpArenaMixedRequestsNeverOverlap) {
  atomic_mixed_requests_never_overlap<BasicAtomicBumpArena<Counting::on>>();
}

// How many fixed-size requests fit in `capacity` one after another from an aligned base:
// every thread interleaving changes nothing for equal requests, so this is exact.
std::size_t sequential_fits(std::size_t capacity, std::size_t size, std::size_t alignment,
                            std::size_t* end_offset) {
  const std::size_t need = size + debug::guard_bytes;
  std::size_t offset = 0;
  std::size_t fits = 0;
  for (;;) {
    const std::size_t start = static_cast<std::size_t>(align_up(offset, alignment));
    if (start > capacity || need > capacity - start) break;
    offset = start + need;
    ++fits;
  }
  *end_offset = offset;
  return fits;
}

// Threads grab 64-byte, 64-aligned blocks until the arena says no. The CAS makes the arena
// exact: the number of successes is capacity / 64, every block distinct and inside the block,
// and the offset ends exactly at the capacity — round after round, reset between.
TEST(ArenaConcurrency, AtomicBumpArenaRacingAtCapacityHandsOutExactlyEverything) {
  const std::size_t threads = test::oversubscribed_threads();
  constexpr std::size_t block = 64;
  constexpr std::size_t capacity = block * 4096;
  std::size_t expected_end = 0;
  const std::size_t expected = sequential_fits(capacity, block, block, &expected_end);
  if constexpr (debug::guard_bytes == 0) {
    ASSERT_EQ(expected, capacity / block);
    ASSERT_EQ(expected_end, capacity);
  }

  BasicAtomicBumpArena<Counting::on> arena(capacity);
  ASSERT_EQ(arena.capacity(), capacity);
  std::uintptr_t first_base = 0;
  std::size_t failures_so_far = 0;
  std::size_t successes_so_far = 0;
  for (std::uint64_t round = 0; round < 6; ++round) {
    std::vector<std::vector<std::uintptr_t>> got(threads);
    std::vector<std::size_t> failures(threads, 0);
    std::vector<std::size_t> corrupted(threads, 0);
    std::latch stamped(static_cast<std::ptrdiff_t>(threads));
    race(threads, [&](std::size_t t) {
      for (;;) {
        void* p = arena.allocate(block, block);
        if (p == nullptr) {
          ++failures[t];
          // Once full, it stays full: a second try fails too and changes nothing.
          if (arena.allocate(block, block) != nullptr) ++corrupted[t];
          ++failures[t];
          break;
        }
        test::fill_pattern(p, block, t, got[t].size());
        got[t].push_back(reinterpret_cast<std::uintptr_t>(p));
      }
      stamped.arrive_and_wait();
      for (std::size_t i = 0; i < got[t].size(); ++i)
        if (!test::check_pattern(reinterpret_cast<void*>(got[t][i]), block, t, i)) ++corrupted[t];
    });

    std::vector<std::uintptr_t> all;
    std::size_t total_failures = 0;
    std::size_t total_corrupted = 0;
    for (std::size_t t = 0; t < threads; ++t) {
      all.insert(all.end(), got[t].begin(), got[t].end());
      total_failures += failures[t];
      total_corrupted += corrupted[t];
    }
    ASSERT_EQ(all.size(), expected) << "round " << round;
    EXPECT_EQ(total_corrupted, 0u) << "round " << round;
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end())
        << "round " << round << ": a block was handed out twice";
    const std::uintptr_t base = all.front();
    if (round == 0) first_base = base;
    EXPECT_EQ(base, first_base) << "round " << round << ": reset() must start over at offset 0";
    EXPECT_EQ(base % block, 0u);
    for (std::uintptr_t p : all) {
      EXPECT_EQ(p % block, 0u);
      EXPECT_LE(p - base + block, capacity);
      if (p % block != 0 || p - base + block > capacity) break;
    }
    EXPECT_EQ(arena.used(), expected_end) << "round " << round;
    EXPECT_LE(arena.used(), arena.capacity());
    EXPECT_EQ(arena.remaining(), capacity - expected_end);
    successes_so_far += all.size();
    failures_so_far += total_failures;
    const AllocatorStats s = arena.stats();
    EXPECT_EQ(s.allocations, successes_so_far);
    EXPECT_EQ(s.failed_allocations, failures_so_far);
    EXPECT_EQ(s.bytes_requested, all.size() * block);
    EXPECT_EQ(s.peak_used, expected_end);
    arena.reset();  // quiescent: joined
    EXPECT_EQ(arena.used(), 0u);
  }
}

// Mixed sizes and alignments racing at the capacity: whatever succeeds fits, disjoint, in
// bounds; the offset never passes the capacity (no wrap-around after failed requests).
template <class A>
void atomic_mixed_at_capacity() {
  const std::size_t threads = test::oversubscribed_threads();
  constexpr std::size_t capacity = 64 * 1024;
  A arena(capacity);
  ASSERT_EQ(arena.capacity(), capacity);
  std::size_t successes_so_far = 0;
  std::size_t failures_so_far = 0;
  for (std::uint64_t round = 0; round < 5; ++round) {
    const std::uintptr_t base = probe_base(arena);
    ASSERT_NE(base, 0u);
    auto tallies = race_mixed(arena, threads, kMixedAttempts, 100 + round);
    const Totals t = sum(tallies);
    EXPECT_GT(t.failures, 0u) << "round " << round << ": the arena was meant to run out";
    EXPECT_GT(t.successes, 0u);
    EXPECT_EQ(t.misaligned, 0u);
    EXPECT_EQ(t.corrupted, 0u);
    EXPECT_EQ(count_overlaps(t.ranges), 0u) << "round " << round;
    EXPECT_EQ(count_out_of_bounds(t.ranges, base, capacity), 0u) << "round " << round;
    const std::size_t used = arena.used();
    EXPECT_GE(used, t.bytes_requested + 1) << "round " << round;
    EXPECT_LE(used, arena.capacity()) << "round " << round;
    EXPECT_LE(t.bytes_requested + 1, capacity);
    EXPECT_EQ(arena.remaining(), capacity - std::min(used, capacity));
    // Every range ends at or before the offset.
    std::uintptr_t highest_end = 0;
    for (const Range& r : t.ranges) highest_end = std::max(highest_end, r.begin + r.size);
    EXPECT_LE(highest_end - base, used);
    successes_so_far += t.successes + 1;
    failures_so_far += t.failures;
    const AllocatorStats s = arena.stats();
    EXPECT_EQ(s.failed_allocations, failures_so_far);
    if constexpr (std::is_same_v<A, BasicAtomicBumpArena<Counting::on>>) {
      EXPECT_EQ(s.allocations, successes_so_far);
      EXPECT_EQ(s.bytes_requested, t.bytes_requested + 1);
    }
    // A failed request does not move the offset, even now.
    EXPECT_EQ(arena.allocate(capacity, 1), nullptr);
    ++failures_so_far;
    EXPECT_EQ(arena.used(), used);
    arena.reset();
    EXPECT_EQ(arena.used(), 0u);
  }
}

TEST(ArenaConcurrency, AtomicBumpArenaMixedRequestsAtCapacityStayInBounds) {
  atomic_mixed_at_capacity<AtomicBumpArena>();
}

TEST(ArenaConcurrency, CountingAtomicBumpArenaMixedRequestsAtCapacityStayInBounds) {
  atomic_mixed_at_capacity<BasicAtomicBumpArena<Counting::on>>();
}

// --- ThreadLocalArena --------------------------------------------------------------------

TEST(ArenaConcurrency, ThreadLocalArenaMixedRequestsNeverOverlap) {
  const std::size_t threads = test::oversubscribed_threads();
  ThreadLocalArena arena(16 * 1024);  // small blocks: every thread moves through several
  auto tallies = race_mixed(arena, threads, kMixedAttempts, 3);
  const Totals t = sum(tallies);

  EXPECT_EQ(t.successes, threads * kMixedAttempts);
  EXPECT_EQ(t.failures, 0u);
  EXPECT_EQ(t.misaligned, 0u);
  EXPECT_EQ(t.corrupted, 0u);
  EXPECT_EQ(count_overlaps(t.ranges), 0u);
  // Uncounted (the default): no per-request counters, but the bytes reserved, derived from the
  // cursors, still cover every request and no more than the blocks consumed.
  const AllocatorStats s = arena.stats();
  EXPECT_FALSE(s.counted);
  EXPECT_EQ(s.allocations, 0u);
  EXPECT_EQ(s.failed_allocations, 0u);
  EXPECT_GE(s.bytes_reserved, t.bytes_requested);
  EXPECT_LE(s.bytes_reserved, s.used);
  EXPECT_GE(s.used, t.bytes_requested);
  EXPECT_LE(s.used, s.capacity);
  EXPECT_EQ(s.used + s.remaining, s.capacity);
  EXPECT_GE(s.bytes_reserved, s.bytes_requested);
  EXPECT_LE(arena.thread_states(), threads);
}

// --- a million small allocations -----------------------------------------------------------

constexpr std::size_t kStressTotal = std::size_t{1} << 20;
constexpr std::size_t kStressRounds = 4;

struct StressTally {
  std::size_t successes = 0;
  std::size_t bytes = 0;
  std::size_t misaligned = 0;
  std::size_t corrupted = 0;
  std::size_t out_of_bounds = 0;
};

// One round: every thread makes `per_thread` requests of 16..64 bytes (alignment 16), stamps
// all, verifies all after everybody stamped. base/limit bound the addresses when nonzero.
template <class A>
StressTally stress_round(A& arena, std::size_t threads, std::size_t per_thread,
                         std::uint64_t round, std::uintptr_t base, std::size_t limit) {
  std::vector<StressTally> tallies(threads);
  std::latch stamped(static_cast<std::ptrdiff_t>(threads));
  race(threads, [&](std::size_t t) {
    StressTally& tally = tallies[t];
    std::vector<Grant> grants;
    grants.reserve(per_thread);
    std::mt19937 rng(static_cast<std::uint32_t>(round * 7919 + t));
    for (std::size_t i = 0; i < per_thread; ++i) {
      const std::size_t size = 16 + rng() % 49;
      void* p = arena.allocate(size, 16);
      if (p == nullptr) continue;
      ++tally.successes;
      tally.bytes += size;
      const auto a = reinterpret_cast<std::uintptr_t>(p);
      if (a % 16 != 0) ++tally.misaligned;
      if (base != 0 && (a < base || a + size > base + limit)) ++tally.out_of_bounds;
      test::fill_pattern(p, size, t, round * per_thread + i);
      grants.push_back({p, size, round * per_thread + i});
    }
    stamped.arrive_and_wait();
    for (const Grant& g : grants)
      if (!test::check_pattern(g.p, g.size, t, g.index)) ++tally.corrupted;
  });
  StressTally total;
  for (const StressTally& s : tallies) {
    total.successes += s.successes;
    total.bytes += s.bytes;
    total.misaligned += s.misaligned;
    total.corrupted += s.corrupted;
    total.out_of_bounds += s.out_of_bounds;
  }
  return total;
}

TEST(ArenaConcurrency, AtomicBumpArenaMillionSmallAllocations) {
  const std::size_t threads = test::oversubscribed_threads();
  const std::size_t per_thread = (kStressTotal / kStressRounds + threads - 1) / threads;
  // 64 bytes + at most 15 of padding per request, and the probe.
  const std::size_t capacity = threads * per_thread * 80 + 64;
  BasicAtomicBumpArena<Counting::on> arena(capacity);
  ASSERT_EQ(arena.capacity(), capacity);
  std::size_t successes = 0;
  for (std::uint64_t round = 0; round < kStressRounds; ++round) {
    const std::uintptr_t base = probe_base(arena);
    ASSERT_NE(base, 0u);
    const StressTally t = stress_round(arena, threads, per_thread, round, base, capacity);
    EXPECT_EQ(t.successes, threads * per_thread) << "round " << round;
    EXPECT_EQ(t.misaligned, 0u);
    EXPECT_EQ(t.corrupted, 0u) << "round " << round;
    EXPECT_EQ(t.out_of_bounds, 0u) << "round " << round;
    EXPECT_GE(arena.used(), t.bytes + 1);
    EXPECT_LE(arena.used(), capacity);
    successes += t.successes + 1;
    EXPECT_EQ(arena.stats().allocations, successes);
    EXPECT_EQ(arena.stats().bytes_requested, t.bytes + 1);
    arena.reset();
  }
  EXPECT_GE(successes, kStressTotal);
  EXPECT_EQ(arena.stats().failed_allocations, 0u);
}

TEST(ArenaConcurrency, ThreadLocalArenaMillionSmallAllocations) {
  const std::size_t threads = test::oversubscribed_threads();
  const std::size_t per_thread = (kStressTotal / kStressRounds + threads - 1) / threads;
  BasicThreadLocalArena<HeapBlockSource, Counting::on> arena;  // counted: every request is checked
  std::size_t successes = 0;
  std::size_t capacity_after_first = 0;
  for (std::uint64_t round = 0; round < kStressRounds; ++round) {
    const StressTally t = stress_round(arena, threads, per_thread, round, 0, 0);
    EXPECT_EQ(t.successes, threads * per_thread) << "round " << round;
    EXPECT_EQ(t.misaligned, 0u);
    EXPECT_EQ(t.corrupted, 0u) << "round " << round;
    successes += t.successes;
    const AllocatorStats s = arena.stats();
    EXPECT_EQ(s.allocations, successes);
    EXPECT_EQ(s.bytes_requested, t.bytes);
    EXPECT_GE(s.used, t.bytes);
    EXPECT_LE(s.used, s.capacity);
    EXPECT_LE(arena.thread_states(), threads);
    if (round == 0) capacity_after_first = s.capacity;
    arena.reset();
    EXPECT_EQ(arena.used(), 0u);
  }
  EXPECT_GE(successes, kStressTotal);
  EXPECT_EQ(arena.stats().failed_allocations, 0u);
  // The rounds reuse the first round's blocks, give or take a block per thread.
  EXPECT_LE(arena.capacity(), capacity_after_first + threads * arena.block_size());
}

}  // namespace
}  // namespace alloclab
