// tests/fuzz/fuzz_common.hpp — what both fuzz targets share: the input reader, the content
// patterns that live blocks carry, and the one way a target reports a broken invariant.
//
// Patterns: every live block holds a slice of a fixed pseudo-random "tape", starting at an
// offset chosen by the block's seed. Filling is one memcpy and checking one memcmp, so checking
// every live block after every operation stays affordable; any byte the allocator writes into a
// live block (a header, a free-list link, a footer, a PREV_FREE flag, an overlapping block)
// differs from the tape with overwhelming probability. Under ASan both calls are intercepted and
// also prove that the whole block is addressable (not poisoned).
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "alloclab/debug.hpp"

namespace alloclab_fuzz {

// Every size the targets ask for is at most this, so every block fits a slice of the tape.
inline constexpr std::size_t kMaxRequest = std::size_t{256} * 1024;
inline constexpr std::size_t kTapeOffsets = 4096;
// Operations per input: bounds the time one input can take (libFuzzer's default -max_len of
// 4096 bytes allows about a thousand).
inline constexpr std::size_t kMaxOps = 2048;

// Reads the input front to back; past its end every read yields 0 and done() is true.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}
  [[nodiscard]] bool done() const noexcept { return pos_ >= size_; }
  std::uint8_t u8() noexcept { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() noexcept {
    const auto lo = u8();
    return static_cast<std::uint16_t>(lo | (u8() << 8));
  }
  std::uint32_t u24() noexcept {
    const std::uint32_t lo = u16();
    return lo | (static_cast<std::uint32_t>(u8()) << 16);
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// Where the current input is, for the failure message.
struct Context {
  const char* target = "";
  const char* allocator = "";
  std::size_t op_index = 0;
  const char* op = "setup";
};
inline Context& context() noexcept {
  static Context c;
  return c;
}

// A broken invariant: one line naming the allocator, the operation and the fault, then abort()
// so that libFuzzer saves the input as a crash-* file.
[[noreturn, gnu::format(printf, 1, 2)]] inline void fail(const char* fmt, ...) noexcept {
  const Context& c = context();
  std::fprintf(stderr, "\nalloclab %s: INVARIANT VIOLATED: %s, op #%zu (%s): ", c.target, c.allocator,
               c.op_index, c.op);
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  std::abort();
}

// ALLOCLAB_FUZZ_TRACE=1 in the environment: one line per operation on stderr (for reading what
// a crash input does; far too slow for fuzzing).
inline bool tracing() noexcept {
  static const bool on = [] {
    const char* v = std::getenv("ALLOCLAB_FUZZ_TRACE");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  return on;
}
[[gnu::format(printf, 1, 2)]] inline void trace(const char* fmt, ...) noexcept {
  if (!tracing()) return;
  const Context& c = context();
  std::fprintf(stderr, "%s: op #%zu %-30s ", c.allocator, c.op_index, c.op);
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fputc('\n', stderr);
}

#define ALLOCLAB_FUZZ_CHECK(cond, ...)         \
  do {                                         \
    if (!(cond)) [[unlikely]]                  \
      ::alloclab_fuzz::fail(__VA_ARGS__);      \
  } while (0)

// The tape: kMaxRequest + kTapeOffsets bytes of splitmix64 output, made once.
inline const unsigned char* tape() noexcept {
  static const struct Tape {
    unsigned char bytes[kMaxRequest + kTapeOffsets];
    Tape() noexcept {
      std::uint64_t x = 0x243F6A8885A308D3ULL;
      for (std::size_t i = 0; i < sizeof bytes; i += 8) {
        x += 0x9E3779B97F4A7C15ULL;
        std::uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        std::memcpy(bytes + i, &z, 8);
      }
    }
  } t;
  return t.bytes;
}

inline const unsigned char* pattern(std::uint32_t seed) noexcept { return tape() + seed % kTapeOffsets; }

inline void fill_pattern(void* p, std::size_t size, std::uint32_t seed) noexcept {
  std::memcpy(p, pattern(seed), size);
}

inline void check_pattern(const void* p, std::size_t size, std::uint32_t seed, const char* what) noexcept {
  if (std::memcmp(p, pattern(seed), size) == 0) [[likely]] return;
  const auto* bytes = static_cast<const unsigned char*>(p);
  std::size_t first = 0;
  while (bytes[first] == pattern(seed)[first]) ++first;
  std::size_t last = size - 1;
  while (bytes[last] == pattern(seed)[last]) --last;
  fail("%s: contents of live block %p (%zu bytes) changed: bytes [%zu, %zu] differ from the pattern",
       what, p, size, first, last);
}

// True when ASan reports the byte poisoned; false (and never consulted) without ASan.
inline bool poisoned(const void* p) noexcept { return alloclab::debug::is_poisoned(p); }

// The first poisoned byte of [p, p + size), or nullptr; nullptr without ASan.
inline const void* first_poisoned(const void* p, std::size_t size) noexcept {
#if ALLOCLAB_HAS_ASAN
  return __asan_region_is_poisoned(const_cast<void*>(p), size);
#else
  (void)p;
  (void)size;
  return nullptr;
#endif
}

inline bool is_pow2(std::size_t x) noexcept { return x != 0 && (x & (x - 1)) == 0; }

inline std::uintptr_t addr(const void* p) noexcept { return reinterpret_cast<std::uintptr_t>(p); }

// Alignment from one byte: mostly the small alignments of the fast paths, sometimes up to 4096.
inline std::size_t alignment_from(std::uint8_t a) noexcept {
  return a < 0x80 ? std::size_t{1} << (a % 5) : std::size_t{1} << (a % 13);
}

// Requests every allocator must refuse, whatever its state (the contract's nullptr cases).
struct BadRequest {
  std::size_t size;
  std::size_t alignment;
};
inline BadRequest bad_request_from(std::uint8_t b) noexcept {
  constexpr std::size_t max = SIZE_MAX;
  switch (b % 8) {
    case 0: return {0, 16};                         // size 0
    case 1: return {16, 0};                         // alignment 0
    case 2: return {16, 3};                         // alignment not a power of two
    case 3: return {64, 48};                        // ditto, a multiple of 16
    case 4: return {max, 1};                        // size + alignment overflows
    case 5: return {max - 8, 4096};                 // ditto, with padding
    case 6: return {max / 2, 64};                   // no allocator here holds that much
    default: return {8, std::size_t{1} << 63};      // alignment larger than any capacity
  }
}

}  // namespace alloclab_fuzz
