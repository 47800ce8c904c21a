// References drawn on every chart: what the harness itself costs, and the speed of light.
//
//   null        returns memory prepared in advance (the same warm line of this thread), so its
//               time is the harness loop's own: sizes drawn, probe, touch, round bookkeeping.
//   null_free   the same, but it accepts individual frees (each does nothing): the harness's
//               own cost on the workloads that free (larson, slot_exchange), and on the free
//               path of the others (the loop over live objects an allocator that frees runs,
//               where null takes the bulk path). Not run where a workload reads pointers back
//               out of its objects (ast_*: every node would be the same bytes).
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
#include <mutex>
#include <string_view>
#include <vector>

#include "alloclab/allocator.hpp"
#include "peer_allocators.hpp"

namespace alloclab::harness {

// The bump references' per-thread buffers, unmapped (and forgotten by their registry) when the
// thread exits. Not inside the class template: GCC 12 cannot emit a non-trivial thread_local
// member of a template twice.
struct ThreadBuffers {
  struct Entry {
    void* buffer = nullptr;
    std::size_t size = 0;
    void (*forget)(void* buffer) = nullptr;
  };
  Entry entries[2];
  void add(Entry e) noexcept {
    for (Entry& slot : entries) {
      if (slot.buffer == nullptr) {
        slot = e;
        return;
      }
    }
  }
  ~ThreadBuffers() {
    for (const Entry& e : entries) {
      if (e.buffer == nullptr) continue;
      e.forget(e.buffer);
      munmap(e.buffer, e.size);
    }
  }
};
inline thread_local ThreadBuffers thread_buffers;

class NullAllocator : public NoStats {
 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = false;
  static constexpr std::string_view name = "null";
  static constexpr std::string_view description = "returns prepared memory; the harness's own cost";
  // Its one buffer per thread. A trace replay (workloads/trace_replay.hpp, ScratchReference)
  // asks for at most this much and writes no further, so that null runs every trace: its
  // objects are not the program's anyway, and its time is the replay's own.
  static constexpr std::size_t scratch_bytes = 64 * 1024;
  static constexpr std::size_t scratch_alignment = 4096;

  [[nodiscard]] void* allocate(std::size_t size, std::size_t alignment = default_alignment) noexcept {
    if (!is_valid_request(size, alignment) || size > sizeof(scratch_.bytes) ||
        alignment > alignof(Scratch)) [[unlikely]]
      return nullptr;
    return scratch_.bytes;
  }
  void deallocate(void*, std::size_t) noexcept {}
  void reset() noexcept {}

 private:
  struct alignas(scratch_alignment) Scratch {
    unsigned char bytes[scratch_bytes];
  };
  static inline thread_local Scratch scratch_{};
};

template <bool ReleasePages>
class BasicBumpReference : public NoStats {
 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = false;
  static constexpr std::string_view name = ReleasePages ? "bump_cold" : "bump_limit";
  static constexpr std::string_view description =
      ReleasePages ? "the same bump over fresh pages each round (first-touch cost)"
                   : "inline thread-private pointer bump over warm memory";
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
  // Starts every thread's bump again — quiescent, like any reset() of a shared allocator, so
  // the other threads' cursors are not being moved while this runs.
  void reset() noexcept {
    std::lock_guard lock(registry_mutex_);
    for (Cursor* c : cursors_) {
      if constexpr (ReleasePages)
        madvise(c->begin, static_cast<std::size_t>(c->next - c->begin), MADV_DONTNEED);
      c->next = c->begin;
    }
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
      // Mapped once per thread, unmapped when the thread exits: the thread's memory.
      void* m = mmap(nullptr, buffer_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) return nullptr;
      c.begin = c.next = static_cast<char*>(m);
      c.end = c.begin + buffer_bytes;
      try {
        std::lock_guard lock(registry_mutex_);
        cursors_.push_back(&c);
      } catch (...) {  // no memory for the registry: no buffer either
        munmap(m, buffer_bytes);
        c = {nullptr, nullptr, nullptr};
        return nullptr;
      }
      thread_buffers.add({m, buffer_bytes, &forget});
    } else {
      c.next = c.begin;  // wrap around: a reference, not an allocator
    }
    char* p = reinterpret_cast<char*>(align_up(reinterpret_cast<std::uintptr_t>(c.next), alignment));
    c.next = p + size;
    return p;
  }

  static void forget(void* buffer) noexcept {
    std::lock_guard lock(registry_mutex_);
    std::erase_if(cursors_, [buffer](Cursor* c) { return c->begin == buffer; });
  }

  // The fast path reads only cursor_: trivially destructible, so no TLS-init guard.
  static inline thread_local constinit Cursor cursor_{nullptr, nullptr, nullptr};
  // Every live thread's cursor, so reset() can start them all again.
  static inline std::mutex registry_mutex_;
  static inline std::vector<Cursor*> cursors_;
};

// null, with free: see the top of this file. Its objects are null's scratch.
class NullFreeAllocator : public NullAllocator {
 public:
  static constexpr bool supports_free = true;
  static constexpr std::string_view name = "null_free";
  static constexpr std::string_view description =
      "returns prepared memory, accepts every free; the harness's own cost where allocators free";
};

using BumpLimit = BasicBumpReference<false>;
using BumpCold = BasicBumpReference<true>;

static_assert(Allocator<NullAllocator> && Allocator<NullFreeAllocator> && Allocator<BumpLimit> &&
              Allocator<BumpCold>);

}  // namespace alloclab::harness
