// One `trace:FILE` case — the replay of one recorded trace (workloads/trace_replay.hpp) over one
// concrete allocator type, by as many threads as the trace has — as a Google Benchmark
// function. A template over the allocator like CaseRunner (case_runner.hpp): the replay loop
// calls the allocator inline. Not CaseRunner itself, because a replay's run is shaped
// differently: the observed pass comes first (a trace that exhausts the allocator is skipped
// before anything is timed, with where it ran out), its thread count is the trace's, and its
// counters are per event.
//
// A "run" is one call of the benchmark function by all N threads (Google Benchmark makes
// several: iteration estimation, then each repetition). Per run:
//   1. thread 0 builds the allocator (one shared instance when it is thread-safe, one per
//      thread otherwise, as CaseRunner does), the replay and every thread's state; the threads
//      wait at a start barrier;
//   2. untimed, the observed pass: one replay of the whole trace with every allocate() timed
//      (LatencyProbe, unless --no-latency), the RSS read at each tenth of the trace's events,
//      the allocator's statistics sampled each time the bytes it holds for the replay pass a
//      new high (allocators that count: requested vs reserved near the peak), and, if an
//      allocation the program got fails here, the events replayed by all threads before it;
//      then, if it failed, the case is skipped: "exhausted at event N of M";
//   3. the timed loop: each iteration replays the whole trace once (NoObserver);
//   4. thread 0 reads the timed rounds' page faults and the peak RSS (of the run: the observed
//      pass replays the same trace), and publishes the counters.
// The observed pass also warms the allocator: the timed rounds measure replays after the
// first, as every round but the first of any workload is.
#pragma once

#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/trace_replay.hpp"
#include "case_runner.hpp"
#include "latency_probe.hpp"
#include "process_metrics.hpp"
#include "round_barrier.hpp"

namespace alloclab::harness {

template <Allocator A>
class TraceCaseRunner {
 public:
  using Replay = workloads::TraceReplay<A>;
  static constexpr bool shared_instance = allocator_traits<A>::thread_safe;
  static constexpr bool supports_free = allocator_traits<A>::supports_free;

  TraceCaseRunner(CaseConfig config, std::shared_ptr<const workloads::ReplayPlan> plan, workloads::Touch touch)
      : config_(config),
        plan_(std::move(plan)),
        touch_(touch),
        start_(std::make_shared<RoundBarrier>(plan_->threads())) {}

  void operator()(benchmark::State& state) {
    const int index = state.thread_index();
    if (index == 0) begin_run(state.threads());
    start_->arrive_and_wait();  // the run is built
    // current_ is replaced only by the next run's begin_run, after Google Benchmark joined
    // every thread of this one.
    Run& run = *current_;
    A& a = run.allocator(index);
    auto& thread = run.threads[static_cast<std::size_t>(index)].state;
    Sync sync{&run.barrier, shared_instance && state.threads() > 1, index == 0};
    if (run.skip.empty()) {
      observed_pass(run, index, a, thread, sync);
      run.barrier.arrive_and_wait();
      if (index == 0) after_observed_pass(run);
      run.barrier.arrive_and_wait();
    }
    if (!run.skip.empty()) {
      // Every thread, so that none starts a round the others will not meet.
      state.SkipWithError(run.skip.c_str());
      for (auto _ : state) {
      }
      if (index == 0) finished_run() = current_;
      return;
    }
    std::size_t ops = 0;
    workloads::NoObserver none;
    for (auto _ : state) ops += run.replay.run_round(a, thread, sync, none);
    run.barrier.arrive_and_wait();  // every timed round done: the process counters are theirs
    if (index == 0) {
      run.faults = page_faults() - run.faults_at_start;
      run.peak_rss = peak_rss_bytes();
    }
    {
      std::lock_guard lock(run.mutex);
      run.ops += ops;
      run.thread_failures[static_cast<std::size_t>(index)] = {thread.failures, thread.first_failure, thread.count};
    }
    run.barrier.arrive_and_wait();
    if (index == 0) {
      publish(state, run);
      finished_run() = current_;
    }
  }

 private:
  struct Sync {
    RoundBarrier* barrier;
    bool is_shared;
    bool is_leader;
    [[nodiscard]] bool shared() const noexcept { return is_shared; }
    [[nodiscard]] bool leader() const noexcept { return is_leader; }
    void arrive_and_wait() noexcept { barrier->arrive_and_wait(); }
  };

  struct alignas(cache_line_size) Progress {
    std::atomic<std::uint64_t> ops{0};  // ops of this thread done in the observed pass
  };
  struct alignas(cache_line_size) PeakSlot {
    std::size_t requested = 0;
    std::size_t reserved = 0;
  };
  struct Failures {
    std::uint64_t failures = 0;
    std::size_t first = Replay::npos;
    std::size_t count = 0;
  };

  struct Run {
    Run(const CaseConfig& config, const std::shared_ptr<const workloads::ReplayPlan>& plan, workloads::Touch touch,
        int n)
        : replay(plan, touch, n),
          barrier(n),
          progress(static_cast<std::size_t>(n)),
          peaks(static_cast<std::size_t>(n)),
          samples(static_cast<std::size_t>(n)),
          thread_failures(static_cast<std::size_t>(n)),
          events(plan->events) {
      if constexpr (shared_instance) {
        allocators.push_back(AllocatorFactory<A>::make(config, n));
      } else {
        for (int i = 0; i < n; ++i) allocators.push_back(AllocatorFactory<A>::make(config, 1));
      }
      threads.reserve(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) threads.push_back({replay.make_thread(i)});
    }
    A& allocator(int index) { return shared_instance ? *allocators[0] : *allocators[static_cast<std::size_t>(index)]; }

    Replay replay;
    std::vector<std::unique_ptr<A>> allocators;
    struct alignas(cache_line_size) PaddedThread {
      typename Replay::Thread state;
    };
    std::vector<PaddedThread> threads;
    RoundBarrier barrier;
    // The observed pass.
    std::vector<Progress> progress;
    std::atomic<std::uint64_t> done{0};  // ops of every thread, added in batches
    std::array<std::atomic<std::size_t>, 10> rss_at{};  // RSS when done reached each tenth
    std::atomic<bool> exhausted{false};
    std::uint64_t exhausted_at = 0;       // written by the thread that set `exhausted`
    std::atomic<std::int64_t> live{0};    // bytes held for the replay (a shared instance's)
    bool counts = false;                  // the allocator keeps statistics
    std::vector<PeakSlot> peaks;
    std::vector<std::vector<std::uint64_t>> samples;
    // The timed rounds.
    std::mutex mutex;  // guards the two below
    std::size_t ops = 0;
    std::vector<Failures> thread_failures;
    std::uint64_t events;  // of one replay
    std::string skip;      // why the case is not measured (set with every thread waiting)
    std::uint64_t faults_at_start = 0;
    std::size_t rss_at_start = 0;
    std::uint64_t faults = 0;
    std::size_t peak_rss = 0;
    bool rss_reset = false;
  };

  // The observed pass's view of one thread (see the top of this file).
  class Observer {
   public:
    Observer(Run& run, int index, A& a, LatencyProbe* probe, bool shared) noexcept
        : run_(run), index_(index), a_(a), probe_(probe), shared_(shared) {}

    template <class F>
    void* allocate(std::size_t size, F&& call) {
      return probe_ != nullptr ? (*probe_)(size, std::forward<F>(call)) : call();
    }
    void after(std::size_t index, std::ptrdiff_t live_delta) {
      run_.progress[static_cast<std::size_t>(index_)].ops.store(index + 1, std::memory_order_relaxed);
      if (++pending_ == batch) flush();
      if (run_.counts && live_delta != 0) track(live_delta);
    }
    void failed(std::size_t index) {
      if (run_.exhausted.exchange(true, std::memory_order_acq_rel)) return;
      std::uint64_t before = index;  // this thread's ops before the one that failed
      for (std::size_t t = 0; t < run_.progress.size(); ++t)
        if (t != static_cast<std::size_t>(index_)) before += run_.progress[t].ops.load(std::memory_order_relaxed);
      run_.exhausted_at = before;
    }
    void ops_done() { flush(); }

   private:
    static constexpr std::uint64_t batch = 64;

    // Adds this thread's recent ops to the run's count; whoever's addition crosses a tenth of
    // the trace reads the RSS there.
    void flush() {
      if (pending_ == 0) return;
      const std::uint64_t before = run_.done.fetch_add(pending_, std::memory_order_relaxed);
      const std::uint64_t after = before + pending_;
      pending_ = 0;
      const std::uint64_t total = run_.events;
      for (std::uint64_t k = 1; k <= 10; ++k) {
        const std::uint64_t at = (total * k + 9) / 10;
        if (before < at && at <= after) run_.rss_at[k - 1].store(rss_bytes(), std::memory_order_relaxed);
      }
    }
    std::int64_t add_live(std::ptrdiff_t delta) {
      if (shared_) return run_.live.fetch_add(delta, std::memory_order_relaxed) + delta;
      return live_ += delta;
    }
    // A new high of the bytes held (by 1/32 past the last sample): the allocator's statistics
    // there, requested vs reserved.
    void track(std::ptrdiff_t delta) {
      const std::int64_t now = add_live(delta);
      if (delta < 0 || now <= next_sample_) return;
      next_sample_ = now + now / 32;
      const AllocatorStats s = a_.stats();
      PeakSlot& slot = run_.peaks[static_cast<std::size_t>(index_)];
      if (s.counted && s.bytes_requested > slot.requested) slot = {s.bytes_requested, s.bytes_reserved};
    }

    Run& run_;
    int index_;
    A& a_;
    LatencyProbe* probe_;
    bool shared_;
    std::uint64_t pending_ = 0;
    std::int64_t live_ = 0;
    std::int64_t next_sample_ = 0;
  };

  // Thread 0, the other threads waiting at the start barrier.
  void begin_run(int threads) {
    finished_run().reset();  // every thread of the previous run has been joined
    current_.reset();
    auto run = std::make_shared<Run>(config_, plan_, touch_, threads);
    run->counts = run->allocator(0).stats().counted;
    run->skip = alignment_refusal(*run);
    run->rss_reset = reset_peak_rss();
    run->rss_at_start = rss_bytes();
    current_ = std::move(run);
  }

  // An allocator that refuses the trace's largest alignment (the pmr adapters refuse any above
  // the default) cannot replay it: said once, rather than as exhaustion.
  std::string alignment_refusal(Run& run) const {
    if constexpr (workloads::ScratchReference<A>) {
      return {};  // clamps alignments to its buffer's
    } else {
      if (plan_->over_aligned == 0) return {};
      A& a = run.allocator(0);
      void* p = a.allocate(1, plan_->max_alignment);
      if (p == nullptr) {
        return "skipped: the allocator refuses alignment " + std::to_string(plan_->max_alignment) +
               ", which the trace asks for (" + std::to_string(plan_->over_aligned) +
               " requests above the default alignment)";
      }
      if constexpr (supports_free) {
        a.deallocate(p, 1);
      } else {
        a.reset();  // quiescent: no thread has started
      }
      return {};
    }
  }

  void observed_pass(Run& run, int index, A& a, typename Replay::Thread& thread, Sync& sync) {
    std::optional<LatencyProbe> probe;
    if (config_.latency) {
      // Fewer samples per thread when a trace has many threads: the samples are memory too.
      const std::size_t threads = run.threads.size();
      const std::size_t per_thread =
          threads <= 4 ? config_.samples_per_thread : std::max<std::size_t>(4096, config_.samples_per_thread * 4 / threads);
      probe.emplace(per_thread);
    }
    Observer observer(run, index, a, probe ? &*probe : nullptr, sync.shared());
    run.replay.run_round(a, thread, sync, observer);
    if (probe) run.samples[static_cast<std::size_t>(index)] = probe->samples();
  }

  // Thread 0, every thread past the observed pass.
  static void after_observed_pass(Run& run) {
    if (run.exhausted.load(std::memory_order_acquire)) {
      run.skip = "exhausted at event " + std::to_string(run.exhausted_at) + " of " + std::to_string(run.events);
    }
    run.faults_at_start = page_faults();
  }

  // Thread 0, every thread done.
  void publish(benchmark::State& state, Run& run) const {
    std::uint64_t failures = 0, at = 0;
    for (const Failures& f : run.thread_failures) {
      failures += f.failures;
      at += f.failures > 0 ? f.first : f.count;
    }
    if (failures > 0) {
      // The observed pass fitted and a timed round did not (an allocator whose state carries
      // over between replays): where it ran out is each thread's first failure, added up.
      state.SkipWithError(("exhausted at event " + std::to_string(at) + " of " + std::to_string(run.events)).c_str());
      return;
    }
    if (run.ops == 0) {
      state.SkipWithError("no event replayed");
      return;
    }
    using C = benchmark::Counter;
    const auto events = static_cast<double>(run.ops);
    const workloads::ReplayPlan& plan = *plan_;
    state.SetItemsProcessed(static_cast<std::int64_t>(run.ops));
    // Wall nanoseconds per event of all threads, as ns_per_op of every workload.
    state.counters["ns_per_op"] = C(events * 1e-9, C::kIsRate | C::kInvert);
    state.counters["ops"] = C(events);
    state.counters["ns_per_event"] = C(events * 1e-9, C::kIsRate | C::kInvert);
    state.counters["events_per_second"] = C(events, C::kIsRate);
    state.counters["events"] = C(static_cast<double>(run.events));  // of the trace: one replay
    state.counters["peak_live_requested_bytes"] =
        C(static_cast<double>(plan.trace.summary.peak_live_bytes), C::kDefaults, C::kIs1024);
    state.counters["frees_are_noops"] = C(supports_free ? 0 : 1);
    state.counters["foreign_frees_skipped"] = C(static_cast<double>(plan.foreign_skipped));
    state.counters["failed_calls_skipped"] = C(static_cast<double>(plan.failed_skipped));
    state.counters["cross_thread_frees"] = C(static_cast<double>(plan.cross_thread_frees));

    state.counters["page_faults"] = C(static_cast<double>(run.faults));
    state.counters["faults_per_kop"] = C(1000.0 * static_cast<double>(run.faults) / events);
    state.counters["peak_rss_bytes"] = C(static_cast<double>(run.peak_rss), C::kDefaults, C::kIs1024);
    state.counters["rss_at_start_bytes"] = C(static_cast<double>(run.rss_at_start), C::kDefaults, C::kIs1024);
    state.counters["peak_rss_case_only"] = C(run.rss_reset ? 1 : 0);
    for (std::size_t k = 0; k < run.rss_at.size(); ++k) {
      state.counters["rss_at_" + std::to_string(10 * (k + 1)) + "pct"] =
          C(static_cast<double>(run.rss_at[k].load(std::memory_order_relaxed)), C::kDefaults, C::kIs1024);
    }

    AllocatorStats total;
    for (auto& a : run.allocators) {
      const AllocatorStats s = a->stats();
      total.capacity += s.capacity;
      total.peak_used += s.peak_used;
      total.counted = s.counted;
    }
    state.counters["stats_counted"] = C(total.counted ? 1 : 0);
    state.counters["peak_used_bytes"] = C(static_cast<double>(total.peak_used), C::kDefaults, C::kIs1024);
    state.counters["capacity_bytes"] = C(static_cast<double>(total.capacity), C::kDefaults, C::kIs1024);
    PeakSlot peak;
    for (const PeakSlot& slot : run.peaks) {
      if (!(shared_instance && run.peaks.size() > 1)) {
        peak.requested += slot.requested;  // one instance per thread: their peaks added
        peak.reserved += slot.reserved;
      } else if (slot.requested > peak.requested) {
        peak = slot;
      }
    }
    // Fragmentation: bytes reserved at the peak against the trace's ideal (its peak of live
    // requested bytes, in stamp order), not against what the allocator itself counts as
    // requested — an arena that never frees counts every byte ever asked for and would look
    // perfect. overhead_ratio and bytes_requested_at_peak carry the same meaning here as for the
    // other workloads' readers (results.csv); the allocator's own count is kept beside them.
    const std::uint64_t ideal = plan.trace.summary.peak_live_bytes;
    if (peak.requested > 0 && ideal > 0) {
      const double ratio = static_cast<double>(peak.reserved) / static_cast<double>(ideal);
      state.counters["allocator_requested_at_peak"] = C(static_cast<double>(peak.requested), C::kDefaults, C::kIs1024);
      state.counters["bytes_requested_at_peak"] = C(static_cast<double>(ideal), C::kDefaults, C::kIs1024);
      state.counters["bytes_reserved_at_peak"] = C(static_cast<double>(peak.reserved), C::kDefaults, C::kIs1024);
      state.counters["overhead_ratio"] = C(ratio);
      state.counters["fragmentation_ratio"] = C(ratio);
    }

    if (config_.latency) {
      std::vector<std::uint64_t> all;
      for (const auto& s : run.samples) all.insert(all.end(), s.begin(), s.end());
      const LatencySummary l = summarize(std::move(all));
      state.counters["latency_p50_ns"] = C(l.p50_ns);
      state.counters["latency_p99_ns"] = C(l.p99_ns);
      state.counters["latency_p999_ns"] = C(l.p999_ns);
      state.counters["latency_max_ns"] = C(l.max_ns);
      state.counters["latency_samples"] = C(static_cast<double>(l.samples));
    }
  }

  CaseConfig config_;
  std::shared_ptr<const workloads::ReplayPlan> plan_;
  workloads::Touch touch_;
  std::shared_ptr<RoundBarrier> start_;  // shared by the copies Google Benchmark makes
  std::shared_ptr<Run> current_;
};

}  // namespace alloclab::harness
