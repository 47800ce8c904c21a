// The coalescing pool's own behaviour: individual free and reuse, splitting on allocate,
// merging with both neighbours on free (in any order), no false merges across live blocks,
// mixed sizes and alignments, statistics, reset(), exhaustion and degenerate capacities.
//
// Layout facts the tests rely on (coalescing_pool.hpp): every block has a 16-byte header,
// block sizes are multiples of 16 and at least min_block, and a fresh pool is one free block
// that allocations split from the front, so filling a fresh pool with equal requests tiles it
// with consecutive blocks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

using Pool = CoalescingPool;

constexpr std::size_t kHeader = Pool::header_size;

// Payload bytes that make a block of exactly `block` bytes (no guard bytes in these builds'
// arithmetic unless ALLOCLAB_GUARD_BYTES is set).
constexpr std::size_t payload_for_block(std::size_t block) {
  return block - kHeader - debug::guard_bytes;
}

// A pool with one free block spanning all of it, nothing in use.
void expect_fully_merged(const Pool& pool) {
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(pool.remaining(), pool.capacity());
  EXPECT_EQ(pool.free_blocks(), 1u);
  EXPECT_EQ(pool.largest_free_block(), pool.capacity());
}

// Allocates `size`-byte blocks until the pool refuses; returns them in address order.
std::vector<char*> fill(Pool& pool, std::size_t size) {
  std::vector<char*> blocks;
  while (void* p = pool.allocate(size)) blocks.push_back(static_cast<char*>(p));
  std::sort(blocks.begin(), blocks.end());
  return blocks;
}

// Tracks which of the tiled blocks of a full pool are free and checks, after every free, that
// the pool's free blocks are exactly the maximal runs of freed neighbours: every free merged
// with each free neighbour, and never across a live block.
class TiledPool {
 public:
  TiledPool(Pool& pool, std::size_t size) : pool_(pool), size_(size), blocks_(fill(pool, size)) {
    freed_.assign(blocks_.size(), false);
    // The blocks tile the pool: consecutive, the first at the pool's start (header before it),
    // the last ending at the pool's end. Their sizes follow from the addresses.
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      const char* next = i + 1 < blocks_.size() ? blocks_[i + 1] - kHeader
                                                  : blocks_.front() - kHeader + pool.capacity();
      sizes_.push_back(static_cast<std::size_t>(next - (blocks_[i] - kHeader)));
    }
  }

  [[nodiscard]] std::size_t count() const { return blocks_.size(); }
  [[nodiscard]] char* block(std::size_t i) const { return blocks_[i]; }
  [[nodiscard]] std::size_t block_size(std::size_t i) const { return sizes_[i]; }
  [[nodiscard]] std::size_t tiled_bytes() const {
    return std::accumulate(sizes_.begin(), sizes_.end(), std::size_t{0});
  }

  void free(std::size_t i) {
    ASSERT_FALSE(freed_[i]) << "test bug: block " << i << " freed twice";
    pool_.deallocate(blocks_[i], size_);
    freed_[i] = true;
    std::size_t runs = 0;
    std::size_t largest = 0;
    std::size_t run = 0;
    std::size_t freed_bytes = 0;
    for (std::size_t j = 0; j < freed_.size(); ++j) {
      if (freed_[j]) {
        if (run == 0) ++runs;
        run += sizes_[j];
        freed_bytes += sizes_[j];
        largest = std::max(largest, run);
      } else {
        run = 0;
      }
    }
    ASSERT_EQ(pool_.free_blocks(), runs) << "after freeing block " << i;
    ASSERT_EQ(pool_.largest_free_block(), largest) << "after freeing block " << i;
    ASSERT_EQ(pool_.remaining(), freed_bytes) << "after freeing block " << i;
    ASSERT_EQ(pool_.used() + pool_.remaining(), pool_.capacity());
  }

 private:
  Pool& pool_;
  std::size_t size_;
  std::vector<char*> blocks_;
  std::vector<std::size_t> sizes_;
  std::vector<bool> freed_;
};

constexpr std::size_t kMergeCapacity = 64 * 1024;
constexpr std::size_t kMergeBlock = 128;
constexpr std::size_t kMergeSize = payload_for_block(kMergeBlock);

TEST(CoalescingPool, DeallocateThenSameSizeReusesTheBlock) {
  Pool pool(64 * 1024);
  void* a = pool.allocate(200);
  ASSERT_NE(a, nullptr);
  void* keep = pool.allocate(200);  // a live neighbour, so a's block stays a hole of its own
  ASSERT_NE(keep, nullptr);
  const std::size_t used_before = pool.used();
  const std::size_t a_block = used_before / 2;
  pool.deallocate(a, 200);
  EXPECT_EQ(pool.used(), used_before - a_block);
  void* again = pool.allocate(200);
  EXPECT_EQ(again, a);
  EXPECT_EQ(pool.used(), used_before);
  pool.deallocate(again, 200);
  pool.deallocate(keep, 200);
  expect_fully_merged(pool);

  // Alone in the pool: the freed block merges back into the rest and is handed out again.
  void* b = pool.allocate(200);
  pool.deallocate(b, 200);
  expect_fully_merged(pool);
  EXPECT_EQ(pool.allocate(200), b);
}

TEST(CoalescingPoolMerge, FullPoolFreedForward) {
  Pool pool(kMergeCapacity);
  TiledPool tiles(pool, kMergeSize);
  ASSERT_EQ(tiles.count(), kMergeCapacity / kMergeBlock);
  ASSERT_EQ(tiles.tiled_bytes(), pool.capacity());
  EXPECT_EQ(pool.remaining(), 0u);
  EXPECT_EQ(pool.free_blocks(), 0u);
  for (std::size_t i = 0; i < tiles.count(); ++i) ASSERT_NO_FATAL_FAILURE(tiles.free(i));
  expect_fully_merged(pool);
}

TEST(CoalescingPoolMerge, FullPoolFreedInReverse) {
  Pool pool(kMergeCapacity);
  TiledPool tiles(pool, kMergeSize);
  ASSERT_EQ(tiles.tiled_bytes(), pool.capacity());
  for (std::size_t i = tiles.count(); i-- > 0;) ASSERT_NO_FATAL_FAILURE(tiles.free(i));
  expect_fully_merged(pool);
}

class CoalescingPoolMergeRandom : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(CoalescingPoolMergeRandom, FullPoolFreedInRandomOrder) {
  Pool pool(kMergeCapacity);
  TiledPool tiles(pool, kMergeSize);
  ASSERT_EQ(tiles.tiled_bytes(), pool.capacity());
  std::vector<std::size_t> order(tiles.count());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(GetParam());
  std::shuffle(order.begin(), order.end(), rng);
  for (std::size_t i : order) ASSERT_NO_FATAL_FAILURE(tiles.free(i));
  expect_fully_merged(pool);
}

INSTANTIATE_TEST_SUITE_P(Seeds, CoalescingPoolMergeRandom,
                         ::testing::Values(std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3},
                                           std::uint64_t{4}, std::uint64_t{5}));

TEST(CoalescingPoolMerge, MiddleThenBothNeighbours) {
  Pool pool(kMergeCapacity);
  TiledPool tiles(pool, kMergeSize);
  ASSERT_EQ(tiles.tiled_bytes(), pool.capacity());
  ASSERT_GE(tiles.count(), 6u);

  // The first triple, spelled out: a hole, then merged with its left, then with its right.
  ASSERT_NO_FATAL_FAILURE(tiles.free(1));
  EXPECT_EQ(pool.free_blocks(), 1u);
  EXPECT_EQ(pool.largest_free_block(), kMergeBlock);
  ASSERT_NO_FATAL_FAILURE(tiles.free(0));
  EXPECT_EQ(pool.free_blocks(), 1u);
  EXPECT_EQ(pool.largest_free_block(), 2 * kMergeBlock);
  ASSERT_NO_FATAL_FAILURE(tiles.free(2));
  EXPECT_EQ(pool.free_blocks(), 1u);
  EXPECT_EQ(pool.largest_free_block(), 3 * kMergeBlock);

  // Then every following triple the same way (i, then i-1, then i+1), with one live block
  // between triples; finally those separators, each of which merges with free blocks on both
  // sides at once.
  std::vector<std::size_t> separators;
  std::size_t i = 5;
  for (; i + 1 < tiles.count(); i += 4) {
    separators.push_back(i - 2);
    ASSERT_NO_FATAL_FAILURE(tiles.free(i));
    ASSERT_NO_FATAL_FAILURE(tiles.free(i - 1));
    ASSERT_NO_FATAL_FAILURE(tiles.free(i + 1));
  }
  for (std::size_t j = i - 2; j < tiles.count(); ++j) ASSERT_NO_FATAL_FAILURE(tiles.free(j));
  EXPECT_EQ(pool.free_blocks(), separators.size() + 1);
  for (std::size_t s : separators) ASSERT_NO_FATAL_FAILURE(tiles.free(s));
  expect_fully_merged(pool);
}

TEST(CoalescingPool, OneAllocationSplitsTheFreshBlockInTwo) {
  Pool pool(64 * 1024);
  expect_fully_merged(pool);
  void* p = pool.allocate(100);
  ASSERT_NE(p, nullptr);
  const std::size_t block = pool.used();
  EXPECT_EQ(block % Pool::granule, 0u);
  EXPECT_GE(block, kHeader + 100);
  EXPECT_LT(block, kHeader + 100 + Pool::granule + debug::guard_bytes);
  EXPECT_EQ(pool.free_blocks(), 1u);
  EXPECT_EQ(pool.largest_free_block(), pool.capacity() - block);
  EXPECT_EQ(pool.remaining(), pool.capacity() - block);

  // A tiny request still takes a whole minimum block, and splits again.
  void* q = pool.allocate(1);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(pool.used(), block + Pool::min_block);
  EXPECT_EQ(pool.free_blocks(), 1u);
  EXPECT_EQ(pool.largest_free_block(), pool.capacity() - block - Pool::min_block);
  pool.deallocate(q, 1);
  pool.deallocate(p, 100);
  expect_fully_merged(pool);
}

TEST(CoalescingPool, FragmentedPoolServesHolesButNeverMergesAcrossLiveBlocks) {
  constexpr std::size_t kBlocks = 64;
  Pool pool(kBlocks * kMergeBlock);
  std::vector<char*> blocks = fill(pool, kMergeSize);
  ASSERT_EQ(blocks.size(), kBlocks);
  ASSERT_EQ(pool.remaining(), 0u);
  std::vector<char*> holes;
  for (std::size_t i = 0; i < blocks.size(); i += 2) {
    pool.deallocate(blocks[i], kMergeSize);
    holes.push_back(blocks[i]);
  }
  EXPECT_EQ(pool.free_blocks(), kBlocks / 2);
  EXPECT_EQ(pool.largest_free_block(), kMergeBlock);
  EXPECT_EQ(pool.remaining(), kBlocks / 2 * kMergeBlock);

  // Larger than any hole, far smaller than the free total: must fail and change nothing.
  const std::size_t failed_before = pool.stats().failed_allocations;
  for (std::size_t size : {kMergeSize + 1, std::size_t{200}, std::size_t{1000},
                           pool.remaining() - kHeader, pool.remaining() / 2}) {
    SCOPED_TRACE(size);
    EXPECT_EQ(pool.allocate(size), nullptr);
    EXPECT_EQ(pool.allocate(size, 64), nullptr);
  }
  EXPECT_EQ(pool.stats().failed_allocations, failed_before + 10);
  EXPECT_EQ(pool.free_blocks(), kBlocks / 2);
  EXPECT_EQ(pool.remaining(), kBlocks / 2 * kMergeBlock);

  // What fits in a hole is served from a hole, until the holes are used up. (80 bytes make a
  // 96-byte block: the 32 left over cannot stand alone, so the whole hole is taken.)
  for (std::size_t i = 0; i < holes.size(); ++i) {
    void* p = pool.allocate(i % 2 == 0 ? kMergeSize : 80);
    ASSERT_NE(p, nullptr) << "hole " << i;
    EXPECT_NE(std::find(holes.begin(), holes.end(), static_cast<char*>(p)), holes.end());
  }
  EXPECT_EQ(pool.allocate(1), nullptr);
}

// Random sizes (1..3000) and alignments (16..4096) with random frees: the accounting holds at
// every step, no live block is overwritten, and freeing everything merges the pool back.
class CoalescingPoolMixed : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(CoalescingPoolMixed, RandomSizesAlignmentsAndFrees) {
  struct Live {
    char* p;
    std::size_t size;
    std::uint64_t id;
  };
  Pool pool(1024 * 1024);
  const std::size_t capacity = pool.capacity();
  std::mt19937_64 rng(GetParam());
  std::uniform_int_distribution<std::size_t> size_dist(1, 3000);
  std::uniform_int_distribution<int> align_log(4, 12);
  std::uniform_int_distribution<int> coin(0, 99);
  std::vector<Live> live;
  std::uint64_t next_id = 0;

  auto free_one = [&](std::size_t index) {
    Live l = live[index];
    ASSERT_TRUE(test::check_pattern(l.p, l.size, GetParam(), l.id)) << "block " << l.id;
    pool.deallocate(l.p, l.size);
    live[index] = live.back();
    live.pop_back();
  };

  for (int op = 0; op < 12000; ++op) {
    // Phases: mostly allocate, then mostly free, so the pool fills, fragments and drains.
    const int allocate_percent = (op / 2000) % 2 == 0 ? 70 : 30;
    if (live.empty() || coin(rng) < allocate_percent) {
      const std::size_t size = size_dist(rng);
      const std::size_t alignment = std::size_t{1} << align_log(rng);
      void* p = pool.allocate(size, alignment);
      if (p != nullptr) {  // exhaustion is expected in the allocate-heavy phases
        ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % alignment, 0u)
            << "size " << size << " alignment " << alignment;
        test::fill_pattern(p, size, GetParam(), next_id);
        live.push_back({static_cast<char*>(p), size, next_id++});
      }
    } else {
      std::uniform_int_distribution<std::size_t> pick(0, live.size() - 1);
      ASSERT_NO_FATAL_FAILURE(free_one(pick(rng)));
    }
    ASSERT_EQ(pool.used() + pool.remaining(), capacity) << "op " << op;
    if (op % 1000 == 999) {
      for (const Live& l : live)
        ASSERT_TRUE(test::check_pattern(l.p, l.size, GetParam(), l.id)) << "block " << l.id;
    }
  }
  EXPECT_GT(next_id, 1000u);
  while (!live.empty()) ASSERT_NO_FATAL_FAILURE(free_one(live.size() - 1));
  EXPECT_EQ(pool.stats().bytes_requested, 0u);
  expect_fully_merged(pool);
}

INSTANTIATE_TEST_SUITE_P(Seeds, CoalescingPoolMixed,
                         ::testing::Values(std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3}));

// The smallest case of the above: one over-aligned request in a fresh pool leaves a free gap
// in front of its block; freeing the block must merge with that gap again.
TEST(CoalescingPool, OverAlignedBlockMergesWithItsFrontGapWhenFreed) {
  for (std::size_t alignment : {std::size_t{64}, std::size_t{256}, std::size_t{4096}}) {
    SCOPED_TRACE(alignment);
    Pool pool(64 * 1024);
    void* p = pool.allocate(100, alignment);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % alignment, 0u);
    pool.deallocate(p, 100);
    expect_fully_merged(pool);
  }
}

TEST(CoalescingPool, StatsTrackCountsRequestedBytesAndPeak) {
  Pool pool(64 * 1024);
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::size_t> size_dist(1, 2000);
  std::vector<std::pair<void*, std::size_t>> live;
  std::size_t allocations = 0;
  std::size_t deallocations = 0;
  std::size_t requested = 0;
  std::size_t max_used = 0;
  for (int op = 0; op < 2000; ++op) {
    if (live.empty() || rng() % 3 != 0) {
      const std::size_t size = size_dist(rng);
      void* p = pool.allocate(size);
      if (p == nullptr) continue;
      live.emplace_back(p, size);
      ++allocations;
      requested += size;
    } else {
      const std::size_t i = rng() % live.size();
      pool.deallocate(live[i].first, live[i].second);
      requested -= live[i].second;
      ++deallocations;
      live[i] = live.back();
      live.pop_back();
    }
    max_used = std::max(max_used, pool.used());
    const AllocatorStats s = pool.stats();
    ASSERT_EQ(s.allocations, allocations);
    ASSERT_EQ(s.deallocations, deallocations);
    ASSERT_EQ(s.bytes_requested, requested);
    ASSERT_EQ(s.used, pool.used());
    ASSERT_EQ(s.bytes_reserved, s.used);
    ASSERT_GE(s.bytes_reserved, s.bytes_requested);
    ASSERT_EQ(s.used + s.remaining, s.capacity);
    ASSERT_GE(s.peak_used, max_used);
  }
  for (auto [p, size] : live) pool.deallocate(p, size);
  const AllocatorStats s = pool.stats();
  EXPECT_EQ(s.bytes_requested, 0u);
  EXPECT_EQ(s.used, 0u);
  EXPECT_EQ(s.allocations, s.deallocations);
  EXPECT_GE(s.peak_used, max_used);
  EXPECT_LE(s.peak_used, s.capacity);
  EXPECT_GT(s.failed_allocations, 0u);  // the pool was driven full along the way
  EXPECT_EQ(s.blocks, 1u);
  EXPECT_TRUE(s.counted);
}

TEST(CoalescingPool, ResetMakesEverythingOneFreeBlockAgain) {
  Pool pool(64 * 1024);
  std::mt19937_64 rng(11);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    // Fragment the pool: many sizes and alignments, every third one freed.
    for (std::size_t n = 0;; ++n) {
      const std::size_t size = 1 + rng() % 700;
      void* p = pool.allocate(size, std::size_t{16} << (rng() % 4));
      if (p == nullptr) break;
      if (n % 3 == 0) pool.deallocate(p, size);
    }
    EXPECT_GT(pool.used(), 0u);
    pool.reset();
    expect_fully_merged(pool);
    EXPECT_EQ(pool.stats().bytes_requested, 0u);
    // The whole capacity is allocatable again: one request as large as the pool allows ...
    const std::size_t largest = pool.largest_request();
    EXPECT_EQ(largest, pool.capacity() - kHeader - debug::guard_bytes);
    void* all = pool.allocate(largest);
    ASSERT_NE(all, nullptr);
    EXPECT_EQ(pool.remaining(), 0u);
    EXPECT_EQ(pool.allocate(1), nullptr);
    pool.deallocate(all, largest);
    // ... and the same tiling as a fresh pool.
    std::vector<char*> blocks = fill(pool, kMergeSize);
    EXPECT_EQ(blocks.size(), pool.capacity() / kMergeBlock);
    pool.reset();
    expect_fully_merged(pool);
  }
}

TEST(CoalescingPool, ExhaustionReturnsNullAndAFreeMakesRoom) {
  Pool pool(16 * 1024);
  std::vector<char*> blocks = fill(pool, 1000);
  ASSERT_FALSE(blocks.empty());
  EXPECT_EQ(pool.allocate(1000), nullptr);
  EXPECT_LT(pool.remaining(), 1000 + kHeader);
  const std::size_t failed = pool.stats().failed_allocations;
  EXPECT_GE(failed, 2u);
  pool.deallocate(blocks[blocks.size() / 2], 1000);
  void* p = pool.allocate(1000);
  EXPECT_EQ(p, blocks[blocks.size() / 2]);
  EXPECT_EQ(pool.allocate(1000), nullptr);

  // Requests the contract refuses up front, whatever the state.
  EXPECT_EQ(pool.allocate(0), nullptr);
  EXPECT_EQ(pool.allocate(16, 3), nullptr);
  EXPECT_EQ(pool.allocate(16, 0), nullptr);
  EXPECT_EQ(pool.allocate(pool.capacity() + 1), nullptr);
  EXPECT_EQ(pool.allocate(SIZE_MAX), nullptr);
  EXPECT_EQ(pool.allocate(16, std::size_t{1} << 62), nullptr);
  EXPECT_EQ(pool.stats().failed_allocations, failed + 7);
  pool.deallocate(nullptr, 10);  // a no-op
  for (char* b : blocks) pool.deallocate(b, 1000);
  expect_fully_merged(pool);
}

TEST(CoalescingPool, PoolSmallerThanAMinimumBlockHandsOutNothing) {
  for (std::size_t capacity : {std::size_t{0}, std::size_t{1}, std::size_t{16}, std::size_t{32},
                               Pool::min_block - 1}) {
    SCOPED_TRACE(capacity);
    Pool pool(capacity);
    EXPECT_LE(pool.capacity(), capacity);
    EXPECT_EQ(pool.free_blocks(), 0u);
    EXPECT_EQ(pool.largest_free_block(), 0u);
    EXPECT_EQ(pool.largest_request(), 0u);
    EXPECT_EQ(pool.allocate(1), nullptr);
    EXPECT_EQ(pool.allocate(1, 1), nullptr);
    EXPECT_EQ(pool.allocate(8, 64), nullptr);
    EXPECT_EQ(pool.used(), 0u);
    EXPECT_EQ(pool.stats().failed_allocations, 3u);
    pool.reset();
    EXPECT_EQ(pool.allocate(1), nullptr);
  }
  // Exactly one minimum block: one small request fits, the next does not.
  Pool pool(Pool::min_block);
  EXPECT_EQ(pool.free_blocks(), 1u);
  void* p = pool.allocate(1);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(pool.allocate(1), nullptr);
  pool.deallocate(p, 1);
  expect_fully_merged(pool);
}

}  // namespace
}  // namespace alloclab
