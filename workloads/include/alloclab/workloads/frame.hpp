// alloclab/workloads/frame.hpp — frame-style transient allocation.
//
// Origin: the per-frame (game engines) or per-request (servers, compilers' per-function
//   passes) pattern that arenas exist for: a burst of short-lived objects that all die
//   together at the end of the frame. Cf. the "region" workloads of Gay & Aiken (PLDI 1998)
//   and Berger, Zorn & McKinley, "Reconsidering custom memory allocation" (OOPSLA 2002).
// Stresses: allocation throughput over a frame and the cost of ending it — one reset() for an
//   arena against one free per object for a pool.
// Parameters: sizes uniform in 16..256 B (multiples of 16, alignment 16), 2048 objects per
//   thread per frame (128 tiny); one round is one frame.
// Operation: one allocate() of one object and one write to it; the frame's release (a free of
//   each object, or one reset per frame — on a shared instance with every thread meeting at
//   the frame boundary, as a frame arena shared by worker threads would) is included, spread
//   over the frame's operations.
// Does not test: objects that outlive a frame or reuse at steady state (see `mixed`),
//   contention on purpose (`stress`), cross-thread frees (`larson`).
#pragma once

#include <cstddef>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/release.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

template <Allocator A>
class Frame {
 public:
  static constexpr WorkloadInfo info{
      "frame", "a frame of 16-256 B transient objects, all released together at its end",
      "allocate one 16-256 B object and write it (frame release included)"};

  struct Thread {
    Rng rng;
    std::vector<Live> objects;
  };

  Frame(const Params& params, int /*threads*/) : params_(params), per_frame_(params.tiny ? 128 : 2048) {}

  Thread make_thread(int thread_index) const {
    Thread t{Rng(thread_seed(params_, thread_index)), {}};
    t.objects.reserve(per_frame_);
    return t;
  }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& sync, Probe& probe) {
    for (std::size_t i = 0; i < per_frame_; ++i) {
      const std::size_t size = 16 * t.rng.between(1, 16);
      void* p = probe(size, [&] { return a.allocate(size, 16); });
      if (p == nullptr) [[unlikely]] break;  // exhausted: end the frame early
      touch(p);
      t.objects.push_back({p, size});
    }
    const std::size_t done = t.objects.size();
    release_now(a, t.objects, sync);  // end of frame: one reset (with every thread, if shared)
    t.objects.clear();
    return done;
  }

  // Everything goes, whatever the point in release_all's reset period (every thread calls
  // finish once, so the bulk below lines up).
  void finish(A& a, Thread& t, RoundSync& sync) {
    release_now(a, t.objects, sync);
    t.objects.clear();
  }

 private:
  Params params_;
  std::size_t per_frame_;
};

}  // namespace alloclab::workloads
