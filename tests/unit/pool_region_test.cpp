// What the malloc shim needs from the library, tested in-process (so in every preset, the
// sanitizers' included, where the shims themselves cannot run):
//   MmapBlockSource   page-rounded, zero-filled blocks; size 0 and overflow give {}.
//   CoalescingPool(MemoryBlock)  a pool over a region the caller owns (lazy or not, even one
//                     whose start is not 16-aligned); release() forgets it without freeing it.
//   usable_size(p)    >= the request for every size and alignment, never reaching the next
//                     block, and stable while the neighbours are freed and merged.
//   resize_in_place   a shrink gives the tail back, a growth takes a free neighbour, a growth
//                     that cannot be served changes nothing; grow/shrink cycles leave the pool
//                     fully merged. Under ASan the slack after the new size is poisoned.
//   ThreadCachedPool  the same over a region, for blocks that went through a thread cache.
//
// Layout facts used (coalescing_pool.hpp): a block is a 16-byte header plus its payload
// rounded up to 16, at least min_block (48) bytes; a tail shorter than min_block stays in the
// block; a fresh pool is one free block split from the front; free blocks sit in exact 16-byte
// bins below 1 KiB and a search takes the lowest non-empty bin that fits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

using Pool = CoalescingPool;
constexpr std::size_t kHeader = Pool::header_size;
constexpr std::size_t kCapacity = 64 * 1024;

// The block size the pool carves for a request of `size` bytes at alignment <= 16.
constexpr std::size_t block_for(std::size_t size) {
  return std::max(Pool::min_block, (kHeader + size + debug::guard_bytes + 15) & ~std::size_t{15});
}

// An mmap'ed region that outlives the pool built over it (the caller's, as in the shim).
class MappedRegion {
 public:
  explicit MappedRegion(std::size_t size, bool lazy = false) : source_(lazy), block_(source_.allocate_block(size)) {}
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  ~MappedRegion() { source_.deallocate_block(block_); }
  [[nodiscard]] MemoryBlock block() const { return block_; }
  [[nodiscard]] char* data() const { return static_cast<char*>(block_.data); }

 private:
  MmapBlockSource source_;
  MemoryBlock block_;
};

void expect_fully_merged(const Pool& pool) {
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(pool.free_blocks(), 1u);
  EXPECT_EQ(pool.largest_free_block(), pool.capacity());
}

// Everything the tests compare before and after a call that must change nothing.
struct Snapshot {
  std::size_t used, free_blocks, largest, requested, allocations, deallocations;
  bool operator==(const Snapshot&) const = default;
};
Snapshot snapshot(const Pool& pool) {
  const AllocatorStats s = pool.stats();
  return {pool.used(), pool.free_blocks(), pool.largest_free_block(), s.bytes_requested, s.allocations,
          s.deallocations};
}

void fill(void* p, std::size_t n, std::uint64_t id) { test::fill_pattern(p, n, 7, id); }
[[nodiscard]] bool intact(const void* p, std::size_t n, std::uint64_t id) { return test::check_pattern(p, n, 7, id); }

// --- MmapBlockSource ---------------------------------------------------------------------------

TEST(MmapBlockSource, BlocksArePageRoundedAlignedAndZeroFilled) {
  const std::size_t page = MmapBlockSource::page_size();
  EXPECT_EQ(page, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
  for (const bool lazy : {false, true}) {
    const MmapBlockSource source(lazy);
    for (const std::size_t size : {std::size_t{1}, page - 1, page, page + 1, 3 * page + 17, std::size_t{1} << 20}) {
      SCOPED_TRACE(testing::Message() << "size " << size << (lazy ? " lazy" : ""));
      const MemoryBlock b = source.allocate_block(size);
      ASSERT_TRUE(b);
      EXPECT_EQ(b.size, (size + page - 1) / page * page);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data) % page, 0u);
      const auto* bytes = static_cast<const unsigned char*>(b.data);
      EXPECT_TRUE(std::all_of(bytes, bytes + b.size, [](unsigned char c) { return c == 0; }));
      std::memset(b.data, 0x5C, b.size);  // writable to the rounded end
      source.deallocate_block(b);
    }
  }
}

TEST(MmapBlockSource, ZeroSizeAndOverflowGiveNothing) {
  const std::size_t page = MmapBlockSource::page_size();
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  for (const bool lazy : {false, true}) {
    const MmapBlockSource source(lazy);
    for (const std::size_t size : {std::size_t{0}, max, max - page + 2, max - page / 2, std::size_t{1} << 62}) {
      const MemoryBlock b = source.allocate_block(size);
      EXPECT_FALSE(b) << "size " << size;
      EXPECT_EQ(b.data, nullptr);
      EXPECT_EQ(b.size, 0u);
    }
    source.deallocate_block({});  // a no-op
  }
}

// A reservation far larger than what is touched: only touched pages are committed.
TEST(MmapBlockSource, LazyReservationIsUsableWhereTouched) {
  const MmapBlockSource lazy(/*lazy=*/true);
  const MemoryBlock b = lazy.allocate_block(std::size_t{1} << 30);
  ASSERT_TRUE(b);
  auto* c = static_cast<char*>(b.data);
  for (std::size_t at : {std::size_t{0}, b.size / 2, b.size - 1}) {
    EXPECT_EQ(c[at], 0);
    c[at] = 1;
  }
  lazy.deallocate_block(b);
}

// --- CoalescingPool over a caller-owned region ---------------------------------------------------

TEST(PoolOverRegion, UsesTheWholeMappedRegionLazyOrNot) {
  for (const bool lazy : {false, true}) {
    SCOPED_TRACE(lazy ? "lazy" : "committed");
    MappedRegion region(kCapacity, lazy);
    ASSERT_TRUE(region.block());
    Pool pool(region.block());
    EXPECT_EQ(pool.capacity(), kCapacity);  // a page-aligned region: all of it
    expect_fully_merged(pool);
    std::vector<char*> blocks;
    while (auto* p = static_cast<char*>(pool.allocate(1000))) {
      EXPECT_TRUE(pool.contains(p));
      EXPECT_GE(p - kHeader, region.data());
      EXPECT_LE(p + 1000, region.data() + kCapacity);
      fill(p, 1000, blocks.size());
      blocks.push_back(p);
    }
    EXPECT_EQ(blocks.size(), kCapacity / block_for(1000));
    for (std::size_t i = 0; i < blocks.size(); ++i) EXPECT_TRUE(intact(blocks[i], 1000, i)) << "block " << i;
    for (char* p : blocks) pool.deallocate(p, 1000);
    expect_fully_merged(pool);
    // One request for (nearly) everything: the region is one block again.
    void* whole = pool.allocate(pool.largest_request());
    ASSERT_NE(whole, nullptr);
    EXPECT_EQ(static_cast<char*>(whole), region.data() + kHeader);
    pool.deallocate(whole, pool.largest_request());
  }
}

// The pool starts at the first 16-aligned byte and ends on a 16-byte boundary inside the
// region: nothing it hands out lies outside, every payload is 16-aligned.
TEST(PoolOverRegion, RegionStartingOffAGranule) {
  MappedRegion mapping(kCapacity);
  ASSERT_TRUE(mapping.block());
  for (const std::size_t skew : {1, 3, 8, 15}) {
    SCOPED_TRACE(testing::Message() << "start at +" << skew);
    char* const start = mapping.data() + skew;
    const std::size_t size = kCapacity - skew - 5;  // an odd length too
    {
      Pool pool(MemoryBlock{start, size});
      const std::size_t expected = (size - (16 - skew)) & ~std::size_t{15};
      EXPECT_EQ(pool.capacity(), expected);
      expect_fully_merged(pool);
      std::vector<char*> blocks;
      for (std::size_t alignment : {1, 16, 64, 256}) {
        while (auto* p = static_cast<char*>(pool.allocate(500, alignment))) {
          EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % std::max<std::size_t>(alignment, 16), 0u);
          EXPECT_GE(p - kHeader, start);
          EXPECT_LE(p + pool.usable_size(p), start + size);
          fill(p, 500, blocks.size());
          blocks.push_back(p);
          if (blocks.size() % 30 == 0) break;  // leave room for the next alignment
        }
      }
      ASSERT_FALSE(blocks.empty());
      for (std::size_t i = 0; i < blocks.size(); ++i) EXPECT_TRUE(intact(blocks[i], 500, i)) << "block " << i;
      for (char* p : blocks) pool.deallocate(p, 500);
      expect_fully_merged(pool);
      EXPECT_FALSE(pool.contains(start));  // the skipped bytes before the first granule
      EXPECT_FALSE(pool.contains(start + size));
    }
  }
}

// The caller's region survives the pool: release() (and the destructor) only forget it, and
// under ASan give it back unpoisoned. A pool that freed or unmapped it would crash here (or
// ASan would report the write, or the vector's own free, as a double free).
TEST(PoolOverRegion, ReleaseDoesNotFreeABorrowedRegion) {
  MappedRegion mapping(kCapacity);
  ASSERT_TRUE(mapping.block());
  {
    Pool pool(mapping.block());
    void* p = pool.allocate(100);
    ASSERT_NE(p, nullptr);
    pool.release();
    EXPECT_EQ(pool.capacity(), 0u);
    EXPECT_EQ(pool.allocate(16), nullptr);  // nothing left to hand out
    EXPECT_FALSE(pool.contains(p));
  }
  std::memset(mapping.data(), 0x3C, kCapacity);
  EXPECT_EQ(mapping.data()[kCapacity - 1], 0x3C);

  auto heap_region = std::make_unique<std::vector<char>>(10000, 'x');
  {
    Pool pool(MemoryBlock{heap_region->data() + 1, heap_region->size() - 1});
    void* p = pool.allocate(300);
    ASSERT_NE(p, nullptr);
    std::memset(p, 0x11, 300);
  }  // the destructor releases
  std::fill(heap_region->begin(), heap_region->end(), 'y');
  EXPECT_EQ(heap_region->back(), 'y');
  heap_region.reset();  // freed once, by its owner
}

TEST(PoolOverRegion, EmptyOrTinyRegionRefusesEveryRequest) {
  Pool empty{MemoryBlock{}};
  EXPECT_EQ(empty.capacity(), 0u);
  EXPECT_EQ(empty.allocate(1), nullptr);
  EXPECT_FALSE(empty.contains(&empty));
  alignas(16) char tiny[40];
  Pool small(MemoryBlock{tiny, sizeof tiny});  // below one minimum block
  EXPECT_EQ(small.allocate(1), nullptr);
  EXPECT_EQ(small.free_blocks(), 0u);
}

// --- usable_size and contains --------------------------------------------------------------------

TEST(PoolUsableSize, AtLeastTheRequestAndNeverIntoTheNextBlock) {
  MappedRegion mapping(std::size_t{4} << 20);
  Pool pool(mapping.block());
  struct Live {
    char* p;
    std::size_t size, usable;
  };
  std::vector<Live> live;
  std::vector<std::size_t> sizes;
  for (std::size_t s = 1; s <= 80; ++s) sizes.push_back(s);
  for (std::size_t s : {100, 1000, 1023, 1024, 1025, 4095, 4096, 4097, 65536, 100000}) sizes.push_back(s);
  for (std::size_t alignment : {1, 8, 16, 32, 64, 256, 4096}) {
    for (std::size_t size : sizes) {
      auto* p = static_cast<char*>(pool.allocate(size, alignment));
      ASSERT_NE(p, nullptr) << size << " at " << alignment;
      const std::size_t usable = pool.usable_size(p);
      EXPECT_GE(usable, size) << size << " at " << alignment;
      EXPECT_EQ(usable % Pool::granule, 0u);
      EXPECT_TRUE(pool.contains(p));
      EXPECT_TRUE(pool.contains(p + usable - 1));
      live.push_back({p, size, usable});
    }
  }
  // Every usable range ends at or before the next block's header: writing up to usable_size
  // never reaches another block.
  std::vector<Live> sorted = live;
  std::sort(sorted.begin(), sorted.end(), [](const Live& a, const Live& b) { return a.p < b.p; });
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i)
    ASSERT_LE(sorted[i].p + sorted[i].usable, sorted[i + 1].p - kHeader) << "block " << i;
  if constexpr (!debug::asan) {
    // (Under ASan the slack past the request is a red zone by design: not written there.)
    for (std::size_t i = 0; i < sorted.size(); ++i) std::memset(sorted[i].p, static_cast<int>(i & 0xFF), sorted[i].usable);
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      const auto want = static_cast<char>(i & 0xFF);
      ASSERT_TRUE(std::all_of(sorted[i].p, sorted[i].p + sorted[i].usable, [&](char c) { return c == want; }))
          << "block " << i << " overwritten by a neighbour's usable bytes";
    }
  }
  for (const Live& l : live) pool.deallocate(l.p, l.size);
  expect_fully_merged(pool);
}

// Freeing (and merging) the neighbours flips flag bits in a live block's header: its usable
// size must not move.
TEST(PoolUsableSize, StableWhileNeighboursAreFreedMergedAndReused) {
  MappedRegion mapping(kCapacity);
  Pool pool(mapping.block());
  std::vector<char*> blocks;
  for (int i = 0; i < 30; ++i) blocks.push_back(static_cast<char*>(pool.allocate(100 + 37 * static_cast<std::size_t>(i))));
  std::vector<std::size_t> usable;
  for (char* p : blocks) usable.push_back(pool.usable_size(p));
  auto check_odd = [&](const char* when) {
    for (std::size_t i = 1; i < blocks.size(); i += 2) EXPECT_EQ(pool.usable_size(blocks[i]), usable[i]) << when << ", block " << i;
  };
  for (std::size_t i = 0; i < blocks.size(); i += 2) pool.deallocate(blocks[i], 100 + 37 * i);  // every even one: live blocks get PREV_FREE
  check_odd("after freeing the even blocks");
  std::vector<void*> reused;
  for (int i = 0; i < 40; ++i) reused.push_back(pool.allocate(48));  // carves the holes again
  check_odd("after reusing the holes");
  for (void* p : reused) pool.deallocate(p, 48);
  check_odd("after freeing them again");
  for (std::size_t i = 1; i < blocks.size(); i += 2) pool.deallocate(blocks[i], 100 + 37 * i);
  expect_fully_merged(pool);
}

TEST(PoolUsableSize, ContainsOnlyThePoolsOwnBytes) {
  MappedRegion mapping(kCapacity);
  Pool pool(mapping.block());
  void* p = pool.allocate(64);
  int on_stack = 0;
  auto heap = std::make_unique<char[]>(64);
  EXPECT_TRUE(pool.contains(p));
  EXPECT_TRUE(pool.contains(mapping.data()));
  EXPECT_TRUE(pool.contains(mapping.data() + kCapacity - 1));
  EXPECT_FALSE(pool.contains(mapping.data() + kCapacity));
  EXPECT_FALSE(pool.contains(mapping.data() - 1));
  EXPECT_FALSE(pool.contains(&on_stack));
  EXPECT_FALSE(pool.contains(heap.get()));
  EXPECT_FALSE(pool.contains(nullptr));
  pool.deallocate(p, 64);
}

// --- resize_in_place -----------------------------------------------------------------------------

class ResizeInPlace : public ::testing::Test {
 protected:
  char* alloc(std::size_t size) {
    auto* p = static_cast<char*>(pool_.allocate(size));
    EXPECT_NE(p, nullptr);
    return p;
  }
  MappedRegion mapping_{kCapacity};
  Pool pool_{mapping_.block()};
};

TEST_F(ResizeInPlace, ShrinkGivesTheTailBackAndKeepsTheContents) {
  char* p = alloc(1000);  // a 1024-byte block
  char* q = alloc(100);   // a live neighbour: the tail stands as a free block of its own
  fill(p, 1000, 1);
  const Snapshot before = snapshot(pool_);
  ASSERT_TRUE(pool_.resize_in_place(p, 1000, 200));  // now a 224-byte block; 800 bytes go back
  EXPECT_EQ(pool_.used(), before.used - (block_for(1000) - block_for(200)));
  EXPECT_EQ(pool_.free_blocks(), before.free_blocks + 1);
  EXPECT_EQ(pool_.largest_free_block(), before.largest);  // the rest of the pool is larger
  EXPECT_EQ(pool_.stats().bytes_requested, before.requested - 800);
  EXPECT_EQ(pool_.usable_size(p), block_for(200) - kHeader);
  EXPECT_TRUE(intact(p, 200, 1));
  // The tail is a real free block: the lowest fitting bin hands it out, right after p.
  char* r = alloc(700);
  EXPECT_EQ(r, p + block_for(200));
  fill(r, 700, 2);
  EXPECT_TRUE(intact(p, 200, 1));
  pool_.deallocate(r, 700);
  pool_.deallocate(p, 200);
  pool_.deallocate(q, 100);
  expect_fully_merged(pool_);
}

TEST_F(ResizeInPlace, ShrinkMergesTheTailWithAFreeBlockAfterIt) {
  char* p = alloc(1000);
  char* q = alloc(100);  // 128-byte block, freed below
  char* s = alloc(100);  // keeps q's hole from merging with the rest of the pool
  pool_.deallocate(q, 100);
  fill(p, 1000, 3);
  const Snapshot before = snapshot(pool_);
  ASSERT_TRUE(pool_.resize_in_place(p, 1000, 200));
  EXPECT_EQ(pool_.free_blocks(), before.free_blocks);  // tail + hole: one block
  EXPECT_EQ(pool_.used(), before.used - 800);
  EXPECT_TRUE(intact(p, 200, 3));
  // 800 + 128 bytes: exactly a 928-byte block, handed out whole right after p.
  char* r = alloc(928 - kHeader - debug::guard_bytes);
  EXPECT_EQ(r, p + block_for(200));
  EXPECT_EQ(pool_.free_blocks(), before.free_blocks - 1);
  pool_.deallocate(r, 928 - kHeader - debug::guard_bytes);
  pool_.deallocate(p, 200);
  pool_.deallocate(s, 100);
  expect_fully_merged(pool_);
}

TEST_F(ResizeInPlace, ShrinkByLessThanAMinimumBlockKeepsTheBlock) {
  char* p = alloc(1000);
  fill(p, 1000, 4);
  const Snapshot before = snapshot(pool_);
  ASSERT_TRUE(pool_.resize_in_place(p, 1000, 990));  // a 16-byte tail cannot stand alone
  EXPECT_EQ(pool_.used(), before.used);
  EXPECT_EQ(pool_.free_blocks(), before.free_blocks);
  EXPECT_EQ(pool_.usable_size(p), block_for(1000) - kHeader);
  EXPECT_EQ(pool_.stats().bytes_requested, before.requested - 10);
  EXPECT_TRUE(intact(p, 990, 4));
  pool_.deallocate(p, 990);
  expect_fully_merged(pool_);
}

TEST_F(ResizeInPlace, GrowthTakesAFreeNeighbourAndKeepsTheContents) {
  char* p = alloc(200);  // 224
  char* q = alloc(200);  // 224, freed below
  char* r = alloc(200);  // live: bounds the neighbour
  pool_.deallocate(q, 200);
  fill(p, 200, 5);
  const Snapshot before = snapshot(pool_);
  ASSERT_TRUE(pool_.resize_in_place(p, 200, 400));  // 416 needed of 448: the 32 left stay in p
  EXPECT_EQ(pool_.used(), before.used + block_for(200));
  EXPECT_EQ(pool_.free_blocks(), before.free_blocks - 1);
  EXPECT_EQ(pool_.usable_size(p), 2 * block_for(200) - kHeader);
  EXPECT_EQ(pool_.stats().bytes_requested, before.requested + 200);
  EXPECT_TRUE(intact(p, 200, 5));
  fill(p, 400, 6);
  EXPECT_TRUE(intact(p, 400, 6));
  pool_.deallocate(p, 400);
  pool_.deallocate(r, 200);
  expect_fully_merged(pool_);
}

TEST_F(ResizeInPlace, GrowthLeavesTheUnusedPartOfTheNeighbourFree) {
  char* p = alloc(200);   // 224
  char* q = alloc(1000);  // 1024, freed below
  char* s = alloc(200);
  pool_.deallocate(q, 1000);
  fill(p, 200, 7);
  const Snapshot before = snapshot(pool_);
  ASSERT_TRUE(pool_.resize_in_place(p, 200, 500));  // 528 of 1248: a 720-byte free tail
  EXPECT_EQ(pool_.used(), before.used + block_for(500) - block_for(200));
  EXPECT_EQ(pool_.free_blocks(), before.free_blocks);
  EXPECT_TRUE(intact(p, 200, 7));
  char* r = alloc(720 - kHeader - debug::guard_bytes);  // the tail, exactly
  EXPECT_EQ(r, p + block_for(500));
  pool_.deallocate(r, 720 - kHeader - debug::guard_bytes);
  pool_.deallocate(s, 200);
  pool_.deallocate(p, 500);
  expect_fully_merged(pool_);
}

TEST_F(ResizeInPlace, GrowthAtTheFrontOfAFreshPoolTakesFromTheRest) {
  char* p = alloc(200);
  fill(p, 200, 8);
  ASSERT_TRUE(pool_.resize_in_place(p, 200, 5000));
  EXPECT_EQ(pool_.used(), block_for(5000));
  EXPECT_EQ(pool_.free_blocks(), 1u);
  EXPECT_EQ(pool_.largest_free_block(), kCapacity - block_for(5000));
  EXPECT_TRUE(intact(p, 200, 8));
  ASSERT_TRUE(pool_.resize_in_place(p, 5000, kCapacity - kHeader - debug::guard_bytes));  // all of it
  EXPECT_EQ(pool_.free_blocks(), 0u);
  EXPECT_EQ(pool_.used(), kCapacity);
  EXPECT_TRUE(intact(p, 200, 8));
  ASSERT_TRUE(pool_.resize_in_place(p, kCapacity - kHeader - debug::guard_bytes, 1));
  EXPECT_EQ(pool_.used(), Pool::min_block);
  pool_.deallocate(p, 1);
  expect_fully_merged(pool_);
}

TEST_F(ResizeInPlace, GrowthFailsAndChangesNothingWhenTheNeighbourIsAllocated) {
  char* p = alloc(200);
  char* q = alloc(200);
  fill(p, 200, 9);
  fill(q, 200, 10);
  const Snapshot before = snapshot(pool_);
  const std::size_t usable = pool_.usable_size(p);
  EXPECT_FALSE(pool_.resize_in_place(p, 200, usable + 1));
  EXPECT_FALSE(pool_.resize_in_place(p, 200, 4000));
  EXPECT_EQ(snapshot(pool_), before);
  EXPECT_EQ(pool_.usable_size(p), usable);
  EXPECT_TRUE(intact(p, 200, 9));
  EXPECT_TRUE(intact(q, 200, 10));
  // Growth within the block's own slack needs no neighbour.
  ASSERT_TRUE(pool_.resize_in_place(p, 200, usable));
  EXPECT_EQ(pool_.used(), before.used);
  pool_.deallocate(p, usable);
  pool_.deallocate(q, 200);
  expect_fully_merged(pool_);
}

TEST_F(ResizeInPlace, GrowthFailsAndChangesNothingWhenTheFreeNeighbourIsTooSmall) {
  char* p = alloc(200);
  char* q = alloc(200);
  char* r = alloc(200);
  pool_.deallocate(q, 200);  // a 224-byte hole: p can reach 448 bytes, no more
  fill(p, 200, 11);
  fill(r, 200, 12);
  const Snapshot before = snapshot(pool_);
  EXPECT_FALSE(pool_.resize_in_place(p, 200, 2 * block_for(200) - kHeader + 1));
  EXPECT_FALSE(pool_.resize_in_place(p, 200, 1000));
  EXPECT_EQ(snapshot(pool_), before);
  EXPECT_TRUE(intact(p, 200, 11));
  EXPECT_TRUE(intact(r, 200, 12));
  // The hole is still a working free block (its links and footer were not touched).
  char* again = alloc(200);
  EXPECT_EQ(again, q);
  pool_.deallocate(again, 200);
  pool_.deallocate(p, 200);
  pool_.deallocate(r, 200);
  expect_fully_merged(pool_);
}

TEST_F(ResizeInPlace, InvalidRequestsReturnFalseAndChangeNothing) {
  char* p = alloc(200);
  fill(p, 200, 13);
  const Snapshot before = snapshot(pool_);
  EXPECT_FALSE(pool_.resize_in_place(p, 200, 0));
  EXPECT_FALSE(pool_.resize_in_place(p, 200, kCapacity + 1));
  EXPECT_FALSE(pool_.resize_in_place(p, 200, std::numeric_limits<std::size_t>::max()));
  EXPECT_FALSE(pool_.resize_in_place(nullptr, 0, 16));
  EXPECT_FALSE(pool_.resize_in_place(p, 200, kCapacity));  // no room for the header
  EXPECT_EQ(snapshot(pool_), before);
  EXPECT_TRUE(intact(p, 200, 13));
  pool_.deallocate(p, 200);
  expect_fully_merged(pool_);
}

// Random grow/shrink (falling back to allocate-copy-free where the neighbour is taken, as the
// shim's realloc does), frees and reallocations: contents survive every step, the accounting
// adds up, and once everything is freed the pool is one block again.
TEST_F(ResizeInPlace, GrowShrinkCyclesThenFreeingAllLeaveOneMergedBlock) {
  struct Block {
    char* p = nullptr;
    std::size_t size = 0;
    std::uint64_t id = 0;
  };
  std::mt19937_64 rng(42);
  std::vector<Block> blocks(24);
  std::uint64_t next_id = 100;
  std::size_t in_place = 0, moved = 0;
  auto size_of_step = [&] { return std::size_t{1} + rng() % (rng() % 4 == 0 ? 6000 : 600); };
  for (int step = 0; step < 3000; ++step) {
    Block& b = blocks[rng() % blocks.size()];
    if (b.p == nullptr) {
      b.size = size_of_step();
      b.p = static_cast<char*>(pool_.allocate(b.size));
      if (b.p == nullptr) continue;
      b.id = next_id++;
      fill(b.p, b.size, b.id);
    } else if (rng() % 5 == 0) {
      ASSERT_TRUE(intact(b.p, b.size, b.id)) << "step " << step;
      pool_.deallocate(b.p, b.size);
      b = {};
    } else {
      const std::size_t n = size_of_step();
      ASSERT_TRUE(intact(b.p, b.size, b.id)) << "step " << step;
      const Snapshot before = snapshot(pool_);
      if (pool_.resize_in_place(b.p, b.size, n)) {
        ++in_place;
        ASSERT_GE(pool_.usable_size(b.p), n);
        ASSERT_TRUE(intact(b.p, std::min(b.size, n), b.id)) << "step " << step;
      } else {
        ASSERT_EQ(snapshot(pool_), before) << "a failed resize changed the pool, step " << step;
        char* q = static_cast<char*>(pool_.allocate(n));
        if (q == nullptr) continue;
        ++moved;
        std::memcpy(q, b.p, std::min(b.size, n));
        pool_.deallocate(b.p, b.size);
        b.p = q;
      }
      b.size = n;
      b.id = next_id++;
      fill(b.p, b.size, b.id);
    }
    ASSERT_EQ(pool_.used() + pool_.remaining(), pool_.capacity());
  }
  EXPECT_GT(in_place, 100u);  // both paths were exercised
  EXPECT_GT(moved, 10u);
  std::size_t requested = 0;
  for (const Block& b : blocks) requested += b.size;
  EXPECT_EQ(pool_.stats().bytes_requested, requested);
  for (Block& b : blocks) {
    if (b.p == nullptr) continue;
    EXPECT_TRUE(intact(b.p, b.size, b.id));
    pool_.deallocate(b.p, b.size);
  }
  expect_fully_merged(pool_);
  EXPECT_EQ(pool_.stats().bytes_requested, 0u);
}

// A block with a free block before it (PREV_FREE set) keeps that flag through a resize: freeing
// it afterwards must merge backwards too.
TEST_F(ResizeInPlace, ResizeOfABlockAfterAFreeBlockStillMergesBackwards) {
  char* a = alloc(300);
  char* p = alloc(300);
  char* b = alloc(300);
  char* c = alloc(300);
  pool_.deallocate(a, 300);
  pool_.deallocate(b, 300);
  ASSERT_TRUE(pool_.resize_in_place(p, 300, 500));  // takes b
  ASSERT_TRUE(pool_.resize_in_place(p, 500, 40));   // gives a tail back
  pool_.deallocate(p, 40);                          // merges with a and the tail
  EXPECT_EQ(pool_.free_blocks(), 2u);               // [a..tail] and the rest after c
  pool_.deallocate(c, 300);
  expect_fully_merged(pool_);
}

// Under ASan the bytes past the new size are a red zone and the kept payload is addressable.
TEST_F(ResizeInPlace, AsanPoisonsTheSlackAfterTheNewSize) {
  SKIP_WITHOUT_ASAN();
  char* p = alloc(1000);
  char* q = alloc(100);
  ASSERT_TRUE(pool_.resize_in_place(p, 1000, 200));
  EXPECT_TRUE(test::none_poisoned(p, 200));
  EXPECT_TRUE(test::all_poisoned(p + 200, pool_.usable_size(p) - 200));
  EXPECT_TRUE(debug::is_poisoned(p + 600));  // inside the tail given back
  ASSERT_TRUE(pool_.resize_in_place(p, 200, 13));  // ends mid ASan granule
  EXPECT_TRUE(test::none_poisoned(p, 13));
  EXPECT_TRUE(test::all_poisoned(p + 13, pool_.usable_size(p) - 13));
  ASSERT_TRUE(pool_.resize_in_place(p, 13, 700));  // grows back into the tail
  EXPECT_TRUE(test::none_poisoned(p, 700));
  EXPECT_TRUE(test::all_poisoned(p + 700, pool_.usable_size(p) - 700));
  ASSERT_TRUE(pool_.resize_in_place(p, 700, 690));  // shrink within the block
  EXPECT_TRUE(test::none_poisoned(p, 690));
  EXPECT_TRUE(test::all_poisoned(p + 690, pool_.usable_size(p) - 690));
  pool_.deallocate(p, 690);
  pool_.deallocate(q, 100);
  expect_fully_merged(pool_);
}

// --- ThreadCachedPool over a region --------------------------------------------------------------

TEST(ThreadCachedPoolRegion, UsableSizeOfBlocksThatWentThroughTheCache) {
  MappedRegion mapping(std::size_t{16} << 20, /*lazy=*/true);
  ThreadCachedPool pool(mapping.block());
  EXPECT_EQ(pool.capacity(), std::size_t{16} << 20);
  std::vector<std::pair<char*, std::size_t>> blocks;
  for (int round = 0; round < 3; ++round) {  // rounds 2 and 3 come from the cache
    for (std::size_t size = 1; size <= 1100; size += (size < 64 ? 1 : 13)) {
      auto* p = static_cast<char*>(pool.allocate(size));
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(pool.contains(p));
      EXPECT_GE(pool.usable_size(p), size) << "size " << size << ", round " << round;
      fill(p, size, size);
      blocks.emplace_back(p, size);
    }
    for (auto [p, size] : blocks) {
      EXPECT_TRUE(intact(p, size, size)) << "size " << size;
      pool.deallocate(p, size);
    }
    blocks.clear();
  }
  // Over-aligned blocks are cached like any other when freed, and reused at alignment 16.
  void* aligned = pool.allocate(64, 256);
  ASSERT_NE(aligned, nullptr);
  EXPECT_GE(pool.usable_size(aligned), 64u);
  pool.deallocate(aligned, 64);
  void* again = pool.allocate(50);
  EXPECT_GE(pool.usable_size(again), 50u);
  pool.deallocate(again, 50);
  pool.trim();
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(pool.pool().free_blocks(), 1u);
}

// A block from a cache class resized past the cache's largest class (and back) is freed to the
// right place: the pool ends fully merged.
TEST(ThreadCachedPoolRegion, ResizeInPlaceAcrossTheCachedSizes) {
  MappedRegion mapping(std::size_t{1} << 20);
  ThreadCachedPool pool(mapping.block());
  std::vector<std::pair<char*, std::size_t>> blocks;
  for (int i = 0; i < 64; ++i) {
    const std::size_t size = 16 + 16 * static_cast<std::size_t>(i % 40);
    auto* p = static_cast<char*>(pool.allocate(size));
    ASSERT_NE(p, nullptr);
    fill(p, size, static_cast<std::uint64_t>(i));
    blocks.emplace_back(p, size);
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    auto& [p, size] = blocks[i];
    const std::size_t n = i % 2 == 0 ? ThreadCachedPool::max_cached + 500 : 8;
    if (pool.resize_in_place(p, size, n)) {
      EXPECT_TRUE(intact(p, std::min(size, n), i));
      EXPECT_GE(pool.usable_size(p), n);
      size = n;
      fill(p, n, i);
    }
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_TRUE(intact(blocks[i].first, blocks[i].second, i));
    pool.deallocate(blocks[i].first, blocks[i].second);
  }
  pool.trim();
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(pool.pool().free_blocks(), 1u);
  EXPECT_EQ(pool.pool().largest_free_block(), pool.capacity());
}

}  // namespace
}  // namespace alloclab
