// References drawn on every chart: what the harness itself costs, and the speed of light.
//
//   null        returns memory prepared in advance (the same warm line of this thread), so its
//               time is the harness loop's own: sizes drawn, probe, touch, round bookkeeping.
//   bump_limit  an inline, thread-private pointer bump over warm memory — no lock, no atomic,
//               no lookup, no capacity check beyond one compare. No real arena can be faster.
//   bump_cold   the same bump, but every reset() gives the pages back (MADV_DONTNEED), so
//               each round touches fresh pages: the difference to bump_limit is first-touch
//               (page-fault) cost, separated from allocation cost.
// Not allocators to use: null hands every caller the same bytes, and the bumps wrap around
// their buffer instead of failing. Both are thread_safe because their state is thread-local.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "alloclab/allocator.hpp"
#include "peer_allocators.hpp"

namespace alloclab::harness {

class NullAllocator : public NoStats {
 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = false;
  static constexpr std::string_view name = "null";

  [[nodiscard]] void* allocate(std::size_t size, std::size_t alignment = default_alignment) noexcept {
    if (!is_valid_request(size, alignment) || size > sizeof(scratch_.bytes) ||
        alignment > alignof(Scratch)) [[unlikely]]
      return nullptr;
    return scratch_.bytes;
  }
  void deallocate(void*, std::size_t) noexcept {}
  void reset() noexcept {}

 private:
  struct alignas(4096) Scratch {
    unsigned char bytes[64 * 1024];
  };
  static inline thread_local Scratch scratch_{};
};

template <bool ReleasePages>
class BasicBumpReference : public NoStats {
 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = false;
  static constexpr std::string_view name = ReleasePages ? "bump_cold" : "bump_limit";
  static constexpr std::size_t buffer_bytes = std::size_t{256} << 20;  // per thread, virtual

  [[nodiscard]] void* allocate(std::size_t size, std::size_t alignment = default_alignment) noexcept {
    Cursor& c = cursor_;
    char* p = c.next;
    // size <= buffer/2 first, so size + alignment cannot wrap.
    if (is_valid_request(size, alignment) && size <= buffer_bytes / 2 && alignment <= buffer_bytes / 4 &&
        c.end - p >= static_cast<std::ptrdiff_t>(size + alignment)) [[likely]] {
      p = reinterpret_cast<char*>(align_up(reinterpret_cast<std::uintptr_t>(p), alignment));
      c.next = p + size;
      return p;
    }
    return allocate_slow(size, alignment);
  }
  void deallocate(void*, std::size_t) noexcept {}
  // Starts this thread's bump again (the driver resets a shared instance from one thread, so
  // other threads wrap around instead: the reference stays a bump either way).
  void reset() noexcept {
    Cursor& c = cursor_;
    if (c.begin == nullptr) return;
    if constexpr (ReleasePages)
      madvise(c.begin, static_cast<std::size_t>(c.next - c.begin), MADV_DONTNEED);
    c.next = c.begin;
  }

 private:
  struct Cursor {
    char* begin;
    char* next;
    char* end;
  };

  [[gnu::noinline]] static void* allocate_slow(std::size_t size, std::size_t alignment) noexcept {
    if (!is_valid_request(size, alignment) || size > buffer_bytes / 2 || alignment > buffer_bytes / 4)
      return nullptr;
    Cursor& c = cursor_;
    if (c.begin == nullptr) {
      // Mapped once per thread and kept: the thread's memory, not the instance's.
      void* m = mmap(nullptr, buffer_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) return nullptr;
      c.begin = c.next = static_cast<char*>(m);
      c.end = c.begin + buffer_bytes;
    } else {
      c.next = c.begin;  // wrap around: a reference, not an allocator
    }
    char* p = reinterpret_cast<char*>(align_up(reinterpret_cast<std::uintptr_t>(c.next), alignment));
    c.next = p + size;
    return p;
  }

  static inline thread_local constinit Cursor cursor_{nullptr, nullptr, nullptr};
};

using BumpLimit = BasicBumpReference<false>;
using BumpCold = BasicBumpReference<true>;

static_assert(Allocator<NullAllocator> && Allocator<BumpLimit> && Allocator<BumpCold>);

}  // namespace alloclab::harness
