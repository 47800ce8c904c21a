// Peers: the allocators alloclab's own are compared against, behind the same contract.
//
// Each adapter is a thin inline wrapper (no virtual call), so a timed loop over it measures the
// peer, not the wrapper. None keeps statistics (`counted` is false, capacity 0): their memory is
// judged by the driver's peak-RSS and page-fault metrics instead.
#pragma once

#include <tbb/scalable_allocator.h>

#include <atomic>
#include <concepts>
#include <cstdlib>
#include <memory_resource>
#include <new>
#include <string_view>
#include <utility>

#include "alloclab/allocator.hpp"

namespace alloclab::harness {

// Shared by the adapters that keep no statistics.
struct NoStats {
  [[nodiscard]] std::size_t capacity() const noexcept { return 0; }
  [[nodiscard]] std::size_t used() const noexcept { return 0; }
  [[nodiscard]] std::size_t remaining() const noexcept { return 0; }
  [[nodiscard]] AllocatorStats stats() const noexcept {
    AllocatorStats s;
    s.counted = false;
    return s;
  }
};

// The contract's refusals, for peers that would otherwise accept or abort on them.
[[nodiscard]] inline bool peer_refuses(std::size_t size, std::size_t alignment) noexcept {
  return !is_valid_request(size, alignment) || size > SIZE_MAX - alignment;
}

// malloc/free of whichever C allocator is active in the process: glibc by default, or a peer
// (jemalloc, mimalloc, tcmalloc, tbbmalloc_proxy, alloclab's shims) under LD_PRELOAD.
class MallocAllocator : public NoStats {
 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = true;
  static constexpr std::string_view name = "malloc";
  static constexpr std::string_view description = "malloc/free of the active C allocator (glibc unless preloaded)";

  [[nodiscard]] void* allocate(std::size_t size, std::size_t alignment = default_alignment) noexcept {
    if (peer_refuses(size, alignment)) [[unlikely]] return nullptr;
    // aligned_alloc wants a size that is a multiple of the alignment.
    void* p = alignment <= default_alignment ? std::malloc(size)
                                             : std::aligned_alloc(alignment, (size + alignment - 1) & ~(alignment - 1));
    if (p == nullptr) [[unlikely]] failed_.fetch_add(1, std::memory_order_relaxed);
    return p;
  }
  void deallocate(void* p, std::size_t /*size*/) noexcept { std::free(p); }
  void reset() noexcept {}  // nothing to do: every object is freed individually

  // calloc and realloc, so that a replayed trace (workloads/trace_replay.hpp) calls what the
  // program called: ::calloc knows which pages are fresh and skips zeroing them, ::realloc
  // grows in place or moves pages (mremap) instead of copying. Failures counted as above.
  [[nodiscard]] void* allocate_zeroed(std::size_t size) noexcept {
    if (size == 0) [[unlikely]] return nullptr;
    void* p = std::calloc(1, size);
    if (p == nullptr) [[unlikely]] failed_.fetch_add(1, std::memory_order_relaxed);
    return p;
  }
  // p resized to new_size: p, a new block (p freed), or nullptr (p unchanged).
  [[nodiscard]] void* reallocate(void* p, std::size_t /*old_size*/, std::size_t new_size) noexcept {
    if (new_size == 0) [[unlikely]] return nullptr;  // realloc(p, 0) would free p
    void* q = std::realloc(p, new_size);
    if (q == nullptr) [[unlikely]] failed_.fetch_add(1, std::memory_order_relaxed);
    return q;
  }

  // Only the refusals are counted: a preloaded malloc with a memory budget (alloclab_bump, whose
  // free does nothing) runs out of it in a long case, and the driver must then fail the case
  // ("allocator exhausted") instead of timing the workloads' fast path past a NULL. Off the fast
  // path: the counter is touched only when malloc returned NULL.
  [[nodiscard]] AllocatorStats stats() const noexcept {
    AllocatorStats s = NoStats::stats();
    s.failed_allocations = failed_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::atomic<std::size_t> failed_{0};
};

// oneTBB's scalable allocator, called directly (not through the malloc proxy).
class TbbMallocAllocator : public NoStats {
 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = true;
  static constexpr std::string_view name = "tbbmalloc";
  static constexpr std::string_view description = "oneTBB scalable_malloc/scalable_free";

  [[nodiscard]] void* allocate(std::size_t size, std::size_t alignment = default_alignment) noexcept {
    if (peer_refuses(size, alignment)) [[unlikely]] return nullptr;
    if (alignment <= default_alignment) [[likely]] return scalable_malloc(size);
    return scalable_aligned_malloc(size, alignment);
  }
  // scalable_free releases blocks of either call (scalable_aligned_free is an alias of it).
  void deallocate(void* p, std::size_t /*size*/) noexcept { scalable_free(p); }
  void reset() noexcept {}
  // calloc and realloc for a replayed trace, as the malloc adapter's.
  [[nodiscard]] void* allocate_zeroed(std::size_t size) noexcept {
    return size == 0 ? nullptr : scalable_calloc(1, size);
  }
  [[nodiscard]] void* reallocate(void* p, std::size_t /*old_size*/, std::size_t new_size) noexcept {
    return new_size == 0 ? nullptr : scalable_realloc(p, new_size);
  }
};

// A std::pmr resource owned by the adapter; pmr throws on failure, the contract returns null.
// Info gives the name and the description. Default-constructed, or from the resource's own
// constructor arguments after std::in_place (so that no size argument is taken for a capacity).
template <class Resource, bool ThreadSafe, bool SupportsFree, class Info>
class PmrAllocator : public NoStats {
 public:
  static constexpr bool thread_safe = ThreadSafe;
  static constexpr bool supports_free = SupportsFree;
  static constexpr std::string_view name = Info::name;
  static constexpr std::string_view description = Info::description;

  PmrAllocator() = default;
  template <class... Args>
    requires std::constructible_from<Resource, Args...>
  explicit PmrAllocator(std::in_place_t, Args&&... resource_args)
      : resource_(std::forward<Args>(resource_args)...) {}

  // pmr must get the allocation's alignment back at deallocate, and the contract's
  // deallocate(p, size) does not carry it: every request is made at default_alignment, and
  // requests needing more are refused (no workload makes one).
  [[nodiscard]] void* allocate(std::size_t size, std::size_t alignment = default_alignment) noexcept {
    if (peer_refuses(size, alignment) || alignment > default_alignment) [[unlikely]] return nullptr;
    try {
      return resource_.allocate(size, default_alignment);
    } catch (...) {
      return nullptr;
    }
  }
  void deallocate(void* p, std::size_t size) noexcept {
    if constexpr (SupportsFree) {
      if (p != nullptr) resource_.deallocate(p, size, default_alignment);
    }
  }
  void reset() noexcept { resource_.release(); }

 private:
  Resource resource_;
};

struct PmrMonotonicInfo {
  static constexpr std::string_view name = "pmr_monotonic";
  static constexpr std::string_view description = "std::pmr::monotonic_buffer_resource";
};
struct PmrUnsyncPoolInfo {
  static constexpr std::string_view name = "pmr_unsync_pool";
  static constexpr std::string_view description = "std::pmr::unsynchronized_pool_resource, one per thread";
};
struct PmrSyncPoolInfo {
  static constexpr std::string_view name = "pmr_sync_pool";
  static constexpr std::string_view description = "std::pmr::synchronized_pool_resource";
};

// monotonic_buffer_resource: deallocate is a no-op, release() frees everything. The driver
// builds it with a first buffer the size of chained_arena's blocks (allocator_registry.hpp).
using PmrMonotonic = PmrAllocator<std::pmr::monotonic_buffer_resource, false, false, PmrMonotonicInfo>;
// One unsynchronized_pool_resource per thread (the driver gives non-thread-safe ones one each).
using PmrUnsyncPool = PmrAllocator<std::pmr::unsynchronized_pool_resource, false, true, PmrUnsyncPoolInfo>;
using PmrSyncPool = PmrAllocator<std::pmr::synchronized_pool_resource, true, true, PmrSyncPoolInfo>;

static_assert(Allocator<MallocAllocator> && Allocator<TbbMallocAllocator>);
static_assert(Allocator<PmrMonotonic> && Allocator<PmrUnsyncPool> && Allocator<PmrSyncPool>);

}  // namespace alloclab::harness
