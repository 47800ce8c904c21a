// alloclab/allocator.hpp — the allocator contract, written down once.
//
// Glossary
//   block      memory an allocator obtained from its upstream (a BlockSource) in one piece.
//   arena      an allocator that hands out memory by bumping a cursor through blocks and frees
//              everything at once with reset(); deallocate() is a no-op.
//   pool       an allocator with individual deallocate(): freed memory is reused.
//   capacity   bytes of blocks the allocator holds now and can hand out from.
//   used       bytes of capacity consumed: handed out, alignment padding, headers, block tails
//              abandoned when a chain moved on.
//   remaining  bytes of capacity not consumed:
//                  remaining == capacity - used                                  (always)
//              for a growable arena: the free tail of every block being bumped through, plus
//              every block held for reuse (recycled after a reset, spare), whole.
//              It is a sum, not "the largest request that fits": with several blocks the free
//              bytes are split among them (a 100-byte tail and a recycled 64 KiB block make
//              remaining 64 KiB + 100, yet no request of that size fits without a new block),
//              and of the two only the equation keeps used + remaining == capacity, which the
//              statistics (stats.hpp) and every report built on them need. What does hold:
//                  largest request at alignment 1 served without a new block <= remaining,
//              with equality when the free bytes lie in one block (a fixed arena always; a
//              growable arena whose blocks other than the current one are all consumed).
//   requested  sum of the sizes callers asked for (successful requests only).
//   reserved   bytes taken out of capacity for those requests (requested + padding + headers).
//              reserved / requested is the overhead ratio the harness reports.
//   peak       the highest `used` seen since construction (across resets).
//   fast path  the inline code that serves a request without a lock, a system call or a new block.
//   quiescent  no thread is inside the allocator. reset(), release() and stats() of a thread-safe
//              allocator require it; the caller provides the happens-before edge (join, barrier).
//
// The contract (checked by the `Allocator` concept below, one named requirement at a time so
// that a type missing one gets a diagnostic naming it):
//   void* allocate(size_t size, size_t alignment = alignof(max_align_t)) noexcept
//        nullptr when memory is exhausted, when size == 0, when alignment is not a power of two,
//        when size or alignment exceeds max_request_size (no object can be larger), and when
//        the allocator's own arithmetic (size + alignment, padding, headers, rounding) would
//        overflow — checked by the library itself, never left to the upstream (operator new
//        and mmap round a size up first, and a size near SIZE_MAX wraps to a tiny one there).
//        In every build. Never throws; a failure leaves the allocator exactly as it was, but
//        for its failure count. One call is one allocation or one failure in the statistics.
//   Construction of a FixedCapacity allocator (below) never throws: one that cannot get its
//   region (a capacity above max_request_size, a heap that refuses) is built empty —
//   capacity() 0, every request refused; that is how it reports the failure. A Growable one
//   takes no block until asked: a block size no source can serve makes every request that
//   needs a block fail (nullptr), never a smaller block.
//   void deallocate(void* p, size_t size) noexcept   no-op for arenas.
//   void reset() noexcept                            frees everything at once; keeps blocks.
//   void release() noexcept                          reset() and give the blocks back upstream.
//   capacity(), used(), remaining(), stats()         see above; AllocatorStats in stats.hpp.
//   static constexpr bool thread_safe, supports_free; static constexpr std::string_view name.
// Each of alloclab's allocators also states `static constexpr std::string_view description`,
// one line on its design (plain metadata: what `alloclab --list` prints; not required here).
//
// Two construction shapes, told apart by the concepts at the end of this file, so that generic
// code (the driver's factory, the tests' make_bounded) builds an allocator without knowing it:
//   Growable       takes blocks from a BlockSource on demand: exposes block_size(), the data
//                  bytes of a standard block; constructed as A(block_size, source).
//   FixedCapacity  one region sized at construction: constructed as A(capacity).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "alloclab/debug.hpp"
#include "alloclab/stats.hpp"

namespace alloclab {

inline constexpr std::size_t default_alignment = alignof(std::max_align_t);

// Destructive interference distance on the targets we measure (x86-64, most AArch64). Fixed
// rather than std::hardware_destructive_interference_size so the layout is the same in every
// translation unit whatever the compiler's tuning flags.
inline constexpr std::size_t cache_line_size = 64;

// The largest size, and the largest alignment, any allocator may grant: PTRDIFF_MAX, the
// largest object (see max_block_size in block_source.hpp). Slow paths refuse beyond it before
// any other arithmetic, so size + alignment + a header cannot wrap there; fast paths need no
// test of their own, since their bound check (fit_in) is exact for every size.
inline constexpr std::size_t max_request_size = static_cast<std::size_t>(PTRDIFF_MAX);

// A request every allocator refuses up front: size 0 or an alignment that is not a power of two.
[[nodiscard]] constexpr bool is_valid_request(std::size_t size, std::size_t alignment) noexcept {
  return size != 0 && alignment != 0 && (alignment & (alignment - 1)) == 0;
}

[[nodiscard]] constexpr std::uintptr_t align_up(std::uintptr_t value, std::size_t alignment) noexcept {
  return (value + (alignment - 1)) & ~static_cast<std::uintptr_t>(alignment - 1);
}

// Where a request of `size` bytes aligned to `alignment` starts inside [cursor, end), or nullptr
// if it does not fit. No arithmetic here can overflow: the padding is below `alignment` and
// is compared against the space left before `size` is. Requires is_valid_request() and
// cursor <= end (checked builds abort otherwise).
[[nodiscard]] inline char* fit_in(char* cursor, char* end, std::size_t size,
                                  std::size_t alignment) noexcept {
  if constexpr (debug::checked) {
    if (!is_valid_request(size, alignment))
      debug::fatal("fit_in", "precondition is_valid_request(size, alignment) violated", cursor);
    if (cursor > end) debug::fatal("fit_in", "precondition cursor <= end violated", cursor);
  }
  const std::size_t padding = static_cast<std::size_t>(-reinterpret_cast<std::uintptr_t>(cursor)) &
                              (alignment - 1);
  const auto space = static_cast<std::size_t>(end - cursor);
  if (padding > space || size > space - padding) return nullptr;
  return cursor + padding;
}

// --- the concept, split so that a failure names the missing piece ---------------------------

template <class A>
concept AllocatesWithAlignment = requires(A& a, std::size_t n) {
  { a.allocate(n, n) } noexcept -> std::same_as<void*>;
  { a.allocate(n) } noexcept -> std::same_as<void*>;
};

template <class A>
concept Deallocates = requires(A& a, void* p, std::size_t n) {
  { a.deallocate(p, n) } noexcept;
};

template <class A>
concept ResetsInBulk = requires(A& a) {
  { a.reset() } noexcept;
};

template <class A>
concept ReportsStats = requires(const A& a) {
  { a.capacity() } noexcept -> std::same_as<std::size_t>;
  { a.used() } noexcept -> std::same_as<std::size_t>;
  { a.remaining() } noexcept -> std::same_as<std::size_t>;
  { a.stats() } noexcept -> std::same_as<AllocatorStats>;
};

template <class A>
concept DeclaresTraits = requires {
  { A::thread_safe } -> std::convertible_to<bool>;
  { A::supports_free } -> std::convertible_to<bool>;
  { A::name } -> std::convertible_to<std::string_view>;
};

template <class A>
concept Allocator = AllocatesWithAlignment<A> && Deallocates<A> && ResetsInBulk<A> &&
                    ReportsStats<A> && DeclaresTraits<A>;

// Compile-time traits the driver queries (snmalloc style): one place to read them.
template <Allocator A>
struct allocator_traits {
  static constexpr bool thread_safe = A::thread_safe;
  static constexpr bool supports_free = A::supports_free;
  static constexpr std::string_view name = A::name;
};

// --- construction shapes (see the top of this file) ------------------------------------------

template <class A>
concept Growable = requires(const A& a) {
  { a.block_size() } -> std::convertible_to<std::size_t>;
};

template <class A>
concept FixedCapacity = !Growable<A> && std::constructible_from<A, std::size_t>;

}  // namespace alloclab
