// tests/trace/replay_traces.hpp — random but consistent traces for the replay's tests and the
// driver's fixtures (replay_fixtures.cpp), written through the recorder's encoder
// (trace_builder.hpp) so that they go through the real reader.
//
// One process-wide stamp order is drawn event by event, each event given to a thread: frees
// and reallocs name an object live at that point of the order — made by the same thread, or,
// with probability `cross`, by any thread — so the file is what a recorder would write of a
// real program. Sizes: mostly 1-512 B, some to 64 KiB, a few to 1 MiB (past `null`'s scratch),
// an occasional 0; aligned requests at 32-4096 B; a few recorded failures (a huge malloc, a
// realloc that kept its object). Threads' chunks are flushed at random points, so they
// interleave in the file as a recorder's do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "alloclab/workloads/workload.hpp"
#include "trace_builder.hpp"

namespace alloclab::trace::testing {

struct RandomTraceOptions {
  std::uint64_t seed = 1;
  unsigned threads = 1;
  std::size_t events = 2000;
  double cross = 0.0;          // share of frees/reallocs of any thread's object
  bool aligned_above_default = true;  // aligned requests of 32..4096 B (else none)
  bool failures = true;        // a few recorded failed calls
  bool large = true;           // a few objects of 64 KiB .. 1 MiB
  bool end = true;             // write the end record (false: a truncated trace, open chunks lost)
};

// What was generated, counted as the recorder would.
struct RandomTrace {
  std::vector<unsigned char> bytes;
  std::uint64_t by_kind[5] = {};
  std::uint64_t failed_by_kind[5] = {};
};

inline RandomTrace random_trace(const RandomTraceOptions& o) {
  struct Live {
    std::uint64_t id;
    std::uint32_t thread;
  };
  workloads::Rng rng(o.seed);
  TraceBuilder b;
  RandomTrace out;
  std::vector<Live> live;
  std::vector<bool> started(o.threads, false);
  std::uint64_t stamp = 0;
  const auto size = [&]() -> std::uint64_t {
    const std::uint64_t r = rng.between(0, 999);
    if (r < 10) return 0;
    if (o.large && r < 14) return rng.between(std::size_t{64} << 10, std::size_t{1} << 20);
    if (r < 100) return rng.between(513, std::size_t{64} << 10);
    return rng.between(1, 512);
  };
  // A live object for thread t to free: its own, or (with probability cross) anyone's.
  const auto pick = [&](std::uint32_t t) -> std::ptrdiff_t {
    if (live.empty()) return -1;
    if (rng.unit() < o.cross) return static_cast<std::ptrdiff_t>(rng.between(0, live.size() - 1));
    for (int tries = 0; tries < 8; ++tries) {
      const std::size_t i = rng.between(0, live.size() - 1);
      if (live[i].thread == t) return static_cast<std::ptrdiff_t>(i);
    }
    for (std::size_t i = live.size(); i-- > 0;)
      if (live[i].thread == t) return static_cast<std::ptrdiff_t>(i);
    return -1;
  };
  const auto count = [&](Kind k, bool failed) {
    ++out.by_kind[static_cast<unsigned>(k)];
    if (failed) ++out.failed_by_kind[static_cast<unsigned>(k)];
  };
  for (std::size_t e = 0; e < o.events; ++e) {
    const auto t = static_cast<std::uint32_t>(rng.between(0, o.threads - 1));
    if (!started[t]) {
      b.time_mark(t, e);
      started[t] = true;
    }
    ++stamp;
    const std::uint64_t r = rng.between(0, 99);
    std::ptrdiff_t victim = r >= 45 ? pick(t) : -1;
    if (r < 35 || (r >= 45 && victim < 0)) {
      if (o.failures && rng.between(0, 299) == 0) {
        b.malloc(t, stamp, std::uint64_t{1} << 46, true);
        count(Kind::malloc, true);
      } else {
        b.malloc(t, stamp, size());
        live.push_back({stamp, t});
        count(Kind::malloc, false);
      }
    } else if (r < 40) {
      b.calloc(t, stamp, size());
      live.push_back({stamp, t});
      count(Kind::calloc, false);
    } else if (r < 45) {
      const unsigned log2 = o.aligned_above_default ? static_cast<unsigned>(rng.between(5, 12)) : 4;
      b.aligned(t, stamp, log2, size());
      live.push_back({stamp, t});
      count(Kind::aligned, false);
    } else if (r < 60) {
      Live& v = live[static_cast<std::size_t>(victim)];
      if (o.failures && rng.between(0, 99) == 0) {
        b.failed_realloc(t, stamp, v.id, std::uint64_t{1} << 46);  // the object lives on
        count(Kind::realloc, true);
      } else {
        const std::uint64_t made = ++stamp;  // the allocation side's stamp
        b.realloc(t, stamp - 1, v.id, size(), made);
        v = {made, t};
        count(Kind::realloc, false);
      }
    } else {
      b.free(t, stamp, live[static_cast<std::size_t>(victim)].id);
      live[static_cast<std::size_t>(victim)] = live.back();
      live.pop_back();
      count(Kind::free, false);
    }
    if (rng.between(0, 63) == 0) b.flush(t);
  }
  // Every thread has at least its time mark; one without events still starts a chunk.
  for (std::uint32_t t = 0; t < o.threads; ++t)
    if (!started[t]) b.time_mark(t, 0);
  if (o.end) b.end(o.events);
  // Else each thread's open chunk is lost, as when a process is killed: the threads' prefixes
  // reach different points of the stamp order.
  out.bytes = std::move(b.bytes());
  return out;
}

}  // namespace alloclab::trace::testing
