// Shared by the test suites: how to build each allocator with a bounded capacity, and the
// fill-and-verify patterns the concurrency tests use to detect overlapping blocks.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "alloclab/alloclab.hpp"

// In a GoogleTest body: skips the test, saying why, unless built with AddressSanitizer.
#define SKIP_WITHOUT_ASAN()                                                                 \
  do {                                                                                      \
    if (!::alloclab::debug::asan)                                                           \
      GTEST_SKIP() << "not built with AddressSanitizer: memory poisoning is compiled out "  \
                      "(configure with -DALLOCLAB_SANITIZE=address,undefined)";             \
  } while (false)

namespace alloclab::test {

// Under AddressSanitizer: every byte of [p, p + n) poisoned / none of it (always false / true
// without ASan, where poisoning is compiled out).
inline bool all_poisoned(const void* p, std::size_t n) {
  const auto* b = static_cast<const char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (!debug::is_poisoned(b + i)) return false;
  return true;
}
inline bool none_poisoned(const void* p, std::size_t n) {
  const auto* b = static_cast<const char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (debug::is_poisoned(b + i)) return false;
  return true;
}

// Every allocator made so that at most `capacity` data bytes can ever be handed out, by its
// construction shape (allocator.hpp): a FixedCapacity one as A(capacity), a Growable one over
// a block source budgeted for exactly one block of `capacity` data bytes.
template <class A>
std::unique_ptr<A> make_bounded(std::size_t capacity) {
  if constexpr (FixedCapacity<A>) {
    return std::make_unique<A>(capacity);
  } else if constexpr (Growable<A> && std::constructible_from<A, std::size_t, HeapBlockSource>) {
    return std::make_unique<A>(capacity, HeapBlockSource{chain_header_size + capacity});
  } else {
    static_assert(sizeof(A) == 0, "make_bounded: neither A(capacity) nor A(block_size, HeapBlockSource)");
  }
}

// A byte pattern unique to (owner, block): two blocks that overlap cannot both verify.
inline unsigned char pattern_byte(std::uint64_t owner, std::uint64_t block, std::size_t i) {
  const std::uint64_t x = (owner * 0x9E3779B97F4A7C15ULL) ^ (block * 0xC2B2AE3D27D4EB4FULL) ^ i;
  return static_cast<unsigned char>(x ^ (x >> 17) ^ (x >> 31));
}
inline void fill_pattern(void* p, std::size_t n, std::uint64_t owner, std::uint64_t block) {
  auto* b = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) b[i] = pattern_byte(owner, block, i);
}
[[nodiscard]] inline bool check_pattern(const void* p, std::size_t n, std::uint64_t owner,
                                        std::uint64_t block) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != pattern_byte(owner, block, i)) return false;
  return true;
}

// Threads used by the concurrency tests: at least 8 and more than the machine's cores.
std::size_t oversubscribed_threads();

// Runs body(t) on `threads` threads released together by a latch, so they really race; joins.
template <class Body>
void race(std::size_t threads, Body body) {
  std::latch start(static_cast<std::ptrdiff_t>(threads));
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      start.arrive_and_wait();
      body(t);
    });
  }
  for (auto& worker : workers) worker.join();
}

}  // namespace alloclab::test
