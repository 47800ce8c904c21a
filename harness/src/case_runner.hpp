// One benchmark case — a workload over one concrete allocator type at N threads — as a Google
// Benchmark function. Everything here is a template over both, so the timed loop calls the
// allocator inline: no virtual call, no function pointer per operation.
//
// A "run" is one call of the benchmark function by all N threads (Google Benchmark makes
// several: iteration estimation, then each repetition). Per run:
//   1. thread 0 builds the allocator — one instance shared by all threads when the allocator
//      is thread-safe, one per thread otherwise — the workload and every thread's state;
//   2. the timed loop: each iteration is one round of the workload (Google Benchmark's
//      start barrier orders step 1 before any thread's first round);
//   3. untimed: the workload releases what is live; thread 0 reads the timed rounds' page
//      faults, peak RSS and failed allocations; then, when enabled, a latency pass runs a few
//      more rounds with every allocate() timed (LatencyProbe); then thread 0 publishes the
//      counters.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/workload.hpp"
#include "latency_probe.hpp"
#include "process_metrics.hpp"
#include "round_barrier.hpp"

namespace alloclab::harness {

struct CaseConfig {
  workloads::Params params;
  bool latency = true;          // run the untimed latency pass
  int latency_rounds = 4;       // rounds per thread in that pass
  std::size_t samples_per_thread = std::size_t{1} << 18;  // a whole ast_256k tree
  std::size_t fixed_bytes_per_thread = std::size_t{64} << 20;  // fixed-capacity allocators
};

// How the driver builds allocator A for a run of `threads` threads. A FixedCapacity allocator
// (allocator.hpp: constructed from its capacity, exposes no block_size()) gets room in
// proportion to the threads that share it; every other one — the growable arenas, which take
// blocks as they need them, the peers, the references — is default-constructed. Specialised
// only where neither fits (allocator_registry.hpp).
template <class A>
struct AllocatorFactory {
  static std::unique_ptr<A> make(const CaseConfig& config, int threads) {
    if constexpr (FixedCapacity<A>) {
      return std::make_unique<A>(config.fixed_bytes_per_thread * static_cast<std::size_t>(threads));
    } else {
      return std::make_unique<A>();
    }
  }
};

// The last finished run, destroyed at the start of the next one. A run's allocator must outlive
// its threads' exit: some allocators (std::pmr::synchronized_pool_resource) clean up per-thread
// state in thread-exit handlers, and destroying them while a benchmark thread is still exiting
// is a use-after-free. Google Benchmark joins a run's threads before it starts the next run,
// so at the next begin_run every thread of this one is gone. Cleared before the RSS baseline of
// the next case is taken, so no case is charged for another's memory.
inline std::shared_ptr<void>& finished_run() {
  static std::shared_ptr<void> run;
  return run;
}

template <template <class> class W, Allocator A>
class CaseRunner {
 public:
  using Workload = W<A>;
  static constexpr bool shared_instance = allocator_traits<A>::thread_safe;

  explicit CaseRunner(CaseConfig config) : config_(config) {}

  void operator()(benchmark::State& state) {
    const int index = state.thread_index();
    if (index == 0) begin_run(state.threads());
    std::shared_ptr<Run> run;  // taken on the first iteration, after the start barrier
    std::size_t ops = 0;
    workloads::NoProbe no_probe;
    for (auto _ : state) {
      if (!run) [[unlikely]] {
        run = current_;
        prepare(state, *run, index);
      }
      ops += run->workload.run_round(run->allocator(index), run->threads[static_cast<std::size_t>(index)].state,
                                     run->syncs[static_cast<std::size_t>(index)], no_probe);
    }
    if (!run) run = current_;  // zero iterations: still take part in the barriers below
    end_run(state, *run, index, ops);
    if (index == 0) finished_run() = std::move(current_);
  }

 private:
  // Per thread, the allocator's statistics with the most live bytes requested seen in the
  // untimed pass: requested vs reserved at the peak. A shared instance reports the largest
  // sample of any thread, private instances the sum of each thread's peak.
  struct PeakRecorder {
    struct alignas(cache_line_size) Slot {
      std::size_t requested = 0;
      std::size_t reserved = 0;
    };
    std::vector<Slot> slots;
    explicit PeakRecorder(int threads) : slots(static_cast<std::size_t>(threads)) {}
    void offer(int index, const AllocatorStats& s) {
      Slot& slot = slots[static_cast<std::size_t>(index)];
      if (s.counted && s.bytes_requested > slot.requested) slot = {s.bytes_requested, s.bytes_reserved};
    }
    [[nodiscard]] Slot peak(bool shared) const {
      Slot out;
      for (const Slot& slot : slots) {
        if (!shared) {
          out.requested += slot.requested;
          out.reserved += slot.reserved;
        } else if (slot.requested > out.requested) {
          out = slot;
        }
      }
      return out;
    }
  };

  // Padded to a cache line each: threads write their own every round, never a neighbour's line.
  class alignas(cache_line_size) ThreadSync final : public workloads::RoundSync {
   public:
    ThreadSync(RoundBarrier& barrier, PeakRecorder& recorder, int index, int threads) noexcept
        : barrier_(&barrier), recorder_(&recorder), index_(index), threads_(threads) {}
    bool shared() const noexcept override { return shared_instance && threads_ > 1; }
    bool leader() const noexcept override { return index_ == 0; }
    int threads() const noexcept override { return threads_; }
    bool recording() const noexcept override { return recording_; }
    void record(const AllocatorStats& stats) override { recorder_->offer(index_, stats); }
    void set_recording(bool on) noexcept { recording_ = on; }

   protected:
    void arrive_and_wait() override { barrier_->arrive_and_wait(); }

   private:
    RoundBarrier* barrier_;
    PeakRecorder* recorder_;
    int index_;
    int threads_;
    bool recording_ = false;
  };

  struct Run {
    Run(const CaseConfig& config, int n)
        : workload(config.params, n), barrier(n), peak(n), samples(static_cast<std::size_t>(n)) {
      if constexpr (shared_instance) {
        allocators.push_back(AllocatorFactory<A>::make(config, n));
      } else {
        for (int i = 0; i < n; ++i) allocators.push_back(AllocatorFactory<A>::make(config, 1));
      }
      threads.reserve(static_cast<std::size_t>(n));
      syncs.reserve(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) {
        threads.push_back({workload.make_thread(i)});
        syncs.emplace_back(barrier, peak, i, n);
      }
    }
    A& allocator(int index) { return shared_instance ? *allocators[0] : *allocators[static_cast<std::size_t>(index)]; }

    Workload workload;
    std::vector<std::unique_ptr<A>> allocators;
    // Each thread's workload state on its own cache line(s): the RNG and the live list are
    // written every operation, and sharing a line would charge the allocator for the harness.
    struct alignas(cache_line_size) PaddedThread {
      typename Workload::Thread state;
    };
    std::vector<PaddedThread> threads;
    std::vector<ThreadSync> syncs;
    RoundBarrier barrier;
    PeakRecorder peak;
    std::vector<std::vector<std::uint64_t>> samples;
    std::mutex mutex;  // guards the sums below
    std::size_t ops = 0;
    std::size_t sampled_ops = 0;    // operations of the untimed pass
    std::size_t sampled_bytes = 0;  // bytes they requested
    AllocatorStats stats;
    // The workload's own counters, summed over the threads' timed rounds (workloads that
    // define Totals: see workload.hpp).
    [[no_unique_address]] workloads::totals_t<Workload> workload_totals;
    std::uint64_t faults_at_start = 0;
    std::size_t rss_at_start = 0;  // what earlier cases left (allocator caches, the harness)
    std::uint64_t faults = 0;      // of the timed rounds, read when every thread finished them
    std::size_t peak_rss = 0;
    std::size_t failed_timed = 0;  // failed allocations in the timed rounds (counting allocators)
    bool rss_reset = false;
  };

  // A workload with state to build in its allocator before it is measured (empirical's steady
  // state) gets it here, once per run, on the first iteration, with this thread's timer paused.
  static void prepare(benchmark::State& state, Run& run, int index) {
    if constexpr (requires(Workload& w, A& a, typename Workload::Thread& t) { w.prepare(a, t); }) {
      state.PauseTiming();
      run.workload.prepare(run.allocator(index), run.threads[static_cast<std::size_t>(index)].state);
      state.ResumeTiming();
    }
  }

  void begin_run(int threads) {
    finished_run().reset();  // every thread of the previous run has been joined
    auto run = std::make_shared<Run>(config_, threads);
    run->rss_reset = reset_peak_rss();
    run->rss_at_start = rss_bytes();
    run->faults_at_start = page_faults();
    current_ = std::move(run);
  }

  // Steps 3 of the run (see the top of this file), every thread taking part in the barriers.
  void end_run(benchmark::State& state, Run& run, int index, std::size_t ops) {
    finish_timed_rounds(run, index, ops);
    // Every thread is past its timed rounds and no one has started the untimed pass: the
    // allocators are quiescent and the process counters belong to the timed rounds alone.
    run.barrier.arrive_and_wait();
    if (index == 0) read_timed_process_counters(run);
    run.barrier.arrive_and_wait();
    if (config_.latency) sample_latency(run, index);
    run.barrier.arrive_and_wait();  // every thread done: the allocators are quiescent
    if (index == 0) publish(state, run);
  }

  // The workload releases what this thread holds; its operations (and the workload's own
  // counters, timed rounds only) join the run's sums.
  void finish_timed_rounds(Run& run, int index, std::size_t ops) {
    A& a = run.allocator(index);
    auto& thread = run.threads[static_cast<std::size_t>(index)].state;
    run.workload.finish(a, thread, run.syncs[static_cast<std::size_t>(index)]);
    std::lock_guard lock(run.mutex);
    run.ops += ops;
    if constexpr (workloads::ReportsCounters<Workload>) run.workload_totals.add(thread);
  }

  // Thread 0, with every thread stopped: page faults, peak RSS and failed allocations of the
  // timed rounds.
  static void read_timed_process_counters(Run& run) {
    run.faults = page_faults() - run.faults_at_start;
    run.peak_rss = peak_rss_bytes();
    for (auto& instance : run.allocators) run.failed_timed += instance->stats().failed_allocations;
  }

  // The untimed pass: a few more rounds with every allocate() timed, and the allocator's
  // statistics recorded at the workload's release points.
  void sample_latency(Run& run, int index) {
    A& a = run.allocator(index);
    auto& thread = run.threads[static_cast<std::size_t>(index)].state;
    auto& sync = run.syncs[static_cast<std::size_t>(index)];
    LatencyProbe probe(config_.samples_per_thread);
    sync.set_recording(true);
    std::size_t sampled_ops = 0;
    // A workload whose one round already yields more samples than the pass keeps (larson: a
    // thread lifetime of 500,000 allocations) says how many it needs; the same for every
    // thread, since rounds may meet at barriers.
    int rounds = config_.latency_rounds;
    if constexpr (requires { Workload::latency_rounds; }) {
      rounds = std::min(rounds, static_cast<int>(Workload::latency_rounds));
    }
    for (int r = 0; r < rounds; ++r) {
      sampled_ops += run.workload.run_round(a, thread, sync, probe);
      // An allocator that frees keeps a live set across rounds (mixed): sample it too.
      if constexpr (allocator_traits<A>::supports_free) sync.record(a.stats());
    }
    run.workload.finish(a, thread, sync);
    sync.set_recording(false);
    run.samples[static_cast<std::size_t>(index)] = probe.samples();
    std::lock_guard lock(run.mutex);
    run.sampled_ops += sampled_ops;
    run.sampled_bytes += probe.bytes();
  }

  // Thread 0, every thread done: the case's counters, or why it has none.
  void publish(benchmark::State& state, Run& run) const {
    if (run.ops == 0 || run.failed_timed > 0) {
      // An exhausted allocator measured its failure path, not the workload: say so.
      const std::string why = run.ops == 0 ? "no operation completed"
                                           : std::to_string(run.failed_timed) + " allocations failed in the timed rounds";
      state.SkipWithError(("allocator exhausted: " + why).c_str());
      return;
    }
    add_stats(run);
    publish_throughput(state, run);
    publish_memory(state, run);
    if constexpr (workloads::ReportsCounters<Workload>) {
      run.workload_totals.report([&](std::string_view name, double value) {
        state.counters[std::string(name)] = benchmark::Counter(value);
      });
    }
    if (config_.latency) publish_latency(state, run);
  }

  static void publish_throughput(benchmark::State& state, const Run& run) {
    using C = benchmark::Counter;
    const auto total_ops = static_cast<double>(run.ops);
    state.SetItemsProcessed(static_cast<std::int64_t>(run.ops));
    // Wall nanoseconds per operation of all threads: (ops * 1e-9 / seconds) inverted.
    state.counters["ns_per_op"] = C(total_ops * 1e-9, C::kIsRate | C::kInvert);
    state.counters["ops"] = C(total_ops);
    if (run.sampled_ops > 0) {
      // Bytes per operation as measured in the untimed pass, applied to the timed operations.
      const double bytes_per_op = static_cast<double>(run.sampled_bytes) / static_cast<double>(run.sampled_ops);
      state.counters["bytes_per_op"] = C(bytes_per_op);
      state.SetBytesProcessed(static_cast<std::int64_t>(bytes_per_op * total_ops));
    }
  }

  static void publish_memory(benchmark::State& state, const Run& run) {
    using C = benchmark::Counter;
    const auto total_ops = static_cast<double>(run.ops);
    state.counters["page_faults"] = C(static_cast<double>(run.faults));
    state.counters["faults_per_kop"] = C(1000.0 * static_cast<double>(run.faults) / total_ops);
    state.counters["peak_rss_bytes"] = C(static_cast<double>(run.peak_rss), C::kDefaults, C::kIs1024);
    state.counters["rss_at_start_bytes"] = C(static_cast<double>(run.rss_at_start), C::kDefaults, C::kIs1024);
    state.counters["peak_rss_case_only"] = C(run.rss_reset ? 1 : 0);
    state.counters["stats_counted"] = C(run.stats.counted ? 1 : 0);
    state.counters["peak_used_bytes"] = C(static_cast<double>(run.stats.peak_used), C::kDefaults, C::kIs1024);
    state.counters["capacity_bytes"] = C(static_cast<double>(run.stats.capacity), C::kDefaults, C::kIs1024);
    if (const auto peak = run.peak.peak(shared_instance); peak.requested > 0) {
      state.counters["bytes_requested_at_peak"] = C(static_cast<double>(peak.requested), C::kDefaults, C::kIs1024);
      state.counters["bytes_reserved_at_peak"] = C(static_cast<double>(peak.reserved), C::kDefaults, C::kIs1024);
      state.counters["overhead_ratio"] = C(static_cast<double>(peak.reserved) / static_cast<double>(peak.requested));
    }
  }

  static void publish_latency(benchmark::State& state, const Run& run) {
    using C = benchmark::Counter;
    std::vector<std::uint64_t> all;
    for (const auto& s : run.samples) all.insert(all.end(), s.begin(), s.end());
    const LatencySummary l = summarize(std::move(all));
    state.counters["latency_p50_ns"] = C(l.p50_ns);
    state.counters["latency_p99_ns"] = C(l.p99_ns);
    state.counters["latency_p999_ns"] = C(l.p999_ns);
    state.counters["latency_max_ns"] = C(l.max_ns);
    state.counters["latency_samples"] = C(static_cast<double>(l.samples));
  }

  // Peak use of every instance of the run (per-thread instances summed).
  static void add_stats(Run& run) {
    AllocatorStats total;
    for (auto& a : run.allocators) {
      const AllocatorStats s = a->stats();
      total.capacity += s.capacity;
      total.peak_used += s.peak_used;
      total.counted = s.counted;  // the same for every instance of one type
    }
    run.stats = total;
  }

  CaseConfig config_;
  std::shared_ptr<Run> current_;
};

}  // namespace alloclab::harness
