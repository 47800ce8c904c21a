// alloclab/stats.hpp — allocator statistics as one field list.
//
// Every allocator reports the same fields; the list below is the single place they are named,
// so serialisers (the harness's JSON writer, the tests) iterate it instead of repeating names.
// Counters a concurrent allocator cannot keep without a shared atomic per allocation are left
// out of its fast path: `counted` says whether `allocations`, `deallocations` and
// `bytes_requested` were kept (see each allocator's Counting parameter).
#pragma once

#include <cstddef>

namespace alloclab {

// X(field, unit, description)
#define ALLOCLAB_STATS_FIELDS(X)                                                              \
  X(capacity, "bytes", "bytes held from upstream that can be handed out")                     \
  X(used, "bytes", "bytes of capacity consumed (objects, padding, headers, abandoned tails)") \
  X(remaining, "bytes", "bytes of capacity not consumed")                                     \
  X(peak_used, "bytes", "highest `used` since construction")                                  \
  X(allocations, "count", "successful allocate() calls")                                      \
  X(deallocations, "count", "deallocate() calls that returned memory")                        \
  X(failed_allocations, "count", "allocate() calls that returned nullptr")                    \
  X(bytes_requested, "bytes", "sum of sizes of live requests (arenas: since the last reset)")  \
  X(bytes_reserved, "bytes", "bytes live requests consume: padding, headers, guards included")  \
  X(blocks, "count", "blocks held from upstream")

struct AllocatorStats {
#define ALLOCLAB_STATS_DECLARE(field, unit, description) std::size_t field = 0;
  ALLOCLAB_STATS_FIELDS(ALLOCLAB_STATS_DECLARE)
#undef ALLOCLAB_STATS_DECLARE
  // False when the allocator was built without per-request counting (the counters above that
  // need it read 0 then, and a report must not divide by them).
  bool counted = true;

  // reserved / requested; 0 when nothing was requested or nothing was counted.
  [[nodiscard]] double overhead_ratio() const noexcept {
    return counted && bytes_requested != 0
               ? static_cast<double>(bytes_reserved) / static_cast<double>(bytes_requested)
               : 0.0;
  }

  // Calls f(name, unit, value) for every field, in declaration order.
  template <class F>
  void for_each_field(F&& f) const {
#define ALLOCLAB_STATS_VISIT(field, unit, description) f(#field, unit, field);
    ALLOCLAB_STATS_FIELDS(ALLOCLAB_STATS_VISIT)
#undef ALLOCLAB_STATS_VISIT
  }
};

// Whether an allocator keeps per-request counters. A compile-time choice so that `off` costs
// nothing: used for allocators whose only way to count would be a shared atomic per request.
enum class Counting : bool { off = false, on = true };

// A with per-request counting C where A offers the choice (a member template with_counting),
// A itself where it does not.
template <class A, Counting C>
struct WithCounting {
  using type = A;
};
template <class A, Counting C>
  requires requires { typename A::template with_counting<C>; }
struct WithCounting<A, C> {
  using type = typename A::template with_counting<C>;
};
template <class A, Counting C>
using with_counting_t = typename WithCounting<A, C>::type;

}  // namespace alloclab
