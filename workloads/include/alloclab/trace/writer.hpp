// alloclab/trace/writer.hpp — encodes the trace format, version 1 (workloads/TRACE_FORMAT.md),
// into bytes the caller provides. Allocation-free and noexcept: the recorder
// (harness/src/trace_recorder/) runs it inside malloc. Tests and fixtures build traces with it.
// It checks no invariant (stamps increasing, ids before frees): a test may write a corrupt file
// on purpose; the reader (reader.hpp) is where invariants are checked.
//
// API
//   file_header_bytes(metadata)              the size of the file header
//   put_file_header(out, metadata)           "ALCTRACE" · u16 1 · u16 0 · varint len · metadata;
//                                            returns the bytes written
//   put_file_header_prefix(out, metadata_bytes)   the same without the metadata (at most
//                                            max_file_header_prefix_bytes), for a caller that
//                                            has the metadata in place already
//   put_chunk_header(out, thread, base_stamp, event_count, payload, payload_bytes)
//                                            'C' ... checksum; at most max_chunk_header_bytes
//   put_end_record(out, EndRecord)           'E' ... checksum; at most max_end_record_bytes
//   ChunkEncoder(buffer, capacity, thread)   one thread's chunk in [buffer, buffer + capacity):
//     malloc_event(stamp, size, failed)      calloc_event(stamp, size, failed)
//     aligned_event(stamp, log2, size, failed)
//     free_event(stamp, object)              object = the id (creation stamp) freed
//     realloc_event(stamp, object, size, new_stamp)     new_stamp = the allocation side's stamp
//     failed_realloc_event(stamp, object, size)
//     time_mark(ns)                          not an event: no stamp, not counted
//     has_room()                             room for one more event and a time mark
//     finish()                               header + payload, contiguous: one write()
//     clear()                                empty again, for the next chunk of the thread
//
// Stamps within a chunk: `previous` starts at base_stamp and becomes each event's last
// stamp. The encoder picks base_stamp = first stamp − 1 (or 0 when the first stamp is 0) so
// the first event sets next_stamp and spends no delta byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "alloclab/trace/format.hpp"

namespace alloclab::trace {

// 'C' and four varints and the checksum.
inline constexpr std::size_t max_chunk_header_bytes = 1 + 4 * max_varint_bytes + 4;
// 'E', six varints and the checksum.
inline constexpr std::size_t max_end_record_bytes = 1 + 6 * max_varint_bytes + 4;
// The largest event: a realloc (byte0, delta, ref, size, new_delta).
inline constexpr std::size_t max_event_bytes = 1 + 4 * max_varint_bytes;
inline constexpr std::size_t max_time_mark_bytes = 1 + max_varint_bytes;

[[nodiscard]] inline std::size_t varint_bytes(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// The file header without the metadata: magic · version · flags · varint metadata_bytes.
inline constexpr std::size_t max_file_header_prefix_bytes = sizeof(magic) + 2 + 2 + max_varint_bytes;

inline std::size_t put_file_header_prefix(unsigned char* out, std::size_t metadata_bytes) noexcept {
  std::size_t n = 0;
  std::memcpy(out, magic, sizeof(magic));
  n += sizeof(magic);
  out[n++] = static_cast<unsigned char>(format_version & 0xFF);
  out[n++] = static_cast<unsigned char>(format_version >> 8);
  out[n++] = 0;  // flags
  out[n++] = 0;
  return n + put_varint(out + n, metadata_bytes);
}

[[nodiscard]] inline std::size_t file_header_bytes(std::string_view metadata) noexcept {
  return sizeof(magic) + 2 + 2 + varint_bytes(metadata.size()) + metadata.size();
}

inline std::size_t put_file_header(unsigned char* out, std::string_view metadata) noexcept {
  const std::size_t n = put_file_header_prefix(out, metadata.size());
  if (!metadata.empty()) std::memcpy(out + n, metadata.data(), metadata.size());
  return n + metadata.size();
}

inline std::size_t put_chunk_header(unsigned char* out, std::uint64_t thread, std::uint64_t base_stamp,
                                    std::uint64_t event_count, const unsigned char* payload,
                                    std::size_t payload_bytes) noexcept {
  std::size_t n = 0;
  out[n++] = chunk_tag;
  n += put_varint(out + n, thread);
  n += put_varint(out + n, base_stamp);
  n += put_varint(out + n, event_count);
  n += put_varint(out + n, payload_bytes);
  put_u32le(out + n, checksum(payload, payload_bytes));
  return n + 4;
}

struct EndRecord {
  std::uint64_t total_events = 0;  // the sum of the chunks' event counts
  std::uint64_t chunks = 0;
  std::uint64_t threads = 0;
  std::uint64_t untracked_frees = 0;
  std::uint64_t end_ns = 0;  // since started_unix_ns
  std::uint64_t dropped_events = 0;
};

inline std::size_t put_end_record(unsigned char* out, const EndRecord& end) noexcept {
  std::size_t n = 0;
  out[n++] = end_tag;
  n += put_varint(out + n, end.total_events);
  n += put_varint(out + n, end.chunks);
  n += put_varint(out + n, end.threads);
  n += put_varint(out + n, end.untracked_frees);
  n += put_varint(out + n, end.end_ns);
  n += put_varint(out + n, end.dropped_events);
  put_u32le(out + n, checksum(out, n));
  return n + 4;
}

// One chunk of one thread's events. The first max_chunk_header_bytes of the buffer are kept
// for the header, which finish() writes right before the payload so that header and payload
// leave in one write(). The caller checks has_room() before each event.
class ChunkEncoder {
 public:
  ChunkEncoder() noexcept = default;
  ChunkEncoder(unsigned char* buffer, std::size_t capacity, std::uint64_t thread) noexcept
      : buffer_(buffer), capacity_(capacity), thread_(thread) {}

  [[nodiscard]] std::uint64_t thread() const noexcept { return thread_; }
  void set_thread(std::uint64_t thread) noexcept { thread_ = thread; }
  [[nodiscard]] std::uint64_t event_count() const noexcept { return events_; }
  [[nodiscard]] std::size_t payload_bytes() const noexcept { return end_ - max_chunk_header_bytes; }
  [[nodiscard]] bool empty() const noexcept { return end_ == max_chunk_header_bytes; }
  [[nodiscard]] bool has_room() const noexcept {
    return end_ + max_event_bytes + max_time_mark_bytes <= capacity_;
  }

  void malloc_event(std::uint64_t stamp, std::uint64_t size, bool failed) noexcept {
    begin(Kind::malloc, stamp, failed);
    put(size);
  }
  void calloc_event(std::uint64_t stamp, std::uint64_t size, bool failed) noexcept {
    begin(Kind::calloc, stamp, failed);
    put(size);
  }
  void aligned_event(std::uint64_t stamp, unsigned alignment_log2, std::uint64_t size, bool failed) noexcept {
    begin(Kind::aligned, stamp, failed);
    buffer_[end_++] = static_cast<unsigned char>(alignment_log2);
    put(size);
  }
  void free_event(std::uint64_t stamp, std::uint64_t object) noexcept {
    begin(Kind::free, stamp, false);
    put(stamp - object);
  }
  // A realloc that returned memory: object `object` freed at `stamp`, a new one made at new_stamp.
  void realloc_event(std::uint64_t stamp, std::uint64_t object, std::uint64_t size, std::uint64_t new_stamp) noexcept {
    begin(Kind::realloc, stamp, false);
    put(stamp - object);
    put(size);
    put(new_stamp - stamp);
    previous_ = new_stamp;  // the next event's delta counts from the allocation side
  }
  // A realloc that returned NULL: `object` lives on.
  void failed_realloc_event(std::uint64_t stamp, std::uint64_t object, std::uint64_t size) noexcept {
    begin(Kind::realloc, stamp, true);
    put(stamp - object);
    put(size);
  }
  void time_mark(std::uint64_t ns) noexcept {
    buffer_[end_++] = static_cast<unsigned char>(Kind::time_mark);
    put(ns);
  }

  // The chunk as it goes to the file: [header | payload], contiguous. Valid until clear() or
  // the next event. An empty chunk (no events, maybe a time mark) is still a valid chunk.
  [[nodiscard]] std::span<const unsigned char> finish() noexcept {
    unsigned char header[max_chunk_header_bytes];
    const unsigned char* payload = buffer_ + max_chunk_header_bytes;
    const std::size_t h = put_chunk_header(header, thread_, base_, events_, payload, payload_bytes());
    unsigned char* start = buffer_ + max_chunk_header_bytes - h;
    std::memcpy(start, header, h);
    return {start, end_ - (max_chunk_header_bytes - h)};
  }

  void clear() noexcept {
    end_ = max_chunk_header_bytes;
    events_ = 0;
    base_ = previous_ = 0;
  }

 private:
  void begin(Kind kind, std::uint64_t stamp, bool failed) noexcept {
    if (events_ == 0) base_ = previous_ = stamp == 0 ? 0 : stamp - 1;
    ++events_;
    auto byte0 = static_cast<unsigned char>(kind);
    if (failed) byte0 |= failed_bit;
    if (stamp == previous_ + 1) {
      buffer_[end_++] = byte0 | next_stamp_bit;
    } else {
      buffer_[end_++] = byte0;
      put(stamp - previous_);
    }
    previous_ = stamp;
  }
  void put(std::uint64_t v) noexcept { end_ += put_varint(buffer_ + end_, v); }

  unsigned char* buffer_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t end_ = max_chunk_header_bytes;  // where the next payload byte goes
  std::uint64_t thread_ = 0;
  std::uint64_t events_ = 0;
  std::uint64_t base_ = 0;
  std::uint64_t previous_ = 0;
};

}  // namespace alloclab::trace
