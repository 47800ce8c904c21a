// The empirical workload: distil -> empirical reproduces the table (a statistical check with a
// fixed seed, no timing), its bookkeeping (every object freed once with its own size), failed
// allocations, finish and restart, and the alias table on its own.
//
// The statistical check. A synthetic program (sizes with temporaries, medium and heavy-tailed
// lifetimes, immortal objects, reallocs) is distilled into a table; the workload then runs over
// a counting allocator for ~1M steps after its first round. Two statistics:
//   sizes drawn:  Pearson's chi-square of the births per size against N x p(size), df = k - 1,
//                 compared with the chi-square critical value at alpha = 0.001 (Wilson-Hilferty).
//                 The same counts against the table shifted by one row must exceed it, by far:
//                 an alias table off by one cannot pass.
//   live counts:  the time-average of the live objects of each size (sampled after every step)
//                 against the table's mean_live, within 5 standard errors. For a birth/death
//                 process with geometric lifetimes of mean L, the count's variance is at most
//                 mean_live and its autocorrelation at lag t at most q^t (q = L / (1 + L)), so
//                 the error of an N-sample mean is at most sqrt(mean_live (1 + 2L) / N).
#include "alloclab/workloads/empirical.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <barrier>
#include <cstdlib>
#include <memory>
#include <thread>
#include <algorithm>
#include <utility>
#include <map>
#include <string_view>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "alloclab/trace/distribution.hpp"
#include "distribution_events.hpp"

namespace alloclab::workloads {
namespace {

using trace::Distribution;
using trace::DistributionRow;

// Counts births, deaths and live objects per size; checks every free names a live object with
// the size it was made with (a header before each object). Sampling: before each allocate()
// (the end of the previous step), adds every size's live count to its integral.
class CountingAllocator {
 public:
  static constexpr bool thread_safe = false;
  static constexpr bool supports_free = true;
  static constexpr std::string_view name = "counting";

  explicit CountingAllocator(const std::vector<std::uint64_t>& sizes, std::uint64_t max_size = UINT64_MAX)
      : max_size_(max_size) {
    for (std::size_t i = 0; i < sizes.size(); ++i) index_[sizes[i]] = i;
    births.assign(sizes.size(), 0);
    live.assign(sizes.size(), 0);
    integral.assign(sizes.size(), 0);
  }
  CountingAllocator(const CountingAllocator&) = delete;
  ~CountingAllocator() { EXPECT_EQ(total_live, 0u) << "objects never freed"; }

  void* allocate(std::size_t size, std::size_t alignment = default_alignment) noexcept {
    if (size == 0 || size > max_size_ || alignment != default_alignment) {
      ++failed;
      return nullptr;
    }
    const auto it = index_.find(size);
    if (it == index_.end()) {
      ++unknown_sizes;
      return nullptr;
    }
    if (record_sizes) asked.push_back(size);
    if (sampling) {
      ++samples;
      for (std::size_t k = 0; k < live.size(); ++k) integral[k] += static_cast<double>(live[k]);
      ++births[it->second];
    }
    ++live[it->second];
    ++total_live;
    ++allocations;
    auto* raw = static_cast<std::uint64_t*>(std::malloc(size + 16));
    if (raw == nullptr) std::abort();
    raw[0] = size;
    raw[1] = magic;
    return raw + 2;
  }
  void deallocate(void* p, std::size_t size) noexcept {
    auto* raw = static_cast<std::uint64_t*>(p) - 2;
    if (raw[1] != magic || raw[0] != size) {
      ++bad_frees;
      return;
    }
    raw[1] = 0;
    --live[index_.at(size)];
    --total_live;
    ++frees;
    std::free(raw);
  }
  void reset() noexcept {}
  [[nodiscard]] std::size_t capacity() const noexcept { return 0; }
  [[nodiscard]] std::size_t used() const noexcept { return 0; }
  [[nodiscard]] std::size_t remaining() const noexcept { return 0; }
  [[nodiscard]] AllocatorStats stats() const noexcept { return {}; }

  bool sampling = false;
  bool record_sizes = false;
  std::vector<std::uint64_t> asked;  // every size asked for, when record_sizes
  std::uint64_t samples = 0, allocations = 0, frees = 0, failed = 0, bad_frees = 0, unknown_sizes = 0;
  std::uint64_t total_live = 0;
  std::vector<std::uint64_t> births, live;
  std::vector<double> integral;

 private:
  static constexpr std::uint64_t magic = 0xA110CA7EDULL;
  std::map<std::uint64_t, std::size_t> index_;
  std::uint64_t max_size_;
};
static_assert(Allocator<CountingAllocator>);

class SoloSync final : public RoundSync {
 public:
  bool shared() const noexcept override { return false; }
  bool leader() const noexcept override { return true; }
  int threads() const noexcept override { return 1; }

 protected:
  void arrive_and_wait() override {}
};

std::vector<std::uint64_t> sizes_of(const Distribution& d) {
  std::vector<std::uint64_t> s;
  for (const auto& r : d.rows) s.push_back(r.size);
  return s;
}

// A synthetic program: births by weight per size, each size with its own lifetime law (in
// events), some objects realloc'd to another size, some never freed.
Distribution synthetic_table() {
  struct Law {
    std::uint64_t size;
    double weight;
    int kind;  // 0 temporary (1 event), 1 uniform 1..200, 2 Pareto (heavy tail), 3 immortal, 4 fixed 3000
  };
  const std::vector<Law> laws = {{8, 30, 0},   {16, 20, 1},  {24, 12, 2},   {32, 10, 1},  {48, 8, 4},
                                 {64, 6, 2},   {128, 5, 0},  {256, 4, 1},   {1024, 2, 3}, {4096, 1.5, 2},
                                 {16384, 1, 4}, {100000, 0.5, 1}};
  std::vector<double> w;
  for (const auto& l : laws) w.push_back(l.weight);
  const AliasTable pick(w);
  Rng rng(99);
  trace::testing::EventList e("/usr/bin/synthetic");
  std::multimap<std::uint64_t, std::uint32_t> due;  // event index -> object
  std::map<std::uint32_t, std::uint64_t> size_of;
  while (e.events() < 200000) {
    const Law& law = laws[pick(rng)];
    std::uint64_t life = 1;
    switch (law.kind) {
      case 0: life = 1; break;
      case 1: life = rng.between(1, 200); break;
      case 2: life = static_cast<std::uint64_t>(std::min(1e6, 1.0 / std::pow(1.0 - rng.unit(), 1.0 / 1.2))); break;
      case 3: life = UINT64_MAX; break;
      default: life = 3000; break;
    }
    const auto id = e.malloc(law.size);
    size_of[id] = law.size;
    if (life != UINT64_MAX) due.emplace(e.events() - 1 + life, id);
    while (!due.empty() && due.begin()->first <= e.events()) {
      const auto id_due = due.begin()->second;
      due.erase(due.begin());
      // A tenth of the 16-byte objects grow to 40 bytes instead of dying, and live 50 more.
      if (size_of[id_due] == 16 && rng.between(0, 9) == 0) {
        const auto grown = e.realloc(id_due, 40);
        size_of[grown] = 40;
        due.emplace(e.events() - 1 + 50, grown);
      } else {
        e.free(id_due);
      }
    }
  }
  return trace::distill(e.trace());
}

// Chi-square critical value for `df` degrees of freedom at upper-tail probability alpha, by
// Wilson-Hilferty (accurate to a fraction of a percent for df >= 3); z = the normal quantile.
double chi_square_critical(double df, double z) {
  const double a = 2.0 / (9.0 * df);
  return df * std::pow(1.0 - a + z * std::sqrt(a), 3.0);
}
constexpr double z_alpha_0_001 = 3.090232306167813;

double chi_square(const std::vector<std::uint64_t>& observed, const std::vector<double>& expected) {
  double x = 0;
  for (std::size_t k = 0; k < observed.size(); ++k) {
    const double d = static_cast<double>(observed[k]) - expected[k];
    x += d * d / expected[k];
  }
  return x;
}

TEST(Empirical, DistilledTableIsReproducedWithinSamplingError) {
  const Distribution table = synthetic_table();
  ASSERT_EQ(table.rows.size(), 13u);  // the twelve sizes and the realloc's 40
  Params params;
  params.seed = 7;
  params.distribution = &table;
  Empirical<CountingAllocator> w(params, 1);
  CountingAllocator a(sizes_of(table));
  SoloSync sync;
  NoProbe probe;
  auto t = w.make_thread(0);

  w.run_round(a, t, sync, probe);  // the fill and one round
  EXPECT_EQ(t.fill_objects, a.allocations - w.steps_per_round());
  a.sampling = true;
  const int rounds = 256;
  std::size_t ops = 0;
  for (int r = 0; r < rounds; ++r) ops += w.run_round(a, t, sync, probe);
  const std::uint64_t n = static_cast<std::uint64_t>(rounds) * w.steps_per_round();
  EXPECT_EQ(ops, n);
  EXPECT_EQ(a.samples, n);
  EXPECT_EQ(a.bad_frees, 0u);
  EXPECT_EQ(a.unknown_sizes, 0u);
  EXPECT_EQ(a.failed, 0u);

  double rate_sum = 0;
  for (const auto& r : table.rows) rate_sum += r.rate;
  const std::size_t k = table.rows.size();
  std::vector<double> expected(k), shifted(k);
  for (std::size_t i = 0; i < k; ++i) {
    expected[i] = static_cast<double>(n) * table.rows[i].rate / rate_sum;
    ASSERT_GE(expected[i], 5.0) << "chi-square needs at least 5 expected per cell";
  }
  for (std::size_t i = 0; i < k; ++i) shifted[i] = expected[(i + 1) % k];

  const double critical = chi_square_critical(static_cast<double>(k - 1), z_alpha_0_001);
  const double x = chi_square(a.births, expected);
  EXPECT_LT(x, critical) << "sizes drawn do not follow the table's rates";
  EXPECT_GT(chi_square(a.births, shifted), 100 * critical) << "the check has no power against an off-by-one";

  for (std::size_t i = 0; i < k; ++i) {
    const auto& row = table.rows[i];
    const double p = row.rate / rate_sum;
    const double lifetime = row.mean_live / p;  // steps
    const double observed = a.integral[i] / static_cast<double>(n);
    const double se = std::sqrt(row.mean_live * (1 + 2 * lifetime) / static_cast<double>(n));
    EXPECT_LE(std::abs(observed - row.mean_live), 5 * se)
        << "size " << row.size << ": mean live " << observed << ", table " << row.mean_live << ", se " << se;
  }

  // The driver's counters say the same: the live set held, beside the table's.
  Empirical<CountingAllocator>::Totals totals;
  totals.add(t);
  std::map<std::string, double> counters;
  totals.report([&](std::string_view name, double v) { counters[std::string(name)] = v; });
  double table_live = 0;
  for (const auto& r : table.rows) table_live += r.mean_live;
  EXPECT_EQ(counters.at("table_mean_live_objects"), table_live);
  EXPECT_EQ(counters.at("steps"), static_cast<double>(n + w.steps_per_round()));
  EXPECT_EQ(counters.at("births_failed"), 0);
  EXPECT_NEAR(counters.at("mean_live_objects"), table_live, 0.05 * table_live);

  w.finish(a, t, sync);
  EXPECT_EQ(a.total_live, 0u);
  EXPECT_EQ(a.frees, a.allocations);
}

// Records every free as (allocations so far, serial number of the object): two runs that free
// the same objects at the same points give the same sorted log.
class LoggingAllocator {
 public:
  static constexpr bool thread_safe = false;
  static constexpr bool supports_free = true;
  static constexpr std::string_view name = "logging";
  void* allocate(std::size_t size, std::size_t /*alignment*/ = default_alignment) noexcept {
    auto* raw = static_cast<std::uint64_t*>(std::malloc(size + 16));
    if (raw == nullptr) std::abort();
    raw[0] = ++allocations;
    raw[1] = size;
    return raw + 2;
  }
  void deallocate(void* p, std::size_t size) noexcept {
    auto* raw = static_cast<std::uint64_t*>(p) - 2;
    log.push_back({allocations, raw[0]});
    if (raw[1] != size) ++bad_frees;
    std::free(raw);
  }
  void reset() noexcept {}
  [[nodiscard]] std::size_t capacity() const noexcept { return 0; }
  [[nodiscard]] std::size_t used() const noexcept { return 0; }
  [[nodiscard]] std::size_t remaining() const noexcept { return 0; }
  [[nodiscard]] AllocatorStats stats() const noexcept { return {}; }
  std::uint64_t allocations = 0, bad_frees = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> log;
};

TEST(Empirical, EveryLevelOfTheDeathScheduleFreesAtTheSameStepAsOneWheel) {
  // Lifetimes from 0 to thousands of steps. With 8-bucket wheels (blocks of 8 steps, the block
  // wheel reaching 64 steps, the heap beyond) every level and every hand-over between them is
  // used; with the default 4096-bucket wheels the same draws stay in the first. The frees must
  // be the same objects at the same steps.
  Distribution table;
  table.rows = {{8, 4, 0.5}, {16, 2, 20}, {32, 1, 60}, {64, 1, 400}, {128, 0.5, 1500}};
  Params params;
  params.seed = 17;
  params.distribution = &table;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> logs[2];
  for (int k = 0; k < 2; ++k) {
    Empirical<LoggingAllocator> w(params, 1, k == 0 ? 3u : Empirical<LoggingAllocator>::default_wheel_bits);
    LoggingAllocator a;
    SoloSync sync;
    NoProbe probe;
    auto t = w.make_thread(0);
    for (int r = 0; r < 24; ++r) w.run_round(a, t, sync, probe);
    const std::uint64_t before_finish = a.log.size();
    w.finish(a, t, sync);
    EXPECT_EQ(a.bad_frees, 0u);
    EXPECT_EQ(a.log.size(), a.allocations);
    logs[k] = a.log;
    logs[k].resize(before_finish);  // finish frees in slot order, which differs
    std::sort(logs[k].begin(), logs[k].end());
  }
  ASSERT_GT(logs[0].size(), 50000u);
  EXPECT_TRUE(logs[0] == logs[1]) << "the small wheels freed other objects or at other steps";
}

TEST(Empirical, LifetimeZeroObjectsDieInTheirStepAndRatesAreRatios) {
  // Rates in any unit (a hand-made table): only their ratios matter, even near the largest
  // double, where their sum overflows. 8 bytes are temporaries.
  Distribution table;
  table.rows = {{8, 1.5e308, 0.0}, {64, 0.5e308, 50.0}};
  Params params;
  params.distribution = &table;
  Empirical<CountingAllocator> w(params, 1);
  CountingAllocator a(sizes_of(table));
  SoloSync sync;
  NoProbe probe;
  auto t = w.make_thread(0);
  w.run_round(a, t, sync, probe);
  a.sampling = true;
  for (int r = 0; r < 64; ++r) w.run_round(a, t, sync, probe);
  EXPECT_EQ(a.integral[0], 0.0) << "an 8-byte object outlived its step";
  const double n = static_cast<double>(a.samples);
  EXPECT_NEAR(static_cast<double>(a.births[0]) / n, 0.75, 5 * std::sqrt(0.75 * 0.25 / n));
  const double se = std::sqrt(50 * (1 + 2 * 200.0) / n);  // L = 50 / 0.25 = 200 steps
  EXPECT_NEAR(a.integral[1] / n, 50.0, 5 * se);
  w.finish(a, t, sync);
}

TEST(Empirical, FinishFreesEverythingAndTheNextRoundRefills) {
  const Distribution table = synthetic_table();
  Params params;
  params.distribution = &table;
  Empirical<CountingAllocator> w(params, 1);
  CountingAllocator a(sizes_of(table));
  SoloSync sync;
  NoProbe probe;
  auto t = w.make_thread(0);
  for (int pass = 0; pass < 3; ++pass) {  // timed rounds, then the latency pass, as the driver does
    for (int r = 0; r < 4; ++r) w.run_round(a, t, sync, probe);
    EXPECT_GT(a.total_live, 0u);
    w.finish(a, t, sync);
    EXPECT_EQ(a.total_live, 0u);
    EXPECT_EQ(a.bad_frees, 0u);
  }
  EXPECT_EQ(a.frees, a.allocations);
  EXPECT_GT(t.fill_objects, 0u);
}

TEST(Empirical, RefusedSizesAreCountedNotFatal) {
  const Distribution table = synthetic_table();
  Params params;
  params.distribution = &table;
  Empirical<CountingAllocator> w(params, 1);
  SoloSync sync;
  NoProbe probe;
  {
    // Too large for this allocator: 16 KiB and 100 000-byte objects.
    CountingAllocator a(sizes_of(table), 4096);
    auto t = w.make_thread(0);
    std::size_t ops = 0;
    for (int r = 0; r < 8; ++r) ops += w.run_round(a, t, sync, probe);
    EXPECT_GT(t.births_failed, 0u);
    EXPECT_EQ(ops + t.births_failed, t.steps);
    EXPECT_GT(t.fill_failed, 0u);
    w.finish(a, t, sync);
    EXPECT_EQ(a.bad_frees, 0u);
  }
  {
    // Refuses everything: the fill gives up at once, every birth fails, nothing breaks.
    CountingAllocator a(sizes_of(table), 0);
    auto t = w.make_thread(0);
    EXPECT_EQ(w.run_round(a, t, sync, probe), 0u);
    EXPECT_EQ(t.fill_objects, 0u);
    EXPECT_EQ(t.births_failed, w.steps_per_round());
    EXPECT_LE(a.failed, w.steps_per_round() + table.rows.size());
    w.finish(a, t, sync);
  }
}

TEST(Empirical, EachThreadRunsTheWholeShapeWithItsOwnDraws) {
  Distribution table;
  table.rows = {{16, 1, 4}, {32, 1, 4}, {48, 1, 4}, {64, 1, 4}};
  Params params;
  params.distribution = &table;
  Empirical<CountingAllocator> w(params, 2);
  SoloSync sync;
  NoProbe probe;
  CountingAllocator a0(sizes_of(table)), a1(sizes_of(table));
  auto t0 = w.make_thread(0);
  auto t1 = w.make_thread(1);
  w.run_round(a0, t0, sync, probe);
  w.run_round(a1, t1, sync, probe);
  a0.sampling = a1.sampling = true;
  for (int r = 0; r < 16; ++r) {
    w.run_round(a0, t0, sync, probe);
    w.run_round(a1, t1, sync, probe);
  }
  EXPECT_NE(a0.births, a1.births) << "two threads drew the same sizes";
  // Nor the same sizes a few steps apart: at any lag, two independent streams of four equally
  // likely sizes agree a quarter of the time (sd 0.007 over 4096 steps).
  a0.record_sizes = a1.record_sizes = true;
  for (int r = 0; r < 2; ++r) {
    w.run_round(a0, t0, sync, probe);
    w.run_round(a1, t1, sync, probe);
  }
  for (std::size_t lag = 0; lag < 64; ++lag) {
    std::size_t same = 0;
    const std::size_t n = 4096;
    for (std::size_t i = 0; i < n; ++i) {
      same += a0.asked[i + lag] == a1.asked[i];
      same += a1.asked[i + lag] == a0.asked[i];
    }
    EXPECT_LT(static_cast<double>(same) / (2.0 * n), 0.3) << "thread 1 repeats thread 0 at lag " << lag;
  }
  for (CountingAllocator* a : {&a0, &a1}) {
    const double n = static_cast<double>(a->samples);
    const std::vector<double> expected(4, n / 4);
    EXPECT_LT(chi_square(a->births, expected), chi_square_critical(3, z_alpha_0_001));
  }
  w.finish(a0, t0, sync);
  w.finish(a1, t1, sync);
}

TEST(Empirical, WithoutATableItDoesNothing) {
  Params params;  // distribution = nullptr
  Empirical<CountingAllocator> w(params, 1);
  CountingAllocator a({16});
  SoloSync sync;
  NoProbe probe;
  auto t = w.make_thread(0);
  EXPECT_EQ(w.run_round(a, t, sync, probe), 0u);
  EXPECT_EQ(a.allocations, 0u);
  w.finish(a, t, sync);
}

// CountingAllocator's view of an arena: deallocate() does nothing but count; reset() forgets
// everything.
class CountingArena {
 public:
  static constexpr bool thread_safe = false;
  static constexpr bool supports_free = false;
  static constexpr std::string_view name = "counting_arena";
  void* allocate(std::size_t size, std::size_t /*alignment*/ = default_alignment) noexcept {
    ++allocations;
    ++since_reset;
    max_since_reset = std::max(max_since_reset, since_reset);
    blocks.push_back(std::make_unique<unsigned char[]>(size));
    return blocks.back().get();
  }
  void deallocate(void* /*p*/, std::size_t /*size*/) noexcept { ++deallocations; }
  void reset() noexcept {
    ++resets;
    since_reset = 0;
    blocks.clear();
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return 0; }
  [[nodiscard]] std::size_t used() const noexcept { return 0; }
  [[nodiscard]] std::size_t remaining() const noexcept { return 0; }
  [[nodiscard]] AllocatorStats stats() const noexcept { return {}; }
  std::uint64_t allocations = 0, deallocations = 0, resets = 0, since_reset = 0, max_since_reset = 0;
  std::vector<std::unique_ptr<unsigned char[]>> blocks;
};

TEST(Empirical, ArenasRunTheSameProcessWithEpochResets) {
  // Within an epoch an arena sees the very calls an allocator with free sees (same seed, same
  // draws): `null` measures the harness's work of every other case. Its memory is bounded by
  // the epochs: reset every epoch_rounds() rounds, then filled again.
  Distribution table;
  table.rows = {{16, 3, 2}, {64, 1, 300}, {256, 0.5, 900}};  // M = 1202: epochs of 2 rounds
  Params params;
  params.distribution = &table;
  Empirical<CountingArena> arena_w(params, 1);
  Empirical<CountingAllocator> free_w(params, 1);
  ASSERT_EQ(arena_w.epoch_rounds(), 2u);
  SoloSync sync;
  NoProbe probe;
  CountingArena arena;
  CountingAllocator counting(sizes_of(table));
  auto ta = arena_w.make_thread(0);
  auto tf = free_w.make_thread(0);
  for (std::size_t r = 0; r < arena_w.epoch_rounds(); ++r) {
    arena_w.run_round(arena, ta, sync, probe);
    free_w.run_round(counting, tf, sync, probe);
  }
  EXPECT_EQ(arena.allocations, counting.allocations);
  EXPECT_EQ(arena.deallocations, counting.frees);
  EXPECT_EQ(arena.resets, 0u);
  free_w.finish(counting, tf, sync);

  const int rounds = 20;
  for (int r = 0; r < rounds; ++r) arena_w.run_round(arena, ta, sync, probe);
  const std::uint64_t epochs = (arena_w.epoch_rounds() + rounds) / arena_w.epoch_rounds();
  EXPECT_EQ(arena.resets, epochs - 1);
  EXPECT_EQ(ta.epoch_resets, epochs - 1);
  EXPECT_EQ(ta.fill_objects, 1202 * epochs);  // M = 1202 exactly: each fill is 1202 objects
  // An epoch holds its fill and its births: about M + 2 x 4096 objects, never the whole run's.
  EXPECT_LE(arena.max_since_reset, 1300 + arena_w.epoch_rounds() * arena_w.steps_per_round());
  arena_w.finish(arena, ta, sync);
  EXPECT_EQ(arena.resets, epochs);
  EXPECT_EQ(Empirical<CountingArena>::info.needs_free, false);
}

// Like the driver's `null`: one scratch buffer for every request, none larger than it.
class ScratchAllocator {
 public:
  static constexpr bool thread_safe = false;
  static constexpr bool supports_free = false;
  static constexpr std::string_view name = "scratch";
  static constexpr std::size_t scratch_bytes = 4096;
  void* allocate(std::size_t size, std::size_t /*alignment*/ = default_alignment) noexcept {
    largest = std::max(largest, size);
    ++allocations;
    return size <= scratch_bytes ? scratch : nullptr;
  }
  void deallocate(void* /*p*/, std::size_t size) noexcept {
    largest_freed = std::max(largest_freed, size);
    ++deallocations;
  }
  void reset() noexcept {}
  [[nodiscard]] std::size_t capacity() const noexcept { return 0; }
  [[nodiscard]] std::size_t used() const noexcept { return 0; }
  [[nodiscard]] std::size_t remaining() const noexcept { return 0; }
  [[nodiscard]] AllocatorStats stats() const noexcept { return {}; }
  alignas(64) unsigned char scratch[scratch_bytes];
  std::size_t largest = 0, largest_freed = 0;
  std::uint64_t allocations = 0, deallocations = 0;
};

TEST(Empirical, TheNullReferenceIsAskedForNoMoreThanItsScratch) {
  Distribution table;
  table.rows = {{16, 1, 5}, {1 << 20, 1, 5}};  // 1 MiB: far beyond the scratch
  Params params;
  params.distribution = &table;
  Empirical<ScratchAllocator> w(params, 1);
  auto a = std::make_unique<ScratchAllocator>();
  SoloSync sync;
  NoProbe probe;
  auto t = w.make_thread(0);
  EXPECT_EQ(w.run_round(*a, t, sync, probe), w.steps_per_round()) << "every step did its work";
  EXPECT_EQ(t.births_failed, 0u);
  EXPECT_EQ(t.fill_failed, 0u);
  EXPECT_EQ(a->largest, ScratchAllocator::scratch_bytes);
  EXPECT_EQ(a->largest_freed, ScratchAllocator::scratch_bytes);
  EXPECT_GT(a->deallocations, 0u);
  w.finish(*a, t, sync);
}

// One instance shared by two threads, which must meet at every reset (RoundSync::bulk).
class SharedSync final : public RoundSync {
 public:
  SharedSync(std::barrier<>& barrier, int index) : barrier_(&barrier), index_(index) {}
  bool shared() const noexcept override { return true; }
  bool leader() const noexcept override { return index_ == 0; }
  int threads() const noexcept override { return 2; }

 protected:
  void arrive_and_wait() override { barrier_->arrive_and_wait(); }

 private:
  std::barrier<>* barrier_;
  int index_;
};

TEST(Empirical, ASharedArenaIsResetWithEveryThreadStopped) {
  Distribution table;
  table.rows = {{24, 2, 10}, {200, 1, 600}};
  Params params;
  params.distribution = &table;
  params.tiny = true;
  Empirical<MutexArena> w(params, 2);
  MutexArena arena(std::size_t{64} << 20);
  std::barrier<> barrier(2);
  std::size_t ops[2] = {};
  std::uint64_t resets[2] = {};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      SharedSync sync(barrier, i);
      NoProbe probe;
      auto t = w.make_thread(i);
      for (int r = 0; r < 40; ++r) ops[i] += w.run_round(arena, t, sync, probe);
      w.finish(arena, t, sync);
      resets[i] = t.epoch_resets;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(resets[0], resets[1]);
  EXPECT_GT(resets[0], 0u);
  EXPECT_EQ(ops[0], 40 * w.steps_per_round());  // no allocation failed: the resets kept room
  EXPECT_EQ(ops[1], 40 * w.steps_per_round());
  EXPECT_EQ(arena.used(), 0u);  // finish reset it
}

TEST(ExponentialZiggurat, FollowsExpOneInEveryQuantileAndTheTail) {
  // 64 equiprobable bins by the exact quantiles -ln(1 - k/64), and the far tail (beyond the
  // ziggurat's base edge, 7.697: P = e^-7.697) counted on its own.
  const ExponentialZiggurat exp1;
  Rng rng(5);
  const std::uint64_t n = 4000000;
  const std::size_t bins = 64;
  std::vector<std::uint64_t> counts(bins);
  std::uint64_t tail = 0;
  double sum = 0, tail_excess = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const double x = exp1(rng);
    ASSERT_GE(x, 0.0);
    sum += x;
    if (x > 7.69711747013104972) {
      ++tail;
      tail_excess += x - 7.69711747013104972;
    }
    const double cdf = -std::expm1(-x);
    ++counts[std::min(bins - 1, static_cast<std::size_t>(cdf * static_cast<double>(bins)))];
  }
  const std::vector<double> expected(bins, static_cast<double>(n) / static_cast<double>(bins));
  EXPECT_LT(chi_square(counts, expected), chi_square_critical(static_cast<double>(bins - 1), z_alpha_0_001));
  EXPECT_NEAR(sum / static_cast<double>(n), 1.0, 5 / std::sqrt(static_cast<double>(n)));  // sd of Exp(1) is 1
  // Beyond the edge the ziggurat draws r + Exp(1) (memoryless): the excess has mean 1.
  EXPECT_NEAR(tail_excess / static_cast<double>(tail), 1.0, 5 / std::sqrt(static_cast<double>(tail)));
  const double p_tail = std::exp(-7.69711747013104972);
  const double expected_tail = static_cast<double>(n) * p_tail;
  EXPECT_NEAR(static_cast<double>(tail), expected_tail, 5 * std::sqrt(expected_tail));
}

TEST(Empirical, LifetimesAreGeometricWithTheTablesMean) {
  Distribution table;
  table.rows = {{16, 1, 1}};
  Params params;
  params.distribution = &table;
  const Empirical<CountingAllocator> w(params, 1);
  Rng rng(3);
  for (const double mean : {0.0, 0.25, 1.0, 37.5, 5000.0}) {
    SCOPED_TRACE(mean);
    const std::uint64_t n = 400000;
    double sum = 0;
    std::uint64_t zeros = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t k = w.draw_lifetime(mean, rng);
      sum += static_cast<double>(k);
      zeros += k == 0;
    }
    const double q = mean / (1 + mean);
    const double sd = std::sqrt(q) / (1 - q);  // of a geometric with P(K >= k) = q^k
    EXPECT_NEAR(sum / static_cast<double>(n), mean, 5 * sd / std::sqrt(static_cast<double>(n)) + 1e-12);
    const double p0 = 1 - q;
    EXPECT_NEAR(static_cast<double>(zeros) / static_cast<double>(n), p0,
                5 * std::sqrt(p0 * (1 - p0) / static_cast<double>(n)) + 1e-12);
  }
  EXPECT_EQ(w.draw_lifetime(INFINITY, rng), Empirical<CountingAllocator>::never);
}

TEST(AliasTable, DrawsEachIndexByItsWeightAndNeverAZeroOne) {
  const std::vector<double> weights = {5, 0, 1, 1e-3, 20, 3, 0, 7.5};
  const AliasTable table(weights);
  ASSERT_EQ(table.size(), weights.size());
  Rng rng(11);
  const std::uint64_t n = 2000000;
  std::vector<std::uint64_t> counts(weights.size());
  for (std::uint64_t i = 0; i < n; ++i) ++counts[table(rng)];
  EXPECT_EQ(counts[1], 0u);
  EXPECT_EQ(counts[6], 0u);
  double total = 0;
  for (double x : weights) total += x;
  std::vector<std::uint64_t> observed;
  std::vector<double> expected;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] == 0) continue;
    observed.push_back(counts[i]);
    expected.push_back(static_cast<double>(n) * weights[i] / total);
  }
  EXPECT_LT(chi_square(observed, expected), chi_square_critical(static_cast<double>(observed.size() - 1), z_alpha_0_001));
  EXPECT_TRUE(AliasTable(std::vector<double>{0, 0}).empty());
  EXPECT_TRUE(AliasTable(std::vector<double>{}).empty());
}

}  // namespace
}  // namespace alloclab::workloads
