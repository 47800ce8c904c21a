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
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/release.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

template <Allocator A>
class Stress {
 public:
  static constexpr WorkloadInfo info{
      .name = "stress",
      .description = "all threads allocate 16-256 B objects from one shared instance at once",
      .operation = "allocate one 16-256 B object and write it (round release included)",
      .needs_shared_instance = true};

  struct Thread {
    Rng rng;
    std::vector<Live> objects;
  };

  Stress(const Params& params, int /*threads*/) : params_(params), per_round_(params.tiny ? 64 : 1024) {}

  Thread make_thread(int thread_index) const {
    Thread t{Rng(thread_seed(params_, thread_index)), {}};
    t.objects.reserve(per_round_);
    return t;
  }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& sync, Probe& probe) {
    for (std::size_t i = 0; i < per_round_; ++i) {
      const std::size_t size = 16 * t.rng.between(1, 16);
      void* p = probe(size, [&] { return a.allocate(size, 16); });
      if (p == nullptr) [[unlikely]] break;  // exhausted: release and go on
      touch(p);
      t.objects.push_back({p, size});
    }
    const std::size_t done = t.objects.size();
    release_all(a, t.objects, sync);
    return done;
  }

  // Everything goes, whatever the point in release_all's reset period (every thread calls
  // finish once, so the bulk below lines up).
  void finish(A& a, Thread& t, RoundSync& sync) { release_now(a, t.objects, sync); }

 private:
  Params params_;
  std::size_t per_round_;
};

}  // namespace alloclab::workloads
