// alloclab/trace/distribution.hpp — a program's allocation shape distilled from a trace: per
// requested size, how often it is allocated and how many objects of it are live on average
// (the shape of fleetbench's empirical tables). `alloclab-trace distill` writes it as CSV; the
// `empirical:FILE` workload replays it as a birth/death process at any thread count.
//
// Time is counted in events of the recorded trace, not seconds, so the table does not depend
// on how fast the recorded machine was:
//   rate(size)       = allocations of that size / events of the trace
//   mean_live(size)  = time-average over the trace's events of the objects of that size alive
//   lifetime(size)   = mean_live / rate        (Little's law), in events
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace alloclab::trace {

struct DistributionRow {
  std::uint64_t size = 0;      // requested bytes
  double rate = 0;             // allocations per event, > 0
  double mean_live = 0;        // objects, >= 0
};

struct Distribution {
  std::vector<DistributionRow> rows;  // by size, ascending, sizes unique
  std::string source;                 // what it was distilled from (the trace's program), may be empty
};

}  // namespace alloclab::trace
