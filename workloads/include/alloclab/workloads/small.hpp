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
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/release.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

template <Allocator A>
class Small {
 public:
  static constexpr WorkloadInfo info{
      "small", "8-64 B objects at a high rate, each touched once",
      "allocate one 8-64 B object and write it (round release included)"};

  struct Thread {
    Rng rng;
    std::vector<Live> objects;
  };

  Small(const Params& params, int /*threads*/) : params_(params), per_round_(params.tiny ? 256 : 4096) {}

  Thread make_thread(int thread_index) const {
    Thread t{Rng(thread_seed(params_, thread_index)), {}};
    t.objects.reserve(per_round_);
    return t;
  }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& sync, Probe& probe) {
    for (std::size_t i = 0; i < per_round_; ++i) {
      const std::size_t size = 8 * t.rng.between(1, 8);
      void* p = probe(size, [&] { return a.allocate(size, 8); });
      if (p == nullptr) [[unlikely]] break;  // exhausted: release and go on
      touch(p);
      t.objects.push_back({p, size});
    }
    const std::size_t done = t.objects.size();
    release_all(a, t.objects, sync);
    return done;
  }

  void finish(A& a, Thread& t, RoundSync& sync) { release_now(a, t.objects, sync); }

 private:
  Params params_;
  std::size_t per_round_;
};

}  // namespace alloclab::workloads
