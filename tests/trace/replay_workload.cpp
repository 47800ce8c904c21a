// tests/trace/replay_workload.cpp — the `trace:FILE` replay (alloclab/workloads/trace_replay.hpp)
// driven directly, without Google Benchmark: traces built in memory or written through the
// recorder's encoder and read by the real reader.
//   - prepare_replay: which ops wait, publish or are skipped, what each thread frees at the
//     end of a round, and the in-memory traces it refuses;
//   - with malloc (counted by a wrapper): every recorded operation replayed as the call the
//     program made, the count of each equal to the recording's, the peak of live requested
//     bytes equal to the reader's, every object freed once with the size it was made with;
//   - a multi-threaded trace with cross-thread frees and reallocs, replayed by real threads
//     over every allocator of the driver that can run it (clean under ASan and TSan in those
//     presets), and refused for a per-thread allocator that frees;
//   - a truncated trace (no end record, a torn last chunk): its prefix replays;
//   - a fixed arena that runs out: the op where it ran out, the same in every round;
//   - null runs a trace whose objects exceed its scratch.
// No timing.
#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "allocator_registry.hpp"
#include "alloclab/trace/reader.hpp"
#include "alloclab/workloads/trace_replay.hpp"
#include "replay_traces.hpp"

namespace alloclab::workloads {
namespace {

using trace::Kind;
using trace::no_object;
using trace::Op;
using trace::testing::random_trace;
using trace::testing::RandomTraceOptions;

// --- helpers ---------------------------------------------------------------------------------

trace::Trace must_parse(const std::vector<unsigned char>& bytes) {
  std::string error;
  auto t = trace::parse_trace(bytes.data(), bytes.size(), "test.trace", &error);
  EXPECT_TRUE(t.has_value()) << error;
  return t ? std::move(*t) : trace::Trace{};
}

std::shared_ptr<const ReplayPlan> must_prepare(trace::Trace t) {
  std::string error;
  auto plan = prepare_replay(std::move(t), &error);
  EXPECT_TRUE(plan.has_value()) << error;
  if (!plan) return std::make_shared<const ReplayPlan>();
  return std::make_shared<const ReplayPlan>(std::move(*plan));
}

// The barrier and roles a runner gives a round.
struct TestSync {
  std::barrier<>* barrier;
  bool is_shared;
  bool is_leader;
  [[nodiscard]] bool shared() const noexcept { return is_shared; }
  [[nodiscard]] bool leader() const noexcept { return is_leader; }
  void arrive_and_wait() { barrier->arrive_and_wait(); }
};

// Sums the replay's live-bytes deltas: the requested bytes live, and their peak.
struct LiveObserver : NoObserver {
  std::int64_t live = 0;
  std::int64_t peak = 0;
  std::vector<std::size_t> failed_at;
  void after(std::size_t, std::ptrdiff_t delta) noexcept {
    live += delta;
    if (live > peak) peak = live;
  }
  void failed(std::size_t index) { failed_at.push_back(index); }
};

// malloc, counted: each entry point the replay calls, and every live block with its size, so
// that a free of a block not live, or with another size, fails the test.
class CountingMalloc {
 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = true;
  static constexpr std::string_view name = "counting_malloc";

  void* allocate(std::size_t size, std::size_t alignment = default_alignment) noexcept {
    void* p = inner_.allocate(size, alignment);
    note(p, size, alignment == default_alignment ? mallocs : aligned);
    return p;
  }
  void* allocate_zeroed(std::size_t size) noexcept {
    void* p = inner_.allocate_zeroed(size);
    note(p, size, callocs);
    return p;
  }
  void* reallocate(void* p, std::size_t old_size, std::size_t new_size) noexcept {
    std::lock_guard lock(mutex_);
    ++reallocs;
    expect_live(p, old_size);
    void* q = inner_.reallocate(p, old_size, new_size);
    if (q != nullptr) {
      live_.erase(p);
      live_[q] = new_size;
    }
    return q;
  }
  void deallocate(void* p, std::size_t size) noexcept {
    {
      std::lock_guard lock(mutex_);
      ++frees;
      expect_live(p, size);
      live_.erase(p);
    }
    inner_.deallocate(p, size);
  }
  void reset() noexcept {}
  std::size_t capacity() const noexcept { return 0; }
  std::size_t used() const noexcept { return 0; }
  std::size_t remaining() const noexcept { return 0; }
  AllocatorStats stats() const noexcept { return inner_.stats(); }

  std::size_t live_blocks() const {
    std::lock_guard lock(mutex_);
    return live_.size();
  }

  std::uint64_t mallocs = 0, callocs = 0, aligned = 0, reallocs = 0, frees = 0;
  std::uint64_t bad_frees = 0;

 private:
  void note(void* p, std::size_t size, std::uint64_t& counter) {
    std::lock_guard lock(mutex_);
    ++counter;
    if (p != nullptr) live_[p] = size;
  }
  void expect_live(void* p, std::size_t size) {
    const auto it = live_.find(p);
    if (it == live_.end() || it->second != size) ++bad_frees;
  }
  harness::MallocAllocator inner_;
  mutable std::mutex mutex_;
  std::map<void*, std::size_t> live_;
};
static_assert(Allocator<CountingMalloc> && Reallocates<CountingMalloc> && AllocatesZeroed<CountingMalloc>);

// Replays `rounds` rounds of the plan with its threads; one allocator instance when A is
// thread-safe, one per thread otherwise (as the driver). Returns each thread's state.
template <class A, class Observer = NoObserver>
std::vector<typename TraceReplay<A>::Thread> replay(std::shared_ptr<const ReplayPlan> plan,
                                                    std::vector<std::unique_ptr<A>>& instances, int rounds,
                                                    Touch touch = Touch::pages,
                                                    std::vector<Observer>* observers = nullptr) {
  const int n = plan->threads();
  TraceReplay<A> workload(plan, touch, n);
  std::vector<typename TraceReplay<A>::Thread> threads;
  for (int i = 0; i < n; ++i) threads.push_back(workload.make_thread(i));
  std::vector<Observer> own(static_cast<std::size_t>(n));
  if (observers == nullptr) observers = &own;
  observers->resize(static_cast<std::size_t>(n));
  std::barrier<> barrier(n);
  const bool shared = allocator_traits<A>::thread_safe && n > 1;
  const auto body = [&](int i) {
    A& a = allocator_traits<A>::thread_safe ? *instances[0] : *instances[static_cast<std::size_t>(i)];
    TestSync sync{&barrier, shared, i == 0};
    for (int r = 0; r < rounds; ++r)
      workload.run_round(a, threads[static_cast<std::size_t>(i)], sync, (*observers)[static_cast<std::size_t>(i)]);
    workload.finish(a, threads[static_cast<std::size_t>(i)], sync);
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < n; ++i) pool.emplace_back(body, i);
  body(0);
  for (auto& t : pool) t.join();
  return threads;
}

// --- prepare_replay --------------------------------------------------------------------------

// Thread 0 makes objects 0 and 1 and frees 0; thread 1 frees 1 (made by thread 0), makes 2 by
// a realloc of nothing foreign, and frees an object made before the trace (foreign); a failed
// malloc; object 3 is never freed.
trace::Trace small_trace() {
  trace::Trace t;
  t.objects = 4;
  t.threads.resize(2);
  t.threads[0] = {Op::make(Kind::malloc, 10, false, 0, false, false, 0, no_object),
                  Op::make(Kind::aligned, 100, false, 6, false, false, 1, no_object),
                  Op::make(Kind::free, 0, false, 0, false, false, 0, no_object),
                  Op::make(Kind::malloc, 1u << 20, true, 0, false, false, no_object, no_object),
                  Op::make(Kind::calloc, 7, false, 0, false, false, 3, no_object)};
  t.threads[1] = {Op::make(Kind::free, 0, false, 0, false, false, 1, no_object),
                  Op::make(Kind::realloc, 30, false, 0, false, true, 2, no_object),
                  Op::make(Kind::free, 0, false, 0, false, true, no_object, no_object),
                  Op::make(Kind::free, 0, false, 0, false, false, 2, no_object)};
  return t;
}

TEST(ReplayPlan, MarksWaitsPublicationsSkipsAndLeftovers) {
  std::string error;
  auto plan = prepare_replay(small_trace(), &error);
  ASSERT_TRUE(plan) << error;
  const auto& t0 = plan->trace.threads[0];
  const auto& t1 = plan->trace.threads[1];
  using namespace replay_bits;
  EXPECT_FALSE(t0[0].bits & publish) << "freed by its own thread";
  EXPECT_TRUE(t0[1].bits & publish) << "freed by thread 1";
  EXPECT_FALSE(t0[2].bits & wait);
  EXPECT_TRUE(t0[3].bits & skip) << "a failed call";
  EXPECT_TRUE(t1[0].bits & wait) << "frees thread 0's object";
  EXPECT_FALSE(t1[1].bits & (wait | skip)) << "a realloc of a foreign object: its allocation side replays";
  EXPECT_EQ(t1[1].old_object, no_object);
  EXPECT_TRUE(t1[2].bits & skip) << "a foreign free";
  EXPECT_FALSE(t1[3].bits & wait) << "its own realloc's object";
  EXPECT_EQ(plan->events, 9u);
  EXPECT_EQ(plan->cross_thread_frees, 1u);
  EXPECT_EQ(plan->failed_skipped, 1u);
  EXPECT_EQ(plan->foreign_skipped, 2u);
  EXPECT_EQ(plan->over_aligned, 1u);
  EXPECT_EQ(plan->max_alignment, 64u);
  EXPECT_EQ(plan->leftovers[0], std::vector<std::uint32_t>{3});
  EXPECT_TRUE(plan->leftovers[1].empty());
  EXPECT_EQ(plan->threads(), 2);
}

TEST(ReplayPlan, RefusesWhatWouldCrashTheReplay) {
  const auto refused = [](trace::Trace t, const std::string& text) {
    std::string error;
    EXPECT_FALSE(prepare_replay(std::move(t), &error).has_value()) << "expected: " << text;
    EXPECT_NE(error.find(text), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos);
  };
  {
    trace::Trace t = small_trace();
    t.threads[1][3] = Op::make(Kind::free, 0, false, 0, false, false, 0, no_object);  // 0 again
    refused(t, "a second time");
  }
  {
    trace::Trace t = small_trace();
    t.threads[0][2] = Op::make(Kind::free, 0, false, 0, false, false, 3, no_object);  // before its calloc
    refused(t, "before its thread makes it");
  }
  {
    trace::Trace t = small_trace();
    t.threads[0][0].object = 9;
    refused(t, "past the trace's 4");
  }
  {
    trace::Trace t = small_trace();
    t.threads[1][0].object = 3;
    t.threads[0][4] = Op::make(Kind::calloc, 7, false, 0, false, false, 1, no_object);  // 1 made twice
    refused(t, "a second time");
  }
}

TEST(ReplayPlan, PerThreadAllocatorsThatFreeCannotTakeBackAnotherThreadsObjects) {
  auto plan = must_prepare(small_trace());
  EXPECT_NE(TraceReplay<harness::PmrUnsyncPool>::incompatibility(*plan), "");
  EXPECT_EQ(TraceReplay<harness::PmrMonotonic>::incompatibility(*plan), "") << "frees are no-ops there";
  EXPECT_EQ(TraceReplay<harness::MallocAllocator>::incompatibility(*plan), "");
  EXPECT_NE(TraceReplay<harness::MallocAllocator>::incompatibility(ReplayPlan{}), "") << "no events";
}

// --- replay with malloc ----------------------------------------------------------------------

TEST(ReplayMalloc, ReproducesEveryRecordedOperationAndThePeakOfLiveBytes) {
  for (std::uint64_t seed : {1, 2, 3}) {
    RandomTraceOptions o;
    o.seed = seed;
    o.events = 4000;
    const auto generated = random_trace(o);
    trace::Trace t = must_parse(generated.bytes);
    const trace::Summary s = t.summary;
    for (unsigned k = 0; k < 5; ++k) ASSERT_EQ(s.by_kind[k], generated.by_kind[k]) << "the reader, kind " << k;
    auto plan = must_prepare(std::move(t));
    std::vector<std::unique_ptr<CountingMalloc>> a;
    a.push_back(std::make_unique<CountingMalloc>());
    std::vector<LiveObserver> observers;
    const auto threads = replay<CountingMalloc, LiveObserver>(plan, a, 1, Touch::all, &observers);
    const auto replayed = [&](Kind k) {
      return generated.by_kind[static_cast<unsigned>(k)] - generated.failed_by_kind[static_cast<unsigned>(k)];
    };
    ASSERT_GT(replayed(Kind::realloc) * replayed(Kind::calloc) * replayed(Kind::aligned), 0u);
    EXPECT_EQ(a[0]->mallocs, replayed(Kind::malloc)) << "seed " << seed;
    EXPECT_EQ(a[0]->callocs, replayed(Kind::calloc));
    EXPECT_EQ(a[0]->aligned, replayed(Kind::aligned));
    EXPECT_EQ(a[0]->reallocs, replayed(Kind::realloc));
    // The recorded frees, then those of the objects the trace leaves live.
    EXPECT_EQ(a[0]->frees, replayed(Kind::free) + s.live_objects_at_end);
    EXPECT_GT(s.live_objects_at_end, 0u) << "the test should leave objects live";
    EXPECT_EQ(a[0]->bad_frees, 0u) << "a free of a block not live, or with another size";
    EXPECT_EQ(a[0]->live_blocks(), 0u);
    EXPECT_EQ(static_cast<std::uint64_t>(observers[0].peak), s.peak_live_bytes);
    EXPECT_EQ(static_cast<std::uint64_t>(observers[0].live), s.live_bytes_at_end)
        << "live after the recorded ops (the end-of-round frees are not ops)";
    EXPECT_EQ(threads[0].failures, 0u);
    EXPECT_EQ(plan->failed_skipped, s.failed);
  }
}

TEST(ReplayMalloc, RoundsRepeatTheSameCalls) {
  RandomTraceOptions o;
  o.events = 1000;
  auto plan = must_prepare(must_parse(random_trace(o).bytes));
  std::vector<std::unique_ptr<CountingMalloc>> one, three;
  one.push_back(std::make_unique<CountingMalloc>());
  three.push_back(std::make_unique<CountingMalloc>());
  replay<CountingMalloc>(plan, one, 1);
  replay<CountingMalloc>(plan, three, 3);
  EXPECT_EQ(three[0]->mallocs, 3 * one[0]->mallocs);
  EXPECT_EQ(three[0]->frees, 3 * one[0]->frees);
  EXPECT_EQ(three[0]->reallocs, 3 * one[0]->reallocs);
  EXPECT_EQ(three[0]->bad_frees, 0u);
  EXPECT_EQ(three[0]->live_blocks(), 0u);
}

// --- threads ---------------------------------------------------------------------------------

std::shared_ptr<const ReplayPlan> cross_thread_plan(std::uint64_t seed, unsigned threads, std::size_t events) {
  RandomTraceOptions o;
  o.seed = seed;
  o.threads = threads;
  o.events = events;
  o.cross = 0.5;
  return must_prepare(must_parse(random_trace(o).bytes));
}

TEST(ReplayThreads, CrossThreadFreesReplayWithMallocEveryObjectFreedOnce) {
  // More threads than this machine may have cores: waiting must not depend on spinning.
  auto plan = cross_thread_plan(7, 6, 6000);
  ASSERT_GT(plan->cross_thread_frees, 100u);
  std::vector<std::unique_ptr<CountingMalloc>> a;
  a.push_back(std::make_unique<CountingMalloc>());
  const auto threads = replay<CountingMalloc>(plan, a, 3);
  EXPECT_EQ(a[0]->bad_frees, 0u);
  EXPECT_EQ(a[0]->live_blocks(), 0u);
  for (const auto& t : threads) EXPECT_EQ(t.failures, 0u);
}

// Every allocator of the driver that can run the trace replays it, three rounds, with no
// failure; the others are refused with a reason. Under ASan and TSan (their presets build this
// test) a use after free, an overlap or a race in the replay's hand-over fails it.
template <class A>
void replay_with(const std::shared_ptr<const ReplayPlan>& plan, std::vector<std::string>& ran) {
  SCOPED_TRACE(std::string(A::name));
  const std::string why = TraceReplay<A>::incompatibility(*plan);
  if (!why.empty()) {
    EXPECT_FALSE(allocator_traits<A>::thread_safe) << why;
    return;
  }
  const int n = plan->threads();
  std::vector<std::unique_ptr<A>> instances;
  harness::CaseConfig config;
  if constexpr (allocator_traits<A>::thread_safe) {
    instances.push_back(harness::AllocatorFactory<A>::make(config, n));
  } else {
    for (int i = 0; i < n; ++i) instances.push_back(harness::AllocatorFactory<A>::make(config, 1));
  }
  // The pmr adapters refuse alignments above the default (the driver skips them then).
  if constexpr (!ScratchReference<A>) {
    if (void* p = instances[0]->allocate(1, plan->max_alignment); p == nullptr) return;
    else if constexpr (allocator_traits<A>::supports_free) instances[0]->deallocate(p, 1);
    else instances[0]->reset();
  }
  const auto threads = replay<A>(plan, instances, 3);
  for (const auto& t : threads) EXPECT_EQ(t.failures, 0u) << "first at op " << t.first_failure;
  ran.emplace_back(A::name);
}

template <class... As>
std::vector<std::string> replay_with_all(const std::shared_ptr<const ReplayPlan>& plan, TypeList<As...>) {
  std::vector<std::string> ran;
  (replay_with<As>(plan, ran), ...);
  return ran;
}

TEST(ReplayThreads, EveryDriverAllocatorThatCanRunsACrossThreadTrace) {
  auto plan = cross_thread_plan(11, 4, 3000);
  ASSERT_GT(plan->cross_thread_frees, 50u);
  const std::vector<std::string> ran = replay_with_all(plan, harness::DriverAllocators{});
  for (const char* expected : {"null", "bump_limit", "malloc", "tbbmalloc", "thread_cached_pool", "coalescing_pool",
                               "mutex_arena", "thread_local_arena", "chained_arena"}) {
    EXPECT_NE(std::find(ran.begin(), ran.end(), expected), ran.end()) << expected << " did not run";
  }
}

TEST(ReplayThreads, WithoutOverAlignedRequestsThePmrResourcesRunToo) {
  RandomTraceOptions o;
  o.seed = 5;
  o.threads = 3;
  o.events = 2000;
  o.cross = 0.3;
  o.aligned_above_default = false;
  auto plan = must_prepare(must_parse(random_trace(o).bytes));
  const std::vector<std::string> ran = replay_with_all(plan, harness::DriverAllocators{});
  EXPECT_NE(std::find(ran.begin(), ran.end(), "pmr_sync_pool"), ran.end());
  EXPECT_NE(std::find(ran.begin(), ran.end(), "pmr_monotonic"), ran.end());
  EXPECT_EQ(std::find(ran.begin(), ran.end(), "pmr_unsync_pool"), ran.end()) << "refused: cross-thread frees";
}

// --- truncated traces ------------------------------------------------------------------------

TEST(ReplayTruncated, ThePrefixReplays) {
  RandomTraceOptions o;
  o.seed = 3;
  o.threads = 3;
  o.events = 3000;
  o.cross = 0.3;
  o.end = false;
  auto bytes = random_trace(o).bytes;
  // A torn last write: a chunk whose payload runs past the end of the file.
  {
    const std::vector<unsigned char> payload(1000, 0);
    unsigned char header[trace::max_chunk_header_bytes];
    const std::size_t h = trace::put_chunk_header(header, 0, std::uint64_t{1} << 40, 5, payload.data(), payload.size());
    bytes.insert(bytes.end(), header, header + h);
    bytes.insert(bytes.end(), payload.begin(), payload.begin() + 10);
  }
  trace::Trace t = must_parse(bytes);
  ASSERT_TRUE(t.summary.truncated);
  // What the prefix asks for: allocations (a realloc of an object lost with the tail replays
  // as one) and reallocs, failed calls skipped.
  std::uint64_t allocations = 0, reallocs = 0;
  for (const auto& ops : t.threads) {
    for (const Op& op : ops) {
      if (op.failed() || op.kind() == Kind::free) continue;
      if (op.kind() == Kind::realloc && !op.foreign()) {
        ++reallocs;
      } else {
        ++allocations;
      }
    }
  }
  auto plan = must_prepare(std::move(t));
  ASSERT_GT(plan->foreign_skipped, 0u) << "the test should cut some objects' allocations off";
  std::vector<std::unique_ptr<CountingMalloc>> a;
  a.push_back(std::make_unique<CountingMalloc>());
  const auto threads = replay<CountingMalloc>(plan, a, 2);
  EXPECT_EQ(a[0]->mallocs + a[0]->aligned + a[0]->callocs, 2 * allocations);
  EXPECT_EQ(a[0]->reallocs, 2 * reallocs);
  EXPECT_EQ(a[0]->bad_frees, 0u);
  EXPECT_EQ(a[0]->live_blocks(), 0u) << "what the prefix left live is freed at the end of each round";
  for (const auto& th : threads) EXPECT_EQ(th.failures, 0u);
}

// --- exhaustion ------------------------------------------------------------------------------

TEST(ReplayExhaustion, AFixedArenaRunsOutAtTheSameOpEveryRound) {
  trace::Trace t;
  t.objects = 20;
  t.threads.resize(1);
  for (std::uint32_t i = 0; i < 20; ++i) t.threads[0].push_back(Op::make(Kind::malloc, 1000, false, 0, false, false, i, no_object));
  auto plan = must_prepare(std::move(t));
  constexpr std::size_t capacity = 10 * 1024;
  // Where a fresh arena of this capacity refuses its first 1000-byte request.
  std::size_t fits = 0;
  {
    MutexArena probe(capacity);
    while (probe.allocate(1000) != nullptr) ++fits;
  }
  ASSERT_GT(fits, 0u);
  ASSERT_LT(fits, 20u);
  std::vector<std::unique_ptr<MutexArena>> a;
  a.push_back(std::make_unique<MutexArena>(capacity));
  std::vector<LiveObserver> observers;
  const auto threads = replay<MutexArena, LiveObserver>(plan, a, 2, Touch::pages, &observers);
  EXPECT_EQ(threads[0].first_failure, fits);
  EXPECT_EQ(threads[0].failures, 2 * (20 - fits));
  ASSERT_FALSE(observers[0].failed_at.empty());
  EXPECT_EQ(observers[0].failed_at.front(), fits);
  EXPECT_EQ(observers[0].failed_at.size(), 2 * (20 - fits)) << "the arena is reset between rounds";
}

// --- null ------------------------------------------------------------------------------------

TEST(ReplayNull, RunsObjectsLargerThanItsScratchAndAnyAlignment) {
  trace::Trace t;
  t.objects = 3;
  t.threads.resize(1);
  t.threads[0] = {Op::make(Kind::malloc, std::uint64_t{8} << 20, false, 0, false, false, 0, no_object),
                  Op::make(Kind::aligned, 100, false, 16, false, false, 1, no_object),  // 64 KiB
                  Op::make(Kind::realloc, std::uint64_t{16} << 20, false, 0, false, false, 2, 0),
                  Op::make(Kind::free, 0, false, 0, false, false, 2, no_object)};
  auto plan = must_prepare(std::move(t));
  std::vector<std::unique_ptr<harness::NullAllocator>> a;
  a.push_back(std::make_unique<harness::NullAllocator>());
  const auto threads = replay<harness::NullAllocator>(plan, a, 2, Touch::all);
  EXPECT_EQ(threads[0].failures, 0u);
}

}  // namespace
}  // namespace alloclab::workloads
