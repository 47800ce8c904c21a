// tests/trace/reader_test.cpp — the trace reader (alloclab/trace/reader.hpp) against files built
// with the recorder's encoder (trace_builder.hpp): every kind and flag read back, dense object
// numbering across threads, cross-thread and foreign frees, truncated files (no end record, a
// torn last chunk), every corruption rule of TRACE_FORMAT.md giving its one-line error at the
// right byte, and the summary's figures on examples computed by hand. No timing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "alloclab/trace/reader.hpp"
#include "trace_builder.hpp"

namespace alloclab::trace {
namespace {

using testing::TraceBuilder;
using Bytes = std::vector<unsigned char>;

const std::string kName = "t.trace";

std::optional<Trace> parse(const Bytes& b, std::string* error, bool events = true) {
  ReadOptions o;
  o.events = events;
  return parse_trace(b.data(), b.size(), kName, error, o);
}

Trace must_parse(const Bytes& b, bool events = true) {
  std::string error;
  auto t = parse(b, &error, events);
  EXPECT_TRUE(t.has_value()) << error;
  if (!t) return Trace{};
  return std::move(*t);
}

// The error is one line "t.trace: ...", contains `text`, and (when given) ends "at byte N".
void expect_corrupt(const Bytes& b, const std::string& text, std::optional<std::size_t> offset = std::nullopt) {
  for (bool events : {false, true}) {
    std::string error;
    auto t = parse(b, &error, events);
    ASSERT_FALSE(t.has_value()) << "accepted; expected an error containing: " << text;
    EXPECT_EQ(error.rfind(kName + ": ", 0), 0u) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_NE(error.find(text), std::string::npos) << "error: " << error << "\nexpected: " << text;
    if (offset) {
      const std::string tail = " at byte " + std::to_string(*offset);
      EXPECT_TRUE(error.size() >= tail.size() && error.compare(error.size() - tail.size(), tail.size(), tail) == 0)
          << "error: " << error << "\nexpected to end with: " << tail;
    }
  }
}

// A chunk written by hand: payload bytes as given, header fields as given (checksum right).
Bytes raw_chunk(std::uint64_t thread, std::uint64_t base, std::uint64_t count, const Bytes& payload) {
  unsigned char header[max_chunk_header_bytes];
  const std::size_t n = put_chunk_header(header, thread, base, count, payload.data(), payload.size());
  Bytes out(header, header + n);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Bytes header_only(const std::string& metadata = testing::default_metadata()) {
  Bytes b(file_header_bytes(metadata));
  put_file_header(b.data(), metadata);
  return b;
}

void append(Bytes& to, const Bytes& from) { to.insert(to.end(), from.begin(), from.end()); }

// ---- reading back ---------------------------------------------------------------------------

// One thread, every kind and flag. Hand-computed: live bytes 100, 150, 214, 114, 64 -> 264
// (realloc), failed calls change nothing, 274, 74.
TEST(TraceReader, ReadsEveryKindAndFlag) {
  TraceBuilder b;
  b.time_mark(0, 0)
      .malloc(0, 1, 100)
      .calloc(0, 2, 50)
      .aligned(0, 3, 6, 64)
      .free(0, 4, 1)
      .realloc(0, 5, 2, 200, 6)
      .malloc(0, 7, std::uint64_t{1} << 40, /*failed=*/true)
      .failed_realloc(0, 8, 6, 1000)
      .malloc(0, 9, 10)
      .free(0, 10, 6)
      .end(5000);
  const Trace t = must_parse(b.bytes());
  ASSERT_EQ(t.threads.size(), 1u);
  const auto& ops = t.threads[0];
  ASSERT_EQ(ops.size(), 9u);

  EXPECT_EQ(ops[0].kind(), Kind::malloc);
  EXPECT_EQ(ops[0].size(), 100u);
  EXPECT_EQ(ops[0].object, 0u);
  EXPECT_EQ(ops[1].kind(), Kind::calloc);
  EXPECT_EQ(ops[1].size(), 50u);
  EXPECT_EQ(ops[1].object, 1u);
  EXPECT_EQ(ops[2].kind(), Kind::aligned);
  EXPECT_EQ(ops[2].alignment_log2(), 6u);
  EXPECT_EQ(ops[2].size(), 64u);
  EXPECT_EQ(ops[2].object, 2u);
  EXPECT_EQ(ops[3].kind(), Kind::free);
  EXPECT_EQ(ops[3].object, 0u);
  EXPECT_FALSE(ops[3].wait());
  EXPECT_FALSE(ops[3].foreign());
  EXPECT_EQ(ops[4].kind(), Kind::realloc);
  EXPECT_EQ(ops[4].old_object, 1u);
  EXPECT_EQ(ops[4].object, 3u);
  EXPECT_EQ(ops[4].size(), 200u);
  EXPECT_FALSE(ops[4].failed());
  EXPECT_EQ(ops[5].kind(), Kind::malloc);
  EXPECT_TRUE(ops[5].failed());
  EXPECT_EQ(ops[5].object, no_object);
  EXPECT_EQ(ops[5].size(), std::uint64_t{1} << 40);
  EXPECT_EQ(ops[6].kind(), Kind::realloc);
  EXPECT_TRUE(ops[6].failed());
  EXPECT_EQ(ops[6].old_object, 3u);  // names the object it did not free
  EXPECT_EQ(ops[6].object, no_object);
  EXPECT_EQ(ops[7].object, 4u);
  EXPECT_EQ(ops[8].kind(), Kind::free);
  EXPECT_EQ(ops[8].object, 3u);
  for (const Op& op : ops) {
    EXPECT_FALSE(op.wait());
    EXPECT_FALSE(op.foreign());
  }

  const Summary& s = t.summary;
  EXPECT_EQ(t.objects, 5u);
  EXPECT_EQ(s.objects, 5u);
  EXPECT_EQ(s.events, 9u);
  EXPECT_EQ(s.by_kind[static_cast<int>(Kind::malloc)], 3u);
  EXPECT_EQ(s.by_kind[static_cast<int>(Kind::calloc)], 1u);
  EXPECT_EQ(s.by_kind[static_cast<int>(Kind::realloc)], 2u);
  EXPECT_EQ(s.by_kind[static_cast<int>(Kind::free)], 2u);
  EXPECT_EQ(s.by_kind[static_cast<int>(Kind::aligned)], 1u);
  EXPECT_EQ(s.failed, 2u);
  EXPECT_EQ(s.peak_live_bytes, 274u);
  EXPECT_EQ(s.peak_live_objects, 3u);
  EXPECT_EQ(s.live_bytes_at_end, 74u);
  EXPECT_EQ(s.live_objects_at_end, 2u);
  EXPECT_EQ(s.frees_by_other_thread, 0u);
  EXPECT_EQ(s.frees_foreign, 0u);
  EXPECT_EQ(s.duration_ns, 5000u);
  EXPECT_FALSE(s.truncated);
  EXPECT_EQ(s.file_bytes, b.bytes().size());

  EXPECT_EQ(t.meta.program, "/usr/bin/example");
  EXPECT_EQ(t.meta.args, (std::vector<std::string>{"/usr/bin/example", "--flag", "x y"}));
  EXPECT_EQ(t.meta.pid, 4242u);
  EXPECT_EQ(t.meta.parent_pid, 1u);
  EXPECT_FALSE(t.meta.forked_from_stamp.has_value());
  EXPECT_EQ(t.meta.started_unix_ns, 1700000000000000000u);
  EXPECT_EQ(t.meta.host, "testhost");
  EXPECT_EQ(t.meta.cpu_model, "Test CPU @ 1GHz");
  EXPECT_EQ(t.meta.cores, 8u);
  EXPECT_EQ(t.meta.kernel, "Linux 6.1.0");
  EXPECT_EQ(t.meta.json, testing::default_metadata());
}

// Three threads whose chunks appear out of stamp order in the file. Objects are numbered by
// creation stamp across threads; frees of another thread's object wait.
//   t0: s1 malloc 10 (A)  s4 malloc 20 (C)  s6 free A
//   t1: s2 malloc 30 (B)  s5 free C         s7 realloc B -> 40 at s9 (B')
//   t2: s10 free B'
// live bytes in stamp order: 10 40 60 40 30 0 40 0
TEST(TraceReader, NumbersObjectsAcrossThreadsAndSetsWait) {
  TraceBuilder b;
  b.time_mark(1, 5).malloc(1, 2, 30).free(1, 5, 4).realloc(1, 7, 2, 40, 9).flush(1);
  b.time_mark(2, 8).free(2, 10, 9).flush(2);
  b.time_mark(0, 0).malloc(0, 1, 10).malloc(0, 4, 20).free(0, 6, 1).flush(0);
  b.end(100);
  const Trace t = must_parse(b.bytes());
  ASSERT_EQ(t.threads.size(), 3u);
  const auto& t0 = t.threads[0];
  const auto& t1 = t.threads[1];
  const auto& t2 = t.threads[2];
  ASSERT_EQ(t0.size(), 3u);
  ASSERT_EQ(t1.size(), 3u);
  ASSERT_EQ(t2.size(), 1u);
  EXPECT_EQ(t0[0].object, 0u);  // A, stamp 1
  EXPECT_EQ(t1[0].object, 1u);  // B, stamp 2
  EXPECT_EQ(t0[1].object, 2u);  // C, stamp 4
  EXPECT_EQ(t1[1].object, 2u);  // t1 frees C
  EXPECT_TRUE(t1[1].wait());
  EXPECT_EQ(t0[2].object, 0u);
  EXPECT_FALSE(t0[2].wait());
  EXPECT_EQ(t1[2].old_object, 1u);
  EXPECT_EQ(t1[2].object, 3u);  // B', stamp 9
  EXPECT_FALSE(t1[2].wait());
  EXPECT_EQ(t2[0].object, 3u);
  EXPECT_TRUE(t2[0].wait());
  EXPECT_EQ(t.summary.frees_by_other_thread, 2u);
  EXPECT_EQ(t.summary.peak_live_bytes, 60u);
  EXPECT_EQ(t.summary.peak_live_objects, 3u);
  EXPECT_EQ(t.summary.live_bytes_at_end, 0u);
  EXPECT_EQ(t.summary.live_objects_at_end, 0u);
  EXPECT_EQ(t.objects, 4u);

  // Events: stamp order, a realloc once (at its first stamp) with its new object's stamp.
  ASSERT_EQ(t.events.size(), 7u);
  const std::uint64_t stamps[] = {1, 2, 4, 5, 6, 7, 10};
  const std::uint32_t threads[] = {0, 1, 0, 1, 0, 1, 2};
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(t.events[i].stamp, stamps[i]);
    EXPECT_EQ(t.events[i].thread, threads[i]);
  }
  EXPECT_EQ(t.events[5].op.kind(), Kind::realloc);
  EXPECT_EQ(t.events[5].op.object, 3u);
  EXPECT_EQ(t.events[5].op.old_object, 1u);
  EXPECT_EQ(t.events[5].made_stamp, 9u);
  EXPECT_EQ(t.events[0].made_stamp, 1u);
  EXPECT_EQ(t.events[3].made_stamp, 0u);  // a free
  EXPECT_TRUE(t.events[3].op.wait());
  // Without ReadOptions::events the same ops, no events.
  const Trace plain = must_parse(b.bytes(), false);
  EXPECT_TRUE(plain.events.empty());
  ASSERT_EQ(plain.threads.size(), 3u);
  EXPECT_EQ(plain.threads[1][2].bits, t1[2].bits);
  EXPECT_EQ(plain.threads[1][2].object, t1[2].object);
}

// Time marks at stamps 10 (1000 ns) and 20 (2000 ns); after the last mark, towards the end
// record (5000 ns) at the stamp past the last.
TEST(TraceReader, InterpolatesEventTimesBetweenMarks) {
  TraceBuilder b;
  b.time_mark(0, 1000).malloc(0, 10, 8).malloc(0, 15, 8).time_mark(0, 2000).free(0, 20, 10).malloc(0, 29, 8).end(5000);
  const Trace t = must_parse(b.bytes());
  ASSERT_EQ(t.events.size(), 4u);
  EXPECT_EQ(t.events[0].time_ns, 1000u);
  EXPECT_EQ(t.events[1].time_ns, 1500u);
  EXPECT_EQ(t.events[2].time_ns, 2000u);
  EXPECT_EQ(t.events[3].time_ns, 2000u + 3000u * 9 / 10);
  EXPECT_EQ(t.summary.duration_ns, 4000u);
}

TEST(TraceReader, SplitsAThreadAcrossManyChunks) {
  TraceBuilder b;
  std::uint64_t stamp = 1;
  b.time_mark(0, 0);
  for (int i = 0; i < 100000; ++i) {  // more than one 64 KiB chunk
    b.malloc(0, stamp, static_cast<std::uint64_t>(i % 1000 + 1));
    b.free(0, stamp + 2, stamp);
    stamp += 3;  // leave gaps: deltas, not next_stamp
    if (i % 777 == 0) b.flush(0);
  }
  b.end();
  ASSERT_GT(b.chunks(), 100u);
  const Trace t = must_parse(b.bytes(), false);
  ASSERT_EQ(t.threads[0].size(), 200000u);
  EXPECT_EQ(t.objects, 100000u);
  EXPECT_EQ(t.summary.peak_live_objects, 1u);
  EXPECT_EQ(t.summary.peak_live_bytes, 1000u);
  for (std::size_t i = 0; i < t.threads[0].size(); i += 2) {
    ASSERT_EQ(t.threads[0][i].object, i / 2);
    ASSERT_EQ(t.threads[0][i + 1].object, i / 2);
  }
}

TEST(TraceReader, KeepsAFailedHugeRequestClamped) {
  TraceBuilder b;
  b.malloc(0, 1, UINT64_MAX, true).aligned(0, 2, 60, 8, true).calloc(0, 3, std::uint64_t{1} << 50, true).end();
  const Trace t = must_parse(b.bytes());
  ASSERT_EQ(t.threads[0].size(), 3u);
  EXPECT_EQ(t.threads[0][0].size(), Op::size_mask);
  EXPECT_TRUE(t.threads[0][0].failed());
  EXPECT_EQ(t.threads[0][1].alignment_log2(), 60u);
  EXPECT_EQ(t.summary.failed, 3u);
  EXPECT_EQ(t.objects, 0u);
}

TEST(TraceReader, ReadsAnEmptyTraceAndUnknownMetadataKeys) {
  TraceBuilder b(R"({"future_key":{"nested":[1,2,3]},"program":"p"})");
  b.end();
  const Trace t = must_parse(b.bytes());
  EXPECT_TRUE(t.threads.empty());
  EXPECT_EQ(t.summary.events, 0u);
  EXPECT_EQ(t.meta.program, "p");
  EXPECT_FALSE(t.summary.truncated);
}

// ---- foreign frees ---------------------------------------------------------------------------

TEST(TraceReader, ForeignFreeInATruncatedTraceIsSkipped) {
  // Thread 1 made object 2, but its chunk was never written; thread 0's free of it is foreign.
  TraceBuilder b;
  b.malloc(0, 1, 16).free(0, 3, 2).realloc(0, 4, 1, 32, 5).flush(0);  // no end record
  const Trace t = must_parse(b.bytes());
  EXPECT_TRUE(t.summary.truncated);
  ASSERT_EQ(t.threads[0].size(), 3u);
  EXPECT_TRUE(t.threads[0][1].foreign());
  EXPECT_EQ(t.threads[0][1].object, no_object);
  EXPECT_FALSE(t.threads[0][1].wait());
  EXPECT_FALSE(t.threads[0][2].foreign());
  EXPECT_EQ(t.summary.frees_foreign, 1u);
  EXPECT_EQ(t.summary.live_objects_at_end, 1u);
}

TEST(TraceReader, ForeignFreeAllowedWhenEventsWereDropped) {
  TraceBuilder b;
  b.malloc(0, 1, 16).free(0, 3, 2).realloc(0, 4, 0, 8, 6).end(0, 0, /*dropped=*/2);
  const Trace t = must_parse(b.bytes());
  EXPECT_FALSE(t.summary.truncated);
  EXPECT_EQ(t.summary.dropped_events, 2u);
  EXPECT_TRUE(t.threads[0][1].foreign());
  EXPECT_TRUE(t.threads[0][2].foreign());  // a realloc of a foreign object still makes one
  EXPECT_EQ(t.threads[0][2].old_object, no_object);
  EXPECT_EQ(t.threads[0][2].object, 1u);
  EXPECT_EQ(t.summary.frees_foreign, 2u);
  EXPECT_EQ(t.summary.live_bytes_at_end, 24u);
}

TEST(TraceReader, ForkChildFreesParentObjects) {
  TraceBuilder b(R"({"program":"child","pid":11,"parent_pid":10,"forked_from_stamp":100})");
  b.malloc(0, 101, 16).free(0, 102, 50).free(0, 103, 101).end();
  const Trace t = must_parse(b.bytes());
  EXPECT_EQ(t.meta.forked_from_stamp, std::optional<std::uint64_t>(100));
  EXPECT_EQ(t.meta.parent_pid, 10u);
  EXPECT_TRUE(t.threads[0][1].foreign());
  EXPECT_FALSE(t.threads[0][2].foreign());
  EXPECT_EQ(t.summary.frees_foreign, 1u);

  // An id at or past the fork was made in the child: missing means corrupt.
  TraceBuilder c(R"({"forked_from_stamp":100})");
  c.malloc(0, 101, 16).free(0, 103, 100).end();
  expect_corrupt(c.bytes(), "free of object 100, which no earlier event made");
}

TEST(TraceReader, ForeignFreeInACompleteTraceIsCorrupt) {
  TraceBuilder b;
  b.malloc(0, 1, 16).free(0, 3, 2).end();
  const std::size_t free_at = b.chunk_spans()[0].payload_offset + 2;  // after the malloc's 2 bytes
  expect_corrupt(b.bytes(), "free of object 2, which no earlier event made", free_at);
  // An object made later than its free is not "earlier".
  TraceBuilder c;
  c.free(0, 3, 2).flush(0).malloc(1, 2, 8).end();  // fine: made at 2, freed at 3
  EXPECT_TRUE(must_parse(c.bytes()).threads[0][0].wait());
}

// ---- truncation ------------------------------------------------------------------------------

TraceBuilder three_chunks() {
  TraceBuilder b;
  b.time_mark(0, 0).malloc(0, 1, 10).malloc(0, 2, 20).flush(0);
  b.malloc(1, 3, 30).free(1, 4, 1).flush(1);
  b.malloc(0, 5, 40).free(0, 6, 3).flush(0);
  return b;
}

TEST(TraceReader, NoEndRecordKeepsThePrefix) {
  TraceBuilder b = three_chunks();
  const Trace t = must_parse(b.bytes());
  EXPECT_TRUE(t.summary.truncated);
  EXPECT_EQ(t.summary.events, 6u);
  EXPECT_EQ(t.summary.live_objects_at_end, 2u);  // objects 2 and 5 never freed
  EXPECT_EQ(t.summary.live_bytes_at_end, 60u);
  EXPECT_EQ(t.summary.frees_by_other_thread, 2u);  // stamps 4 and 6
}

TEST(TraceReader, TornLastChunkIsDropped) {
  TraceBuilder b = three_chunks();
  const auto spans = b.chunk_spans();
  Bytes bytes = b.bytes();
  // Cut anywhere inside the last chunk (header or payload): the first two chunks remain.
  for (std::size_t cut = spans[2].offset + 1; cut < bytes.size(); ++cut) {
    const Bytes prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    const Trace t = must_parse(prefix);
    EXPECT_TRUE(t.summary.truncated);
    EXPECT_EQ(t.summary.events, 4u) << "cut at " << cut;
    EXPECT_EQ(t.threads[0].size(), 2u);
  }
}

TEST(TraceReader, TornEndRecordMeansTruncated) {
  TraceBuilder b = three_chunks();
  const std::size_t before_end = b.bytes().size();
  b.end(10);
  Bytes bytes = b.bytes();
  bytes.resize(before_end + 3);
  const Trace t = must_parse(bytes);
  EXPECT_TRUE(t.summary.truncated);
  EXPECT_EQ(t.summary.events, 6u);
}

TEST(TraceReader, EveryPrefixIsATruncatedTraceOrAHeaderError) {
  TraceBuilder b;
  b.time_mark(0, 0).malloc(0, 1, 10).aligned(0, 2, 4, 20).flush(0);
  b.time_mark(1, 3).realloc(1, 3, 1, 30, 5).free(1, 6, 2).flush(1);
  b.free(0, 7, 5).end(9);
  const Bytes& full = b.bytes();
  const std::size_t header = file_header_bytes(testing::default_metadata());
  for (std::size_t n = 0; n < full.size(); ++n) {
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    std::string error;
    auto t = parse(prefix, &error);
    if (n < header) {
      EXPECT_FALSE(t.has_value()) << n;
      EXPECT_EQ(error.find('\n'), std::string::npos);
    } else {
      ASSERT_TRUE(t.has_value()) << n << ": " << error;
      EXPECT_TRUE(t->summary.truncated);
    }
  }
  EXPECT_FALSE(must_parse(full).summary.truncated);
}

// Flipping any bit of a valid trace gives a trace or a one-line error, never a crash (the fuzz
// target does this at scale; this is the cheap deterministic version).
TEST(TraceReader, SurvivesEveryBitFlip) {
  TraceBuilder b;
  b.time_mark(0, 0).malloc(0, 1, 10).calloc(0, 2, 300).flush(0);
  b.time_mark(1, 3).realloc(1, 3, 1, 30, 5).free(1, 6, 2).aligned(1, 8, 12, 4096).flush(1);
  b.free(0, 9, 5).end(9, 1, 0);
  const Bytes full = b.bytes();
  for (std::size_t i = 0; i < full.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes mutated = full;
      mutated[i] ^= static_cast<unsigned char>(1u << bit);
      std::string error;
      auto t = parse(mutated, &error);
      if (!t) {
        EXPECT_EQ(error.rfind(kName + ": ", 0), 0u) << error;
        EXPECT_EQ(error.find('\n'), std::string::npos) << error;
      }
    }
  }
}

// ---- the header ------------------------------------------------------------------------------

TEST(TraceReader, RejectsWhatIsNotATrace) {
  expect_corrupt({}, "empty file, not an alloclab trace");
  const std::string text = "hello, world\n";
  expect_corrupt(Bytes(text.begin(), text.end()), "not an alloclab trace");
  expect_corrupt(Bytes{'A', 'L', 'C'}, "the file ends inside the header", 3);
  expect_corrupt(Bytes{'A', 'L', 'C', 'T', 'R', 'A', 'C', 'E', 1}, "the file ends inside the header", 9);
}

TEST(TraceReader, RejectsANewerVersionAndFlags) {
  Bytes b = header_only();
  b[8] = 2;
  std::string error;
  EXPECT_FALSE(parse(b, &error));
  EXPECT_EQ(error, kName + ": format version 2; this reader reads 1");
  b[8] = 0;
  b[9] = 1;  // 256
  EXPECT_FALSE(parse(b, &error));
  EXPECT_EQ(error, kName + ": format version 256; this reader reads 1");
  b[9] = 0;
  expect_corrupt(b, "format version 0", 8);
  b[8] = 1;
  b[10] = 4;
  expect_corrupt(b, "header flags 4 are not zero", 10);
}

TEST(TraceReader, RejectsBadMetadata) {
  const std::size_t meta_at = 8 + 4 + 1;  // one-byte length for all of these
  expect_corrupt(header_only("{not json"), "metadata is not valid JSON");
  expect_corrupt(header_only("[1,2]"), "metadata is not a JSON object", meta_at);
  expect_corrupt(header_only(R"({"pid":"12"})"), "metadata key 'pid' is not a whole number", meta_at);
  expect_corrupt(header_only(R"({"pid":-1})"), "metadata key 'pid' is not a whole number", meta_at);
  expect_corrupt(header_only(R"({"cores":1.5})"), "metadata key 'cores' is not a whole number", meta_at);
  expect_corrupt(header_only(R"({"program":7})"), "metadata key 'program' is not a string", meta_at);
  expect_corrupt(header_only(R"({"args":"a b"})"), "metadata key 'args' is not a list of strings", meta_at);
  expect_corrupt(header_only(R"({"args":["a",1]})"), "metadata key 'args' is not a list of strings", meta_at);
  expect_corrupt(header_only(R"({"forked_from_stamp":null})"), "'forked_from_stamp' is not a whole number", meta_at);
  expect_corrupt(header_only("{\"host\":\"\xff\"}"), "metadata is not valid JSON");
  Bytes b = header_only("{}");
  b[12] = 50;  // the metadata length, past the end
  expect_corrupt(b, "metadata of 50 bytes runs past the end of the file", 13);
  // An empty metadata object is fine: every key is optional.
  Bytes ok = header_only("{}");
  EXPECT_TRUE(must_parse(ok).summary.truncated);
}

// ---- corruption rules ------------------------------------------------------------------------

TEST(TraceReader, RejectsABadChunkChecksum) {
  TraceBuilder b;
  b.malloc(0, 1, 16).end();
  b.bytes()[b.chunk_spans()[0].payload_offset + 1] ^= 0x01;  // the size
  expect_corrupt(b.bytes(), "chunk checksum mismatch", b.chunk_spans()[0].offset);
}

TEST(TraceReader, RejectsUnknownKindsAndReservedBits) {
  for (unsigned byte0 : {0x06u, 0x07u, 0x0Eu}) {
    TraceBuilder b;
    b.malloc(0, 1, 16).malloc(0, 2, 16).end();
    const std::size_t at = b.chunk_spans()[0].payload_offset + 2;
    b.bytes()[at] = static_cast<unsigned char>(byte0);
    b.reseal(0);
    expect_corrupt(b.bytes(), "unknown event kind " + std::to_string(byte0 & 7), at);
  }
  for (unsigned bit : {0x20u, 0x40u, 0x80u}) {
    TraceBuilder b;
    b.malloc(0, 1, 16).malloc(0, 2, 16).end();
    const std::size_t at = b.chunk_spans()[0].payload_offset + 2;
    b.bytes()[at] |= static_cast<unsigned char>(bit);
    b.reseal(0);
    expect_corrupt(b.bytes(), "reserved bits set in event byte", at);
  }
}

TEST(TraceReader, RejectsFlagsWhereTheyMeanNothing) {
  {
    TraceBuilder b;
    b.time_mark(0, 7).malloc(0, 1, 16).end();
    const std::size_t at = b.chunk_spans()[0].payload_offset;
    b.bytes()[at] |= next_stamp_bit;
    b.reseal(0);
    expect_corrupt(b.bytes(), "a time mark with the next_stamp or failed bit set", at);
  }
  {
    TraceBuilder b;
    b.malloc(0, 1, 16).free(0, 2, 1).end();
    const std::size_t at = b.chunk_spans()[0].payload_offset + 2;
    b.bytes()[at] |= failed_bit;
    b.reseal(0);
    expect_corrupt(b.bytes(), "a free with the failed bit set", at);
  }
}

TEST(TraceReader, RejectsVarintsPast64Bits) {
  // In an event: malloc with a delta, then an 11-byte size.
  Bytes payload = {static_cast<unsigned char>(Kind::malloc), 1};
  for (int i = 0; i < 10; ++i) payload.push_back(0x80);
  payload.push_back(0x01);
  Bytes b = header_only();
  const std::size_t chunk_at = b.size();
  const Bytes chunk = raw_chunk(0, 0, 1, payload);
  append(b, chunk);
  const std::size_t event_at = chunk_at + chunk.size() - payload.size();
  expect_corrupt(b, "a varint longer than 64 bits", event_at);
  // Ten bytes whose last carries more than bit 63.
  Bytes payload2 = {static_cast<unsigned char>(Kind::malloc), 1};
  for (int i = 0; i < 9; ++i) payload2.push_back(0xFF);
  payload2.push_back(0x02);
  Bytes b2 = header_only();
  append(b2, raw_chunk(0, 0, 1, payload2));
  expect_corrupt(b2, "a varint longer than 64 bits");
  // In a chunk header.
  Bytes b3 = header_only();
  const std::size_t at = b3.size() + 1;
  b3.push_back(chunk_tag);
  for (int i = 0; i < 11; ++i) b3.push_back(0x80);
  b3.push_back(0x00);
  expect_corrupt(b3, "chunk thread is longer than 64 bits", at);
}

TEST(TraceReader, RejectsStampsThatDoNotIncrease) {
  {  // delta 0 after the chunk's first event
    Bytes payload = {static_cast<unsigned char>(Kind::malloc), 1, 8, static_cast<unsigned char>(Kind::malloc), 0, 8};
    Bytes b = header_only();
    const Bytes chunk = raw_chunk(0, 0, 2, payload);
    const std::size_t at = b.size() + chunk.size() - payload.size() + 3;
    append(b, chunk);
    expect_corrupt(b, "stamp does not increase (delta 0", at);
  }
  {  // a later chunk of the thread going back
    TraceBuilder b;
    b.malloc(0, 5, 8).flush(0).malloc(0, 3, 8).end();
    expect_corrupt(b.bytes(), "stamp 3 does not increase on thread 0 (previous 5)", b.chunk_spans()[1].payload_offset);
  }
  {  // an event inside a realloc's two stamps: deltas count from the second, so going back wraps
    TraceBuilder b;
    b.malloc(0, 1, 8).realloc(0, 5, 1, 16, 8).malloc(0, 7, 8).end();
    expect_corrupt(b.bytes(), "stamp past 2^64");
  }
  {  // the first event equal to the previous chunk's last
    TraceBuilder b;
    b.malloc(0, 5, 8).flush(0).malloc(0, 5, 8).end();
    expect_corrupt(b.bytes(), "stamp 5 does not increase on thread 0");
  }
}

TEST(TraceReader, RejectsAStampTwiceInTheFile) {
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).malloc(0, 2, 8).flush(0).malloc(1, 2, 8).end();
    expect_corrupt(b.bytes(), "stamp 2 appears twice in the file (threads 0 and 1)",
                   b.chunk_spans()[1].payload_offset);
  }
  {  // a realloc's second stamp taken by another thread
    TraceBuilder b;
    b.malloc(0, 1, 8).realloc(0, 2, 1, 16, 4).flush(0).malloc(1, 4, 8).end();
    expect_corrupt(b.bytes(), "stamp 4 appears twice in the file");
  }
}

TEST(TraceReader, RejectsBadRefs) {
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).free(0, 2, 2).end();  // ref 0
    expect_corrupt(b.bytes(), "ref 0", b.chunk_spans()[0].payload_offset + 2);
  }
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).free(0, 2, UINT64_MAX).end();  // ref 3 from stamp 2
    expect_corrupt(b.bytes(), "ref 3 past the start of time (stamp 2)");
  }
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).realloc(0, 2, 1, 8, 2).end();  // new_delta 0
    expect_corrupt(b.bytes(), "realloc with new_delta 0");
  }
}

TEST(TraceReader, RejectsDoubleFrees) {
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).free(0, 2, 1).flush(0).free(1, 3, 1).end();
    expect_corrupt(b.bytes(), "double free of object 1, already freed", b.chunk_spans()[1].payload_offset);
  }
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).realloc(0, 2, 1, 16, 3).free(0, 4, 1).end();  // the realloc freed 1
    expect_corrupt(b.bytes(), "double free of object 1");
  }
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).free(0, 2, 1).failed_realloc(0, 3, 1, 16).end();
    expect_corrupt(b.bytes(), "realloc of object 1, already freed");
  }
}

TEST(TraceReader, RejectsImpossibleSizesAndAlignments) {
  {
    TraceBuilder b;
    b.malloc(0, 1, std::uint64_t{1} << 48).end();
    expect_corrupt(b.bytes(), "size 281474976710656 is 256 TiB or more", b.chunk_spans()[0].payload_offset);
  }
  {
    TraceBuilder b;
    b.malloc(0, 1, (std::uint64_t{1} << 48) - 1).end();  // the largest size an Op holds
    EXPECT_EQ(must_parse(b.bytes()).summary.peak_live_bytes, (std::uint64_t{1} << 48) - 1);
  }
  {
    TraceBuilder b;
    b.aligned(0, 1, 48, 8).end();
    expect_corrupt(b.bytes(), "alignment 2^48 (at most 2^47)");
  }
  {
    TraceBuilder b;
    b.aligned(0, 1, 47, 8).end();
    EXPECT_EQ(must_parse(b.bytes()).threads[0][0].alignment_log2(), 47u);
  }
}

TEST(TraceReader, RejectsEventCountsThatDisagree) {
  const Bytes two_mallocs = {static_cast<unsigned char>(Kind::malloc) | next_stamp_bit, 8,
                             static_cast<unsigned char>(Kind::malloc) | next_stamp_bit, 8};
  {
    Bytes b = header_only();
    const std::size_t at = b.size();
    append(b, raw_chunk(0, 0, 3, two_mallocs));
    expect_corrupt(b, "chunk claims 3 events and holds 2", at);
  }
  {
    Bytes b = header_only();
    const Bytes chunk = raw_chunk(0, 0, 1, two_mallocs);
    const std::size_t at = b.size() + chunk.size() - 2;
    append(b, chunk);
    expect_corrupt(b, "more events than the chunk's count of 1", at);
  }
  {  // a lying header: 2^40 events in 4 bytes (nothing is reserved for them)
    Bytes b = header_only();
    const std::size_t at = b.size();
    append(b, raw_chunk(0, 0, std::uint64_t{1} << 40, two_mallocs));
    expect_corrupt(b, "chunk of 4 payload bytes claims 1099511627776 events", at);
  }
  {  // an event cut by the end of its chunk
    Bytes b = header_only();
    append(b, raw_chunk(0, 0, 1, Bytes{static_cast<unsigned char>(Kind::malloc)}));
    expect_corrupt(b, "an event runs past the end of its chunk");
  }
}

TEST(TraceReader, RejectsAbsurdThreadIndices) {
  Bytes b = header_only();
  const std::size_t at = b.size();
  append(b, raw_chunk(std::uint64_t{1} << 20, 0, 1, Bytes{static_cast<unsigned char>(Kind::malloc) | next_stamp_bit, 8}));
  expect_corrupt(b, "thread index 1048576 is out of range", at);
  // The largest allowed index reads (as one thread among many empty ones).
  Bytes ok = header_only();
  append(ok, raw_chunk((std::uint64_t{1} << 20) - 1, 0, 1, Bytes{static_cast<unsigned char>(Kind::malloc) | next_stamp_bit, 8}));
  const Trace t = must_parse(ok);
  EXPECT_EQ(t.threads.size(), std::size_t{1} << 20);
  EXPECT_EQ(t.threads.back().size(), 1u);
}

TEST(TraceReader, RejectsABadEndRecord) {
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).flush(0);
    EndRecord r;
    r.total_events = 2;
    r.chunks = 1;
    r.threads = 1;
    b.end_record(r);
    expect_corrupt(b.bytes(), "end record counts 2 events, the chunks hold 1");
  }
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).flush(0);
    EndRecord r;
    r.total_events = 1;
    r.chunks = 2;
    r.threads = 1;
    b.end_record(r);
    expect_corrupt(b.bytes(), "end record counts 2 chunks, the file holds 1");
  }
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).flush(0).malloc(1, 2, 8).flush(1);
    EndRecord r;
    r.total_events = 2;
    r.chunks = 2;
    r.threads = 1;
    b.end_record(r);
    expect_corrupt(b.bytes(), "end record counts 1 threads, the chunks name thread 1");
  }
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).flush(0);
    const std::size_t end_at = b.bytes().size();
    b.end(77);
    b.bytes()[end_at + 5] ^= 0x01;  // end_ns
    expect_corrupt(b.bytes(), "end record checksum mismatch", end_at);
  }
  {
    TraceBuilder b;
    b.malloc(0, 1, 8).end();
    const std::size_t after = b.bytes().size();
    b.bytes().push_back(0);
    b.bytes().push_back(0);
    expect_corrupt(b.bytes(), "2 bytes after the end record", after);
  }
  {  // a second end record is bytes after the first
    TraceBuilder b;
    b.malloc(0, 1, 8).end().end();
    expect_corrupt(b.bytes(), "bytes after the end record");
  }
}

TEST(TraceReader, RejectsAnUnknownRecordTag) {
  TraceBuilder b;
  b.malloc(0, 1, 8).flush(0);
  const std::size_t at = b.bytes().size();
  b.bytes().push_back('X');
  expect_corrupt(b.bytes(), "unknown record tag 0x58", at);
}

// ---- files -----------------------------------------------------------------------------------

TEST(TraceReader, ReadsAFileAndNamesAMissingOne) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("alloclab_reader_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  TraceBuilder b;
  b.time_mark(0, 0).malloc(0, 1, 64).free(0, 2, 1).end(10);
  const std::string path = (dir / "small.trace").string();
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.bytes().data()), static_cast<std::streamsize>(b.bytes().size()));
  }
  std::string error;
  auto t = read_trace(path, &error, ReadOptions{true});
  ASSERT_TRUE(t.has_value()) << error;
  EXPECT_EQ(t->summary.events, 2u);
  EXPECT_EQ(t->events.size(), 2u);
  EXPECT_EQ(t->summary.file_bytes, b.bytes().size());

  const std::string missing = (dir / "missing.trace").string();
  EXPECT_FALSE(read_trace(missing, &error));
  EXPECT_EQ(error, missing + ": No such file or directory");
  EXPECT_FALSE(read_trace(dir.string(), &error));
  EXPECT_EQ(error, dir.string() + ": is a directory, not a trace file");
  const std::string empty = (dir / "empty.trace").string();
  { std::ofstream out(empty); }
  EXPECT_FALSE(read_trace(empty, &error));
  EXPECT_EQ(error, empty + ": empty file, not an alloclab trace");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace alloclab::trace
