// alloclab/workloads/object_rounds.hpp — rounds of small objects, allocated, touched, released.
//
// The shape `small` and `stress` share: each round a thread allocates `per_round` objects of
// sizes uniform in granule..granule*max_units (multiples of granule, aligned to it), writes
// each once, then releases the round (release_all: free each object, or an arena's periodic
// reset). What differs — sizes, round length, whether all threads must share one instance — is
// the Spec:
//   struct Spec {
//     static constexpr WorkloadInfo info;
//     static constexpr std::size_t granule, max_units, per_round, per_round_tiny;
//   };
#pragma once

#include <cstddef>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/release.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

template <Allocator A, class Spec>
class ObjectRounds {
 public:
  static constexpr WorkloadInfo info = Spec::info;

  struct Thread {
    Rng rng;
    std::vector<Live> objects;
  };

  ObjectRounds(const Params& params, int /*threads*/)
      : params_(params), per_round_(params.tiny ? Spec::per_round_tiny : Spec::per_round) {}

  Thread make_thread(int thread_index) const {
    Thread t{Rng(thread_seed(params_, thread_index)), {}};
    t.objects.reserve(per_round_);
    return t;
  }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& sync, Probe& probe) {
    for (std::size_t i = 0; i < per_round_; ++i) {
      const std::size_t size = Spec::granule * t.rng.between(1, Spec::max_units);
      void* p = probe(size, [&] { return a.allocate(size, Spec::granule); });
      if (p == nullptr) [[unlikely]] break;  // exhausted: release and go on
      touch(p);
      t.objects.push_back({p, size});
    }
    const std::size_t done = t.objects.size();
    release_all(a, t.objects, sync);
    return done;
  }

  // Everything goes, whatever the point in release_all's reset period (every thread calls
  // finish once, so the bulk release lines up).
  void finish(A& a, Thread& t, RoundSync& sync) { release_now(a, t.objects, sync); }

 private:
  Params params_;
  std::size_t per_round_;
};

}  // namespace alloclab::workloads
