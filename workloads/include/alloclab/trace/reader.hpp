// alloclab/trace/reader.hpp — reads a trace file (TRACE_FORMAT.md) into a Trace, or says in one
// line why it cannot: "FILE: problem" ("... at byte N" where a place is known). Never crashes
// on any input and never reserves more than the bytes present justify (fuzzed:
// tests/fuzz/trace_reader_fuzz.cpp; tested: tests/trace/reader_test.cpp).
//
// What it decides where the format leaves room (the rules themselves are TRACE_FORMAT.md's):
//   - a torn record (a chunk or end record running past the end of the file) is the truncated
//     file's last write: dropped, the trace is truncated;
//   - a free or realloc of an object no earlier event made is foreign (Op::foreign, counted in
//     Summary::frees_foreign) when the trace is truncated, has dropped events, or names an id
//     below forked_from_stamp; otherwise the file is corrupt;
//   - a failed call may carry any size (a program's malloc(SIZE_MAX), an overflowing calloc):
//     sizes of 2^48 and more are clamped to Op::size_mask; on a call that succeeded they are
//     corrupt. Alignments: up to 2^47 on a success, 2^63 on a failure;
//   - a failed realloc frees nothing but names its object: old_object (and wait/foreign) as for
//     a successful one, object = no_object. Summary::frees_by_other_thread and frees_foreign
//     count the free and realloc ops with wait / foreign set;
//   - thread indices up to 2^20 - 1; the end record's thread count may exceed the threads seen
//     (a thread whose every event was dropped), not fall short;
//   - peak live bytes: in stamp order, a realloc frees its old object at its first stamp and
//     makes the new one at its second;
//   - event times: linear between the thread's time marks by stamp (a mark sits at the stamp
//     of the event after it); after a thread's last mark, towards the trace's end (the end
//     record's time, or the last mark) at the stamp past the last.
// Cost: the file is mapped, not copied; the result holds 16 bytes per event (Trace::threads),
// plus 48 per event with ReadOptions::events. While reading, about 20 more bytes per event.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "alloclab/trace/trace.hpp"

namespace alloclab::trace {

struct ReadOptions {
  bool events = false;  // also fill Trace::events (the tools; the replay does not need them)
};

// `name` is what error messages call the input (the path).
std::optional<Trace> parse_trace(const unsigned char* data, std::size_t size, const std::string& name,
                                 std::string* error, ReadOptions options = {});
std::optional<Trace> read_trace(const std::string& path, std::string* error, ReadOptions options = {});

}  // namespace alloclab::trace

// IMPLEMENTATION: inline below this line (header-only, like the rest of workloads/).

#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>
#include <vector>

namespace alloclab::trace {
namespace reader_detail {

// How the reader is built (why it is shaped this way):
//  1. A framing pass walks the records, checks each chunk's checksum and the end record, and
//     notes where every chunk lies. A chunk or end record that runs past the end of the file is
//     the torn last write of a truncated trace and is dropped. Event counts are bounded by the
//     payload bytes (an event takes at least one byte), so the reservations made from them are
//     bounded by the bytes actually present, whatever a header claims.
//  2. A decoding pass turns each thread's chunks into Ops (16 bytes) and stamps (8 bytes), in
//     the thread's order, checking what one thread alone can break (kinds, reserved bits,
//     varints, stamps increasing, refs inside time). The object a free names is parked in the
//     Op's two 32-bit fields as a 64-bit stamp until step 3 knows its dense index.
//  3. A merging pass walks all threads together in stamp order (a heap of one cursor per
//     thread; a realloc is visited twice, at each of its stamps): it numbers objects densely as
//     they are made, resolves every free to its object, checks what needs the whole file (no
//     stamp twice, no double free, no free of an object never made) and computes the summary.
//     Objects made so far are a vector of creation stamps, sorted because they are appended in
//     stamp order, searched backwards from the end (most frees name a recent object) — no hash
//     of 64-bit keys.
// A problem found in step 3 is located by decoding its chunk again up to the event.

inline constexpr std::uint32_t max_threads = std::uint32_t{1} << 20;
inline constexpr std::uint64_t max_size = Op::size_mask;   // sizes above: corrupt (or clamped, failed calls)
inline constexpr unsigned max_alignment_log2 = 47;         // 128 TiB: past any address space

struct Failure {
  std::string message;  // "problem" or "problem at byte N", without the file name
};

[[noreturn]] inline void fail(std::string problem) { throw Failure{std::move(problem)}; }
[[noreturn]] inline void fail(std::string problem, std::size_t offset) {
  throw Failure{std::move(problem) + " at byte " + std::to_string(offset)};
}

// Unsigned LEB128 with the two ways to fail told apart: past the end of the bytes (a torn
// write) or longer than 64 bits (corrupt).
enum class VarintResult { ok, past_end, too_long };
inline VarintResult read_varint(const unsigned char*& p, const unsigned char* end, std::uint64_t& v) noexcept {
  if (p != end && *p < 0x80) {  // the common one-byte case
    v = *p++;
    return VarintResult::ok;
  }
  std::uint64_t value = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (p == end) return VarintResult::past_end;
    if (shift > 63) return VarintResult::too_long;
    const unsigned char byte = *p++;
    const std::uint64_t bits = byte & 0x7F;
    if (shift == 63 && bits > 1) return VarintResult::too_long;
    value |= bits << shift;
    if ((byte & 0x80) == 0) {
      v = value;
      return VarintResult::ok;
    }
  }
}

struct ChunkInfo {
  std::size_t offset = 0;          // of the 'C'
  std::size_t payload_offset = 0;
  std::size_t payload_bytes = 0;
  std::uint64_t base_stamp = 0;
  std::uint64_t event_count = 0;
  std::uint32_t thread = 0;
};

struct EndRecord {
  std::uint64_t total_events = 0, chunks = 0, threads = 0, untracked_frees = 0, end_ns = 0, dropped_events = 0;
};

struct TimeMark {
  std::uint64_t at = 0;  // decoding: index of the thread's next op; then: the stamp it is placed at
  std::uint64_t ns = 0;
};

struct ThreadState {
  std::uint32_t thread = 0;                  // the recorded thread index
  std::vector<Op> ops;
  std::vector<std::uint64_t> stamps;         // of each op (a realloc's first stamp)
  std::vector<std::uint64_t> realloc_second; // second stamps of the successful reallocs, in order
  std::vector<TimeMark> marks;
  std::vector<std::pair<std::uint64_t, std::size_t>> chunk_starts;  // (first op index, chunk)
  std::uint64_t last_stamp = 0;              // the largest stamp so far (a realloc's second)
  bool has_last = false;
  std::uint64_t expected = 0;                // events of its chunks (reservation)
};

inline std::string hex_byte(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", v & 0xFFu);
  return buf;
}

inline const char* kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::malloc: return "malloc";
    case Kind::calloc: return "calloc";
    case Kind::realloc: return "realloc";
    case Kind::free: return "free";
    case Kind::aligned: return "aligned";
    case Kind::time_mark: return "time mark";
  }
  return "?";
}

// ---- header ---------------------------------------------------------------------------------

inline void read_metadata(const unsigned char* begin, std::size_t n, std::size_t offset, Metadata& meta) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(begin, begin + n);
  } catch (const nlohmann::json::parse_error& e) {
    fail("metadata is not valid JSON", offset + (e.byte > 0 ? e.byte - 1 : 0));
  } catch (const nlohmann::json::exception&) {
    fail("metadata is not valid JSON", offset);
  }
  if (!j.is_object()) fail("metadata is not a JSON object", offset);
  meta.json.assign(reinterpret_cast<const char*>(begin), n);
  auto wrong = [&](const char* key, const char* what) {
    fail(std::string("metadata key '") + key + "' is not " + what, offset);
  };
  auto get_string = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_string()) wrong(key, "a string");
    out = it->get<std::string>();
  };
  auto get_uint = [&](const char* key) -> std::optional<std::uint64_t> {
    auto it = j.find(key);
    if (it == j.end()) return std::nullopt;
    if (!it->is_number_unsigned()) wrong(key, "a whole number");
    return it->get<std::uint64_t>();
  };
  get_string("program", meta.program);
  get_string("host", meta.host);
  get_string("cpu_model", meta.cpu_model);
  get_string("kernel", meta.kernel);
  if (auto it = j.find("args"); it != j.end()) {
    if (!it->is_array()) wrong("args", "a list of strings");
    meta.args.clear();
    for (const auto& a : *it) {
      if (!a.is_string()) wrong("args", "a list of strings");
      meta.args.push_back(a.get<std::string>());
    }
  }
  if (auto v = get_uint("pid")) meta.pid = *v;
  if (auto v = get_uint("parent_pid")) meta.parent_pid = *v;
  if (auto v = get_uint("forked_from_stamp")) meta.forked_from_stamp = *v;
  if (auto v = get_uint("started_unix_ns")) meta.started_unix_ns = *v;
  if (auto v = get_uint("cores")) {
    if (*v > UINT32_MAX) wrong("cores", "a core count");
    meta.cores = static_cast<unsigned>(*v);
  }
}

// Returns the offset of the first record.
inline std::size_t read_header(const unsigned char* data, std::size_t size, Metadata& meta) {
  if (size == 0) fail("empty file, not an alloclab trace");
  if (size < sizeof magic) {
    if (std::memcmp(data, magic, size) == 0) fail("the file ends inside the header", size);
    fail("not an alloclab trace (no ALCTRACE magic)");
  }
  if (std::memcmp(data, magic, sizeof magic) != 0) fail("not an alloclab trace (no ALCTRACE magic)");
  if (size < sizeof magic + 4) fail("the file ends inside the header", size);
  const unsigned version = data[8] | (unsigned{data[9]} << 8);
  if (version > format_version) {
    fail("format version " + std::to_string(version) + "; this reader reads " + std::to_string(format_version));
  }
  if (version == 0) fail("format version 0 does not exist", 8);
  const unsigned flags = data[10] | (unsigned{data[11]} << 8);
  if (flags != 0) fail("header flags " + std::to_string(flags) + " are not zero (version 1 has none)", 10);
  const unsigned char* p = data + 12;
  const unsigned char* end = data + size;
  std::uint64_t meta_bytes = 0;
  switch (read_varint(p, end, meta_bytes)) {
    case VarintResult::ok: break;
    case VarintResult::past_end: fail("the file ends inside the header", size);
    case VarintResult::too_long: fail("metadata length is longer than 64 bits", 12);
  }
  const std::size_t meta_offset = static_cast<std::size_t>(p - data);
  if (meta_bytes > size - meta_offset) {
    fail("metadata of " + std::to_string(meta_bytes) + " bytes runs past the end of the file", meta_offset);
  }
  read_metadata(p, static_cast<std::size_t>(meta_bytes), meta_offset, meta);
  return meta_offset + static_cast<std::size_t>(meta_bytes);
}

// ---- step 1: framing ------------------------------------------------------------------------

struct Framing {
  std::vector<ChunkInfo> chunks;
  std::optional<EndRecord> end;
  bool torn = false;  // the last record ran past the end of the file and was dropped
  std::uint32_t threads = 0;  // highest thread index + 1
};

inline Framing read_framing(const unsigned char* data, std::size_t size, std::size_t pos) {
  Framing f;
  const unsigned char* const end = data + size;
  while (pos < size) {
    const std::size_t record = pos;
    const unsigned char tag = data[pos];
    const unsigned char* p = data + pos + 1;
    auto field = [&](std::uint64_t& v, const char* what) -> bool {  // false: torn
      const std::size_t at = static_cast<std::size_t>(p - data);
      switch (read_varint(p, end, v)) {
        case VarintResult::ok: return true;
        case VarintResult::past_end: return false;
        case VarintResult::too_long: fail(std::string(what) + " is longer than 64 bits", at);
      }
      return false;
    };
    if (tag == chunk_tag) {
      ChunkInfo c;
      std::uint64_t thread = 0, payload = 0;
      if (!field(thread, "chunk thread") || !field(c.base_stamp, "chunk base stamp") ||
          !field(c.event_count, "chunk event count") || !field(payload, "chunk payload length") || end - p < 4) {
        f.torn = true;
        break;
      }
      const std::uint32_t sum = get_u32le(p);
      p += 4;
      if (payload > static_cast<std::uint64_t>(end - p)) {
        f.torn = true;
        break;
      }
      if (thread >= max_threads) {
        fail("thread index " + std::to_string(thread) + " is out of range (at most " + std::to_string(max_threads) +
                 " threads)",
             record);
      }
      if (c.event_count > payload) {
        fail("chunk of " + std::to_string(payload) + " payload bytes claims " + std::to_string(c.event_count) +
                 " events",
             record);
      }
      c.offset = record;
      c.thread = static_cast<std::uint32_t>(thread);
      c.payload_offset = static_cast<std::size_t>(p - data);
      c.payload_bytes = static_cast<std::size_t>(payload);
      if (checksum(p, c.payload_bytes) != sum) fail("chunk checksum mismatch", record);
      f.threads = std::max(f.threads, c.thread + 1);
      f.chunks.push_back(c);
      pos = c.payload_offset + c.payload_bytes;
    } else if (tag == end_tag) {
      EndRecord e;
      if (!field(e.total_events, "end event count") || !field(e.chunks, "end chunk count") ||
          !field(e.threads, "end thread count") || !field(e.untracked_frees, "end untracked frees") ||
          !field(e.end_ns, "end time") || !field(e.dropped_events, "end dropped events") || end - p < 4) {
        f.torn = true;
        break;
      }
      const std::size_t sum_at = static_cast<std::size_t>(p - data);
      if (checksum(data + record, sum_at - record) != get_u32le(p)) fail("end record checksum mismatch", record);
      pos = sum_at + 4;
      if (pos != size) fail(std::to_string(size - pos) + " bytes after the end record", pos);
      f.end = e;
    } else {
      fail("unknown record tag " + hex_byte(tag) + " (expected 'C' or 'E')", record);
    }
  }
  return f;
}

// ---- step 2: decoding -----------------------------------------------------------------------

inline void decode_chunk(const unsigned char* data, const ChunkInfo& c, std::size_t chunk_index, ThreadState& t) {
  const unsigned char* p = data + c.payload_offset;
  const unsigned char* const end = p + c.payload_bytes;
  t.chunk_starts.emplace_back(t.ops.size(), chunk_index);
  std::uint64_t previous = c.base_stamp;
  std::uint64_t count = 0;
  std::size_t at = 0;
  auto varint = [&](std::uint64_t& v) {
    switch (read_varint(p, end, v)) {
      case VarintResult::ok: return;
      case VarintResult::past_end: fail("an event runs past the end of its chunk", at);
      case VarintResult::too_long: fail("a varint longer than 64 bits", at);
    }
  };
  while (p < end) {
    at = static_cast<std::size_t>(p - data);
    const unsigned char b0 = *p++;
    if (b0 & reserved_bits) fail("reserved bits set in event byte " + hex_byte(b0), at);
    const unsigned k = b0 & kind_mask;
    if (k == static_cast<unsigned>(Kind::time_mark)) {
      if (b0 != k) fail("a time mark with the next_stamp or failed bit set", at);
      std::uint64_t ns = 0;
      varint(ns);
      t.marks.push_back({t.ops.size(), ns});
      continue;
    }
    if (k > static_cast<unsigned>(Kind::time_mark)) fail("unknown event kind " + std::to_string(k), at);
    const Kind kind = static_cast<Kind>(k);
    if (count == c.event_count) {
      fail("more events than the chunk's count of " + std::to_string(c.event_count), at);
    }
    std::uint64_t delta = 1;
    if (!(b0 & next_stamp_bit)) {
      varint(delta);
      if (delta == 0 && count != 0) fail("stamp does not increase (delta 0 after the chunk's first event)", at);
    }
    std::uint64_t stamp = 0;
    if (__builtin_add_overflow(previous, delta, &stamp)) fail("stamp past 2^64", at);
    if (t.has_last && stamp <= t.last_stamp) {
      fail("stamp " + std::to_string(stamp) + " does not increase on thread " + std::to_string(c.thread) +
               " (previous " + std::to_string(t.last_stamp) + ")",
           at);
    }
    const bool failed = b0 & failed_bit;
    std::uint64_t size = 0, ref = 0, new_delta = 0;
    unsigned align_log2 = 0;
    switch (kind) {
      case Kind::malloc:
      case Kind::calloc:
        varint(size);
        break;
      case Kind::aligned:
        if (p == end) fail("an event runs past the end of its chunk", at);
        align_log2 = *p++;
        varint(size);
        if (align_log2 > (failed ? 63u : max_alignment_log2)) {
          fail("alignment 2^" + std::to_string(align_log2) + " (at most 2^" + std::to_string(max_alignment_log2) + ")",
               at);
        }
        break;
      case Kind::free:
        if (failed) fail("a free with the failed bit set", at);
        varint(ref);
        break;
      case Kind::realloc:
        varint(ref);
        varint(size);
        if (!failed) {
          varint(new_delta);
          if (new_delta == 0) fail("realloc with new_delta 0 (its second stamp must follow its first)", at);
        }
        break;
      case Kind::time_mark:
        break;
    }
    if (size > max_size) {
      // A failed call may ask for anything (malloc(SIZE_MAX) is a classic test); it is kept,
      // clamped to the largest size an Op holds, which fails again when replayed. A size this
      // large that succeeded cannot be real.
      if (!failed) fail("size " + std::to_string(size) + " is 256 TiB or more", at);
      size = max_size;
    }
    std::uint64_t target = 0;
    if (kind == Kind::free || kind == Kind::realloc) {
      if (ref == 0) fail("ref 0 (an event cannot free itself)", at);
      if (ref > stamp) fail("ref " + std::to_string(ref) + " past the start of time (stamp " + std::to_string(stamp) + ")", at);
      target = stamp - ref;
    }
    std::uint64_t last = stamp;
    if (kind == Kind::realloc && !failed) {
      if (__builtin_add_overflow(stamp, new_delta, &last)) fail("stamp past 2^64", at);
      t.realloc_second.push_back(last);
    }
    Op op = Op::make(kind, size, failed, align_log2, false, false, static_cast<std::uint32_t>(target),
                     static_cast<std::uint32_t>(target >> 32));
    t.ops.push_back(op);
    t.stamps.push_back(stamp);
    t.last_stamp = last;
    t.has_last = true;
    previous = last;  // a realloc's second stamp: the next event's delta counts from it
    ++count;
  }
  if (count != c.event_count) {
    fail("chunk claims " + std::to_string(c.event_count) + " events and holds " + std::to_string(count), c.offset);
  }
}

// The byte offset of op `index` of a thread (for problems found while merging): its chunk
// decoded again, without checks (it passed them once).
inline std::size_t locate(const unsigned char* data, const Framing& f, const ThreadState& t, std::size_t index) {
  auto it = std::upper_bound(t.chunk_starts.begin(), t.chunk_starts.end(), std::make_pair(std::uint64_t{index}, SIZE_MAX));
  if (it == t.chunk_starts.begin()) return 0;
  --it;
  const ChunkInfo& c = f.chunks[it->second];
  std::uint64_t skip = index - it->first;
  const unsigned char* p = data + c.payload_offset;
  const unsigned char* const end = p + c.payload_bytes;
  std::uint64_t v = 0;
  while (p < end) {
    const unsigned char* at = p;
    const unsigned char b0 = *p++;
    const Kind kind = static_cast<Kind>(b0 & kind_mask);
    if (kind == Kind::time_mark) {
      read_varint(p, end, v);
      continue;
    }
    if (skip == 0) return static_cast<std::size_t>(at - data);
    --skip;
    if (!(b0 & next_stamp_bit)) read_varint(p, end, v);
    switch (kind) {
      case Kind::aligned:
        ++p;
        [[fallthrough]];
      case Kind::malloc:
      case Kind::calloc:
      case Kind::free:
        read_varint(p, end, v);
        break;
      case Kind::realloc:
        read_varint(p, end, v);
        read_varint(p, end, v);
        if (!(b0 & failed_bit)) read_varint(p, end, v);
        break;
      case Kind::time_mark:
        break;
    }
  }
  return c.offset;
}

// ---- step 3: merging ------------------------------------------------------------------------

// Time of a stamp on one thread: linear between the thread's marks around it; past its last
// mark, towards the end of the trace.
struct Clock {
  const std::vector<TimeMark>* marks = nullptr;
  std::size_t next = 0;  // first mark placed after the stamps seen so far

  std::uint64_t at(std::uint64_t stamp, std::uint64_t end_stamp, std::uint64_t end_ns) {
    const auto& m = *marks;
    while (next < m.size() && m[next].at <= stamp) ++next;
    if (m.empty()) return 0;
    if (next == 0) return m[0].ns;
    const TimeMark& a = m[next - 1];
    std::uint64_t to_stamp = end_stamp, to_ns = end_ns;
    if (next < m.size()) {
      to_stamp = m[next].at;
      to_ns = m[next].ns;
    }
    if (to_ns <= a.ns || to_stamp <= a.at) return a.ns;
    __extension__ using Wide = unsigned __int128;  // ns × stamps may pass 64 bits
    const Wide span = to_ns - a.ns;
    return a.ns + static_cast<std::uint64_t>(span * (stamp - a.at) / (to_stamp - a.at));
  }
};

class Merger {
 public:
  Merger(const unsigned char* data, const Framing& f, std::vector<ThreadState>& threads, const Metadata& meta,
         bool truncated, std::uint64_t dropped, std::uint64_t objects_hint, std::uint64_t first_stamp,
         std::uint64_t last_stamp, std::uint64_t stamps, bool want_events, Trace& out)
      : data_(data), framing_(f), threads_(threads), meta_(meta), out_(out), want_events_(want_events) {
    foreign_allowed_ = truncated || dropped > 0;
    objects_.reserve(objects_hint);
    // Stamps are a process-wide counter, so a trace's stamps fill their range densely (a fork
    // child's start at the fork, a truncated trace has gaps): a table indexed by stamp maps an
    // object's id to its dense index in one access, 4 bytes a stamp. A range much wider than the
    // stamps present (a lying or fuzzed file) falls back to searching the creation stamps.
    first_stamp_ = first_stamp;
    if (stamps > 0 && last_stamp - first_stamp < 2 * stamps + 4096) {
      by_stamp_.assign(last_stamp - first_stamp + 1, no_object);
    } else {
      made_.reserve(objects_hint);
    }
  }

  void run(std::uint64_t total_events, std::uint64_t end_stamp, std::uint64_t end_ns) {
    end_stamp_ = end_stamp;
    end_ns_ = end_ns;
    if (want_events_) out_.events.reserve(total_events);
    cursors_.resize(threads_.size());
    clocks_.resize(threads_.size());
    for (std::size_t t = 0; t < threads_.size(); ++t) {
      clocks_[t].marks = &threads_[t].marks;
      if (!threads_[t].ops.empty()) push({threads_[t].stamps[0], static_cast<std::uint32_t>(t)});
    }
    while (!heap_.empty()) {
      const Entry top = heap_.front();
      const std::uint32_t t = top.state;
      Cursor& c = cursors_[t];
      if (any_ && top.stamp == last_stamp_) {
        fail("stamp " + std::to_string(top.stamp) + " appears twice in the file (threads " +
                 std::to_string(threads_[last_thread_].thread) + " and " + std::to_string(threads_[t].thread) + ")",
             locate(data_, framing_, threads_[t], c.index));
      }
      any_ = true;
      last_stamp_ = top.stamp;
      last_thread_ = t;
      ThreadState& ts = threads_[t];
      bool more_of_this_op = false;
      if (c.second) {
        make(top.stamp, ts.ops[c.index], t, /*realloc_new=*/true);
        if (want_events_) {
          out_.events[c.pending_event].op.object = ts.ops[c.index].object;
        }
        c.second = false;
        ++c.realloc_index;
      } else {
        more_of_this_op = first_stamp(top.stamp, t, c, ts);
      }
      if (more_of_this_op) {
        c.second = true;
        replace_top({ts.realloc_second[c.realloc_index], t});
      } else if (++c.index < ts.ops.size()) {
        replace_top({ts.stamps[c.index], t});
      } else {
        pop();
      }
    }
  }

  std::uint64_t objects() const { return objects_.size(); }

 private:
  struct Entry {
    std::uint64_t stamp;
    std::uint32_t state;  // index into threads_ (threads in order of their recorded index)
  };
  struct Cursor {
    std::size_t index = 0;
    std::size_t realloc_index = 0;
    std::size_t pending_event = 0;
    bool second = false;  // at the current realloc's second stamp
  };

  // A binary min-heap on stamps (std::priority_queue has no replace-top). Equal stamps (a
  // corrupt file) come out in thread order, so the error names the same pair every time.
  static bool before(const Entry& a, const Entry& b) noexcept {
    return a.stamp < b.stamp || (a.stamp == b.stamp && a.state < b.state);
  }
  void push(Entry e) {
    heap_.push_back(e);
    std::size_t i = heap_.size() - 1;
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!before(heap_[i], heap_[parent])) break;
      std::swap(heap_[parent], heap_[i]);
      i = parent;
    }
  }
  void replace_top(Entry e) {
    heap_[0] = e;
    sift_down();
  }
  void pop() {
    heap_[0] = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down();
  }
  void sift_down() {
    const std::size_t n = heap_.size();
    std::size_t i = 0;
    const Entry e = heap_[0];
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
      if (!before(heap_[child], e)) break;
      heap_[i] = heap_[child];
      i = child;
    }
    heap_[i] = e;
  }

  // The dense index of the object made at `stamp`, or no_object. Searched backwards from the
  // newest object, doubling the step: a free of the k-th newest object costs O(log k).
  std::uint32_t find(std::uint64_t stamp) const {
    if (!by_stamp_.empty()) {
      return stamp >= first_stamp_ && stamp - first_stamp_ < by_stamp_.size() ? by_stamp_[stamp - first_stamp_]
                                                                               : no_object;
    }
    std::size_t hi = made_.size();  // made_[hi..] > stamp
    std::size_t step = 1;
    while (hi > 0) {
      const std::size_t probe = hi >= step ? hi - step : 0;
      if (made_[probe] <= stamp) {
        // made_[probe] <= stamp < made_[hi]: binary search in [probe, hi)
        auto it = std::upper_bound(made_.begin() + static_cast<std::ptrdiff_t>(probe),
                                   made_.begin() + static_cast<std::ptrdiff_t>(hi), stamp);
        const std::size_t i = static_cast<std::size_t>(it - made_.begin()) - 1;
        return made_[i] == stamp ? static_cast<std::uint32_t>(i) : no_object;
      }
      hi = probe;
      step *= 2;
    }
    return no_object;
  }

  void make(std::uint64_t stamp, Op& op, std::uint32_t thread, bool realloc_new) {
    if (objects_.size() >= no_object) fail("more than 2^32 - 1 objects");
    const auto id = static_cast<std::uint32_t>(objects_.size());
    if (by_stamp_.empty()) {
      made_.push_back(stamp);
    } else {
      by_stamp_[stamp - first_stamp_] = id;
    }
    objects_.push_back({op.size(), thread});
    op.object = id;
    Summary& s = out_.summary;
    live_bytes_ += op.size();
    ++live_objects_;
    s.peak_live_bytes = std::max(s.peak_live_bytes, live_bytes_);
    s.peak_live_objects = std::max(s.peak_live_objects, live_objects_);
    if (want_events_ && realloc_new) {
      out_.events[cursors_[thread].pending_event].made_stamp = stamp;
    }
  }

  // Resolves the object a free or realloc names; frees it unless `keep` (a failed realloc).
  // Returns its dense index (no_object: foreign) and sets wait/foreign on the op.
  std::uint32_t release(std::uint64_t target, Op& op, std::uint32_t thread, bool keep, std::size_t index) {
    const std::uint32_t id = find(target);
    Summary& s = out_.summary;
    if (id == no_object) {
      const bool forked = meta_.forked_from_stamp && target < *meta_.forked_from_stamp;
      if (!foreign_allowed_ && !forked) {
        fail(std::string(kind_name(op.kind())) + " of object " + std::to_string(target) +
                 ", which no earlier event made (the trace is complete, so it cannot be foreign)",
             locate(data_, framing_, threads_[thread], index));
      }
      op.bits |= std::uint64_t{1} << 59;
      ++s.frees_foreign;
      return no_object;
    }
    Object& o = objects_[id];
    if (o.size & freed_bit) {
      fail(std::string(op.kind() == Kind::realloc ? "realloc" : "double free") + " of object " + std::to_string(target) +
               ", already freed",
           locate(data_, framing_, threads_[thread], index));
    }
    if (o.owner != thread) {
      op.bits |= std::uint64_t{1} << 58;
      ++s.frees_by_other_thread;
    }
    if (!keep) {
      live_bytes_ -= o.size;
      --live_objects_;
      o.size |= freed_bit;
    }
    return id;
  }

  // Handles an op at its first stamp; true when a realloc's second stamp is still to come.
  bool first_stamp(std::uint64_t stamp, std::uint32_t t, Cursor& c, ThreadState& ts) {
    Op& op = ts.ops[c.index];
    const Kind kind = op.kind();
    const bool failed = op.failed();
    Summary& s = out_.summary;
    ++s.events;
    ++s.by_kind[static_cast<unsigned>(kind)];
    if (failed) ++s.failed;
    bool second = false;
    std::uint64_t made_stamp = 0;
    switch (kind) {
      case Kind::malloc:
      case Kind::calloc:
      case Kind::aligned:
        if (failed) {
          op.object = no_object;
          op.old_object = no_object;
        } else {
          op.old_object = no_object;
          make(stamp, op, t, false);
          made_stamp = stamp;
        }
        break;
      case Kind::free: {
        const std::uint64_t target = op.object | (std::uint64_t{op.old_object} << 32);
        op.object = release(target, op, t, false, c.index);
        op.old_object = no_object;
        break;
      }
      case Kind::realloc: {
        const std::uint64_t target = op.object | (std::uint64_t{op.old_object} << 32);
        op.old_object = release(target, op, t, failed, c.index);
        op.object = no_object;
        second = !failed;
        break;
      }
      case Kind::time_mark:
        break;
    }
    if (want_events_) {
      c.pending_event = out_.events.size();
      Event e;
      e.stamp = stamp;
      e.time_ns = clocks_[t].at(stamp, end_stamp_, end_ns_);
      e.thread = threads_[t].thread;
      e.op = op;
      e.made_stamp = made_stamp;
      out_.events.push_back(e);
    }
    return second;
  }

 public:
  std::uint64_t live_bytes_ = 0, live_objects_ = 0;

 private:
  static constexpr std::uint64_t freed_bit = std::uint64_t{1} << 63;
  const unsigned char* data_;
  const Framing& framing_;
  std::vector<ThreadState>& threads_;
  const Metadata& meta_;
  Trace& out_;
  bool want_events_;
  bool foreign_allowed_ = false;
  struct Object {
    std::uint64_t size;   // requested; bit 63: freed
    std::uint32_t owner;  // the thread (state index) that made it
  };
  std::vector<Object> objects_;          // by dense index
  std::vector<std::uint32_t> by_stamp_;  // dense index by stamp - first_stamp_, or empty
  std::uint64_t first_stamp_ = 0;
  std::vector<std::uint64_t> made_;      // without by_stamp_: creation stamp by dense index
  std::vector<Entry> heap_;
  std::vector<Cursor> cursors_;
  std::vector<Clock> clocks_;
  std::uint64_t end_stamp_ = 0, end_ns_ = 0;
  std::uint64_t last_stamp_ = 0;
  std::uint32_t last_thread_ = 0;
  bool any_ = false;
};

inline std::uint64_t saturated_next(std::uint64_t stamp) noexcept { return stamp == UINT64_MAX ? stamp : stamp + 1; }

inline Trace parse(const unsigned char* data, std::size_t size, ReadOptions options) {
  Trace trace;
  const std::size_t first_record = read_header(data, size, trace.meta);
  const Framing f = read_framing(data, size, first_record);
  Summary& s = trace.summary;
  s.file_bytes = size;
  s.truncated = !f.end.has_value();
  if (f.end) {
    s.dropped_events = f.end->dropped_events;
    s.untracked_frees = f.end->untracked_frees;
  }

  // One state per thread that has chunks (indices may be sparse: a lying file must not get a
  // state per index), in the order of their recorded index. Each reserves its exact size:
  // event counts were checked against payload bytes.
  std::vector<std::uint32_t> slot(f.threads, UINT32_MAX);
  for (const ChunkInfo& c : f.chunks) slot[c.thread] = 0;
  std::vector<ThreadState> threads;
  for (std::uint32_t i = 0; i < f.threads; ++i) {
    if (slot[i] == 0) {
      slot[i] = static_cast<std::uint32_t>(threads.size());
      threads.emplace_back().thread = i;
    }
  }
  std::uint64_t total = 0;
  for (const ChunkInfo& c : f.chunks) {
    threads[slot[c.thread]].expected += c.event_count;
    total += c.event_count;
  }
  if (f.end) {
    const EndRecord& e = *f.end;
    if (e.total_events != total) {
      fail("end record counts " + std::to_string(e.total_events) + " events, the chunks hold " + std::to_string(total));
    }
    if (e.chunks != f.chunks.size()) {
      fail("end record counts " + std::to_string(e.chunks) + " chunks, the file holds " + std::to_string(f.chunks.size()));
    }
    if (e.threads < f.threads) {
      fail("end record counts " + std::to_string(e.threads) + " threads, the chunks name thread " +
           std::to_string(f.threads - 1));
    }
  }
  for (ThreadState& t : threads) {
    t.ops.reserve(t.expected);
    t.stamps.reserve(t.expected);
  }
  for (std::size_t i = 0; i < f.chunks.size(); ++i) decode_chunk(data, f.chunks[i], i, threads[slot[f.chunks[i].thread]]);

  // Time marks: placed at the stamp of the op that follows them (after a thread's last op: just
  // past its last stamp). Duration: first mark to the last mark or the end record.
  std::uint64_t first_ns = UINT64_MAX, last_ns = 0, objects_hint = 0;
  std::uint64_t first_stamp = UINT64_MAX, max_stamp = 0, stamps = 0;
  for (ThreadState& t : threads) {
    for (TimeMark& m : t.marks) {
      m.at = m.at < t.stamps.size() ? t.stamps[m.at] : saturated_next(t.last_stamp);
      first_ns = std::min(first_ns, m.ns);
      last_ns = std::max(last_ns, m.ns);
    }
    if (t.has_last) {
      max_stamp = std::max(max_stamp, t.last_stamp);
      first_stamp = std::min(first_stamp, t.stamps.front());
    }
    stamps += t.stamps.size() + t.realloc_second.size();
    for (const Op& op : t.ops) objects_hint += !op.failed() && op.kind() != Kind::free;
  }
  if (f.end) last_ns = std::max(last_ns, f.end->end_ns);
  if (first_ns == UINT64_MAX) first_ns = 0;
  s.duration_ns = last_ns > first_ns ? last_ns - first_ns : 0;

  Merger merger(data, f, threads, trace.meta, s.truncated, s.dropped_events, objects_hint, first_stamp,
                max_stamp, stamps, options.events, trace);
  merger.run(total, saturated_next(max_stamp), last_ns);
  trace.objects = merger.objects();
  s.objects = trace.objects;
  s.live_bytes_at_end = merger.live_bytes_;
  s.live_objects_at_end = merger.live_objects_;

  trace.threads.resize(f.threads);
  for (ThreadState& t : threads) {
    trace.threads[t.thread] = std::move(t.ops);
    t = ThreadState{};  // the stamps go now, before the next thread's ops are moved
  }
  return trace;
}

}  // namespace reader_detail

inline std::optional<Trace> parse_trace(const unsigned char* data, std::size_t size, const std::string& name,
                                        std::string* error, ReadOptions options) {
  try {
    return reader_detail::parse(data, size, options);
  } catch (const reader_detail::Failure& f) {
    if (error) *error = name + ": " + f.message;
  } catch (const std::bad_alloc&) {
    if (error) *error = name + ": out of memory reading the trace";
  } catch (const std::length_error&) {
    if (error) *error = name + ": out of memory reading the trace";
  }
  return std::nullopt;
}

inline std::optional<Trace> read_trace(const std::string& path, std::string* error, ReadOptions options) {
  auto problem = [&](const std::string& what) -> std::optional<Trace> {
    if (error) *error = path + ": " + what;
    return std::nullopt;
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return problem(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return problem(std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return problem("is a directory, not a trace file");
  }
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    // Mapped, not copied: a trace may be gigabytes, and the reader passes over it once or twice.
    const auto size = static_cast<std::size_t>(st.st_size);
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    ::close(fd);
    if (map == MAP_FAILED) return problem(std::string("cannot map: ") + std::strerror(e));
    ::madvise(map, size, MADV_SEQUENTIAL);
    auto trace = parse_trace(static_cast<const unsigned char*>(map), size, path, error, options);
    ::munmap(map, size);
    return trace;
  }
  // A pipe, a character device or an empty file: read it whole.
  std::vector<unsigned char> bytes;
  unsigned char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return problem(std::strerror(e));
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
  }
  ::close(fd);
  return parse_trace(bytes.data(), bytes.size(), path, error, options);
}

}  // namespace alloclab::trace
