// alloclab/atomic_bump_arena.hpp — lock-free bump arena on one atomic offset.
//
// Design: a fixed block and an atomic offset advanced by compare-and-swap. The CAS (rather than
// fetch_add) is what makes the arena exact: the aligned start is computed from the offset it
// replaces, so alignment costs only its own padding, a request that does not fit changes
// nothing (no overshoot past the capacity, no wrap-around, no tail lost to a failed request),
// and the arena never hands out overlapping or out-of-bounds memory however threads race.
//
// Fast path cost: one load and one successful `lock cmpxchg` around a few instructions of bump
// arithmetic — few more instructions than the bump_limit reference, but the locked CAS alone
// costs several times a plain bump, so even at 1 thread it runs well below bump_limit: the
// hardware floor of an atomic read-modify-write per request (README, Results, has the
// figures). Per-thread chunks carved from a shared upstream avoid it: that is
// thread_local_arena. Under contention every request still moves the offset's cache line
// between cores — one line transfer per request is the floor of any design with one shared
// offset — and a lost CAS retries with the value it observed (lock-free: some thread always
// progresses).
//
// Statistics: used/remaining/peak derive from the offset. Per-request counters (allocations,
// bytes requested) would need a second shared atomic per request, so they are kept only when
// instantiated with Counting::on.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <type_traits>

#include "alloclab/allocator.hpp"
#include "alloclab/block_source.hpp"
#include "alloclab/debug.hpp"

namespace alloclab {

template <Counting CountRequests = Counting::off>
class BasicAtomicBumpArena {
 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = false;
  static constexpr std::string_view name = "atomic_bump_arena";
  static constexpr std::string_view description = "fixed lock-free bump arena, one CAS-advanced offset";
  // The same arena with or without per-request counters.
  template <Counting C>
  using with_counting = BasicAtomicBumpArena<C>;

  explicit BasicAtomicBumpArena(std::size_t capacity) noexcept {
    const MemoryBlock block = HeapBlockSource{}.allocate_block(capacity);
    base_ = static_cast<char*>(block.data);
    capacity_ = block.size;
    debug::poison(base_, capacity_);
  }
  BasicAtomicBumpArena(const BasicAtomicBumpArena&) = delete;
  BasicAtomicBumpArena& operator=(const BasicAtomicBumpArena&) = delete;
  ~BasicAtomicBumpArena() { release(); }

  [[nodiscard]] void* allocate(std::size_t size,
                               std::size_t alignment = default_alignment) noexcept {
    [[maybe_unused]] const auto inside = in_flight_.enter();  // checked builds only
    if (!is_valid_request(size, alignment) || size > SIZE_MAX - debug::guard_bytes) [[unlikely]]
      return fail();
    const std::size_t need = size + debug::guard_bytes;
    char* const end = base_ + capacity_;
    std::size_t offset = offset_.load(std::memory_order_relaxed);
    for (;;) {
      char* const p = fit_in(base_ + offset, end, need, alignment);
      if (p == nullptr) [[unlikely]] return fail();
      const std::size_t next = static_cast<std::size_t>(p - base_) + need;
      // Relaxed suffices: the CAS's atomicity alone makes the ranges disjoint, and nothing
      // else is published through the offset (reset() relies on the caller's synchronisation).
      if (offset_.compare_exchange_weak(offset, next, std::memory_order_relaxed,
                                        std::memory_order_relaxed)) [[likely]] {
        if constexpr (CountRequests == Counting::on) {
          counters_.allocations.fetch_add(1, std::memory_order_relaxed);
          counters_.requested.fetch_add(size, std::memory_order_relaxed);
        }
        unpoison_granules(p, size);
        if constexpr (debug::fill) std::memset(p, debug::fresh_pattern, size);
        return p;
      }
    }
  }

  void deallocate(void* /*p*/, std::size_t /*size*/) noexcept {}

  // Quiescent: no thread may be allocating (checked builds abort when one is inside allocate()).
  void reset() noexcept {
    in_flight_.expect_quiescent(name.data(), "reset()");
    const std::size_t used = offset_.load(std::memory_order_relaxed);
    peak_ = std::max(peak_, used);
    // allocate() unpoisoned whole granules: poison through the end of the last one.
    debug::on_release(base_, std::min(capacity_, static_cast<std::size_t>(align_up(used, debug::asan_granule))));
    offset_.store(0, std::memory_order_relaxed);
    if constexpr (CountRequests == Counting::on)
      counters_.requested.store(0, std::memory_order_relaxed);
  }

  // Quiescent, as reset().
  void release() noexcept {
    reset();
    debug::unpoison(base_, capacity_);
    HeapBlockSource{}.deallocate_block({base_, capacity_});
    base_ = nullptr;
    capacity_ = 0;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t used() const noexcept {
    return offset_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t remaining() const noexcept { return capacity_ - used(); }

  [[nodiscard]] AllocatorStats stats() const noexcept {
    AllocatorStats s;
    s.capacity = capacity_;
    s.used = used();
    s.remaining = capacity_ - s.used;
    s.peak_used = std::max(peak_, s.used);  // the offset only grows between resets
    s.failed_allocations = failed_.load(std::memory_order_relaxed);
    s.bytes_reserved = s.used;
    s.blocks = base_ != nullptr ? 1 : 0;
    s.counted = CountRequests == Counting::on;
    if constexpr (CountRequests == Counting::on) {
      s.allocations = counters_.allocations.load(std::memory_order_relaxed);
      s.bytes_requested = counters_.requested.load(std::memory_order_relaxed);
    }
    return s;
  }

 private:
  [[gnu::cold, gnu::noinline]] void* fail() noexcept {
    failed_.fetch_add(1, std::memory_order_relaxed);  // failures are rare: a shared atomic is fine
    return nullptr;
  }

  // ASan's shadow is per 8-byte granule and its updates are not atomic. Two threads unpoisoning
  // neighbouring requests that share a granule could race and leave a live byte poisoned, so
  // the range is widened to the end of its last granule — or of the block, where that comes
  // first: every shadow write of a granule then carries the same value, and concurrent writes
  // agree. (Overruns into that granule's slack go unreported.)
  void unpoison_granules(char* p, std::size_t size) const noexcept {
    if constexpr (debug::asan) {
      const auto block_end = reinterpret_cast<std::uintptr_t>(base_) + capacity_;
      const auto end = std::min<std::uintptr_t>(
          align_up(reinterpret_cast<std::uintptr_t>(p) + size, debug::asan_granule), block_end);
      debug::unpoison(p, static_cast<std::size_t>(end - reinterpret_cast<std::uintptr_t>(p)));
    } else {
      (void)p;
      (void)size;
    }
  }

  struct alignas(cache_line_size) Counters {
    std::atomic<std::size_t> allocations{0};
    std::atomic<std::size_t> requested{0};
  };
  struct NoCounters {};

  // The offset lives on its own cache line: it is the one line every allocating thread writes.
  alignas(cache_line_size) std::atomic<std::size_t> offset_{0};
  alignas(cache_line_size) char* base_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t peak_ = 0;
  std::atomic<std::size_t> failed_{0};
  [[no_unique_address]] std::conditional_t<CountRequests == Counting::on, Counters, NoCounters>
      counters_;
  [[no_unique_address]] debug::InFlight in_flight_;
};

using AtomicBumpArena = BasicAtomicBumpArena<Counting::off>;
static_assert(Allocator<AtomicBumpArena>);
static_assert(Allocator<BasicAtomicBumpArena<Counting::on>>);

}  // namespace alloclab
