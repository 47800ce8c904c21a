// alloclab/alloclab.hpp — the whole allocator library in one include, and the list of its
// allocators.
//
// Adding an allocator: its header (the contract of allocator.hpp, with `name` and
// `description`), its include below, and its entry in LibraryAllocators. The driver measures
// every entry (the uncounted variant where the type has a Counting parameter), lists it in
// `alloclab --list`, and the contract tests run against it; none of them needs more.
#pragma once

#include "alloclab/allocator.hpp"
#include "alloclab/atomic_bump_arena.hpp"
#include "alloclab/block_chain.hpp"
#include "alloclab/block_source.hpp"
#include "alloclab/chained_arena.hpp"
#include "alloclab/coalescing_pool.hpp"
#include "alloclab/debug.hpp"
#include "alloclab/mutex_arena.hpp"
#include "alloclab/pmr_adapter.hpp"
#include "alloclab/stats.hpp"
#include "alloclab/thread_cached_pool.hpp"
#include "alloclab/thread_local_arena.hpp"

namespace alloclab {

// A compile-time list of types, and the concatenation of such lists.
template <class... Ts>
struct TypeList {};

template <class... Lists>
struct type_list_concat {
  using type = TypeList<>;
};
template <class... Ts>
struct type_list_concat<TypeList<Ts...>> {
  using type = TypeList<Ts...>;
};
template <class... As, class... Bs, class... Rest>
struct type_list_concat<TypeList<As...>, TypeList<Bs...>, Rest...> {
  using type = typename type_list_concat<TypeList<As..., Bs...>, Rest...>::type;
};
template <class... Lists>
using type_list_concat_t = typename type_list_concat<Lists...>::type;

// The library's allocators, in the order `alloclab --list` shows them.
using LibraryAllocators = TypeList<MutexArena, AtomicBumpArena, ThreadLocalArena, ChainedArena,
                                   CoalescingPool, ThreadCachedPool>;

}  // namespace alloclab
