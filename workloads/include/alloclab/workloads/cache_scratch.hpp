// alloclab/workloads/cache_scratch.hpp — passive false sharing of small objects.
//
// Origin: "cache-scratch" of Berger, McKinley, Blumofe & Wilson, "Hoard: a scalable memory
//   allocator for multithreaded applications" (ASPLOS 2000). One thread allocates a small
//   object for every thread — adjacent objects, likely on one cache line — and hands them
//   out. Each thread writes its object, frees it and allocates a new one: an allocator that
//   gives the freed memory back to the same thread (or carves the new object next to the
//   others) keeps the threads writing one cache line, which then bounces between cores.
// Stresses: cache-line placement of small objects allocated by one thread and used by others
//   (passive false sharing), and of objects that different threads allocate at the same time
//   (active false sharing: a shared bump cursor puts them side by side, a thread-local arena
//   does not).
// Parameters: 8-byte objects (alignment 8), one per thread per phase; 1000 writes per object
//   (50 tiny) of one 8-byte word through a volatile pointer. Needs one shared instance.
//   Per round: thread 0 allocates one object per thread; barrier; each thread writes the one
//   given to it; frees it (allocators with free; arenas keep it until the reset), allocates
//   its own and writes that; barrier; then frees its own object. Arenas keep theirs and are
//   reset as release_all does it (every RoundSync::reset_period rounds, every thread
//   stopped), so every allocator pays the same two barriers per round.
// Operation: one 8-byte write to a small object (two phases of writes per round); the round's
//   allocations, frees, barriers and resets are included.
// Does not test: allocation speed (see `small`, `stress`), frees of objects in bulk, objects
//   larger than a word.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/release.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

template <Allocator A>
class CacheScratch {
 public:
  static constexpr WorkloadInfo info{
      .name = "cache_scratch",
      .description = "passive false sharing: small objects made by one thread, written by others",
      .operation = "one 8-byte write to a small object (allocations, frees and barriers included)",
      .needs_shared_instance = true};

  static constexpr std::size_t object_size = 8;

  struct Thread {
    int index;
  };

  CacheScratch(const Params& params, int threads)
      : handed_out_(static_cast<std::size_t>(threads < 1 ? 1 : threads), nullptr),
        writes_(params.tiny ? 50 : 1000) {}

  Thread make_thread(int thread_index) const { return Thread{thread_index}; }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& sync, Probe& probe) {
    // Phase 0: thread 0 allocates everyone's object (with a private instance each thread
    // handles only its own: the objects of different instances cannot share a line).
    if (sync.shared()) {
      if (sync.leader()) {
        for (void*& p : handed_out_) p = probe(object_size, [&] { return a.allocate(object_size, 8); });
      }
    } else {
      handed_out_[own(t)] = probe(object_size, [&] { return a.allocate(object_size, 8); });
    }
    sync.barrier();

    // Phase 1: write the object thread 0 made, then give it back.
    std::size_t done = 0;
    void* given = handed_out_[own(t)];
    if (given != nullptr) {
      done += write(given);
      if constexpr (allocator_traits<A>::supports_free) a.deallocate(given, object_size);
    }

    // Phase 2: a new object of this thread's own, written the same way.
    void* mine = probe(object_size, [&] { return a.allocate(object_size, 8); });
    if (mine != nullptr) done += write(mine);

    sync.barrier();  // every thread done writing (and done reading handed_out_)

    // Release.
    if constexpr (allocator_traits<A>::supports_free) {
      if (mine != nullptr) a.deallocate(mine, object_size);
    } else {
      sync.bulk_periodic([&] { record_and_reset(a, sync); });
    }
    return done;
  }

  // Allocators with free have nothing live after a round; an arena may hold up to a reset
  // period's objects: reset it now (every thread calls finish once).
  void finish(A& a, Thread& /*t*/, RoundSync& sync) {
    if constexpr (!allocator_traits<A>::supports_free) bulk_reset(a, sync);
  }

 private:
  static std::size_t own(const Thread& t) noexcept { return static_cast<std::size_t>(t.index); }

  std::size_t write(void* p) const noexcept {
    auto* word = static_cast<volatile std::uint64_t*>(p);
    for (std::size_t k = 0; k < writes_; ++k) *word = k;
    return writes_;
  }

  std::vector<void*> handed_out_;  // written by thread 0, read after the barrier
  std::size_t writes_;
};

}  // namespace alloclab::workloads
