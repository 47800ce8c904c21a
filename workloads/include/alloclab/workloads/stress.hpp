// alloclab/workloads/stress.hpp — every thread hammers the one shared instance at once.
//
// Origin: the multi-threaded throughput tests of the allocator literature (Hoard's threadtest,
//   mimalloc-bench's xmalloc-test without the cross-thread part): N threads allocating as fast
//   as they can from one allocator, where any shared state — a lock, an atomic cursor, a cache
//   line of bookkeeping — becomes the bottleneck.
// Stresses: contention on a shared instance: lock hand-off (mutex arena, pool), CAS retries
//   (atomic bump arena), or the absence of both (thread-local arena); each object touched once.
// Parameters: sizes uniform in 16..256 B (multiples of 16, alignment 16), 1024 objects per
//   thread per round (64 tiny). Needs one instance shared by all threads.
// Operation: one allocate() of one object and one write to it; the round's release (free of
//   each object; for an arena, release_all's reset — every RoundSync::reset_period
//   rounds, with every thread stopped, on a shared instance) is included.
// Does not test: reuse at steady state (see `mixed`), frees by other threads (`larson`),
//   false sharing of the objects handed out (`cache_scratch`), single-thread speed (`small`).
#pragma once

#include <cstddef>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/object_rounds.hpp"

namespace alloclab::workloads {

struct StressSpec {
  static constexpr WorkloadInfo info{
      .name = "stress",
      .description = "all threads allocate 16-256 B objects from one shared instance at once",
      .operation = "allocate one 16-256 B object and write it (round release included)",
      .needs_shared_instance = true};
  static constexpr std::size_t granule = 16, max_units = 16, per_round = 1024, per_round_tiny = 64;
};

template <Allocator A>
class Stress : public ObjectRounds<A, StressSpec> {
 public:
  using ObjectRounds<A, StressSpec>::ObjectRounds;
};

}  // namespace alloclab::workloads
