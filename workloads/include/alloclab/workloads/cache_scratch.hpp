// alloclab/workloads/cache_scratch.hpp — passive false sharing: Hoard's cache-scratch test.
//
// Origin: "cache-scratch" of Berger, McKinley, Blumofe & Wilson, "Hoard: a scalable memory
//   allocator for multithreaded applications" (ASPLOS 2000), as distributed with Hoard and run
//   by mimalloc-bench (`cache-scratch T 1000 1 2000000 T`). One thread allocates a small
//   object for every thread — adjacent objects, likely on one cache line — and hands them
//   out. Each thread frees the object it was given at once, then repeatedly allocates an
//   object of the same size, writes it many times and frees it. An allocator that gives the
//   freed object's memory back to the freeing thread (a per-thread cache of freed blocks)
//   hands every thread a block on the line the first thread's objects share, and the threads'
//   writes then bounce that line between cores for the whole run: the allocator induced the
//   false sharing ("passive"); the program never touches another thread's object.
// Stresses: where an allocator places a thread's new small object after that thread freed an
//   object another thread allocated (passive false sharing), and, for allocators without
//   free, where it places small objects different threads allocate at once (a shared bump
//   cursor puts them side by side: active false sharing; a thread-local arena does not).
// Parameters: objects of 1 byte at the default alignment (the program's `new char[1]`); per
//   round, 4 allocate-write-free cycles per thread of 20,000 writes each (tiny: 1 of 100). A
//   write stores the object's byte and reads it back through a volatile pointer, as the
//   program does. Needs one shared instance.
// What alloclab changes: the program hands the objects out once and then runs 1000 cycles of
//   2,000,000 / T writes per thread; here every round starts with a hand-out (thread 0
//   allocates one object per thread, then one barrier), so the timed rounds repeat the
//   program's start and the allocators with free cannot settle into a state the hand-out no
//   longer influences. Arenas keep their objects until a reset (every RoundSync::reset_period
//   rounds, every thread stopped, as release_all does it).
// Operation: one write of an object's byte (with its read-back); the round's hand-out,
//   allocations, frees, barrier and resets are included.
// Does not test: allocation speed (see `small`, `stress`), objects larger than a cache line,
//   the active false sharing of objects a program shares on purpose.
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
      .description = "passive false sharing (Hoard): objects handed out, freed, then new ones written",
      .operation = "one write of a 1-byte object's byte (hand-out, allocations, frees and barrier included)",
      .needs_shared_instance = true};

  static constexpr std::size_t object_size = 1;

  struct Thread {
    int index;
    unsigned round = 0;
  };

  CacheScratch(const Params& params, int threads)
      : handed_out_{std::vector<void*>(static_cast<std::size_t>(threads < 1 ? 1 : threads), nullptr),
                    std::vector<void*>(static_cast<std::size_t>(threads < 1 ? 1 : threads), nullptr)},
        cycles_(params.tiny ? 1 : 4),
        writes_(params.tiny ? 100 : 20000) {}

  Thread make_thread(int thread_index) const { return Thread{thread_index}; }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& sync, Probe& probe) {
    // The hand-out: thread 0 allocates everyone's object (with a private instance each thread
    // allocates only its own: the objects of different instances cannot share a line). The
    // barrier also means every thread finished its previous round's writes. Rounds alternate
    // between two hand-out lists: thread 0 fills the next round's while a slower thread may
    // still be about to read this round's, which is not written again before the next barrier.
    std::vector<void*>& list = handed_out_[t.round++ % 2];
    if (sync.shared()) {
      if (sync.leader()) {
        for (void*& p : list) p = allocate(a, probe);
      }
    } else {
      list[own(t)] = allocate(a, probe);
    }
    sync.barrier();

    // The given object is freed unwritten; then this thread's own objects, each written many
    // times and freed.
    void* given = list[own(t)];
    if constexpr (allocator_traits<A>::supports_free) {
      if (given != nullptr) a.deallocate(given, object_size);
    }
    std::size_t done = 0;
    for (std::size_t c = 0; c < cycles_; ++c) {
      void* mine = allocate(a, probe);
      if (mine == nullptr) [[unlikely]] continue;
      done += write(mine);
      if constexpr (allocator_traits<A>::supports_free) a.deallocate(mine, object_size);
    }
    if constexpr (!allocator_traits<A>::supports_free) {
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

  template <class Probe>
  static void* allocate(A& a, Probe& probe) {
    return probe(object_size, [&] { return a.allocate(object_size, default_alignment); });
  }

  std::size_t write(void* p) const noexcept {
    auto* byte = static_cast<volatile unsigned char*>(p);
    for (std::size_t k = 0; k < writes_; ++k) {
      *byte = static_cast<unsigned char>(k);
      const unsigned char back = *byte;
      keep_value(back);
    }
    return writes_;
  }

  static void keep_value(unsigned char v) noexcept { asm volatile("" : : "r"(v)); }

  std::vector<void*> handed_out_[2];  // written by thread 0, read after the barrier
  std::size_t cycles_;
  std::size_t writes_;
};

}  // namespace alloclab::workloads
