// Huge and malformed requests, to every allocator (both counting variants), its constructors
// and the C API: nullptr (or an empty allocator), never a pointer into a tiny block, never a
// crash or a throw, and nothing changed but the failure count. Growable arenas run over the
// unbudgeted heap here, so a size that would overflow after the upstream's own rounding (the
// release-build fault: libstdc++'s aligned operator new rounded SIZE_MAX - 40 up to 0 and
// returned a tiny chunk) reaches the library's checks, not a budget. Under ASan these tests run
// with allocator_may_return_null=1 (tests/CMakeLists.txt), so sizes that do reach the upstream
// come back as nullptr there too, as they do in release builds.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "alloclab/arena_c.h"
#include "edge_support.hpp"

namespace alloclab {
namespace {

using edge::address;
using edge::AllocatorName;
using edge::EveryAllocator;

constexpr std::size_t kPtrdiffMax = static_cast<std::size_t>(PTRDIFF_MAX);

// Every size whose rounding, padding or header arithmetic in the library or its upstream can
// wrap — SIZE_MAX down by anything up to a page plus the largest header — then the same around
// PTRDIFF_MAX (the largest object) and SIZE_MAX / 2, and powers of two no machine can serve.
std::vector<std::size_t> huge_sizes() {
  std::vector<std::size_t> sizes;
  for (std::size_t k = 0; k <= 4096 + 256; ++k) sizes.push_back(SIZE_MAX - k);
  for (std::size_t k = 0; k <= 256; ++k) {
    sizes.push_back(kPtrdiffMax - k);
    sizes.push_back(kPtrdiffMax + 1 + k);
  }
  for (int shift = 47; shift <= 63; ++shift) sizes.push_back(std::size_t{1} << shift);
  return sizes;
}

// Alignments that are not powers of two.
constexpr std::size_t kBadAlignments[] = {0,    3,    5,    6,    7,    12,   24,
                                          48,   100,  1000, 4095, 4097, (std::size_t{1} << 40) + 1,
                                          kPtrdiffMax, SIZE_MAX - 1, SIZE_MAX};
// Powers of two no allocator here can honour.
constexpr std::size_t kHugeAlignments[] = {std::size_t{1} << 62, std::size_t{1} << 63};

// An allocator with room to spare: a fixed one of 1 MiB, a growable one of 4 KiB blocks over
// the whole heap (no budget to hide behind).
template <class A>
std::unique_ptr<A> make_roomy() {
  if constexpr (Growable<A>) {
    return std::make_unique<A>(4096, HeapBlockSource{});
  } else {
    return std::make_unique<A>(std::size_t{1} << 20);
  }
}

// A request that must fail: nullptr, and nothing changed but one more failure.
template <class A>
::testing::AssertionResult refused(A& a, std::size_t size, std::size_t alignment) {
  const AllocatorStats before = a.stats();
  void* p = a.allocate(size, alignment);
  if (p != nullptr)
    return ::testing::AssertionFailure() << "allocate(" << size << ", " << alignment << ") = " << p;
  const auto b = edge::fields(before);
  const auto after = edge::fields(a.stats());
  for (std::size_t i = 0; i < b.size(); ++i) {
    const std::size_t want = b[i].first == "failed_allocations" ? b[i].second + 1 : b[i].second;
    if (after[i].second != want)
      return ::testing::AssertionFailure() << "allocate(" << size << ", " << alignment << ") changed "
                                           << after[i].first << " from " << b[i].second << " to "
                                           << after[i].second << " (expected " << want << ")";
  }
  return ::testing::AssertionSuccess();
}

// After the refusals, the allocator still serves requests.
template <class A>
void expect_still_works(A& a) {
  for (std::size_t alignment : {std::size_t{1}, std::size_t{16}, std::size_t{64}, std::size_t{4096}}) {
    void* p = a.allocate(100, alignment);
    ASSERT_NE(p, nullptr) << "alignment " << alignment;
    EXPECT_EQ(address(p) % alignment, 0u);
    test::fill_pattern(p, 100, 7, alignment);
    EXPECT_TRUE(test::check_pattern(p, 100, 7, alignment));
  }
}

template <class A>
class HugeRequests : public ::testing::Test {};
TYPED_TEST_SUITE(HugeRequests, EveryAllocator, AllocatorName);

// Every huge size at several alignments: before the allocator holds memory, and with a block
// held and a cursor off its start.
TYPED_TEST(HugeRequests, HugeSizesReturnNullAndChangeNothing) {
  auto a = make_roomy<TypeParam>();
  const std::vector<std::size_t> sizes = huge_sizes();
  constexpr std::size_t alignments[] = {1, 16, 64, 4096};
  for (const std::size_t alignment : alignments)
    for (const std::size_t size : sizes) ASSERT_TRUE(refused(*a, size, alignment));
  ASSERT_NE(a->allocate(24, 8), nullptr);
  for (const std::size_t alignment : alignments)
    for (const std::size_t size : sizes) ASSERT_TRUE(refused(*a, size, alignment));
  EXPECT_EQ(a->stats().failed_allocations, 2 * std::size(alignments) * sizes.size());
  expect_still_works(*a);
}

// Size 0, alignments that are not powers of two, and powers of two beyond any address space,
// with small and huge sizes: nullptr, no crash, no throw, nothing changed.
TYPED_TEST(HugeRequests, MalformedRequestsReturnNullAndChangeNothing) {
  auto a = make_roomy<TypeParam>();
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "fresh" : "holding memory");
    for (std::size_t alignment = 1; alignment != 0; alignment <<= 1) ASSERT_TRUE(refused(*a, 0, alignment));
    for (const std::size_t alignment : kBadAlignments)
      for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{64}, std::size_t{4096}, SIZE_MAX})
        ASSERT_TRUE(refused(*a, size, alignment));
    for (const std::size_t alignment : kHugeAlignments)
      for (const std::size_t size : {std::size_t{1}, std::size_t{64}, std::size_t{4096}, kPtrdiffMax, SIZE_MAX})
        ASSERT_TRUE(refused(*a, size, alignment));
    ASSERT_NE(a->allocate(24, 8), nullptr);
  }
  expect_still_works(*a);
}

// Alignments beyond the capacity. From 2^57 no user address but 0 is aligned to them (on any
// x86-64 or AArch64 address space): every allocator must refuse. Below that, a region may
// happen to contain an aligned address (a 1 MiB region straddles a 2 MiB boundary half the
// time), so an allocator may grant the request — aligned, inside what it holds — or refuse it
// cleanly. Growable arenas are bounded to one block here (a block of its own for such a
// request passes the budget): over the whole heap one may grant even 1 TiB of alignment where
// the kernel overcommits.
TYPED_TEST(HugeRequests, AlignmentBeyondTheCapacity) {
  auto a = test::make_bounded<TypeParam>(std::size_t{1} << 20);
  ASSERT_NE(a->allocate(24, 8), nullptr);  // growable ones hold their block now
  for (int shift = 21; shift <= 63; ++shift) {
    const std::size_t alignment = std::size_t{1} << shift;
    for (const std::size_t size : {std::size_t{1}, std::size_t{100}}) {
      SCOPED_TRACE("alignment 2^" + std::to_string(shift) + ", size " + std::to_string(size));
      if (shift >= 57) {
        ASSERT_TRUE(refused(*a, size, alignment));
        continue;
      }
      const AllocatorStats before = a->stats();
      void* p = a->allocate(size, alignment);
      if (p == nullptr) {
        edge::expect_same_but_failures(before, a->stats(), 1);
      } else {
        EXPECT_EQ(address(p) % alignment, 0u);
        EXPECT_LE(a->used(), a->capacity());
        EXPECT_LE(a->capacity(), std::size_t{1} << 20) << "a block beyond the budget";
        test::fill_pattern(p, size, 8, 0);
        EXPECT_TRUE(test::check_pattern(p, size, 8, 0));
      }
    }
  }
  expect_still_works(*a);
}

// Constructors asked for what no heap can give: a fixed allocator is built empty (capacity 0,
// every request refused: allocator.hpp's contract), a growable one fails every request that
// needs a block — never a block smaller than it believes it has.
TYPED_TEST(HugeRequests, ConstructorsWithHugeCapacitiesFailCleanly) {
  std::vector<std::size_t> capacities;
  for (std::size_t k = 0; k <= 256; ++k) {
    capacities.push_back(SIZE_MAX - k);
    capacities.push_back(kPtrdiffMax + 1 + k);
  }
  for (std::size_t k : {0, 1, 31, 32, 33, 63, 64, 65, 4095, 4096}) capacities.push_back(kPtrdiffMax - k);
  for (int shift = 47; shift <= 62; ++shift) capacities.push_back(std::size_t{1} << shift);
  for (const std::size_t capacity : capacities) {
    SCOPED_TRACE("capacity " + std::to_string(capacity));
    std::unique_ptr<TypeParam> a;
    if constexpr (Growable<TypeParam>) {
      a = std::make_unique<TypeParam>(capacity, HeapBlockSource{});
    } else {
      a = std::make_unique<TypeParam>(capacity);
    }
    EXPECT_EQ(a->capacity(), 0u);
    EXPECT_EQ(a->stats().blocks, 0u);
    for (const std::size_t size : {std::size_t{1}, std::size_t{64}, std::size_t{4096}})
      ASSERT_TRUE(refused(*a, size, 16)) << "size " << size;
    EXPECT_EQ(a->capacity(), 0u);
    EXPECT_EQ(a->used(), 0u);
    EXPECT_EQ(a->remaining(), 0u);
    a->reset();
    a->release();
  }
}

// The block sources themselves refuse what no object can be, before asking their upstream.
TEST(HugeBlocks, SourcesRefuseBlocksBeyondTheLargestObject) {
  HeapBlockSource heap;
  const MmapBlockSource mapped;
  for (std::size_t k = 0; k <= 4096 + 64; ++k) {
    for (const std::size_t size : {SIZE_MAX - k, kPtrdiffMax + 1 + k}) {
      EXPECT_FALSE(heap.allocate_block(size)) << size;
      EXPECT_FALSE(mapped.allocate_block(size)) << size;
    }
  }
  EXPECT_EQ(heap.held(), 0u);
  const MemoryBlock ok = heap.allocate_block(4096);
  ASSERT_TRUE(ok);
  EXPECT_EQ(address(ok.data) % block_alignment, 0u);
  heap.deallocate_block(ok);
}

// The C API: arena_alloc and arena_calloc of sizes that overflow, and an arena whose block
// size no heap can serve, return NULL; the arena goes on working.
TEST(HugeRequestsCApi, ArenaAllocAndCallocReturnNull) {
  arena_t* arena = arena_create(0);
  ASSERT_NE(arena, nullptr);
  for (int round = 0; round < 2; ++round) {
    for (const std::size_t size : huge_sizes()) ASSERT_EQ(arena_alloc(arena, size), nullptr) << size;
    for (const auto& [count, size] : std::vector<std::pair<std::size_t, std::size_t>>{
             {SIZE_MAX, SIZE_MAX}, {SIZE_MAX / 2, 3}, {3, SIZE_MAX / 2}, {1, SIZE_MAX}, {SIZE_MAX, 1},
             {std::size_t{1} << 32, std::size_t{1} << 32}, {kPtrdiffMax, 2}, {1, kPtrdiffMax + 1}})
      ASSERT_EQ(arena_calloc(arena, count, size), nullptr) << count << " x " << size;
    ASSERT_NE(arena_alloc(arena, 100), nullptr);  // the second round holds a block
  }
  const std::size_t used = arena_used(arena);
  void* p = arena_calloc(arena, 10, 10);
  ASSERT_NE(p, nullptr);
  EXPECT_GT(arena_used(arena), used);
  arena_destroy(arena);

  for (std::size_t k : {0, 1, 32, 64, 4096}) {
    for (const std::size_t block : {SIZE_MAX - k, kPtrdiffMax - k, kPtrdiffMax + 1 + k}) {
      arena_t* huge = arena_create(block);
      ASSERT_NE(huge, nullptr);  // blocks are taken lazily
      EXPECT_EQ(arena_alloc(huge, 1), nullptr) << "block size " << block;
      EXPECT_EQ(arena_calloc(huge, 1, 1), nullptr) << "block size " << block;
      EXPECT_EQ(arena_used(huge), 0u);
      arena_destroy(huge);
    }
  }
}

}  // namespace
}  // namespace alloclab
