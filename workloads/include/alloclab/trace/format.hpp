// alloclab/trace/format.hpp — the allocation trace format, version 1: constants and the
// primitives shared by the recorder (harness/src/trace_recorder/) and the reader (reader.hpp).
// workloads/TRACE_FORMAT.md is the specification; this header is its vocabulary.
//
// Glossary
//   event   one call of the traced program into its allocator: malloc, calloc, realloc, free,
//           or an aligned allocation (posix_memalign, aligned_alloc, memalign, valloc, pvalloc).
//   stamp   a process-wide order counter, one per event (two per realloc). A free is stamped
//           before the real free runs and an allocation after the real call returns, so in
//           stamp order an address is always freed before it is handed out again.
//   object  one allocation, from the event that creates it to the event that frees it. Its id
//           is the stamp at which it was created: an address reused after a free is a new
//           object. A realloc that moves or not frees one object and creates another.
//   thread  a dense index per process, in the order threads made their first call (0 is
//           usually the main thread). Not the kernel's tid.
//   chunk   a run of one thread's consecutive events, written to the file in one write().
//           Chunks of different threads interleave in the file; within a thread, chunks are
//           in stamp order.
//
// Invariants (the reader checks each; a file breaking one is corrupt)
//   stamps strictly increase within a thread;  no stamp appears twice in a file;
//   object id < stamp of every event that frees or reallocs it;  an object is freed at most once;
//   end record's event count == sum of chunk event counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace alloclab::trace {

inline constexpr char magic[8] = {'A', 'L', 'C', 'T', 'R', 'A', 'C', 'E'};
inline constexpr std::uint16_t format_version = 1;

// Record tags after the file header.
inline constexpr std::uint8_t chunk_tag = 'C';
inline constexpr std::uint8_t end_tag = 'E';

// The low three bits of an event's first byte.
enum class Kind : std::uint8_t {
  malloc = 0,
  calloc = 1,        // size is nmemb * size (the product; an overflowing product is a failed call)
  realloc = 2,
  free = 3,
  aligned = 4,       // posix_memalign, aligned_alloc, memalign, valloc, pvalloc
  time_mark = 5,     // not an event: the thread's clock, nanoseconds since the trace began
};
inline constexpr std::uint8_t kind_mask = 0x07;
inline constexpr std::uint8_t next_stamp_bit = 0x08;  // stamp = previous stamp of the thread + 1
inline constexpr std::uint8_t failed_bit = 0x10;      // the call returned NULL: no object made
inline constexpr std::uint8_t reserved_bits = 0xE0;   // must be zero in version 1

// A thread writes a time mark before its first event and then every this many events.
inline constexpr std::uint32_t time_mark_period = 4096;

// Varints: LEB128, unsigned, at most 10 bytes for 64 bits.
inline constexpr std::size_t max_varint_bytes = 10;

inline std::size_t put_varint(unsigned char* out, std::uint64_t v) noexcept {
  std::size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<unsigned char>(v);
  return n;
}

// Reads a varint from [*p, end); advances *p. nullopt on truncation or on more than 64 bits.
inline std::optional<std::uint64_t> get_varint(const unsigned char** p, const unsigned char* end) noexcept {
  std::uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (*p == end) return std::nullopt;
    const unsigned char byte = *(*p)++;
    const std::uint64_t bits = byte & 0x7F;
    if (shift == 63 && bits > 1) return std::nullopt;  // past 64 bits
    v |= bits << shift;
    if ((byte & 0x80) == 0) return v;
  }
  return std::nullopt;
}

inline void put_u32le(unsigned char* out, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint32_t get_u32le(const unsigned char* in) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(in[i]) << (8 * i);
  return v;
}

// FNV-1a, 32 bits: the chunk and end-record checksum. Not cryptographic; it tells a torn or
// overwritten chunk from a well-formed one.
inline std::uint32_t checksum(const unsigned char* data, std::size_t n) noexcept {
  std::uint32_t h = 2166136261u;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ data[i]) * 16777619u;
  return h;
}

// log2 of a power of two (alignments), or -1.
inline int log2_exact(std::uint64_t v) noexcept {
  if (v == 0 || (v & (v - 1)) != 0) return -1;
  return __builtin_ctzll(v);
}

}  // namespace alloclab::trace
