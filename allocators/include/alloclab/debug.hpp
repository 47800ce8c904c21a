// alloclab/debug.hpp — debug features that cost nothing when off.
//
// Every switch is a compile-time constant, so a disabled feature is removed by `if constexpr`
// and the release fast path carries no branch for it.
//
//   ASan poisoning   on whenever the build uses AddressSanitizer. Arenas poison their blocks
//                    and unpoison each allocation, so touching memory after reset() — or past
//                    the end of what was handed out — is reported by ASan.
//   ALLOCLAB_CHECKED (0/1)  checked builds: the pool verifies every pointer given to
//                    deallocate(), stated preconditions (a valid request for fit_in, a
//                    non-empty cache bin, quiescence where InFlight below can see it) are
//                    checked, and a violation aborts with a message naming the fault.
//   ALLOCLAB_DEBUG_FILL (0/1)  fill fresh allocations with 0xAA and reset/freed memory with
//                    0xDD, so reads of uninitialised or stale memory show a recognisable value.
//   ALLOCLAB_GUARD_BYTES (N)  reserve N bytes after every allocation, filled with 0xFD. Under
//                    ASan they stay poisoned (a red zone between objects); the pool checks them
//                    on deallocate() in checked builds.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#define ALLOCLAB_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOCLAB_HAS_ASAN 1
#endif
#endif
#ifndef ALLOCLAB_HAS_ASAN
#define ALLOCLAB_HAS_ASAN 0
#endif

#if ALLOCLAB_HAS_ASAN
#include <sanitizer/asan_interface.h>
#endif

#if defined(__SANITIZE_THREAD__)
#define ALLOCLAB_HAS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ALLOCLAB_HAS_TSAN 1
#endif
#endif
#ifndef ALLOCLAB_HAS_TSAN
#define ALLOCLAB_HAS_TSAN 0
#endif

#ifndef ALLOCLAB_CHECKED
#define ALLOCLAB_CHECKED 0
#endif
#ifndef ALLOCLAB_DEBUG_FILL
#define ALLOCLAB_DEBUG_FILL 0
#endif
#ifndef ALLOCLAB_GUARD_BYTES
#define ALLOCLAB_GUARD_BYTES 0
#endif

namespace alloclab::debug {

inline constexpr bool asan = ALLOCLAB_HAS_ASAN != 0;
inline constexpr bool checked = ALLOCLAB_CHECKED != 0;
inline constexpr bool fill = ALLOCLAB_DEBUG_FILL != 0;
inline constexpr std::size_t guard_bytes = ALLOCLAB_GUARD_BYTES;

inline constexpr unsigned char fresh_pattern = 0xAA;
inline constexpr unsigned char dead_pattern = 0xDD;
inline constexpr unsigned char guard_pattern = 0xFD;

// ASan's shadow granule: the unit in which poisoning is exact.
inline constexpr std::size_t asan_granule = 8;

inline void poison(const void* p, std::size_t n) noexcept {
#if ALLOCLAB_HAS_ASAN
  __asan_poison_memory_region(p, n);
#else
  (void)p;
  (void)n;
#endif
}

inline void unpoison(const void* p, std::size_t n) noexcept {
#if ALLOCLAB_HAS_ASAN
  __asan_unpoison_memory_region(p, n);
#else
  (void)p;
  (void)n;
#endif
}

// True when p is poisoned (always false without ASan): lets tests assert the state.
inline bool is_poisoned(const void* p) noexcept {
#if ALLOCLAB_HAS_ASAN
  return __asan_address_is_poisoned(p) != 0;
#else
  (void)p;
  return false;
#endif
}

// A fresh allocation of n bytes at p (the guard bytes after it included in the layout).
inline void on_allocate(void* p, std::size_t n) noexcept {
  unpoison(p, n);
  if constexpr (fill) std::memset(p, fresh_pattern, n);
  if constexpr (guard_bytes != 0) {
    unpoison(static_cast<char*>(p) + n, guard_bytes);
    std::memset(static_cast<char*>(p) + n, guard_pattern, guard_bytes);
    poison(static_cast<char*>(p) + n, guard_bytes);
  }
}

// Memory going dead in bulk (reset, free): mark it, then poison it.
inline void on_release(void* p, std::size_t n) noexcept {
  if constexpr (fill) {
    unpoison(p, n);
    std::memset(p, dead_pattern, n);
  }
  poison(p, n);
}

// Checked-build faults end the process with one line naming the fault: continuing after heap
// corruption would only produce numbers nobody can trust.
[[noreturn, gnu::cold]] inline void fatal(const char* allocator, const char* fault,
                                          const void* p) noexcept {
  std::fprintf(stderr, "alloclab: %s: %s (pointer %p)\n", allocator, fault, p);
  std::fflush(stderr);
  std::abort();
}

// Quiescence, where it can be checked. reset() and release() of a lock-free allocator require
// that no thread is inside allocate(); the caller's join or barrier provides it and nothing in
// a release build can see it. Checked builds count the threads inside allocate() (one atomic
// increment and decrement per call, on a line every thread writes: a debug-build cost only) and
// abort when reset() or release() finds one there. That catches the violation when it overlaps
// the call, not every unordered access. Allocators that serialise allocate() and reset() on a
// lock need no counter: the lock already orders them. Off: an empty member and no code.
template <bool On>
class BasicInFlight;

template <>
class BasicInFlight<false> {
 public:
  struct Scope {};
  [[nodiscard]] Scope enter() noexcept { return {}; }
  void expect_quiescent(const char* /*allocator*/, const char* /*call*/) const noexcept {}
};

template <>
class BasicInFlight<true> {
 public:
  class Scope {
   public:
    explicit Scope(std::atomic<unsigned>& n) noexcept : n_(&n) { n.fetch_add(1, std::memory_order_acq_rel); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope() { n_->fetch_sub(1, std::memory_order_acq_rel); }

   private:
    std::atomic<unsigned>* n_;
  };
  [[nodiscard]] Scope enter() noexcept { return Scope(inside_); }
  void expect_quiescent(const char* allocator, const char* call) const noexcept {
    if (inside_.load(std::memory_order_acquire) != 0) {
      std::fprintf(stderr, "alloclab: %s: %s while a thread is inside allocate() (requires quiescence)\n",
                   allocator, call);
      std::fflush(stderr);
      std::abort();
    }
  }

 private:
  std::atomic<unsigned> inside_{0};
};

using InFlight = BasicInFlight<checked>;

}  // namespace alloclab::debug
