// alloclab/trace/trace.hpp — a trace in memory, as the reader (reader.hpp) returns it and the
// replay (workloads/trace_replay.hpp), `alloclab-trace info` and `distill` use it.
//
// The replay needs each thread's operations in order and, for a free or realloc, the object it
// names — as a dense index into one table, so the replay's object table is an array — and
// whether that object was made by another thread (then the replay waits until it exists).
// Everything else (stamps, times) is for the summary, which the reader computes once, walking
// every thread's events merged in stamp order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "alloclab/trace/format.hpp"

namespace alloclab::trace {

inline constexpr std::uint32_t no_object = UINT32_MAX;

// One event as the replay runs it: 16 bytes.
//   bits  0-47 size (a successful request of 256 TiB or more is corrupt; a failed one, such as
//              malloc(SIZE_MAX) or an overflowing calloc, is kept, clamped to 2^48 - 1)
//   bits 48-50 kind (Kind::malloc .. Kind::aligned; never time_mark)
//   bit  51    failed: the recorded call returned NULL; no object is made
//   bits 52-57 log2(alignment) for Kind::aligned, else 0
//   bit  58    wait: the object freed (free, realloc) was made by another thread
//   bit  59    foreign: the object freed is not in the trace (made before it began, or lost
//              with a truncated tail); the replay skips the free side
struct Op {
  std::uint64_t bits = 0;
  std::uint32_t object = no_object;      // made (malloc, calloc, aligned, realloc) or freed (free)
  std::uint32_t old_object = no_object;  // realloc: the object it frees

  static constexpr std::uint64_t size_mask = (std::uint64_t{1} << 48) - 1;
  [[nodiscard]] std::uint64_t size() const noexcept { return bits & size_mask; }
  [[nodiscard]] Kind kind() const noexcept { return static_cast<Kind>((bits >> 48) & 7); }
  [[nodiscard]] bool failed() const noexcept { return (bits >> 51) & 1; }
  [[nodiscard]] std::size_t alignment_log2() const noexcept { return (bits >> 52) & 63; }
  [[nodiscard]] bool wait() const noexcept { return (bits >> 58) & 1; }
  [[nodiscard]] bool foreign() const noexcept { return (bits >> 59) & 1; }

  static Op make(Kind kind, std::uint64_t size, bool failed, unsigned alignment_log2, bool wait, bool foreign,
                 std::uint32_t object, std::uint32_t old_object) noexcept {
    Op op;
    op.bits = (size & size_mask) | (std::uint64_t{static_cast<std::uint8_t>(kind)} << 48) |
              (std::uint64_t{failed} << 51) | (std::uint64_t{alignment_log2 & 63} << 52) |
              (std::uint64_t{wait} << 58) | (std::uint64_t{foreign} << 59);
    op.object = object;
    op.old_object = old_object;
    return op;
  }
};
static_assert(sizeof(Op) == 16);

struct Metadata {
  std::string json;  // the header's metadata, verbatim
  std::string program;
  std::vector<std::string> args;
  std::uint64_t pid = 0, parent_pid = 0;
  std::optional<std::uint64_t> forked_from_stamp;
  std::uint64_t started_unix_ns = 0;
  std::string host, cpu_model, kernel;
  unsigned cores = 0;
};

// Computed by the reader in stamp order. Sizes are requested bytes.
struct Summary {
  std::uint64_t events = 0;  // malloc + calloc + realloc + free + aligned
  std::uint64_t by_kind[5] = {};  // indexed by Kind
  std::uint64_t failed = 0;
  std::uint64_t objects = 0;  // made (dense indices 0 .. objects-1)
  std::uint64_t frees_by_other_thread = 0;  // free or realloc of an object another thread made
  std::uint64_t frees_foreign = 0;          // of objects not in the trace (skipped by the replay)
  std::uint64_t peak_live_bytes = 0;        // requested bytes live at once, in stamp order
  std::uint64_t peak_live_objects = 0;
  std::uint64_t live_bytes_at_end = 0, live_objects_at_end = 0;
  std::uint64_t duration_ns = 0;            // first to last time mark (or end record)
  bool truncated = false;                   // no end record: a prefix
  std::uint64_t dropped_events = 0;         // from the end record
  std::uint64_t untracked_frees = 0;        // from the end record
  std::uint64_t file_bytes = 0;
};

// One event with its place in time, for the tools (info, distill): only read when asked
// (ReadOptions::events), in stamp order, a realloc once at its first stamp.
struct Event {
  std::uint64_t stamp = 0;
  std::uint64_t time_ns = 0;  // interpolated between the thread's time marks
  std::uint32_t thread = 0;
  Op op;                      // as the replay sees it (object ids dense)
  std::uint64_t made_stamp = 0;  // stamp at which op.object was made (allocating kinds), else 0
};

struct Trace {
  Metadata meta;
  std::vector<std::vector<Op>> threads;  // per recorded thread (dense index), in thread order
  std::uint64_t objects = 0;             // size of the replay's object table
  Summary summary;
  std::vector<Event> events;             // empty unless ReadOptions::events
};

}  // namespace alloclab::trace
