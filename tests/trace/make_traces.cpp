// tests/trace/make_traces.cpp — writes the trace files the `alloclab-trace` tests read (and the
// trace reader's fuzz seeds, tests/fuzz/corpus/trace/), built with the recorder's encoder
// through trace_builder.hpp, deterministic:
//   small.trace      3 threads, every kind, failed calls, cross-thread frees, reallocs that
//                    grow and shrink, time marks, an end record; its figures are worked out by
//                    hand below and checked by tool_check.cmake
//   truncated.trace  small.trace's chunks without the end record, plus a torn last chunk
//   corrupt.trace    small.trace with one payload byte changed (a checksum mismatch)
//   newer.trace      a header of format version 2
//   many.trace       4 threads, 600 events in many chunks (a larger fuzz seed)
// Usage: alloclab_trace_fixtures DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "trace_builder.hpp"

using alloclab::trace::testing::TraceBuilder;

namespace {

// Stamps, threads and sizes; the live bytes in stamp order are
//   s1 100 · s2 124 · s3 188 · s4 88 (A freed) · s5 288 (A' made) · s6 264 · s8 280 · s9 264 ·
//   s10 272 · s11 208 · s12 8 · s13 1008
// so the peak is 1008 bytes, 3 objects at most, and D' (8) and E (1000) live at the end.
// Events in stamp order (index: stamp) 0:1 1:2 2:3 3:4 4:6 5:7 6:8 7:9 8:11 9:12 10:13 11:14;
// lifetimes in events: A 3, B 3, D 1, C 6, A' 6 -> p50 3, p90 6, max 6.
TraceBuilder small_chunks() {
  TraceBuilder b;
  b.time_mark(0, 0)
      .malloc(0, 1, 100)                              // A
      .calloc(0, 2, 24)                               // B
      .aligned(0, 3, 6, 64)                           // C, 64-byte aligned
      .realloc(0, 4, 1, 200, 5)                       // A -> A' (grows 2x)
      .malloc(0, 7, std::uint64_t{1} << 40, true)     // failed
      .flush(0);
  b.time_mark(1, 1000)
      .free(1, 6, 2)                                  // B, made by thread 0
      .malloc(1, 8, 16)                               // D
      .realloc(1, 9, 8, 8, 10)                        // D -> D' (shrinks 2x)
      .free(1, 11, 3)                                 // C, made by thread 0
      .flush(1);
  b.time_mark(0, 2000)
      .free(0, 12, 5)                                 // A'
      .malloc(0, 13, 1000)                            // E, never freed
      .flush(0);
  b.failed_realloc(2, 14, 13, std::uint64_t{1} << 45).flush(2);  // of E, failed
  return b;
}

bool write(const std::string& dir, const std::string& name, const std::vector<unsigned char>& bytes) {
  const std::string path = dir + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "alloclab_trace_fixtures: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: alloclab_trace_fixtures DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;

  TraceBuilder small = small_chunks();
  small.end(3000, 2);
  ok &= write(dir, "small.trace", small.bytes());

  TraceBuilder truncated = small_chunks();
  truncated.malloc(1, 20, 32).malloc(1, 21, 32).flush(1);
  std::vector<unsigned char> cut = truncated.bytes();
  cut.resize(cut.size() - 2);  // the last chunk's payload runs past the end
  ok &= write(dir, "truncated.trace", cut);

  std::vector<unsigned char> corrupt = small.bytes();
  corrupt[small.chunk_spans()[1].payload_offset + 3] ^= 0x40;
  ok &= write(dir, "corrupt.trace", corrupt);

  TraceBuilder newer("{}");
  newer.end();
  std::vector<unsigned char> v2 = newer.bytes();
  v2[8] = 2;
  ok &= write(dir, "newer.trace", v2);

  TraceBuilder many(R"({"program":"many","args":["many"],"forked_from_stamp":1})");
  std::uint64_t stamp = 2;
  std::uint64_t live[4] = {0, 0, 0, 0};
  for (int i = 0; i < 600; ++i) {
    const auto t = static_cast<std::uint32_t>((i / 7) % 4);
    if (i % 50 == 0) many.time_mark(t, static_cast<std::uint64_t>(i) * 100);
    if (live[t] == 0) {
      many.malloc(t, stamp, static_cast<std::uint64_t>(8 << (i % 12)));
      live[t] = stamp;
      stamp += 1;
    } else if (i % 3 == 0) {
      many.realloc(t, stamp, live[t], static_cast<std::uint64_t>(i), stamp + 1);
      live[t] = stamp + 1;
      stamp += 2;
    } else {
      const std::uint32_t other = (t + 1) % 4;  // a cross-thread free when the neighbour has one
      const std::uint32_t victim = live[other] ? other : t;
      many.free(t, stamp, live[victim]);
      live[victim] = 0;
      stamp += 1;
    }
    if (i % 40 == 39) many.flush(t);
  }
  many.end(60000);
  ok &= write(dir, "many.trace", many.bytes());
  return ok ? 0 : 1;
}
