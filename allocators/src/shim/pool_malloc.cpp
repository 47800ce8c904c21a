// liballoclab_malloc.so — alloclab's thread_cached_pool as the process's malloc (LD_PRELOAD).
//
// Layers (nothing here allocates by itself; the allocator is the library's):
//   requests below the threshold   ->  ThreadCachedPool  ->  CoalescingPool over one lazily
//                                      committed reservation (MmapBlockSource, MAP_NORESERVE)
//   requests from the threshold    ->  their own mapping, with a LargeHeader in front
// A pointer is the pool's when it lies in the reservation, a mapping's otherwise: free() needs
// no lookup table. The pool is built on the first call (which can come from ld.so or libc's
// start-up, before any constructor), in static storage, and never destroyed: frees can arrive
// after exit() has begun.
//
// Invariants: every result is aligned to at least 16; usable_size(p) >= the size requested;
// a mapping's LargeHeader sits in the 16 bytes below p and reads
//   magic ^ (p - mapping start) in `offset`, the whole mapping's length in `length`.
//
// Environment: ALLOCLAB_MALLOC_RESERVE (bytes, at least 1M, default 1T) sizes the reservation; the kernel
// commits only the pages touched, and a reservation it refuses is halved until it accepts.
// When the pool is full, requests below the threshold fail (NULL, ENOMEM).
//
// Checked build (ALLOCLAB_CHECKED=1, liballoclab_malloc_checked.so): the pool validates every
// free and aborts naming a double, interior or foreign free; so does a free outside the pool
// without a mapping's header.
#include <pthread.h>
#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>

#include "alloclab/block_source.hpp"
#include "alloclab/debug.hpp"
#include "alloclab/thread_cached_pool.hpp"
#include "malloc_api.hpp"

namespace {

using alloclab::MemoryBlock;
using alloclab::MmapBlockSource;
using alloclab::ThreadCachedPool;
using alloclab::shim::min_alignment;
using alloclab::shim::page_size;

constexpr std::string_view shim_name = "alloclab_malloc";
// Requests from the threshold get a mapping of their own. It starts at 1 MiB and, as glibc's
// does, slides up when such a mapping is freed (to just above its size, at most 32 MiB): a
// program that cycles buffers of one size then has them served and reused by the pool instead
// of paying a mapping, its page faults and an unmapping every time (34x glibc's time on a
// malloc/memset/free loop of 1 MiB buffers with a fixed threshold).
constexpr std::size_t first_mmap_threshold = std::size_t{1} << 20;
constexpr std::size_t max_mmap_threshold = std::size_t{32} << 20;
std::atomic<std::size_t> mmap_threshold{first_mmap_threshold};

inline std::size_t threshold() noexcept { return mmap_threshold.load(std::memory_order_relaxed); }
constexpr std::size_t default_reserve = std::size_t{1} << 40;
constexpr std::size_t min_reserve = std::size_t{64} << 20;

// --- the pool, built on first use -------------------------------------------------------------

alignas(ThreadCachedPool) unsigned char heap_storage[sizeof(ThreadCachedPool)];
std::atomic<ThreadCachedPool*> heap_instance{nullptr};
std::atomic_flag heap_building = ATOMIC_FLAG_INIT;

[[gnu::noinline, gnu::cold]] ThreadCachedPool& build_heap() noexcept {
  while (heap_building.test_and_set(std::memory_order_acquire)) {
  }
  ThreadCachedPool* heap = heap_instance.load(std::memory_order_acquire);
  if (heap == nullptr) {
    // Below a megabyte the pool could not hold a program's start-up: every run would fail.
    std::size_t reserve = alloclab::shim::byte_count_from_env("ALLOCLAB_MALLOC_RESERVE", shim_name, default_reserve,
                                                              std::size_t{1} << 20);
    MemoryBlock region{};
    const MmapBlockSource lazy(/*lazy=*/true);
    for (; !region && reserve >= min_reserve; reserve /= 2) region = lazy.allocate_block(reserve);
    if (!region) region = lazy.allocate_block(reserve);  // a small one asked for, or the last try
    heap = new (heap_storage) ThreadCachedPool(region);  // an empty region: every request fails
    heap_instance.store(heap, std::memory_order_release);
  }
  heap_building.clear(std::memory_order_release);
  return *heap;
}

inline ThreadCachedPool& heap() noexcept {
  ThreadCachedPool* heap = heap_instance.load(std::memory_order_acquire);
  if (heap != nullptr) [[likely]] return *heap;
  return build_heap();
}

// --- blocks of their own mapping ---------------------------------------------------------------

struct LargeHeader {
  std::size_t offset;  // magic ^ (p - mapping start)
  std::size_t length;  // of the whole mapping
};
static_assert(sizeof(LargeHeader) == 16);
constexpr std::size_t large_magic = 0xa110c1ab'00000000ULL;
// Checked builds keep a freed mapping's header page (the rest is unmapped) with this in
// `length`, so a second free of it is recognised instead of faulting on an unmapped page.
constexpr std::size_t freed_length = 0xdeadf4ee'00000000ULL;

LargeHeader* large_header(const void* p) noexcept {
  return reinterpret_cast<LargeHeader*>(const_cast<char*>(static_cast<const char*>(p)) - sizeof(LargeHeader));
}

// The header of a mapping's block, or nullptr for a pointer that is no block of ours.
LargeHeader* checked_large_header(const void* p) noexcept {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  if (at % min_alignment != 0 || at < page_size()) return nullptr;
  LargeHeader* h = large_header(p);
  const std::size_t offset = h->offset ^ large_magic;
  if constexpr (alloclab::debug::checked) {
    if (h->length == freed_length) return h;  // free_large() names the double free
  }
  if (offset < sizeof(LargeHeader) || offset >= h->length || (at - offset) % page_size() != 0) return nullptr;
  return h;
}

void* allocate_large(std::size_t size, std::size_t alignment) noexcept {
  const std::size_t page = page_size();
  // The block starts `offset` into the mapping: past the header, at the alignment. An alignment
  // above a page cannot be asked of mmap, so the worst gap is mapped too (never touched).
  const std::size_t offset = alignment <= sizeof(LargeHeader) ? sizeof(LargeHeader) : alignment;
  const std::size_t slack = alignment > page ? alignment : 0;
  // offset + slack is 2 * alignment, which wraps for an alignment of 2^63.
  if (offset > SIZE_MAX / 2 || size > SIZE_MAX - offset - slack - page) return nullptr;
  const MemoryBlock m = MmapBlockSource{}.allocate_block(offset + slack + size);
  if (!m) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(m.data);
  const std::uintptr_t p = alloclab::align_up(start + sizeof(LargeHeader), alignment < min_alignment ? min_alignment : alignment);
  *large_header(reinterpret_cast<void*>(p)) = {large_magic ^ (p - start), m.size};
  return reinterpret_cast<void*>(p);
}

[[gnu::noinline]] void free_large(void* p) noexcept {
  const LargeHeader* h = checked_large_header(p);
  if (h == nullptr) {
    // Not ours: never handed out, or memory ld.so allocated before this malloc was bound.
    if constexpr (alloclab::debug::checked)
      alloclab::debug::fatal(shim_name.data(), "foreign pointer: neither in the pool nor a mapping of this malloc", p);
    return;
  }
  const std::size_t offset = h->offset ^ large_magic;
  char* const start = static_cast<char*>(p) - offset;
  const std::size_t usable = h->length - offset;
  if (usable < max_mmap_threshold && usable >= threshold()) mmap_threshold.store(usable + 1, std::memory_order_relaxed);
  if constexpr (alloclab::debug::checked) {
    if (h->length == freed_length) alloclab::debug::fatal(shim_name.data(), "double free (of a block of its own mapping)", p);
    // Only the page holding the header stays mapped: the rest is given back, so what the
    // checked build keeps per freed block is one page.
    const std::size_t header_page = (offset - sizeof(LargeHeader)) & ~(page_size() - 1);
    const std::size_t kept = header_page + page_size();
    if (header_page != 0) ::munmap(start, header_page);
    if (h->length > kept) ::munmap(start + kept, h->length - kept);
    large_header(p)->length = freed_length;
    return;
  }
  MmapBlockSource{}.deallocate_block({start, h->length});
}

// Checked builds: p must be a live block of its own mapping (realloc, malloc_usable_size).
void expect_live_large_block(const void* p) noexcept {
  const LargeHeader* h = checked_large_header(p);
  if (h == nullptr)
    alloclab::debug::fatal(shim_name.data(), "foreign pointer: neither in the pool nor a mapping of this malloc", p);
  if (h->length == freed_length) alloclab::debug::fatal(shim_name.data(), "use after free (of a block of its own mapping)", p);
}

std::size_t large_usable_size(const void* p) noexcept {
  const LargeHeader* h = large_header(p);
  return h->length - (h->offset ^ large_magic);
}

// --- the backend -------------------------------------------------------------------------------

struct PoolBackend {
  static constexpr std::string_view name = shim_name;

  static void* allocate(std::size_t size, std::size_t alignment) noexcept {
    if (size >= threshold()) [[unlikely]] return allocate_large(size, alignment);
    return heap().allocate(size, alignment);
  }

  static void* allocate_zeroed(std::size_t size) noexcept {
    if (size >= threshold()) return allocate_large(size, min_alignment);  // fresh pages are zero
    void* p = heap().allocate(size, min_alignment);
    if (p != nullptr) std::memset(p, 0, size);
    return p;
  }

  static void deallocate(void* p) noexcept {
    ThreadCachedPool& pool = heap();
    if (pool.contains(p)) [[likely]] {
      pool.deallocate(p, pool.usable_size(p));
      return;
    }
    free_large(p);
  }

  static std::size_t usable_size(const void* p) noexcept {
    ThreadCachedPool& pool = heap();
    if (pool.contains(p)) return pool.usable_size(p);
    if constexpr (alloclab::debug::checked) {
      expect_live_large_block(p);
    }
    return large_usable_size(p);
  }

  // In the pool: in place when the block (with a free neighbour) can hold n, a shrink to less
  // than half giving its tail back; otherwise moved.
  static void* reallocate(void* p, std::size_t n) noexcept {
    ThreadCachedPool& pool = heap();
    if (!pool.contains(p)) return reallocate_large(p, n);
    const std::size_t usable = pool.usable_size(p);
    if (n <= usable && (n >= usable / 2 || usable <= ThreadCachedPool::max_cached)) return p;
    if (n < threshold() && pool.resize_in_place(p, usable, n)) return p;
    return alloclab::shim::relocate<PoolBackend>(p, n);
  }

 private:
  // mremap keeps the pages (no copy) and may move them; the block keeps its offset, which
  // keeps malloc's alignment (realloc promises no more).
  static void* reallocate_large(void* p, std::size_t n) noexcept {
    if constexpr (alloclab::debug::checked) {
      expect_live_large_block(p);
    }
    LargeHeader* h = large_header(p);
    const std::size_t offset = h->offset ^ large_magic;
    const std::size_t usable = h->length - offset;
    if (n <= usable && n >= usable / 2) return p;
    if (n < threshold()) return alloclab::shim::relocate<PoolBackend>(p, n);
    if constexpr (alloclab::debug::checked) {
      // Checked builds copy (mremap would unmap the old block, whose second free must be seen),
      // with room to grow: a buffer grown in small steps is then copied O(log n) times.
      return alloclab::shim::relocate<PoolBackend>(p, n > usable && n <= SIZE_MAX / 3 ? n + n / 2 : n);
    }
    if (n > SIZE_MAX - offset - page_size()) return nullptr;
    const std::size_t length = (offset + n + page_size() - 1) & ~(page_size() - 1);
    void* moved = ::mremap(static_cast<char*>(p) - offset, h->length, length, MREMAP_MAYMOVE);
    if (moved == MAP_FAILED) return nullptr;
    char* q = static_cast<char*>(moved) + offset;
    large_header(q)->length = length;
    return q;
  }
};
static_assert(alloclab::shim::MallocBackend<PoolBackend>);

// --- fork() from a threaded program ------------------------------------------------------------

void before_fork() noexcept { heap().prepare_fork(); }
void after_fork_in_parent() noexcept { heap().after_fork_in_parent(); }
void after_fork_in_child() noexcept { heap().after_fork_in_child(); }

// Registered early (the preloaded library's constructor runs before the program's): its prepare
// handler then runs after those registered later, which may still allocate.
[[gnu::constructor]] void register_fork_handlers() noexcept {
  (void)heap();
  ::pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

}  // namespace

ALLOCLAB_DEFINE_MALLOC_API(PoolBackend)
