// alloclab/workloads/small.hpp — the small-allocation test.
//
// Origin: the classic "many tiny objects" micro-benchmark (mimalloc-bench's alloc-test, the
//   small-object paths of Hoard and jemalloc papers): most allocations in real programs are
//   under 64 bytes.
// Stresses: the allocator's fast path at a high rate — size-class lookup or pointer bump,
//   with each object touched once as a program initialising it would.
// Parameters: sizes uniform in 8..64 B (multiples of 8), 4096 objects per round (256 tiny).
// Operation: one allocate() of one object and one write to it; the release (free of each
//   object at the end of its round, or for an arena one reset every RoundSync::reset_period
//   rounds) is included, spread over the operations.
// Does not test: reuse of freed memory at steady state (see `mixed`), cross-thread frees
//   (`larson`), large objects, or contention on a shared arena (`stress`).
#pragma once

#include <cstddef>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/object_rounds.hpp"

namespace alloclab::workloads {

struct SmallSpec {
  static constexpr WorkloadInfo info{
      "small", "8-64 B objects at a high rate, each touched once",
      "allocate one 8-64 B object and write it (round release included)"};
  static constexpr std::size_t granule = 8, max_units = 8, per_round = 4096, per_round_tiny = 256;
};

template <Allocator A>
class Small : public ObjectRounds<A, SmallSpec> {
 public:
  using ObjectRounds<A, SmallSpec>::ObjectRounds;
};

}  // namespace alloclab::workloads
