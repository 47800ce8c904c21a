// alloclab/workloads/slot_exchange.hpp — every free most likely another thread's: one shared array
// of slots, a random slot exchanged on every operation.
//
// Origin: alloclab's own stress of the remote-free path, derived from Larson & Krishnan's server
//   benchmark (ISMM 1998) but NOT that benchmark (`larson` runs the published algorithm): here
//   the slots are one array shared by all threads and each operation swaps a new object into a
//   random slot of it, so at T threads about (T-1)/T of the frees are remote from the first
//   operation on, where Larson's threads replace objects of their own arrays and the remote
//   frees come only from the hand-off of an array to a successor thread.
// Stresses: cross-thread free at the highest rate a workload can make it — remote-free queues,
//   ownership hand-off, lock traffic on the freeing side — and the false sharing and
//   fragmentation that follow. The exchange itself is an atomic on a shared array: at 2 or more
//   threads it adds cross-core traffic of the harness's own to every operation (`null_free`
//   measures it), so its throughput falls with threads for every allocator.
// Parameters: 1024 slots per thread (64 tiny) in one shared array of std::atomic<void*>;
//   sizes uniform in 16..512 B (multiples of 16, alignment 16), each object holding its size
//   in its first 8 bytes; 2048 operations per thread per round (128 tiny). The array starts
//   empty and fills during the first rounds. Needs one shared instance, individual free and
//   cross-thread free.
// Operation: one allocate() of a new object (its size written into it), swapped into a random
//   slot of the whole array, and one deallocate() of the object it displaced (most likely
//   another thread's; nothing to free while the slot was still empty). A failed allocate()
//   empties the slot instead (freeing what it held) and is not counted.
// Does not test: arenas (they cannot free), single-thread speed (see `small`), bulk release,
//   the published Larson benchmark (`larson`).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstring>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

template <Allocator A>
class SlotExchange {
 public:
  static constexpr WorkloadInfo info{
      .name = "slot_exchange",
      .description = "random slots of one shared array exchanged: nearly every free is another thread's",
      .operation = "allocate a 16-512 B object into a random shared slot and free the one it displaced",
      .needs_shared_instance = true,
      .needs_free = true,
      .needs_cross_thread_free = true};

  struct Thread {
    Rng rng;
  };

  SlotExchange(const Params& params, int threads)
      : params_(params),
        slots_(static_cast<std::size_t>(threads < 1 ? 1 : threads) * (params.tiny ? 64 : 1024)),
        per_round_(params.tiny ? 128 : 2048) {
    for (auto& s : slots_) s.store(nullptr, std::memory_order_relaxed);
  }

  Thread make_thread(int thread_index) const { return Thread{Rng(thread_seed(params_, thread_index))}; }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& /*sync*/, Probe& probe) {
    std::size_t done = 0;
    const std::size_t last = slots_.size() - 1;
    for (std::size_t i = 0; i < per_round_; ++i) {
      std::atomic<void*>& slot = slots_[t.rng.between(0, last)];
      const std::size_t size = 16 * t.rng.between(1, 32);
      void* p = probe(size, [&] { return a.allocate(size, 16); });
      if (p != nullptr) [[likely]] {
        std::memcpy(p, &size, sizeof size);
        ++done;
      }
      // acq_rel: our size write is published to whoever takes p out; the old object's size
      // write (by its allocating thread) is visible to us before we read it.
      free_object(a, slot.exchange(p, std::memory_order_acq_rel));
    }
    return done;
  }

  // Thread 0 frees what is left in the shared array once every thread has stopped.
  void finish(A& a, Thread& /*t*/, RoundSync& sync) {
    sync.barrier();
    if (sync.leader()) {
      for (auto& s : slots_) free_object(a, s.exchange(nullptr, std::memory_order_acq_rel));
    }
    sync.barrier();
  }

 private:
  static void free_object(A& a, void* p) noexcept {
    if (p == nullptr) return;
    std::size_t size;
    std::memcpy(&size, p, sizeof size);
    a.deallocate(p, size);
  }

  Params params_;
  std::vector<std::atomic<void*>> slots_;
  std::size_t per_round_;
};

}  // namespace alloclab::workloads
