// Shared by the edge tests (tests/edges/): every allocator of the library in both counting
// variants, readable test names, and a block source that counts its calls.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab::edge {

// A's other counting variant (A itself where the type offers no choice).
template <class A>
using OtherCountingVariant = std::conditional_t<std::is_same_v<A, with_counting_t<A, Counting::on>>,
                                                with_counting_t<A, Counting::off>, with_counting_t<A, Counting::on>>;

template <class A>
using BothVariants = std::conditional_t<std::is_same_v<OtherCountingVariant<A>, A>, TypeList<A>,
                                        TypeList<A, OtherCountingVariant<A>>>;

template <class List>
struct ToGtest;
template <class... Ts>
struct ToGtest<TypeList<Ts...>> {
  using type = ::testing::Types<Ts...>;
};

template <class List>
struct AllVariantsOf;
template <class... As>
struct AllVariantsOf<TypeList<As...>> {
  using type = type_list_concat_t<BothVariants<As>...>;
};

// Every allocator of LibraryAllocators, each in both counting variants where it has two.
using EveryAllocator = typename ToGtest<typename AllVariantsOf<LibraryAllocators>::type>::type;

// The counting variant of every allocator: the one whose statistics count calls.
template <class List>
struct CountingOf;
template <class... As>
struct CountingOf<TypeList<As...>> {
  using type = ::testing::Types<with_counting_t<As, Counting::on>...>;
};
using EveryCountingAllocator = typename CountingOf<LibraryAllocators>::type;

template <class A, class... Registered>
constexpr bool registered_in(TypeList<Registered...>) {
  return (std::is_same_v<A, Registered> || ...);
}

struct AllocatorName {
  template <class A>
  static std::string GetName(int /*index*/) {
    if constexpr (registered_in<A>(LibraryAllocators{})) {
      return std::string(A::name);
    } else {
      return std::string(A::name) +
             (std::is_same_v<A, with_counting_t<A, Counting::on>> ? "_counting" : "_uncounted");
    }
  }
};

// Growable arenas of this library: the template A over another block source.
template <class A, class Source>
struct Rebind;
template <class Old, Counting C, class Source>
struct Rebind<BasicChainedArena<Old, C>, Source> {
  using type = BasicChainedArena<Source, C>;
};
template <class Old, Counting C, class Source>
struct Rebind<BasicThreadLocalArena<Old, C>, Source> {
  using type = BasicThreadLocalArena<Source, C>;
};
template <class A, class Source>
using rebind_t = typename Rebind<A, Source>::type;

// A heap source, optionally budgeted, that counts the blocks it was asked for and holds, in a
// place shared with the test (an arena keeps its own copy of its source).
struct CountingSource {
  struct Shared {
    std::size_t budget = HeapBlockSource::unlimited;
    std::atomic<std::size_t> held{0};
    std::atomic<std::size_t> blocks{0};
    std::atomic<std::size_t> asked{0};  // allocate_block() calls, refused ones included
  };
  Shared* shared;

  [[nodiscard]] MemoryBlock allocate_block(std::size_t size) noexcept {
    shared->asked.fetch_add(1, std::memory_order_relaxed);
    if (size > shared->budget - shared->held.load(std::memory_order_relaxed)) return {};
    const MemoryBlock b = HeapBlockSource{}.allocate_block(size);
    if (b) {
      shared->held.fetch_add(b.size, std::memory_order_relaxed);
      shared->blocks.fetch_add(1, std::memory_order_relaxed);
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

[[nodiscard]] inline std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// The stats fields as (name, value) pairs, for comparing two snapshots field by field.
inline std::vector<std::pair<std::string_view, std::size_t>> fields(const AllocatorStats& s) {
  std::vector<std::pair<std::string_view, std::size_t>> out;
  s.for_each_field([&](std::string_view name, std::string_view, std::size_t value) { out.emplace_back(name, value); });
  return out;
}

// Every field of `after` equals `before`'s, but failed_allocations, which grew by `failures`.
inline void expect_same_but_failures(const AllocatorStats& before, const AllocatorStats& after,
                                     std::size_t failures) {
  const auto b = fields(before);
  const auto a = fields(after);
  for (std::size_t i = 0; i < b.size(); ++i) {
    const std::size_t expected = b[i].first == "failed_allocations" ? b[i].second + failures : b[i].second;
    EXPECT_EQ(a[i].second, expected) << "stats field " << a[i].first;
  }
}

}  // namespace alloclab::edge
