// tests/fuzz/trace_reader_fuzz.cpp — libFuzzer target: the trace reader
// (workloads/include/alloclab/trace/reader.hpp) on arbitrary bytes.
//
// Input: the bytes of a would-be trace file, read twice — without and with ReadOptions::events —
// and then again with every chunk's and the end record's checksum made right (a mutated payload
// almost never keeps its checksum, so without this the events past the framing would go
// unfuzzed).
// The reader must never crash, hang, leak or allocate beyond what the bytes justify (ASan and
// libFuzzer's -rss_limit_mb / -malloc_limit_mb catch those), and what it returns must be
// consistent. Checked on every input:
//   - both reads agree: both refuse with the same error, or both return the same ops;
//   - a refusal is one line "fuzz.trace: ...";
//   - an accepted trace keeps the Trace contract: every op's kind is an event kind; object ids
//     are below Trace::objects; a failed op makes no object; wait and foreign never together,
//     and a foreign op frees no object; each object is made exactly once and freed at most once;
//     the summary counts equal the ops (events, by kind, failed, objects, foreign frees); live
//     at the end never above the peak; the events are the ops in strictly increasing stamps,
//     each thread's in its own order, with made_stamp set exactly for ops that make an object.
// A violation prints one line naming the rule and aborts (libFuzzer saves the input).
// Seeds: corpus/trace_reader/, written by tests/trace/make_traces.cpp (see README.md).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "alloclab/trace/reader.hpp"

namespace {

using namespace alloclab::trace;

[[noreturn]] void violated(const char* rule, std::uint64_t a = 0, std::uint64_t b = 0) {
  std::fprintf(stderr, "alloclab trace_reader_fuzz: INVARIANT VIOLATED: %s (%llu, %llu)\n", rule,
               static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
  std::abort();
}
#define CHECK(cond, ...) \
  do {                   \
    if (!(cond)) violated(#cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)

bool makes(const Op& op) {
  if (op.failed()) return false;
  return op.kind() == Kind::malloc || op.kind() == Kind::calloc || op.kind() == Kind::aligned ||
         op.kind() == Kind::realloc;
}

void check_trace(const Trace& t) {
  const Summary& s = t.summary;
  CHECK(s.objects == t.objects, s.objects, t.objects);
  CHECK(t.objects < no_object, t.objects);
  std::vector<std::uint8_t> made(t.objects, 0), freed(t.objects, 0);
  std::uint64_t events = 0, by_kind[5] = {}, failed = 0, foreign = 0;
  for (const auto& ops : t.threads) {
    for (const Op& op : ops) {
      ++events;
      const auto k = static_cast<unsigned>(op.kind());
      CHECK(k < 5, k);
      ++by_kind[k];
      failed += op.failed();
      CHECK(!(op.wait() && op.foreign()));
      CHECK(op.kind() == Kind::aligned || op.alignment_log2() == 0, op.alignment_log2());
      if (op.foreign()) {
        ++foreign;
        CHECK(op.kind() == Kind::free || op.kind() == Kind::realloc, k);
      }
      if (makes(op)) {
        CHECK(op.object < t.objects, op.object, t.objects);
        CHECK(!made[op.object], op.object);
        made[op.object] = 1;
      } else if (op.kind() != Kind::free) {
        CHECK(op.object == no_object, op.object);
      }
      const bool frees_something = (op.kind() == Kind::free || (op.kind() == Kind::realloc && !op.failed()));
      const std::uint32_t victim = op.kind() == Kind::free ? op.object : op.old_object;
      if (op.kind() == Kind::free || op.kind() == Kind::realloc) {
        if (op.foreign()) {
          CHECK(victim == no_object, victim);
        } else {
          CHECK(victim < t.objects, victim, t.objects);
          if (frees_something) {
            CHECK(!freed[victim], victim);
            freed[victim] = 1;
          }
        }
      } else {
        CHECK(op.old_object == no_object, op.old_object);
      }
    }
  }
  for (std::uint64_t i = 0; i < t.objects; ++i) CHECK(made[i], i);
  CHECK(events == s.events, events, s.events);
  for (unsigned k = 0; k < 5; ++k) CHECK(by_kind[k] == s.by_kind[k], by_kind[k], s.by_kind[k]);
  CHECK(failed == s.failed, failed, s.failed);
  CHECK(foreign == s.frees_foreign, foreign, s.frees_foreign);
  CHECK(s.live_bytes_at_end <= s.peak_live_bytes, s.live_bytes_at_end, s.peak_live_bytes);
  CHECK(s.live_objects_at_end <= s.peak_live_objects, s.live_objects_at_end, s.peak_live_objects);
  CHECK(s.peak_live_objects <= s.objects, s.peak_live_objects, s.objects);
  std::uint64_t live = 0;
  for (std::uint64_t i = 0; i < t.objects; ++i) live += !freed[i];
  CHECK(live == s.live_objects_at_end, live, s.live_objects_at_end);
}

void check_events(const Trace& t) {
  CHECK(t.events.size() == t.summary.events, t.events.size(), t.summary.events);
  std::vector<std::size_t> next(t.threads.size(), 0);
  for (std::size_t i = 0; i < t.events.size(); ++i) {
    const Event& e = t.events[i];
    if (i > 0) CHECK(e.stamp > t.events[i - 1].stamp, e.stamp, t.events[i - 1].stamp);
    CHECK(e.thread < t.threads.size(), e.thread);
    CHECK(next[e.thread] < t.threads[e.thread].size(), e.thread);
    const Op& op = t.threads[e.thread][next[e.thread]++];
    CHECK(op.bits == e.op.bits && op.object == e.op.object && op.old_object == e.op.old_object, i);
    CHECK((e.made_stamp != 0 || e.stamp == 0) || !makes(op), i);
    if (!makes(op)) CHECK(e.made_stamp == 0, i, e.made_stamp);
  }
}

// Rewrites the checksums of the records that parse as records, the reader's way (format.hpp
// primitives); stops at the first thing that does not.
void reseal(std::vector<unsigned char>& b) {
  const unsigned char* const begin = b.data();
  const unsigned char* const end = begin + b.size();
  if (b.size() < 12) return;
  const unsigned char* p = begin + 12;
  const auto meta = get_varint(&p, end);
  if (!meta || *meta > static_cast<std::uint64_t>(end - p)) return;
  p += *meta;
  while (p < end) {
    const unsigned char* record = p;
    const unsigned char tag = *p++;
    if (tag == chunk_tag) {
      std::uint64_t fields[4];
      for (auto& f : fields) {
        const auto v = get_varint(&p, end);
        if (!v) return;
        f = *v;
      }
      if (end - p < 4 || fields[3] > static_cast<std::uint64_t>(end - p - 4)) return;
      unsigned char* sum = b.data() + (p - begin);
      put_u32le(sum, checksum(p + 4, fields[3]));
      p += 4 + fields[3];
    } else if (tag == end_tag) {
      for (int i = 0; i < 6; ++i) {
        if (!get_varint(&p, end)) return;
      }
      if (end - p < 4) return;
      put_u32le(b.data() + (p - begin), checksum(record, static_cast<std::size_t>(p - record)));
      p += 4;
    } else {
      return;
    }
  }
}

void check_input(const std::uint8_t* data, std::size_t size) {
  std::string plain_error, events_error;
  ReadOptions with_events;
  with_events.events = true;
  const auto plain = parse_trace(data, size, "fuzz.trace", &plain_error);
  const auto full = parse_trace(data, size, "fuzz.trace", &events_error, with_events);
  CHECK(plain.has_value() == full.has_value());
  if (!plain) {
    CHECK(plain_error == events_error);
    CHECK(plain_error.rfind("fuzz.trace: ", 0) == 0);
    CHECK(plain_error.find('\n') == std::string::npos);
    return;
  }
  CHECK(plain->events.empty());
  CHECK(plain->threads.size() == full->threads.size());
  for (std::size_t t = 0; t < plain->threads.size(); ++t) {
    CHECK(plain->threads[t].size() == full->threads[t].size(), t);
    for (std::size_t i = 0; i < plain->threads[t].size(); ++i) {
      const Op& a = plain->threads[t][i];
      const Op& b = full->threads[t][i];
      CHECK(a.bits == b.bits && a.object == b.object && a.old_object == b.old_object, t, i);
    }
  }
  check_trace(*plain);
  check_events(*full);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_input(data, size);
  std::vector<unsigned char> sealed(data, data + size);
  reseal(sealed);
  if (!std::equal(sealed.begin(), sealed.end(), data)) check_input(sealed.data(), sealed.size());
  return 0;
}
