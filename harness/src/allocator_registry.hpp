// Every allocator the driver knows, as a compile-time list (so each case is instantiated for
// the concrete type), with the line `--list` prints and how each is built for a run.
#pragma once

#include <memory>
#include <string_view>

#include "alloclab/alloclab.hpp"
#include "case_runner.hpp"
#include "peer_allocators.hpp"
#include "reference_allocators.hpp"

namespace alloclab::harness {

template <class... As>
struct TypeList {};

// The driver measures the arena without its per-request counters (Counting::off), as it does
// the thread-local and atomic arenas: the fastest each design gets.
using UncountedChainedArena = BasicChainedArena<HeapBlockSource, Counting::off>;

using AllAllocators =
    TypeList<NullAllocator, BumpLimit, BumpCold, MutexArena, AtomicBumpArena, ThreadLocalArena,
             UncountedChainedArena, CoalescingPool, ThreadCachedPool, MallocAllocator, TbbMallocAllocator, PmrMonotonic,
             PmrUnsyncPool, PmrSyncPool>;

template <class A>
constexpr std::string_view description_of() {
  if constexpr (std::is_same_v<A, NullAllocator>) return "reference: returns prepared memory; the harness's own cost";
  else if constexpr (std::is_same_v<A, BumpLimit>) return "reference: inline thread-private pointer bump over warm memory";
  else if constexpr (std::is_same_v<A, BumpCold>) return "reference: the same bump over fresh pages each round (first-touch cost)";
  else if constexpr (std::is_same_v<A, MutexArena>) return "fixed bump arena guarded by a std::mutex";
  else if constexpr (std::is_same_v<A, AtomicBumpArena>) return "fixed lock-free bump arena, one CAS-advanced offset";
  else if constexpr (std::is_same_v<A, ThreadLocalArena>) return "per-thread bump in blocks from a shared upstream";
  else if constexpr (std::is_same_v<A, UncountedChainedArena>) return "growable single-thread arena of linked blocks (uncounted)";
  else if constexpr (std::is_same_v<A, CoalescingPool>) return "fixed pool, individual free, boundary-tag merging, mutex";
  else if constexpr (std::is_same_v<A, ThreadCachedPool>) return "coalescing_pool behind per-thread caches of small freed blocks";
  else if constexpr (std::is_same_v<A, MallocAllocator>) return "peer: malloc/free of the active C allocator (glibc unless preloaded)";
  else if constexpr (std::is_same_v<A, TbbMallocAllocator>) return "peer: oneTBB scalable_malloc/scalable_free";
  else if constexpr (std::is_same_v<A, PmrMonotonic>) return "peer: std::pmr::monotonic_buffer_resource";
  else if constexpr (std::is_same_v<A, PmrUnsyncPool>) return "peer: std::pmr::unsynchronized_pool_resource, one per thread";
  else if constexpr (std::is_same_v<A, PmrSyncPool>) return "peer: std::pmr::synchronized_pool_resource";
  else static_assert(sizeof(A) == 0, "describe the allocator here");
}

// Fixed-capacity allocators get room in proportion to the threads that share them.
template <class A>
struct FixedCapacityFactory {
  static std::unique_ptr<A> make(const CaseConfig& config, int threads) {
    return std::make_unique<A>(config.fixed_bytes_per_thread * static_cast<std::size_t>(threads));
  }
};
template <>
struct AllocatorFactory<MutexArena> : FixedCapacityFactory<MutexArena> {};
template <>
struct AllocatorFactory<AtomicBumpArena> : FixedCapacityFactory<AtomicBumpArena> {};
template <>
struct AllocatorFactory<CoalescingPool> : FixedCapacityFactory<CoalescingPool> {};
template <>
struct AllocatorFactory<ThreadCachedPool> : FixedCapacityFactory<ThreadCachedPool> {};

// Its first buffer as large as a chained_arena block (64 KiB; later ones grow by its own
// policy): with the default (1 KiB in libstdc++) every release() would restart the growth and
// the comparison would measure buffer sizing rather than the bump.
template <>
struct AllocatorFactory<PmrMonotonic> {
  static std::unique_ptr<PmrMonotonic> make(const CaseConfig&, int /*threads*/) {
    return std::make_unique<PmrMonotonic>(ChainedArena::default_block_size);
  }
};

}  // namespace alloclab::harness
