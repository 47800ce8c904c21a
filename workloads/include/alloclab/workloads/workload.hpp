// alloclab/workloads/workload.hpp — what every workload is made of.
//
// A workload is a class template over the allocator type. It knows the allocator contract and
// traits (allocator.hpp) and nothing of the harness or of Google Benchmark. The driver runs it
// as rounds: every thread calls `run_round` once per timed iteration, and the round returns the
// number of operations it did (each workload defines what one operation is).
//
//   template <class A> struct SomeWorkload {
//     static constexpr WorkloadInfo info{...};          // name, operation, requirements
//     struct Thread { ... };                             // per-thread state (RNG, live slots)
//     explicit SomeWorkload(const Params&, int threads); // shared state, built once per run
//     Thread make_thread(int thread_index);
//     template <class Probe>
//     std::size_t run_round(A&, Thread&, RoundSync&, Probe&);
//     void finish(A&, Thread&, RoundSync&);              // frees what is still live
//     struct Totals { ... };                             // optional, see ReportsCounters
//     static constexpr int latency_rounds = 1;           // optional: fewer rounds in the driver's
//                                                        // untimed latency pass (default 4)
//   };
//
// Probe wraps every allocate() so the driver can time single calls and count bytes in a
// separate, untimed pass while the timed pass uses NoProbe, which compiles to nothing.
// RoundSync is how a round that ends in a bulk release of a SHARED allocator waits for every
// thread: reset() requires quiescence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "alloclab/allocator.hpp"

namespace alloclab::trace {
struct Distribution;  // alloclab/trace/distribution.hpp
}  // namespace alloclab::trace

namespace alloclab::workloads {

struct Params {
  std::uint64_t seed = 42;
  bool tiny = false;  // smoke tests: rounds and structures cut down to run in milliseconds
  // The `empirical:FILE` workload's table (empirical.hpp), read once by the driver; it must
  // outlive every workload built from these Params. Unused by the other workloads.
  const trace::Distribution* distribution = nullptr;
};

// What a workload needs from an allocator; the driver skips (and records) pairs that lack it.
struct WorkloadInfo {
  std::string_view name;
  std::string_view description;  // one line: what it stresses
  std::string_view operation;    // one line: what one counted operation is
  bool needs_shared_instance = false;     // all threads must use ONE instance (thread_safe)
  bool needs_free = false;                // individual deallocate must return memory
  bool needs_cross_thread_free = false;   // freed by a thread other than the allocating one
  // Reads pointers back out of its objects to free them (a tree walked node by node): a scratch
  // reference that accepts frees (null_free: every object the same bytes) cannot run it.
  bool links_objects = false;
};

// Why allocator A cannot run workload W, or an empty view when it can.
template <Allocator A>
constexpr std::string_view incompatibility(const WorkloadInfo& w) {
  using T = allocator_traits<A>;
  // Freeing from a thread other than the allocating one needs both traits.
  constexpr bool cross_thread_free = T::thread_safe && T::supports_free;
  if (w.needs_shared_instance && !T::thread_safe)
    return "needs one instance shared by all threads; the allocator is not thread-safe";
  if (w.needs_cross_thread_free && !cross_thread_free)
    return "needs objects freed by other threads; the allocator cannot free across threads";
  if (w.needs_free && !T::supports_free)
    return "needs individual free; the allocator only frees in bulk";
  if constexpr (requires { A::scratch_bytes; }) {
    if (w.links_objects && T::supports_free)
      return "frees by walking pointers stored in its objects; the reference hands every call the same bytes";
  }
  return {};
}

// A workload with counters of its own (beside the driver's) defines a nested Totals:
//   struct Totals {
//     void add(const Thread&);                    // one thread's share of the timed rounds
//     template <class F> void report(F&& counter) const;  // counter(std::string_view name, double)
//   };
// The driver adds every thread's state into one Totals after the timed rounds (the untimed
// latency pass excluded), then calls report() once; each counter goes into the case's JSON.
template <class W>
concept ReportsCounters = requires(typename W::Totals& totals, const typename W::Thread& thread) {
  totals.add(thread);
};
// W's Totals, or an empty type for a workload without counters of its own.
template <class W>
struct TotalsOf {
  struct None {};
  using type = None;
};
template <ReportsCounters W>
struct TotalsOf<W> {
  using type = typename W::Totals;
};
template <class W>
using totals_t = typename TotalsOf<W>::type;

// Synchronisation of the threads of one run around bulk releases.
class RoundSync {
 public:
  virtual ~RoundSync() = default;
  // Runs `release` once, with every thread of the run stopped (shared instance), or runs it
  // in the calling thread (instance private to the thread). Every thread must call it the
  // same number of times.
  template <class F>
  void bulk(F&& release) {
    if (!shared()) {
      release();
      return;
    }
    arrive_and_wait();
    if (leader()) release();
    arrive_and_wait();
  }
  // For rounds whose objects need not outlive the round: like bulk(), but only every
  // `reset_period` calls, so the threads of a shared instance meet at a barrier once per
  // period instead of once per round (the barrier is the harness's cost, not the
  // allocator's). The period is the same for private instances, so the working set — and
  // with it the cache level the workload runs in — does not change with the thread count.
  // Two rounds of `small` are about 300 KB per thread: the working set stays in a core's L2
  // (with 8, 1.2 MB per thread spilled to the shared L3 and two threads of even a bare bump
  // shared its bandwidth instead of scaling).
  template <class F>
  void bulk_periodic(F&& release) {
    if (++calls_ % reset_period == 0) bulk(release);
  }
  static constexpr unsigned reset_period = 2;

  // A plain barrier across the run's threads (no-op for a private instance).
  void barrier() {
    if (shared()) arrive_and_wait();
  }
  // The driver's untimed pass records the allocator's statistics at release points (with every
  // thread stopped, for a shared arena), to report requested vs reserved bytes at the peak.
  [[nodiscard]] virtual bool recording() const noexcept { return false; }
  virtual void record(const AllocatorStats& /*stats*/) {}

  [[nodiscard]] virtual bool shared() const noexcept = 0;
  [[nodiscard]] virtual bool leader() const noexcept = 0;
  [[nodiscard]] virtual int threads() const noexcept = 0;

 protected:
  virtual void arrive_and_wait() = 0;

 private:
  unsigned calls_ = 0;
};

// Allocation probes: every allocate() of a workload is written `probe(size, [&]{ return
// a.allocate(size, alignment); })`. NoProbe, in the timed pass, is the call itself; the
// driver's untimed pass supplies a probe that times the call and counts the bytes.
struct NoProbe {
  template <class F>
  [[gnu::always_inline]] void* operator()(std::size_t /*size*/, F&& allocate_call) {
    return allocate_call();
  }
};

// SplitMix64: deterministic, fast, one word of state; seeded per thread from Params::seed.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi] (bias below 2^-32 for the ranges used here).
  std::size_t between(std::size_t lo, std::size_t hi) noexcept {
    return lo + static_cast<std::size_t>(((next() >> 32) * (hi - lo + 1)) >> 32);
  }
  // Uniform in [0, 1).
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

// The seed of one thread's Rng. Seeds that differ by Rng's own increment would make thread i+1's
// stream thread i's shifted by one draw (threads repeating each other's sizes a step apart), so
// the combined value goes through one SplitMix output, which scatters the threads' streams
// across the generator's cycle.
inline std::uint64_t thread_seed(const Params& p, int thread_index) noexcept {
  return Rng(p.seed * 0x100000001B3ULL + static_cast<std::uint64_t>(thread_index) * 0x9E3779B97F4A7C15ULL + 1).next();
}

// Keeps the compiler from proving a write dead without costing a fence.
inline void keep(void* p) noexcept { asm volatile("" : : "r"(p) : "memory"); }

// Touches an object once: one write to its first byte, as a program initialising it would.
inline void touch(void* p) noexcept {
  *static_cast<volatile unsigned char*>(p) = 1;
}

}  // namespace alloclab::workloads
