// The allocator contract of allocator.hpp, checked against every allocator by one typed suite:
// alignment and disjointness over a grid of sizes and alignments, the requests every allocator
// must refuse without a trace, exhaustion, the exactness of remaining(), reset and release, and
// the statistics. Each allocator is built by make_bounded(), so the growable arenas hold at most
// one block and exhaust like the fixed ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

using test::check_pattern;
using test::fill_pattern;
using test::make_bounded;

// The library's allocators (alloclab::LibraryAllocators), each as registered and, where the
// type offers the choice (with_counting), also with per-request counting the other way: the
// driver measures the uncounted variant, the statistics need the counted one. A variant shares
// its registered type's name, so it is named with a "_counting" or "_uncounted" suffix.
template <class A>
using OtherCountingVariant = std::conditional_t<std::is_same_v<A, with_counting_t<A, Counting::on>>,
                                                with_counting_t<A, Counting::off>, with_counting_t<A, Counting::on>>;

template <class A>
constexpr bool is_counted_variant = std::is_same_v<A, with_counting_t<A, Counting::on>>;

template <class A>
using ContractEntries =
    std::conditional_t<std::is_same_v<A, ThreadCachedPool>, TypeList<>,
                       std::conditional_t<std::is_same_v<OtherCountingVariant<A>, A>, TypeList<A>,
                                          TypeList<A, OtherCountingVariant<A>>>>;
// ThreadCachedPool has its own tests (thread_cached_pool_test.cpp): blocks parked in a thread's
// cache make the pool's exact-capacity expectations below hold only after trim().

template <class List>
struct ContractTypesOf;
template <class... As>
struct ContractTypesOf<TypeList<As...>> {
  template <class L>
  struct ToGtest;
  template <class... Ts>
  struct ToGtest<TypeList<Ts...>> {
    using type = ::testing::Types<Ts...>;
  };
  using type = typename ToGtest<type_list_concat_t<ContractEntries<As>...>>::type;
};
using AllocatorTypes = typename ContractTypesOf<LibraryAllocators>::type;

template <class A, class... Registered>
constexpr bool registered_in(TypeList<Registered...>) {
  return (std::is_same_v<A, Registered> || ...);
}

// Readable, unique test names: the registered type's name, a suffix for the other variant.
struct AllocatorName {
  template <class A>
  static std::string GetName(int /*index*/) {
    if constexpr (registered_in<A>(LibraryAllocators{})) {
      return std::string(allocator_traits<A>::name);
    } else {
      return std::string(allocator_traits<A>::name) + (is_counted_variant<A> ? "_counting" : "_uncounted");
    }
  }
};

// Growable arenas take their block on the first request (capacity 0 before it).
template <class A>
constexpr bool is_growable = Growable<A>;  // NOLINT: read as a sentence in the tests below

template <class A>
constexpr bool frees = allocator_traits<A>::supports_free;

struct Span {
  char* p;
  std::size_t size;
  std::size_t id;
};

[[nodiscard]] std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// Every size 1..64, then powers of two and primes with their neighbours, up to 4097.
std::vector<std::size_t> grid_sizes() {
  std::vector<std::size_t> sizes;
  for (std::size_t n = 1; n <= 64; ++n) sizes.push_back(n);
  for (std::size_t n = 128; n <= 4096; n *= 2) {
    sizes.push_back(n - 1);
    sizes.push_back(n);
    sizes.push_back(n + 1);
  }
  for (std::size_t prime : {67, 97, 131, 251, 509, 521, 1021, 1031, 2039, 2053, 3001, 4093})
    sizes.push_back(prime);
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

std::vector<std::size_t> grid_alignments() {
  std::vector<std::size_t> alignments;
  for (std::size_t a = 1; a <= 4096; a *= 2) alignments.push_back(a);
  return alignments;
}

// Every field of `after` equals `before`, except failed_allocations, which grew by `failures`:
// "a failure leaves the allocator exactly as it was" (counting the failure is the one trace).
void expect_same_state(const AllocatorStats& before, const AllocatorStats& after,
                       std::size_t failures) {
  std::vector<std::pair<std::string_view, std::size_t>> fields;
  before.for_each_field([&](std::string_view name, std::string_view, std::size_t value) {
    fields.emplace_back(name, value);
  });
  std::size_t i = 0;
  after.for_each_field([&](std::string_view name, std::string_view, std::size_t value) {
    const std::size_t expected =
        name == "failed_allocations" ? fields[i].second + failures : fields[i].second;
    EXPECT_EQ(value, expected) << "stats field " << name;
    ++i;
  });
  EXPECT_EQ(after.counted, before.counted);
}

// The accessors and stats() tell the same story, and used + remaining == capacity.
template <class A>
void expect_consistent(const A& a) {
  const AllocatorStats s = a.stats();
  EXPECT_EQ(s.capacity, a.capacity());
  EXPECT_EQ(s.used, a.used());
  EXPECT_EQ(s.remaining, a.remaining());
  EXPECT_EQ(s.used + s.remaining, s.capacity);
  EXPECT_EQ(a.used() + a.remaining(), a.capacity());
  EXPECT_GE(s.peak_used, s.used);
  EXPECT_GE(s.bytes_reserved, s.bytes_requested);
  EXPECT_LE(s.bytes_reserved, s.used);  // reserved is part of used (used adds abandoned tails)
}

// A failing request of (size, alignment): nullptr, and nothing but the failure count changes.
template <class A>
void expect_refused(A& a, std::size_t size, std::size_t alignment) {
  SCOPED_TRACE("size " + std::to_string(size) + " alignment " + std::to_string(alignment));
  const AllocatorStats before = a.stats();
  EXPECT_EQ(a.allocate(size, alignment), nullptr);
  expect_same_state(before, a.stats(), 1);
  EXPECT_EQ(a.capacity(), before.capacity);
  EXPECT_EQ(a.used(), before.used);
  EXPECT_EQ(a.remaining(), before.remaining);
}

// The blocks handed out lie within one region no larger than the capacity (every allocator
// here serves these requests from a single block), inside data() where the arena exposes it.
template <class A>
void expect_inside(const A& a, std::vector<Span> spans) {
  ASSERT_FALSE(spans.empty());
  std::sort(spans.begin(), spans.end(), [](const Span& x, const Span& y) { return x.p < y.p; });
  std::uintptr_t hi = 0;
  for (const Span& s : spans) hi = std::max(hi, address(s.p) + s.size);
  EXPECT_LE(hi - address(spans.front().p), a.capacity());
  if constexpr (requires { a.data(); }) {
    const auto lo = address(a.data());
    EXPECT_GE(address(spans.front().p), lo);
    EXPECT_LE(hi, lo + a.capacity());
  }
}

void expect_disjoint(std::vector<Span> spans) {
  std::sort(spans.begin(), spans.end(), [](const Span& x, const Span& y) { return x.p < y.p; });
  for (std::size_t i = 1; i < spans.size(); ++i)
    EXPECT_LE(address(spans[i - 1].p) + spans[i - 1].size, address(spans[i].p))
        << "blocks of " << spans[i - 1].size << " and " << spans[i].size << " bytes overlap";
}

// Frees a batch: one by one where the allocator can, in bulk otherwise.
template <class A>
void free_all(A& a, const std::vector<Span>& spans) {
  if constexpr (frees<A>) {
    for (const Span& s : spans) a.deallocate(s.p, s.size);
  } else {
    a.reset();
  }
  EXPECT_EQ(a.used(), 0u);
}

// Growable arenas hold no block until asked; one small request makes them take it.
template <class A>
void take_first_block(A& a) {
  if constexpr (is_growable<A>) {
    ASSERT_NE(a.allocate(1, 1), nullptr);
    ASSERT_GT(a.capacity(), 0u);
  }
}

template <class A>
class AllocatorContract : public ::testing::Test {};
TYPED_TEST_SUITE(AllocatorContract, AllocatorTypes, AllocatorName);

// 1. Every (size, alignment) of the grid: aligned, inside the allocator, disjoint, writable.
TYPED_TEST(AllocatorContract, EverySizeAndAlignmentIsAlignedDisjointAndWritable) {
  auto a = make_bounded<TypeParam>(std::size_t{4} << 20);
  const std::vector<std::size_t> sizes = grid_sizes();
  for (const std::size_t alignment : grid_alignments()) {
    SCOPED_TRACE("alignment " + std::to_string(alignment));
    std::vector<Span> spans;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      void* p = a->allocate(sizes[i], alignment);
      ASSERT_NE(p, nullptr) << "size " << sizes[i];
      ASSERT_EQ(address(p) % alignment, 0u) << "size " << sizes[i];
      fill_pattern(p, sizes[i], alignment, i);
      spans.push_back({static_cast<char*>(p), sizes[i], i});
    }
    expect_inside(*a, spans);
    expect_disjoint(spans);
    // Checked after the whole batch: a later block written over an earlier one shows here.
    for (const Span& s : spans)
      EXPECT_TRUE(check_pattern(s.p, s.size, alignment, s.id)) << "size " << s.size;
    free_all(*a, spans);
  }
  // The default alignment is alignof(max_align_t).
  std::vector<Span> spans;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    void* p = a->allocate(sizes[i]);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(address(p) % default_alignment, 0u) << "size " << sizes[i];
    fill_pattern(p, sizes[i], 0, i);
    spans.push_back({static_cast<char*>(p), sizes[i], i});
  }
  expect_disjoint(spans);
  for (const Span& s : spans) EXPECT_TRUE(check_pattern(s.p, s.size, 0, s.id));
  free_all(*a, spans);
}

// 2. size 0 is refused, before and after the allocator holds memory.
TYPED_TEST(AllocatorContract, ZeroSizeReturnsNullAndChangesNothing) {
  auto a = make_bounded<TypeParam>(64 * 1024);
  for (const std::size_t alignment : {std::size_t{1}, std::size_t{16}, std::size_t{4096}})
    expect_refused(*a, 0, alignment);
  ASSERT_NE(a->allocate(100, 16), nullptr);
  for (const std::size_t alignment : {std::size_t{1}, std::size_t{16}, std::size_t{4096}})
    expect_refused(*a, 0, alignment);
  expect_consistent(*a);
}

// 3. An alignment that is not a power of two is refused.
TYPED_TEST(AllocatorContract, InvalidAlignmentReturnsNullAndChangesNothing) {
  auto a = make_bounded<TypeParam>(64 * 1024);
  const std::size_t bad[] = {0, 3, 6, 12, 48, 1000, SIZE_MAX};
  for (const std::size_t alignment : bad) expect_refused(*a, 64, alignment);
  ASSERT_NE(a->allocate(100, 16), nullptr);
  for (const std::size_t alignment : bad) {
    expect_refused(*a, 64, alignment);
    expect_refused(*a, 1, alignment);
  }
  expect_consistent(*a);
}

// 4. Sizes whose alignment arithmetic would overflow are refused; the allocator still works.
TYPED_TEST(AllocatorContract, OverflowingSizeReturnsNullAndChangesNothing) {
  auto a = make_bounded<TypeParam>(64 * 1024);
  const std::size_t huge[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4096 + 1, SIZE_MAX - 4096,
                              SIZE_MAX / 2 + 1, SIZE_MAX - 63};
  for (const std::size_t size : huge) {
    expect_refused(*a, size, 4096);
    expect_refused(*a, size, 1);
  }
  ASSERT_NE(a->allocate(100, 16), nullptr);  // now with a block held, and a cursor off its start
  for (const std::size_t size : huge) {
    expect_refused(*a, size, 4096);
    expect_refused(*a, size, 16);
    expect_refused(*a, size, 1);
  }
  void* p = a->allocate(64, 4096);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(address(p) % 4096, 0u);
  fill_pattern(p, 64, 4, 4);
  EXPECT_TRUE(check_pattern(p, 64, 4, 4));
  expect_consistent(*a);
}

// 5. Fixed-size requests until the first failure: the failure changes nothing but the failure
// count, and a smaller request that fits still succeeds.
TYPED_TEST(AllocatorContract, ExhaustionFailsCleanly) {
  auto a = make_bounded<TypeParam>(64 * 1024 + 777);
  constexpr std::size_t chunk = 1000;
  std::vector<Span> spans;
  for (std::size_t i = 0;; ++i) {
    ASSERT_LT(i, 1000u) << "never exhausted";
    const AllocatorStats before = a->stats();
    void* p = a->allocate(chunk);
    if (p == nullptr) {
      expect_same_state(before, a->stats(), 1);
      break;
    }
    fill_pattern(p, chunk, 5, i);
    spans.push_back({static_cast<char*>(p), chunk, i});
  }
  EXPECT_GE(spans.size(), 64u);  // the capacity holds at least 64 KiB of them
  EXPECT_GE(a->stats().failed_allocations, 1u);

  // Failing again is just as clean.
  expect_refused(*a, chunk, default_alignment);

  // What is left is still usable.
  if constexpr (frees<TypeParam>) {
    const std::size_t largest = a->largest_request();
    ASSERT_GT(largest, 0u);  // 64 KiB + 777 does not divide into blocks of 1000 + header
    ASSERT_LT(largest, chunk);
    void* p = a->allocate(largest, 1);
    ASSERT_NE(p, nullptr);
    fill_pattern(p, largest, 5, 9999);
    spans.push_back({static_cast<char*>(p), largest, 9999});
  } else {
    ASSERT_GT(a->remaining(), 0u);  // 64 KiB + 777 does not divide into chunks of 1000
    ASSERT_LT(a->remaining(), chunk);
    const std::size_t used_before = a->used();
    void* p = a->allocate(1, 1);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(a->used(), used_before + 1);
    fill_pattern(p, 1, 5, 9999);
    spans.push_back({static_cast<char*>(p), 1, 9999});
  }
  expect_disjoint(spans);
  for (const Span& s : spans) EXPECT_TRUE(check_pattern(s.p, s.size, 5, s.id));
  expect_consistent(*a);
}

// 6. remaining() is exact: remaining == capacity - used (allocator.hpp's glossary); for an
// arena holding one block (as here) its free bytes are one range, so remaining is also the
// largest request with alignment 1 that fits (several blocks: tests/edges/remaining_test.cpp);
// for the pool, largest_request() can be had.
TYPED_TEST(AllocatorContract, RemainingIsExact) {
  auto a = make_bounded<TypeParam>(64 * 1024);
  take_first_block(*a);
  // A few requests leave the cursor at an awkward offset.
  constexpr std::pair<std::size_t, std::size_t> awkward[] = {{7, 1}, {100, 16},  {33, 64},
                                                             {1, 1}, {500, 4096}, {3, 2}};
  for (const auto& [size, alignment] : awkward) ASSERT_NE(a->allocate(size, alignment), nullptr);
  expect_consistent(*a);

  if constexpr (frees<TypeParam>) {
    {
      SCOPED_TRACE("after a few requests");
      const std::size_t largest = a->largest_request();
      ASSERT_GT(largest, 0u);
      EXPECT_LE(largest, a->remaining());
      expect_refused(*a, largest + 1, 1);
      void* p = a->allocate(largest, 1);
      ASSERT_NE(p, nullptr);
      fill_pattern(p, largest, 6, 0);
      EXPECT_TRUE(check_pattern(p, largest, 6, 0));
      expect_consistent(*a);
    }
    {
      // A fragmented free list: nine free blocks in one size class, the largest of them
      // freed first so it sits behind the others. largest_request() must still be served.
      SCOPED_TRACE("fragmented: the largest free block is the ninth of its size class");
      a->reset();
      std::vector<std::pair<void*, std::size_t>> holes;
      holes.emplace_back(a->allocate(1136 - CoalescingPool::header_size, 16),
                         1136 - CoalescingPool::header_size);
      ASSERT_NE(a->allocate(16, 16), nullptr);  // keeps the holes apart
      for (int i = 0; i < 8; ++i) {
        holes.emplace_back(a->allocate(1024 - CoalescingPool::header_size, 16),
                           1024 - CoalescingPool::header_size);
        ASSERT_NE(a->allocate(16, 16), nullptr);
      }
      for (const auto& [p, size] : holes) ASSERT_NE(p, nullptr);
      while (const std::size_t r = a->largest_request())  // no free space but the holes
        ASSERT_NE(a->allocate(std::min<std::size_t>(r, 4096), 16), nullptr);
      for (const auto& [p, size] : holes) a->deallocate(p, size);
      const std::size_t largest = a->largest_request();
      EXPECT_EQ(largest, 1136 - CoalescingPool::header_size);
      EXPECT_NE(a->allocate(largest, 1), nullptr);
      expect_consistent(*a);
    }
  } else {
    const std::size_t r = a->remaining();
    ASSERT_GT(r, 0u);
    expect_refused(*a, r + 1, 1);
    void* p = a->allocate(r, 1);
    ASSERT_NE(p, nullptr);
    fill_pattern(p, r, 6, 0);
    EXPECT_TRUE(check_pattern(p, r, 6, 0));
    EXPECT_EQ(a->remaining(), 0u);
    EXPECT_EQ(a->used(), a->capacity());
    expect_refused(*a, 1, 1);
    expect_consistent(*a);
  }
}

// 7. Fill, reset, fill again with the same requests: the same number succeed.
TYPED_TEST(AllocatorContract, ResetThenRefillServesTheSameRequests) {
  auto a = make_bounded<TypeParam>(256 * 1024);
  constexpr std::pair<std::size_t, std::size_t> requests[] = {
      {24, 8}, {1000, 16}, {1, 1}, {3000, 64}, {17, 256}, {512, 4096}, {4097, 32}, {64, 16}};
  // Until the first failure; the pointers, in order.
  auto fill = [&] {
    std::vector<void*> got;
    for (std::size_t i = 0; i < 100000; ++i) {
      const auto [size, alignment] = requests[i % std::size(requests)];
      void* p = a->allocate(size, alignment);
      if (p == nullptr) break;
      got.push_back(p);
    }
    return got;
  };
  const std::vector<void*> first = fill();
  ASSERT_GT(first.size(), 10u);
  const std::size_t used_full = a->used();
  a->reset();
  EXPECT_EQ(a->used(), 0u);
  expect_consistent(*a);

  if constexpr (frees<TypeParam>) {
    // After reset the pool is one free block again.
    const std::size_t whole = a->capacity() - CoalescingPool::header_size;
    EXPECT_EQ(a->largest_request(), whole);
    void* p = a->allocate(whole, 16);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(a->used(), a->capacity());
    expect_refused(*a, 1, 1);
    a->reset();
  } else {
    // reset() keeps the block: the growable arenas still hold it.
    EXPECT_EQ(a->remaining(), a->capacity());
    EXPECT_GT(a->capacity(), 0u);
  }

  const std::vector<void*> second = fill();
  EXPECT_EQ(second.size(), first.size());
  EXPECT_EQ(a->used(), used_full);
  if constexpr (!frees<TypeParam>) {
    // Same block, same bump sequence: the same requests land in the same places.
    EXPECT_EQ(second, first);
  }
  expect_consistent(*a);
}

// 8. The statistics add up at every step, and peak_used survives reset().
TYPED_TEST(AllocatorContract, StatsAddUp) {
  auto a = make_bounded<TypeParam>(1 << 20);
  std::size_t calls = 0;       // successful allocate() calls since construction
  std::size_t requested = 0;   // sizes of live requests (arenas: since the last reset)
  std::size_t frees_done = 0;  // deallocate() calls that returned memory
  auto check = [&](const std::string& where) {
    SCOPED_TRACE(where);
    expect_consistent(*a);
    const AllocatorStats s = a->stats();
    if (s.counted) {
      EXPECT_EQ(s.allocations, calls);
      EXPECT_EQ(s.bytes_requested, requested);
    } else {  // not kept: read 0
      EXPECT_EQ(s.allocations, 0u);
      EXPECT_EQ(s.bytes_requested, 0u);
    }
    EXPECT_EQ(s.deallocations, frees_done);
    EXPECT_EQ(s.blocks, a->capacity() > 0 ? 1u : 0u);  // bounded: at most one block
  };
  check("fresh");

  std::vector<Span> live;
  for (std::size_t i = 0; i < 200; ++i) {
    const std::size_t size = i * 37 % 1000 + 1;
    const std::size_t alignment = std::size_t{1} << (i % 9);
    void* p = a->allocate(size, alignment);
    ASSERT_NE(p, nullptr);
    ++calls;
    requested += size;
    live.push_back({static_cast<char*>(p), size, i});
    if (i % 25 == 0) check("allocation " + std::to_string(i));
  }
  check("after 200 allocations");
  EXPECT_EQ(a->allocate(0, 16), nullptr);  // a failure is not an allocation
  check("after a failed allocation");

  if constexpr (frees<TypeParam>) {
    for (std::size_t i = 0; i < live.size(); i += 2) {
      a->deallocate(live[i].p, live[i].size);
      ++frees_done;
      requested -= live[i].size;
    }
    check("after freeing every other block");
  }

  const std::size_t used_before = a->used();
  const std::size_t peak_before = a->stats().peak_used;
  EXPECT_GT(used_before, 0u);
  EXPECT_GE(peak_before, used_before);
  a->reset();
  requested = 0;
  check("after reset");
  EXPECT_EQ(a->used(), 0u);
  EXPECT_EQ(a->stats().peak_used, peak_before);

  ASSERT_NE(a->allocate(10, 1), nullptr);
  ++calls;
  requested += 10;
  check("allocating after reset");
  EXPECT_EQ(a->stats().peak_used, peak_before);  // 10 bytes do not make a new peak
}

// 9. deallocate(nullptr) does nothing; an arena's deallocate() frees nothing.
TYPED_TEST(AllocatorContract, DeallocateNullIsANoOpAndArenasNeverFree) {
  auto a = make_bounded<TypeParam>(64 * 1024);
  AllocatorStats before = a->stats();
  a->deallocate(nullptr, 0);
  a->deallocate(nullptr, 64);
  expect_same_state(before, a->stats(), 0);

  void* p = a->allocate(64, 16);
  ASSERT_NE(p, nullptr);
  before = a->stats();
  a->deallocate(nullptr, 0);
  a->deallocate(nullptr, 64);
  expect_same_state(before, a->stats(), 0);

  if constexpr (!frees<TypeParam>) {
    a->deallocate(p, 64);
    expect_same_state(before, a->stats(), 0);
    EXPECT_EQ(a->used(), before.used);
    // The freed-but-not-freed block stays usable and is not handed out again.
    fill_pattern(p, 64, 9, 0);
    void* q = a->allocate(64, 16);
    ASSERT_NE(q, nullptr);
    EXPECT_NE(q, p);
    EXPECT_TRUE(check_pattern(p, 64, 9, 0));
  } else {
    a->deallocate(p, 64);
    EXPECT_EQ(a->used(), 0u);
    EXPECT_EQ(a->stats().deallocations, 1u);
  }
}

// 10. release() gives the memory back: capacity 0, and a fixed allocator refuses everything.
TYPED_TEST(AllocatorContract, ReleaseGivesEverythingBack) {
  auto a = make_bounded<TypeParam>(64 * 1024);
  for (int i = 0; i < 10; ++i) ASSERT_NE(a->allocate(100, 16), nullptr);
  const std::size_t peak = a->stats().peak_used;
  a->release();
  EXPECT_EQ(a->capacity(), 0u);
  EXPECT_EQ(a->used(), 0u);
  EXPECT_EQ(a->remaining(), 0u);
  EXPECT_EQ(a->stats().blocks, 0u);
  EXPECT_GE(a->stats().peak_used, peak);
  expect_consistent(*a);
  if constexpr (is_growable<TypeParam>) {
    // A growable arena starts over: the budget admits its one block again.
    void* p = a->allocate(100, 16);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(a->capacity(), 64u * 1024);
    EXPECT_EQ(a->stats().blocks, 1u);
    a->release();
    EXPECT_EQ(a->capacity(), 0u);
  } else {
    expect_refused(*a, 1, 1);
    expect_refused(*a, 100, 16);
  }
  a->release();  // twice is harmless (and the destructor makes it three times)
  EXPECT_EQ(a->capacity(), 0u);
}

// 11. Freeing everything (reset, or every block to the pool) makes the whole capacity one
// request again: no fragment of any earlier request survives.
TYPED_TEST(AllocatorContract, FreeingEverythingRestoresFullCapacity) {
  auto a = make_bounded<TypeParam>(256 * 1024);
  take_first_block(*a);
  const std::size_t capacity = a->capacity();
  const std::size_t whole = frees<TypeParam> ? capacity - CoalescingPool::header_size : capacity;
  // (what, requests, alignments cycle through 1 << (i % shifts), or `fixed` when nonzero)
  struct Phase {
    const char* what;
    std::size_t requests;
    std::size_t shifts;
    std::size_t fixed;
  };
  // The first phase is the smallest case: a fresh pool's first payload is never 256-aligned
  // (blocks are 64-aligned, payloads 16 past a header), so the request always splits off a gap.
  constexpr Phase phases[] = {{"one request aligned to 256", 1, 0, 256},
                              {"alignments up to 16", 120, 5, 0},
                              {"alignments up to 4096", 120, 13, 0}};
  for (const Phase& phase : phases) {
    SCOPED_TRACE(phase.what);
    std::vector<Span> spans;
    for (std::size_t i = 0; i < phase.requests; ++i) {
      const std::size_t size = i * 53 % 700 + 100;
      const std::size_t alignment =
          phase.fixed != 0 ? phase.fixed : std::size_t{1} << (i % phase.shifts);
      void* p = a->allocate(size, alignment);
      ASSERT_NE(p, nullptr);
      spans.push_back({static_cast<char*>(p), size, i});
    }
    if constexpr (frees<TypeParam>) {
      // Interleaved order: neighbours are freed on both sides, so every merge path runs.
      for (std::size_t i = 0; i < spans.size(); i += 2) a->deallocate(spans[i].p, spans[i].size);
      for (std::size_t i = 1; i < spans.size(); i += 2) a->deallocate(spans[i].p, spans[i].size);
      EXPECT_EQ(a->used(), 0u);
      EXPECT_EQ(a->free_blocks(), 1u);
      EXPECT_EQ(a->largest_free_block(), capacity);
      EXPECT_EQ(a->largest_request(), whole);
    } else {
      a->reset();
      EXPECT_EQ(a->used(), 0u);
      EXPECT_EQ(a->remaining(), capacity);
    }
    EXPECT_EQ(a->capacity(), capacity);
    void* p = a->allocate(whole, 1);
    EXPECT_NE(p, nullptr);
    if (p != nullptr) {
      EXPECT_EQ(a->used(), capacity);
      if constexpr (frees<TypeParam>) {
        a->deallocate(p, whole);
      } else {
        a->reset();
      }
    } else {
      a->reset();  // start the next phase from a clean allocator either way
    }
  }
}

}  // namespace
}  // namespace alloclab
