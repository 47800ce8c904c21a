// alloclab/workloads/larson.hpp — Larson & Krishnan's server benchmark, as allocator papers run it.
//
// Origin: P. Larson and M. Krishnan, "Memory allocation for long-running server applications"
//   (ISMM 1998); the program distributed with Hoard and run by mimalloc-bench as
//   `larson 5 8 1000 5000 100 4141 T` (the parameters below). Each thread owns an array of
//   blocks and replaces random blocks of it; after a fixed number of replacements it hands its
//   array to a successor thread it creates, and exits. The successor frees blocks its
//   predecessor allocated: that hand-off is where the remote frees come from.
// Stresses: allocation and free of 8-999 B objects from a per-thread working set of 5000 live
//   blocks (about 2.5 MB), the frees of objects a thread that has exited allocated (thread
//   caches and heaps left behind, abandoned-heap reclaim), and thread creation and exit in the
//   allocator (its per-thread set-up and tear-down) once every 500,000 replacements.
// Parameters (mimalloc-bench's): sizes uniform in [8, 1000) B at the default alignment; 5000
//   blocks per thread (64 tiny); a thread lifetime of 100 passes, 500,000 replacements (4 passes
//   tiny). Needs one shared instance, individual free and cross-thread free.
// What alloclab changes: the program runs its threads for a fixed time (5 s) and counts
//   replacements; here one round of a driver thread is one thread lifetime of its lane — a new
//   std::thread works the lane's array for 500,000 replacements and exits, the driver thread
//   waiting for it — so Google Benchmark's rounds time whole lifetimes, thread start and exit
//   included as in the program. The program's main thread fills every array before the timed
//   run; here each lane's driver thread fills its own array in the untimed prepare(). The
//   random generator is the harness's (SplitMix64), not the program's lran2. One block's first
//   byte is written and read and its second written, as the program does.
// Operation: one replacement: free a random block of the array (nothing while the slot is
//   empty after a failed allocation) and allocate a new one of a random size into its slot. A
//   failed allocate() leaves the slot empty and is not counted.
// Does not test: the remote-free path at a high rate (`slot_exchange`: nearly every free
//   remote), arenas (they cannot free), bulk release, objects above 1000 B.
#pragma once

#include <cstddef>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

template <Allocator A>
class Larson {
 public:
  static constexpr WorkloadInfo info{
      .name = "larson",
      .description = "Larson & Krishnan's server benchmark: per-thread arrays handed to successor threads",
      .operation = "free a random block of the thread's array and allocate a new 8-999 B block in its place",
      .needs_shared_instance = true,
      .needs_free = true,
      .needs_cross_thread_free = true};

  // One round (a thread lifetime) gives the driver's latency pass more samples than it keeps.
  static constexpr int latency_rounds = 1;

  static constexpr std::size_t min_size = 8;
  static constexpr std::size_t max_size = 1000;  // exclusive, as the program's min + rand % range

  // A lane: one array of blocks, worked by one thread per round (the successor of the last).
  struct Thread {
    Rng rng;
    std::vector<void*> blocks;
    std::vector<std::size_t> sizes;  // the program keeps them beside the array too (sized free)
  };

  Larson(const Params& params, int /*threads*/)
      : params_(params), blocks_(params.tiny ? 64 : 5000), passes_(params.tiny ? 4 : 100) {}

  Thread make_thread(int thread_index) const {
    return Thread{Rng(thread_seed(params_, thread_index)), std::vector<void*>(blocks_, nullptr),
                  std::vector<std::size_t>(blocks_, 0)};
  }

  // The warm-up fill, untimed: every block of the lane's array allocated by the driver thread,
  // which the first successor then frees (the program's main thread fills every array).
  void prepare(A& a, Thread& t) {
    for (std::size_t i = 0; i < blocks_; ++i) {
      const std::size_t size = t.rng.between(min_size, max_size - 1);
      t.blocks[i] = a.allocate(size, default_alignment);
      t.sizes[i] = t.blocks[i] != nullptr ? size : 0;
    }
  }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& /*sync*/, Probe& probe) {
    std::size_t done = 0;
    auto lifetime = [&] { done = replace(a, t, probe); };
    try {
      std::thread successor(lifetime);
      successor.join();
    } catch (const std::system_error&) {
      lifetime();  // no thread to be had: this lane's lifetime runs in the driver thread
    }
    return done;
  }

  // Everything still in the lane's array, freed by its driver thread.
  void finish(A& a, Thread& t, RoundSync& /*sync*/) {
    for (std::size_t i = 0; i < blocks_; ++i) {
      if (t.blocks[i] != nullptr) a.deallocate(t.blocks[i], t.sizes[i]);
      t.blocks[i] = nullptr;
      t.sizes[i] = 0;
    }
  }

 private:
  template <class Probe>
  std::size_t replace(A& a, Thread& t, Probe& probe) {
    std::size_t done = 0;
    const std::size_t replacements = blocks_ * passes_;
    for (std::size_t i = 0; i < replacements; ++i) {
      const std::size_t victim = t.rng.between(0, blocks_ - 1);
      if (t.blocks[victim] != nullptr) a.deallocate(t.blocks[victim], t.sizes[victim]);
      const std::size_t size = t.rng.between(min_size, max_size - 1);
      void* p = probe(size, [&] { return a.allocate(size, default_alignment); });
      t.blocks[victim] = p;
      t.sizes[victim] = p != nullptr ? size : 0;
      if (p != nullptr) [[likely]] {
        volatile unsigned char* bytes = static_cast<unsigned char*>(p);
        bytes[0] = 'a';
        const unsigned char first = bytes[0];
        bytes[1] = static_cast<unsigned char>(first + 1);
        ++done;
      }
    }
    return done;
  }

  Params params_;
  std::size_t blocks_;
  std::size_t passes_;
};

}  // namespace alloclab::workloads
