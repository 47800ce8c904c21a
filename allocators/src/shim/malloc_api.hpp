// The C allocation API (malloc, free, calloc, realloc, reallocarray, posix_memalign,
// aligned_alloc, memalign, valloc, pvalloc, malloc_usable_size), written once over a backend,
// for the preloadable shims (pool_malloc.cpp, bump_malloc.cpp).
//
// This layer owns the C semantics — size 0, overflow, invalid alignments, errno — and nothing
// else; a backend only allocates and frees. C++ operator new/delete are not replaced: libstdc++
// implements them over malloc, aligned_alloc and free, so they arrive here.
//
// Semantics follow glibc where C leaves a choice, so a program behaves the same under a shim:
//   malloc(0) returns a unique pointer; realloc(p, 0) frees p and returns NULL;
//   memalign rounds an alignment that is not a power of two up to one (aligned_alloc refuses
//   one with EINVAL, as C17 and glibc from 2.38 do; glibc 2.36 treated it as memalign);
//   failures return NULL with errno = ENOMEM (EINVAL for a bad alignment; posix_memalign
//   returns the code instead and leaves errno alone).
#pragma once

#include <cerrno>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>

#include <unistd.h>

#include "alloclab/block_source.hpp"

namespace alloclab::shim {

// What a shim's backend provides. Requests reaching it are valid: size >= 1, alignment a
// power of two >= min_alignment. Pointers given back are ones it handed out (or NULL-free).
template <class B>
concept MallocBackend = requires(void* p, const void* cp, std::size_t n) {
  { B::name } -> std::convertible_to<std::string_view>;
  { B::allocate(n, n) } noexcept -> std::same_as<void*>;        // nullptr when out of memory
  { B::allocate_zeroed(n) } noexcept -> std::same_as<void*>;    // calloc; nullptr when out
  { B::deallocate(p) } noexcept;                                // p != nullptr
  { B::usable_size(cp) } noexcept -> std::same_as<std::size_t>; // >= the size requested
  // p resized to n bytes: p itself, a new block (p freed), or nullptr (p unchanged).
  { B::reallocate(p, n) } noexcept -> std::same_as<void*>;
};

// malloc's alignment (alignof(max_align_t) on x86-64 and AArch64): every result has at least it.
inline constexpr std::size_t min_alignment = alignof(std::max_align_t);

[[nodiscard]] constexpr bool is_power_of_two(std::size_t a) noexcept { return a != 0 && (a & (a - 1)) == 0; }

[[nodiscard]] inline std::size_t page_size() noexcept { return MmapBlockSource::page_size(); }

// Moves p to a new block of n bytes: the fallback of every backend's reallocate().
template <MallocBackend B>
[[nodiscard]] void* relocate(void* p, std::size_t n) noexcept {
  void* q = B::allocate(n, min_alignment);
  if (q == nullptr) return nullptr;
  const std::size_t old = B::usable_size(p);
  std::memcpy(q, p, old < n ? old : n);
  B::deallocate(p);
  return q;
}

// A byte count from the environment (digits, optionally K, M, G or T) of at least `minimum`,
// or `fallback` when the variable is unset. A bad value is reported in one line and the process exits with 2: the
// shim runs inside someone else's program and has no better channel. Allocates nothing.
[[nodiscard]] inline std::size_t byte_count_from_env(const char* variable, std::string_view shim,
                                                     std::size_t fallback, std::size_t minimum = 1) noexcept {
  const char* text = std::getenv(variable);
  if (text == nullptr) return fallback;
  std::size_t value = 0;
  const char* c = text;
  bool digits = false;
  for (; *c >= '0' && *c <= '9'; ++c) {
    const auto d = static_cast<std::size_t>(*c - '0');
    if (value > (std::numeric_limits<std::size_t>::max() - d) / 10) {
      digits = false;
      break;
    }
    value = value * 10 + d;
    digits = true;
  }
  int shift = 0;
  if (digits && *c != '\0' && c[1] == '\0') {
    switch (*c) {
      case 'K': case 'k': shift = 10; break;
      case 'M': case 'm': shift = 20; break;
      case 'G': case 'g': shift = 30; break;
      case 'T': case 't': shift = 40; break;
      default: shift = -1;
    }
    ++c;
  }
  const bool fits = shift >= 0 && (value << shift >> shift) == value;
  if (!digits || *c != '\0' || !fits || (value << shift) < minimum) {
    std::fprintf(stderr, "%.*s: %s='%s' is not a byte count of at least %zu (valid: an integer, optionally with K, M, G or T)\n",
                 static_cast<int>(shim.size()), shim.data(), variable, text, minimum);
    std::fflush(stderr);
    ::_exit(2);
  }
  return value << shift;
}

// --- the entry points, in C's terms -----------------------------------------------------------

template <MallocBackend B>
[[nodiscard]] void* shim_malloc(std::size_t n) noexcept {
  void* p = B::allocate(n == 0 ? 1 : n, min_alignment);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

template <MallocBackend B>
void shim_free(void* p) noexcept {
  if (p != nullptr) B::deallocate(p);
}

template <MallocBackend B>
[[nodiscard]] void* shim_calloc(std::size_t count, std::size_t size) noexcept {
  std::size_t n = 0;
  if (__builtin_mul_overflow(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  void* p = B::allocate_zeroed(n == 0 ? 1 : n);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

template <MallocBackend B>
[[nodiscard]] void* shim_realloc(void* p, std::size_t n) noexcept {
  if (p == nullptr) return shim_malloc<B>(n);
  if (n == 0) {
    B::deallocate(p);
    return nullptr;
  }
  void* q = B::reallocate(p, n);
  if (q == nullptr) errno = ENOMEM;
  return q;
}

template <MallocBackend B>
[[nodiscard]] void* shim_reallocarray(void* p, std::size_t count, std::size_t size) noexcept {
  std::size_t n = 0;
  if (__builtin_mul_overflow(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  return shim_realloc<B>(p, n);
}

template <MallocBackend B>
[[nodiscard]] void* aligned(std::size_t alignment, std::size_t n) noexcept {
  void* p = B::allocate(n == 0 ? 1 : n, alignment < min_alignment ? min_alignment : alignment);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

template <MallocBackend B>
[[nodiscard]] int shim_posix_memalign(void** out, std::size_t alignment, std::size_t n) noexcept {
  if (!is_power_of_two(alignment) || alignment % sizeof(void*) != 0) return EINVAL;
  const int saved = errno;
  void* p = aligned<B>(alignment, n);
  errno = saved;
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

template <MallocBackend B>
[[nodiscard]] void* shim_aligned_alloc(std::size_t alignment, std::size_t n) noexcept {
  if (!is_power_of_two(alignment)) {
    errno = EINVAL;
    return nullptr;
  }
  return aligned<B>(alignment, n);
}

template <MallocBackend B>
[[nodiscard]] void* shim_memalign(std::size_t alignment, std::size_t n) noexcept {
  if (alignment <= min_alignment) return shim_malloc<B>(n);
  if (alignment > std::numeric_limits<std::size_t>::max() / 2 + 1) {
    errno = EINVAL;
    return nullptr;
  }
  if (!is_power_of_two(alignment)) alignment = std::size_t{1} << (64 - __builtin_clzll(alignment));
  return aligned<B>(alignment, n);
}

template <MallocBackend B>
[[nodiscard]] void* shim_valloc(std::size_t n) noexcept {
  return aligned<B>(page_size(), n);
}

template <MallocBackend B>
[[nodiscard]] void* shim_pvalloc(std::size_t n) noexcept {
  const std::size_t page = page_size();
  if (n > std::numeric_limits<std::size_t>::max() - page) {
    errno = ENOMEM;
    return nullptr;
  }
  return aligned<B>(page, n == 0 ? page : (n + page - 1) & ~(page - 1));
}

template <MallocBackend B>
[[nodiscard]] std::size_t shim_malloc_usable_size(void* p) noexcept {
  return p == nullptr ? 0 : B::usable_size(p);
}

}  // namespace alloclab::shim

// Defines the exported C symbols over Backend, in the translation unit of one shim. Only these
// are exported (the shims build with hidden visibility).
#define ALLOCLAB_DEFINE_MALLOC_API(Backend)                                                        \
  extern "C" {                                                                                     \
  [[gnu::visibility("default")]] void* malloc(std::size_t n) noexcept {                            \
    return alloclab::shim::shim_malloc<Backend>(n);                                                \
  }                                                                                                \
  [[gnu::visibility("default")]] void free(void* p) noexcept { alloclab::shim::shim_free<Backend>(p); } \
  [[gnu::visibility("default")]] void* calloc(std::size_t c, std::size_t n) noexcept {             \
    return alloclab::shim::shim_calloc<Backend>(c, n);                                             \
  }                                                                                                \
  [[gnu::visibility("default")]] void* realloc(void* p, std::size_t n) noexcept {                  \
    return alloclab::shim::shim_realloc<Backend>(p, n);                                            \
  }                                                                                                \
  [[gnu::visibility("default")]] void* reallocarray(void* p, std::size_t c, std::size_t n) noexcept { \
    return alloclab::shim::shim_reallocarray<Backend>(p, c, n);                                    \
  }                                                                                                \
  [[gnu::visibility("default")]] int posix_memalign(void** out, std::size_t a, std::size_t n) noexcept { \
    return alloclab::shim::shim_posix_memalign<Backend>(out, a, n);                                \
  }                                                                                                \
  [[gnu::visibility("default")]] void* aligned_alloc(std::size_t a, std::size_t n) noexcept {      \
    return alloclab::shim::shim_aligned_alloc<Backend>(a, n);                                      \
  }                                                                                                \
  [[gnu::visibility("default")]] void* memalign(std::size_t a, std::size_t n) noexcept {           \
    return alloclab::shim::shim_memalign<Backend>(a, n);                                           \
  }                                                                                                \
  [[gnu::visibility("default")]] void* valloc(std::size_t n) noexcept {                            \
    return alloclab::shim::shim_valloc<Backend>(n);                                                \
  }                                                                                                \
  [[gnu::visibility("default")]] void* pvalloc(std::size_t n) noexcept {                           \
    return alloclab::shim::shim_pvalloc<Backend>(n);                                               \
  }                                                                                                \
  [[gnu::visibility("default")]] std::size_t malloc_usable_size(void* p) noexcept {                \
    return alloclab::shim::shim_malloc_usable_size<Backend>(p);                                    \
  }                                                                                                \
  /* glibc's own names for the same functions, which some code calls directly. */                  \
  [[gnu::visibility("default")]] void* __libc_malloc(std::size_t n) noexcept {                     \
    return alloclab::shim::shim_malloc<Backend>(n);                                                \
  }                                                                                                \
  [[gnu::visibility("default")]] void __libc_free(void* p) noexcept { alloclab::shim::shim_free<Backend>(p); } \
  [[gnu::visibility("default")]] void* __libc_calloc(std::size_t c, std::size_t n) noexcept {      \
    return alloclab::shim::shim_calloc<Backend>(c, n);                                             \
  }                                                                                                \
  [[gnu::visibility("default")]] void* __libc_realloc(void* p, std::size_t n) noexcept {           \
    return alloclab::shim::shim_realloc<Backend>(p, n);                                            \
  }                                                                                                \
  [[gnu::visibility("default")]] void* __libc_memalign(std::size_t a, std::size_t n) noexcept {    \
    return alloclab::shim::shim_memalign<Backend>(a, n);                                           \
  }                                                                                                \
  }
