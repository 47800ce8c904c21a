// CoalescingPool, long run: max(16, 4 x cores) threads, at least 10 million operations (each
// allocate() and each deallocate() counts one; ALLOCLAB_STRESS_SCALE scales it), sizes
// 8 B..4 KiB log-uniform with one request in 1000 of 64..256 KiB, one in 16 over-aligned.
//
// Half the operations replace a block in the thread's own live set (freed on the thread that
// allocated it); the other half go through a shared exchange: the thread allocates a block,
// swaps it into a random slot of an array of std::atomic<Block*>, and frees whatever it took
// out, whoever allocated it — so most blocks die on another thread, at a random age. Every
// block is stamped with (owner, sequence) and verified just before it is freed: a block handed
// out twice, or reused while live, fails some verification. Pool exhaustion is allowed, counted
// and reported. When everything is freed the pool must be one free block of its whole capacity.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "stress_support.hpp"

namespace alloclab {
namespace {

using stress::MiB;

constexpr std::size_t kCapacity = 256 * MiB;
constexpr std::size_t kTotalOps = 10'000'000;
constexpr std::size_t kSlots = 65536;   // the shared exchange
constexpr std::size_t kLocal = 64;      // each thread's own live set

// What a block is, travelling with it from thread to thread through the exchange.
struct Block {
  void* p = nullptr;  // nullptr: an empty descriptor
  std::size_t size = 0;
  std::uint64_t owner = 0;  // the thread that allocated and stamped it
  std::uint64_t seq = 0;
};

struct ThreadCounts {
  std::size_t ops = 0;
  std::size_t allocations = 0;
  std::size_t failures = 0;
  std::size_t large = 0;
  std::size_t frees = 0;
  std::size_t cross_frees = 0;
  std::size_t misaligned = 0;
  std::size_t corrupted = 0;
};

// First few verification failures, for the report.
struct Problems {
  std::mutex mutex;
  std::vector<std::string> lines;
  void add(const char* what, const Block& b, std::size_t freeing_thread) {
    std::lock_guard lock(mutex);
    if (lines.size() >= 10) return;
    char line[200];
    std::snprintf(line, sizeof line, "%s: block %p size %zu owner %llu seq %llu (on thread %zu)", what,
                  b.p, b.size, static_cast<unsigned long long>(b.owner),
                  static_cast<unsigned long long>(b.seq), freeing_thread);
    lines.emplace_back(line);
  }
};

TEST(PoolStress, ExchangeChurnWithCrossThreadFreesMergesBackToOneBlock) {
  const std::size_t threads = stress::threads();
  const std::size_t target_ops = stress::scaled(kTotalOps, 1000);
  const std::size_t per_thread = (target_ops + threads - 1) / threads;

  auto pool = std::make_unique<CoalescingPool>(kCapacity);
  ASSERT_EQ(pool->capacity(), kCapacity) << "the heap refused the pool's region";

  // Descriptors: one per slot (the slots start full of empty ones), then per thread kLocal for
  // its live set and one in hand. Exchanging swaps descriptors, so none is ever lost or shared.
  std::vector<Block> descriptors(kSlots + threads * (kLocal + 1));
  std::vector<std::atomic<Block*>> slots(kSlots);
  for (std::size_t i = 0; i < kSlots; ++i) slots[i].store(&descriptors[i], std::memory_order_relaxed);

  std::vector<ThreadCounts> counts(threads);
  Problems problems;
  std::latch start(static_cast<std::ptrdiff_t>(threads));
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      stress::Rng rng(0x5EED0000 + t);
      ThreadCounts c;
      Block* const local = &descriptors[kSlots + t * (kLocal + 1)];
      Block* hand = local + kLocal;
      std::uint64_t seq = 0;

      const auto allocate_into = [&](Block& b) {
        const std::size_t size = stress::mixed_size(rng);
        const std::size_t alignment =
            rng() % 16 == 0 ? std::size_t{32} << (rng() % 5) : default_alignment;  // 32..512
        ++c.ops;
        void* p = pool->allocate(size, alignment);
        if (p == nullptr) {
          ++c.failures;
          b.p = nullptr;
          return;
        }
        ++c.allocations;
        if (size > 4096) ++c.large;
        if (reinterpret_cast<std::uintptr_t>(p) % alignment != 0) ++c.misaligned;
        stress::stamp(p, size, t, seq);
        b = Block{p, size, t, seq};
        ++seq;
      };
      const auto free_block = [&](Block& b) {
        if (!stress::verify(b.p, b.size, b.owner, b.seq)) {
          ++c.corrupted;
          problems.add("pattern broken before free", b, t);
        }
        ++c.ops;
        pool->deallocate(b.p, b.size);
        ++c.frees;
        if (b.owner != t) ++c.cross_frees;
        b.p = nullptr;
      };

      start.arrive_and_wait();
      while (c.ops < per_thread) {
        if (rng() & 1) {
          Block& b = local[rng() % kLocal];
          if (b.p != nullptr) free_block(b);
          allocate_into(b);
        } else {
          allocate_into(*hand);  // an empty descriptor if the pool was exhausted
          // acq_rel: the stamp (and the descriptor) written before the swap are visible to
          // whoever takes it out, and what they stamped is visible to us.
          Block* out = slots[rng() % kSlots].exchange(hand, std::memory_order_acq_rel);
          if (out->p != nullptr) free_block(*out);
          hand = out;
        }
      }
      for (std::size_t i = 0; i < kLocal; ++i)
        if (local[i].p != nullptr) free_block(local[i]);
      counts[t] = c;
    });
  }
  for (auto& w : workers) w.join();

  // What is left in the exchange, freed here (the joins order it).
  ThreadCounts total;
  for (std::size_t i = 0; i < kSlots; ++i) {
    Block& b = *slots[i].load(std::memory_order_relaxed);
    if (b.p == nullptr) continue;
    if (!stress::verify(b.p, b.size, b.owner, b.seq)) {
      ++total.corrupted;
      problems.add("pattern broken in the exchange", b, threads);
    }
    pool->deallocate(b.p, b.size);
    ++total.frees;
    ++total.cross_frees;
    b.p = nullptr;
  }
  for (const ThreadCounts& c : counts) {
    total.ops += c.ops;
    total.allocations += c.allocations;
    total.failures += c.failures;
    total.large += c.large;
    total.frees += c.frees;
    total.cross_frees += c.cross_frees;
    total.misaligned += c.misaligned;
    total.corrupted += c.corrupted;
  }

  const AllocatorStats s = pool->stats();
  std::printf(
      "[ stress   ] %zu threads, %zu operations: %zu allocations (%zu large), %zu frees "
      "(%zu on another thread), %zu allocation failures (pool exhausted), peak used %.1f MiB of "
      "%.0f MiB\n",
      threads, total.ops, total.allocations, total.large, total.frees, total.cross_frees,
      total.failures, stress::to_mib(s.peak_used), stress::to_mib(s.capacity));
  RecordProperty("operations", std::to_string(total.ops));
  RecordProperty("allocation_failures", std::to_string(total.failures));
  RecordProperty("cross_thread_frees", std::to_string(total.cross_frees));
  for (const std::string& line : problems.lines) ADD_FAILURE() << line;

  EXPECT_GE(total.ops, target_ops);
  EXPECT_EQ(total.corrupted, 0u);
  EXPECT_EQ(total.misaligned, 0u);
  EXPECT_EQ(total.frees, total.allocations);
  EXPECT_GT(total.cross_frees, 0u);
  if (target_ops >= 1'000'000) {
    EXPECT_GT(total.large, 0u);
  }

  EXPECT_EQ(s.allocations, total.allocations);
  EXPECT_EQ(s.deallocations, total.frees);
  EXPECT_EQ(s.failed_allocations, total.failures);
  EXPECT_EQ(s.bytes_requested, 0u);
  EXPECT_LE(s.peak_used, s.capacity);

  // Everything freed: merged back into one free block spanning the pool.
  EXPECT_EQ(pool->used(), 0u);
  EXPECT_EQ(pool->remaining(), pool->capacity());
  EXPECT_EQ(pool->free_blocks(), 1u);
  EXPECT_EQ(pool->largest_free_block(), pool->capacity());
  EXPECT_EQ(pool->capacity(), kCapacity);
}

}  // namespace
}  // namespace alloclab
