// alloclab/workloads/release.hpp — ending a round: free each object, or reset in bulk.
#pragma once

#include <cstddef>
#include <span>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

struct Live {
  void* p;
  std::size_t size;
};

// Called where the allocator is quiescent: its statistics just before a reset are its peak.
template <Allocator A>
void record_and_reset(A& a, RoundSync& sync) {
  if (sync.recording()) sync.record(a.stats());
  a.reset();
}

// Frees a thread's live objects one by one where the allocator can; otherwise resets it every
// RoundSync::reset_period rounds (see bulk_periodic) — with every thread of the run stopped
// when the instance is shared. Every thread of a run must call this the same number of times
// (it may wait at a barrier). An arena's caller need not have kept its objects: they are not
// read. The caller forgets them afterwards.
template <Allocator A>
void release_all(A& a, std::span<const Live> objects, RoundSync& sync) {
  if constexpr (allocator_traits<A>::supports_free) {
    if (sync.recording()) sync.record(a.stats());
    for (const Live& o : objects) a.deallocate(o.p, o.size);
  } else {
    sync.bulk_periodic([&] { record_and_reset(a, sync); });
  }
}

// Resets an arena now, every thread stopped if it is shared (see RoundSync::bulk).
template <Allocator A>
void bulk_reset(A& a, RoundSync& sync) {
  sync.bulk([&] { record_and_reset(a, sync); });
}

// Releases everything now: frees each object, or resets — a shared instance with every thread
// stopped, whatever the point in release_all's period. For the end of a frame (one reset per
// frame is the workload) and for finish() (nothing may stay live after a run).
template <Allocator A>
void release_now(A& a, std::span<const Live> objects, RoundSync& sync) {
  if constexpr (allocator_traits<A>::supports_free) {
    if (sync.recording()) sync.record(a.stats());
    for (const Live& o : objects) a.deallocate(o.p, o.size);
  } else {
    bulk_reset(a, sync);
  }
}

}  // namespace alloclab::workloads
