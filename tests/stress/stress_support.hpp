// Shared by the stress tests (label "stress", kept out of the default run): the scale knob, the
// thread count, request sizes, a word-wise block stamp that is cheap enough for tens of millions
// of blocks, and the process's resident set size.
//
// ALLOCLAB_STRESS_SCALE (default 1.0) multiplies every operation count: 0.05 runs a twentieth
// of the work, which is what sanitizer builds (TSan is ~10x slower) are meant to use. A build can
// change the default with -DALLOCLAB_STRESS_DEFAULT_SCALE=<x>; the environment still wins.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#ifndef ALLOCLAB_STRESS_DEFAULT_SCALE
#define ALLOCLAB_STRESS_DEFAULT_SCALE 1.0
#endif

// AddressSanitizer keeps freed heap memory resident on purpose (its quarantine, 256 MiB by
// default), so the RSS of a test that frees heap memory is no measure of leaks under it.
#if defined(__SANITIZE_ADDRESS__)
#define ALLOCLAB_STRESS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOCLAB_STRESS_ASAN 1
#endif
#endif
#ifndef ALLOCLAB_STRESS_ASAN
#define ALLOCLAB_STRESS_ASAN 0
#endif

namespace alloclab::stress {

inline constexpr std::size_t KiB = 1024;
inline constexpr std::size_t MiB = 1024 * KiB;

// The scale factor, read once. A value that is not a positive number is reported and ignored.
inline double scale() {
  static const double value = [] {
    const double fallback = ALLOCLAB_STRESS_DEFAULT_SCALE;
    const char* text = std::getenv("ALLOCLAB_STRESS_SCALE");
    if (text == nullptr || *text == '\0') return fallback;
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(v > 0.0) || !std::isfinite(v)) {
      std::fprintf(stderr, "ALLOCLAB_STRESS_SCALE=%s is not a positive number: using %g\n", text,
                   fallback);
      return fallback;
    }
    return v;
  }();
  return value;
}

// n scaled, but never below `minimum`.
inline std::size_t scaled(std::size_t n, std::size_t minimum = 1) {
  const double v = std::round(static_cast<double>(n) * scale());
  return std::max(minimum, static_cast<std::size_t>(v));
}

// max(16, 4 x cores): always more threads than cores, so threads are preempted mid-operation.
inline std::size_t threads() {
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::max<std::size_t>(16, 4 * cores);
}

// --- request sizes ---------------------------------------------------------------------------

using Rng = std::mt19937_64;

// 8 B .. 4 KiB, log-uniform by octave (each of the 9 octaves equally likely, uniform within),
// 4096 itself included.
inline std::size_t small_size(Rng& rng) {
  const std::uint64_t r = rng();
  const unsigned octave = 3 + static_cast<unsigned>(r % 9);  // [2^3, 2^12)
  const std::size_t low = std::size_t{1} << octave;
  const std::size_t span = octave == 11 ? low + 1 : low;      // the top octave reaches 4096
  return low + static_cast<std::size_t>((r >> 8) % span);
}

// 64 .. 256 KiB, log-uniform by octave.
inline std::size_t large_size(Rng& rng) {
  const std::uint64_t r = rng();
  const unsigned octave = 16 + static_cast<unsigned>(r % 2);  // 64 KiB .. 256 KiB
  const std::size_t low = std::size_t{1} << octave;
  const std::size_t span = octave == 17 ? low + 1 : low;
  return low + static_cast<std::size_t>((r >> 8) % span);
}

// Mostly small, one request in 1000 large.
inline std::size_t mixed_size(Rng& rng) {
  return rng() % 1000 == 0 ? large_size(rng) : small_size(rng);
}

// --- block stamps ----------------------------------------------------------------------------
//
// A block's bytes are a function of (owner, sequence) and of the byte's offset: byte o is byte
// o % 8 of word(key, o / 8), whatever the block's alignment. Two live blocks that overlap,
// at any offset, cannot both verify. Blocks up to kFullStamp bytes are stamped whole; larger
// ones only in the first and last 64 bytes and one word per KiB in between.

inline constexpr std::size_t kFullStamp = 4096;
inline constexpr std::size_t kEdge = 64;
inline constexpr std::size_t kStride = 1024;

inline std::uint64_t mix64(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
inline std::uint64_t stamp_key(std::uint64_t owner, std::uint64_t seq) {
  return mix64(mix64(owner + 0x9E3779B97F4A7C15ULL) ^ seq);
}
inline std::uint64_t stamp_word(std::uint64_t key, std::size_t index) {
  return key + index * 0xD6E8FEB86659FD93ULL;
}
inline unsigned char stamp_byte(std::uint64_t key, std::size_t offset) {
  const std::uint64_t w = stamp_word(key, offset / 8);
  const unsigned byte = static_cast<unsigned>(offset % 8);
  const unsigned shift = std::endian::native == std::endian::little ? 8 * byte : 56 - 8 * byte;
  return static_cast<unsigned char>(w >> shift);
}

inline void fill_range(unsigned char* p, std::uint64_t key, std::size_t begin, std::size_t end) {
  std::size_t o = begin;
  for (; o < end && o % 8 != 0; ++o) p[o] = stamp_byte(key, o);
  for (; o + 8 <= end; o += 8) {
    const std::uint64_t w = stamp_word(key, o / 8);
    std::memcpy(p + o, &w, 8);
  }
  for (; o < end; ++o) p[o] = stamp_byte(key, o);
}
[[nodiscard]] inline bool check_range(const unsigned char* p, std::uint64_t key, std::size_t begin,
                                      std::size_t end) {
  std::uint64_t diff = 0;
  std::size_t o = begin;
  for (; o < end && o % 8 != 0; ++o) diff |= p[o] ^ stamp_byte(key, o);
  for (; o + 8 <= end; o += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + o, 8);
    diff |= w ^ stamp_word(key, o / 8);
  }
  for (; o < end; ++o) diff |= p[o] ^ stamp_byte(key, o);
  return diff == 0;
}

// Calls f(begin, end) for every stamped range of an n-byte block.
template <class F>
void for_each_stamped_range(std::size_t n, F&& f) {
  if (n <= kFullStamp) {
    f(std::size_t{0}, n);
    return;
  }
  f(std::size_t{0}, kEdge);
  for (std::size_t o = kStride; o + 8 <= n - kEdge; o += kStride) f(o, o + 8);
  f(n - kEdge, n);
}

inline void stamp(void* p, std::size_t n, std::uint64_t owner, std::uint64_t seq) {
  const std::uint64_t key = stamp_key(owner, seq);
  auto* b = static_cast<unsigned char*>(p);
  for_each_stamped_range(n, [&](std::size_t begin, std::size_t end) { fill_range(b, key, begin, end); });
}
[[nodiscard]] inline bool verify(const void* p, std::size_t n, std::uint64_t owner,
                                 std::uint64_t seq) {
  const std::uint64_t key = stamp_key(owner, seq);
  const auto* b = static_cast<const unsigned char*>(p);
  bool ok = true;
  for_each_stamped_range(n, [&](std::size_t begin, std::size_t end) {
    ok = check_range(b, key, begin, end) && ok;
  });
  return ok;
}

// --- resident set size -----------------------------------------------------------------------

// VmRSS from /proc/self/status in bytes; 0 where it cannot be read (not Linux).
inline std::size_t rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      const unsigned long long kib = std::strtoull(line.c_str() + 6, nullptr, 10);
      return static_cast<std::size_t>(kib) * KiB;
    }
  }
  return 0;
}

inline double to_mib(std::size_t bytes) { return static_cast<double>(bytes) / MiB; }

}  // namespace alloclab::stress
