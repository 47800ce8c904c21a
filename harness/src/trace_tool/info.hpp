// harness/src/trace_tool/info.hpp — `alloclab-trace info FILE [--json]`: what a trace holds, as
// figures computed once from the reader's Trace (with its events, in stamp order) and then
// printed as text for a person or as JSON (schema 1) for tools. The figures: the program and the
// machine, duration and file size, events by kind and by thread, completeness, the size
// histogram, object lifetimes, peak live bytes, cross-thread frees and realloc growth.
// It does not replay anything: allocator-dependent figures (time, RSS, fragmentation) come from
// the `trace:FILE` workload of `alloclab`.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alloclab/trace/trace.hpp"

namespace alloclab::trace_tool {

// Nearest-rank percentiles of a sample; all zero when count == 0.
struct Percentiles {
  std::uint64_t count = 0;
  double min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};
Percentiles percentiles(std::vector<double> sample);

// Objects made with a requested size in [min, max]: bin 0 is size 0, then 1, 2-3, 4-7, ...
struct SizeBin {
  std::uint64_t min = 0, max = 0;
  std::uint64_t count = 0;
  double share = 0;  // of all objects made
};

struct InfoReport {
  std::string file;
  trace::Metadata meta;
  trace::Summary summary;
  double bytes_per_event = 0;            // file bytes / events (0 without events)
  std::vector<std::uint64_t> events_per_thread;
  std::vector<SizeBin> size_histogram;   // from the smallest to the largest non-empty bin
  std::uint64_t freed_objects = 0;       // objects made and freed inside the trace
  Percentiles lifetime_events;           // events (in stamp order) from make to free
  Percentiles lifetime_seconds;          // interpolated time from make to free
  std::uint64_t frees = 0, frees_by_other_thread = 0;        // of traced objects
  std::uint64_t reallocs = 0, reallocs_by_other_thread = 0;  // successful, of traced objects
  std::uint64_t realloc_grow = 0, realloc_shrink = 0, realloc_same = 0;
  Percentiles realloc_growth;            // new size / old size (old size > 0)
};

// Needs trace.events (ReadOptions::events).
InfoReport compute_info(const trace::Trace& trace, const std::string& file);
void print_info_text(std::ostream& out, const InfoReport& report);
nlohmann::json info_json(const InfoReport& report);

// The command: 0 printed, 2 unreadable trace (one line on stderr).
int run_info(const std::string& path, bool json);

}  // namespace alloclab::trace_tool
