// Nothing grows with use. MutexArena and AtomicBumpArena: one million reset cycles each
// (allocate a few stamped objects, verify them, reset); capacity, blocks, peak and the process's
// RSS after the last cycle are what they were after the first 10,000. ThreadLocalArena: 1000
// thread lifetimes, in waves of 5 threads, each allocating ~96 KiB plus one oversized request
// (a dedicated block), with reset() every 10 lifetimes: thread states, blocks, capacity
// and RSS after the last lifetime are what they were after the first 100.
//
// ALLOCLAB_STRESS_SCALE scales the reset cycles (the checkpoint moves to a tenth of them when
// they are fewer than 100,000) and each lifetime's allocations; the number of lifetimes never
// drops below 1000, since thread lifetimes are what that test counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "stress_support.hpp"

namespace alloclab {
namespace {

using stress::KiB;
using stress::MiB;

constexpr std::size_t kResetCycles = 1'000'000;
constexpr std::size_t kCycleCheckpoint = 10'000;
constexpr std::size_t kMaxObjectsPerCycle = 8;
constexpr std::size_t kArenaCapacity = 1 * MiB;
// Resident memory may move a little for reasons of its own (the C++ runtime, the heap's trim
// thresholds); anything that grows with the cycle count would be far above this.
constexpr std::size_t kRssSlack = 1 * MiB;

struct Snapshot {
  std::size_t rss = 0;
  std::size_t capacity = 0;
  std::size_t blocks = 0;
  std::size_t peak = 0;
};

template <class Arena>
Snapshot snapshot(const Arena& arena) {
  const AllocatorStats s = arena.stats();
  return {stress::rss_bytes(), s.capacity, s.blocks, s.peak_used};
}

template <class Arena>
void reset_cycles(std::uint64_t seed) {
  const std::size_t cycles = stress::scaled(kResetCycles, 10'000);
  const std::size_t checkpoint = std::min(kCycleCheckpoint, cycles / 10);
  Arena arena(kArenaCapacity);
  ASSERT_EQ(arena.capacity(), kArenaCapacity);

  stress::Rng rng(seed);
  struct Object {
    void* p;
    std::size_t size;
  };
  Object objects[kMaxObjectsPerCycle];
  std::size_t failures = 0, corrupted = 0, misaligned = 0, not_reset = 0, allocations = 0;
  std::size_t most_worst = 0;  // the most one cycle can consume: size + alignment - 1 per object
  Snapshot early;
  for (std::size_t cycle = 1; cycle <= cycles; ++cycle) {
    const std::size_t n = 1 + rng() % kMaxObjectsPerCycle;
    std::size_t worst = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t size = stress::small_size(rng);
      const std::size_t alignment = std::size_t{1} << (rng() % 8);  // 1..128
      worst += size + alignment - 1;
      void* p = arena.allocate(size, alignment);
      objects[i] = {p, size};
      if (p == nullptr) {
        ++failures;
        continue;
      }
      ++allocations;
      if (reinterpret_cast<std::uintptr_t>(p) % alignment != 0) ++misaligned;
      stress::stamp(p, size, cycle, i);
    }
    for (std::size_t i = 0; i < n; ++i)
      if (objects[i].p != nullptr && !stress::verify(objects[i].p, objects[i].size, cycle, i))
        ++corrupted;
    most_worst = std::max(most_worst, worst);
    arena.reset();
    if (arena.used() != 0) ++not_reset;
    if (cycle == checkpoint) early = snapshot(arena);
  }
  const Snapshot late = snapshot(arena);

  std::printf(
      "[ stress   ] %s: %zu reset cycles, %zu allocations; after %zu cycles: RSS %.2f MiB, "
      "capacity %zu, blocks %zu, peak %zu; after %zu: RSS %.2f MiB, capacity %zu, blocks %zu, "
      "peak %zu\n",
      std::string(Arena::name).c_str(), cycles, allocations, checkpoint, stress::to_mib(early.rss),
      early.capacity, early.blocks, early.peak, cycles, stress::to_mib(late.rss), late.capacity,
      late.blocks, late.peak);
  EXPECT_EQ(failures, 0u);
  EXPECT_EQ(corrupted, 0u);
  EXPECT_EQ(misaligned, 0u);
  EXPECT_EQ(not_reset, 0u) << "cycles whose reset() left used() != 0";
  EXPECT_EQ(late.capacity, kArenaCapacity);
  EXPECT_EQ(late.capacity, early.capacity);
  EXPECT_EQ(late.blocks, 1u);
  EXPECT_EQ(late.blocks, early.blocks);
  // The offset really went back to zero every cycle: the peak is one cycle's worth, at most.
  EXPECT_LE(late.peak, most_worst);
  if (late.rss == 0) {
    std::printf("[ stress   ] VmRSS not readable: RSS not compared\n");
  } else {
    EXPECT_LE(late.rss, early.rss + kRssSlack)
        << "RSS grew from " << early.rss << " to " << late.rss << " bytes";
  }
}

TEST(ResetCycles, MutexArenaStaysFlatOverAMillionResets) { reset_cycles<MutexArena>(11); }

TEST(ResetCycles, AtomicBumpArenaStaysFlatOverAMillionResets) {
  reset_cycles<AtomicBumpArena>(12);
}

// --- ThreadLocalArena across thread lifetimes ------------------------------------------------

constexpr std::size_t kLifetimes = 1000;
constexpr std::size_t kLifetimeCheckpoint = 100;
constexpr std::size_t kWave = 5;                 // threads alive together
constexpr std::size_t kResetEvery = 10;          // lifetimes (two waves)
constexpr std::size_t kBytesPerLifetime = 96 * KiB;
// One request per lifetime larger than a block: a dedicated block, given back upstream by
// reset(). Always the same size: with random sizes the C heap's own footprint creeps up as
// larger and larger ones come along (glibc keeps a freed chunk per malloc arena), which is
// the heap's growth, not the arena's, and would blur the RSS comparison.
constexpr std::size_t kDedicated = 160 * KiB;
static_assert(kDedicated > ThreadLocalArena::default_block_size);
static_assert(kResetEvery % kWave == 0 && kLifetimeCheckpoint % kResetEvery == 0);

struct LifetimeCounts {
  std::size_t allocations = 0;
  std::size_t failures = 0;
  std::size_t corrupted = 0;
  std::size_t misaligned = 0;
};

TEST(ResetCycles, ThreadLocalArenaStaysFlatOverAThousandThreadLifetimes) {
  const std::size_t lifetimes = std::max(kLifetimes, stress::scaled(kLifetimes) / kResetEvery * kResetEvery);
  const std::size_t bytes_per_lifetime = stress::scaled(kBytesPerLifetime, 8 * KiB);
  // Counted: the statistics checks below include every request.
  BasicThreadLocalArena<HeapBlockSource, Counting::on> arena;  // 64 KiB blocks: a lifetime spans one or two blocks

  std::vector<LifetimeCounts> counts(kWave);
  // Each wave slot's list of grants, made here once: the threads themselves touch the C heap
  // as little as possible, so that its footprint does not blur the RSS comparison.
  std::vector<std::vector<std::pair<void*, std::size_t>>> grants(kWave);
  for (auto& g : grants) g.reserve(bytes_per_lifetime / 8 + 2);
  std::size_t allocations = 0, failures = 0, corrupted = 0, misaligned = 0, not_reset = 0;
  std::size_t most_states = 0;
  Snapshot early;
  std::size_t early_states = 0;

  for (std::size_t started = 0; started < lifetimes; started += kWave) {
    // All threads of a wave allocate before any exits, so a wave needs exactly kWave states:
    // those retired by the previous wave's threads, adopted.
    std::latch allocated(static_cast<std::ptrdiff_t>(kWave));
    std::vector<std::thread> wave;
    wave.reserve(kWave);
    for (std::size_t t = 0; t < kWave; ++t) {
      wave.emplace_back([&, t] {
        const std::uint64_t lifetime = started + t;
        stress::Rng rng(0x11FE0000 + lifetime);
        LifetimeCounts c;
        std::vector<std::pair<void*, std::size_t>>& mine = grants[t];
        mine.clear();
        const auto allocate = [&](std::size_t size) {
          const std::size_t alignment = std::size_t{1} << (rng() % 7);  // 1..64
          void* p = arena.allocate(size, alignment);
          if (p == nullptr) {
            ++c.failures;
            return;
          }
          if (reinterpret_cast<std::uintptr_t>(p) % alignment != 0) ++c.misaligned;
          stress::stamp(p, size, lifetime, mine.size());
          mine.emplace_back(p, size);
        };
        std::size_t bytes = 0;
        bool arrived = false;
        while (bytes < bytes_per_lifetime) {
          const std::size_t size = stress::small_size(rng);
          allocate(size);
          bytes += size;
          if (!arrived) {  // this thread has its state now
            allocated.arrive_and_wait();
            arrived = true;
          }
        }
        allocate(kDedicated);
        for (std::size_t i = 0; i < mine.size(); ++i)
          if (!stress::verify(mine[i].first, mine[i].second, lifetime, i)) ++c.corrupted;
        c.allocations = mine.size();
        counts[t] = c;
      });
    }
    for (auto& th : wave) th.join();
    for (const LifetimeCounts& c : counts) {
      allocations += c.allocations;
      failures += c.failures;
      corrupted += c.corrupted;
      misaligned += c.misaligned;
    }
    most_states = std::max(most_states, arena.thread_states());

    const std::size_t done = started + kWave;
    if (done % kResetEvery == 0) {
      arena.reset();
      if (arena.used() != 0) ++not_reset;
      if (done == kLifetimeCheckpoint) {
        early = snapshot(arena);
        early_states = arena.thread_states();
      }
    }
  }
  const Snapshot late = snapshot(arena);
  const std::size_t late_states = arena.thread_states();
  const AllocatorStats s = arena.stats();

  std::printf(
      "[ stress   ] thread_local_arena: %zu thread lifetimes (waves of %zu), %zu allocations; "
      "after %zu: RSS %.2f MiB, %zu states, %zu blocks, capacity %.2f MiB; after %zu: RSS %.2f "
      "MiB, %zu states, %zu blocks, capacity %.2f MiB\n",
      lifetimes, kWave, allocations, kLifetimeCheckpoint, stress::to_mib(early.rss), early_states,
      early.blocks, stress::to_mib(early.capacity), lifetimes, stress::to_mib(late.rss),
      late_states, late.blocks, stress::to_mib(late.capacity));
  EXPECT_EQ(failures, 0u);
  EXPECT_EQ(corrupted, 0u);
  EXPECT_EQ(misaligned, 0u);
  EXPECT_EQ(not_reset, 0u) << "resets that left used() != 0";
  EXPECT_EQ(s.allocations, allocations);
  EXPECT_EQ(s.bytes_requested, 0u);

  // States of exited threads are adopted: one wave's worth, ever.
  EXPECT_EQ(early_states, kWave);
  EXPECT_EQ(late_states, kWave);
  EXPECT_EQ(most_states, kWave);
  // Blocks are recycled by reset(); dedicated ones went upstream. Ten lifetimes need about the
  // same number of blocks whichever ten they are; a partly used block per live thread is the
  // most that the order in which threads adopt states can add.
  EXPECT_LE(late.blocks, early.blocks + kWave);
  EXPECT_LE(late.capacity, early.capacity + kWave * arena.block_size());
  if (late.rss == 0) {
    std::printf("[ stress   ] VmRSS not readable: RSS not compared\n");
  } else if (ALLOCLAB_STRESS_ASAN) {
    // The dedicated blocks freed by every reset() sit in ASan's quarantine, resident.
    std::printf("[ stress   ] AddressSanitizer's quarantine holds freed blocks: RSS not compared\n");
  } else {
    EXPECT_LE(late.rss, early.rss + kRssSlack)
        << "RSS grew from " << early.rss << " to " << late.rss << " bytes";
  }

  arena.release();
  EXPECT_EQ(arena.capacity(), 0u);
  EXPECT_EQ(arena.stats().blocks, 0u);
}

}  // namespace
}  // namespace alloclab
