// alloclab/workloads/empirical.hpp — a distilled program's allocation shape (alloclab/trace/
// distribution.hpp) as a birth/death process: `empirical:DIST.csv` in the driver.
//
// Construction (for the driver): `Empirical<A>(const Params& params, int threads)`, the table
// reached through `params.distribution` (a `const trace::Distribution*` the driver reads once
// with trace::read_distribution and keeps alive for the whole run). Registered like any
// workload (make_thread, run_round, finish, Totals). A null or empty table makes a workload
// that does nothing (0 operations): the driver never builds one.
//
// Origin: fleetbench's empirical driver (google/fleetbench, `EmpiricalDriver`), which replays
//   Google's fleet-wide size tables as births and deaths; lifetimes from Little's law
//   (mean live = arrival rate x mean lifetime).
// Model: each thread runs the WHOLE table, independently: N threads are N copies of the
//   recorded program's shape (the table is per process), so N threads hold N times its live
//   set. A step is one birth: a size drawn with probability p(size) = rate / sum of rates
//   (Walker's alias method: one table built once, read-only, shared by the threads; each
//   thread draws from its own Rng, seeded from thread_seed and scattered, see make_thread).
//   In steps (one step is 1/sum(rates) events of the trace), Little's law gives the mean
//   lifetime L(size) = mean_live / p(size).
//   Lifetimes are geometric on {0, 1, 2, ...} with mean L: the table knows only the mean, the
//   geometric is the maximum-entropy law for a given mean on the integers, and it is memoryless
//   — the discrete exponential — which is what lets a thread start IN steady state (below). A
//   lifetime of 0 is a malloc freed in the same step (a temporary). The mean live count of a
//   birth/death process does not depend on the lifetime's shape, only on its mean, so the
//   table's mean_live is reproduced whatever law is chosen; the shape only moves variance.
// Steady state: a thread's first round (after make_thread or finish) first fills the live set
//   as it stands in steady state — floor(M) or floor(M)+1 objects (M = the table's total
//   mean_live, the fraction taken by a coin), each size drawn with probability mean_live / M,
//   each with a geometric residual lifetime of the same mean (memoryless). The expected live
//   count of every size is then the table's mean_live at every step, with no transient to wait
//   out. The driver calls prepare() for the fill before the timed rounds, with its timer paused
//   (the page faults of the fill still count in the case's page_faults); it is not counted as
//   operations, and its allocations bypass the Probe, so the latency pass samples steady-state
//   births only.
// Death schedule: a hierarchical timing wheel (Varghese & Lauck): 4096 one-step buckets for
//   deaths less than 4096 steps away, 4096 buckets of 4096 steps for deaths up to 2^24 steps
//   away (each emptied into the first wheel when its block begins), and a binary heap of
//   (death step, slot) beyond that, consulted once per block. Buckets are intrusive lists of
//   slots. O(1) per birth and death; an object living past 4096 steps is moved once more, and
//   only one living past 2^24 steps (an immortal, in practice) touches the heap.
// Harness cost per step: two Rng draws (the size, the lifetime), the alias lookup, Exp(1) by a
//   ziggurat (a table lookup and a multiply for 98% of draws: no log call, which cost a third
//   of the step), a list push and pop. The slots of a large live set are random accesses, so
//   the harness pays cache misses there as the allocator does; `null` on the charts shows it.
// Stresses: an allocator under a real program's size mix and live set at steady state, at any
//   thread count: size-class coverage, reuse of freed memory, fragmentation of a long-lived
//   live set interleaved with temporaries, and per-thread caches at scale.
// Parameters: the table; 4096 steps per round (256 tiny); alignment alignof(max_align_t); each
//   object is touched once (its first byte written), as the other workloads do. `null` is
//   asked for at most its scratch buffer (request_cap), so that it runs every table.
// Operation: one step — one allocate() of a drawn size (and its touch) plus the frees that fall
//   due in that step. A step whose allocate() fails (a size too large for the allocator, an
//   exhausted fixed capacity) is counted in births_failed, not as an operation; the object is
//   simply not born.
// Allocators without individual free (arenas, and `null`, the harness's own cost): the same
//   process runs, every death a deallocate() that does nothing, so `null` pays exactly the
//   harness's work of every other allocator. Their memory only grows, so they get epochs: after
//   max(1, ceil(4 M / steps per round)) rounds the schedule is dropped, the arena reset (with
//   every thread stopped when it is shared) and the live set filled again — the refill is at
//   most a fifth of an epoch's allocations, and an epoch holds M + max(4 M, one round's steps)
//   objects or so. What an arena
//   shows here is its speed and footprint under the program's sizes, not reuse: it has none.
//   No shared instance, no cross-thread free: each thread frees only what it made.
// Does not test: the program's order of sizes and its phases (births are independent draws),
//   the real lifetime law (only its mean), alignments, realloc, the program's threads and their
//   interaction (cross-thread frees: replay the trace, `trace:FILE`, for those).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/trace/distribution.hpp"
#include "alloclab/workloads/release.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

// Walker's alias method (Vose's construction): draws index i with probability w[i] / sum(w) in
// O(1) — one Rng word: its high 32 bits pick a column, its low 32 bits the coin. Weights that
// are not finite and positive are never drawn.
class AliasTable {
 public:
  AliasTable() = default;
  explicit AliasTable(const std::vector<double>& weights) {
    const std::size_t n = weights.size();
    double total = 0;
    for (double w : weights)
      if (std::isfinite(w) && w > 0) total += w;
    if (n == 0 || n > UINT32_MAX || !(total > 0) || !std::isfinite(total)) return;
    columns_.resize(n);
    std::vector<double> scaled(n);
    std::vector<std::uint32_t> small, large;
    for (std::size_t i = 0; i < n; ++i) {
      const double w = weights[i];
      scaled[i] = std::isfinite(w) && w > 0 ? w / total * static_cast<double>(n) : 0.0;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<std::uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const std::uint32_t s = small.back(), l = large.back();
      small.pop_back();
      columns_[s] = {threshold(scaled[s]), l};
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // What is left is full up to rounding: the column is its own alias.
    for (std::uint32_t i : large) columns_[i] = {UINT32_MAX, i};
    for (std::uint32_t i : small) columns_[i] = {UINT32_MAX, i};
  }

  [[nodiscard]] bool empty() const noexcept { return columns_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return columns_.size(); }

  [[nodiscard]] std::uint32_t operator()(Rng& rng) const noexcept {
    const std::uint64_t r = rng.next();
    const auto column = static_cast<std::uint32_t>(((r >> 32) * columns_.size()) >> 32);
    const Column& c = columns_[column];
    return static_cast<std::uint32_t>(r) < c.threshold ? column : c.alias;
  }

 private:
  struct Column {
    std::uint32_t threshold;  // the column keeps itself when the coin is below this (of 2^32)
    std::uint32_t alias;      // else it gives this index; a full column is its own alias
  };
  static std::uint32_t threshold(double probability) noexcept {
    const double t = probability * 0x1.0p32;
    return t <= 0 ? 0 : t >= 0x1.0p32 - 1 ? UINT32_MAX : static_cast<std::uint32_t>(t);
  }
  std::vector<Column> columns_;
};

// Exp(1) by Marsaglia & Tsang's ziggurat ("The ziggurat method for generating random
// variables", JSS 2000) with 256 layers of equal area: one Rng word picks a layer (low 8 bits)
// and a point in it (high 53 bits); the point lies under the density without any test in 98%
// of draws. The rest: the wedge test (an exp call) or the tail beyond r, which is r + Exp(1)
// again (the exponential is memoryless: one log call, 1 draw in 2200). Exact up to rounding.
class ExponentialZiggurat {
 public:
  ExponentialZiggurat() noexcept {
    // Layer 0: [0, x0] x [0, f(r)] (the base and the tail, area v); layer i >= 1:
    // [0, x_i] x [f(x_i), f(x_{i+1})], area v, with x_1 = r and x_256 = 0 (f(x_256) = 1).
    double x[layers + 1];
    x[0] = v / std::exp(-r);
    x[1] = r;
    for (std::size_t i = 1; i < layers - 1; ++i) x[i + 1] = -std::log(v / x[i] + std::exp(-x[i]));
    x[layers] = 0;
    for (std::size_t i = 0; i <= layers; ++i) {
      scaled_[i] = x[i] * 0x1.0p-53;
      inner_[i] = x[i];
      f_[i] = std::exp(-x[i]);
    }
    f_[layers] = 1.0;
  }

  [[nodiscard]] double operator()(Rng& rng) const noexcept {
    for (;;) {
      const std::uint64_t bits = rng.next();
      const std::size_t i = bits & (layers - 1);
      const double x = static_cast<double>(bits >> 11) * scaled_[i];
      if (x < inner_[i + 1]) [[likely]] return x;  // under the layer above: under the curve
      if (i == 0) return r - std::log(static_cast<double>((rng.next() >> 11) + 1) * 0x1.0p-53);
      if (f_[i] + rng.unit() * (f_[i + 1] - f_[i]) < std::exp(-x)) return x;
    }
  }

 private:
  static constexpr std::size_t layers = 256;
  static constexpr double r = 7.69711747013104972;      // the base layer's right edge
  static constexpr double v = 0.0039496598225815571993;  // each layer's area
  double scaled_[layers + 1];  // x_i / 2^53
  double inner_[layers + 1];   // x_i
  double f_[layers + 1];       // exp(-x_i)
};

template <Allocator A>
class Empirical {
 public:
  static constexpr WorkloadInfo info{
      .name = "empirical",
      .description = "a distilled program's sizes and lifetimes as a per-thread birth/death process at steady state",
      .operation = "one step: allocate (and touch) a size drawn from the table, free the objects whose lifetime ended",
      .needs_shared_instance = false,
      .needs_free = false,
      .needs_cross_thread_free = false};

  static constexpr unsigned default_wheel_bits = 12;  // 4096 buckets per level
  static constexpr std::uint64_t never = std::uint64_t{1} << 62;  // a lifetime no run reaches

  struct Thread {
    explicit Thread(Rng r) : rng(r) {}
    Rng rng;
    struct Slot {
      void* p;              // nullptr: the slot is free
      std::uint64_t death;  // the step in which it is freed
      std::uint32_t row;    // index into the workload's rows
      std::uint32_t next;   // next slot in the same bucket, or in the free list
    };
    struct Far {
      std::uint64_t death;
      std::uint32_t slot;
    };
    std::vector<Slot> slots;
    std::uint32_t free_slot = none;
    std::vector<std::uint32_t> steps_wheel;   // bucket heads: deaths in step (index mod 4096)
    std::vector<std::uint32_t> blocks_wheel;  // bucket heads: deaths in block of 4096 steps
    std::vector<Far> far;                     // min-heap on death: beyond the block wheel
    std::uint64_t now = 0;                    // steps since the fill
    std::uint64_t live = 0;
    bool filled = false;
    std::size_t epoch_rounds = 0;  // rounds since the fill (epochs: allocators without free)
    double table_live = 0;  // the table's total mean_live, for Totals
    // Cumulative, never reset by finish(): the driver reads them after the timed rounds.
    std::uint64_t steps = 0, births_failed = 0, fill_objects = 0, fill_failed = 0, epoch_resets = 0;
    std::uint64_t live_sum = 0;  // live objects summed over steps (after each step's frees)
  };

  struct Totals {
    std::uint64_t steps = 0, births_failed = 0, fill_objects = 0, fill_failed = 0, epoch_resets = 0;
    double mean_live = 0, table_live = 0;
    void add(const Thread& t) {
      steps += t.steps;
      births_failed += t.births_failed;
      fill_objects += t.fill_objects;
      fill_failed += t.fill_failed;
      epoch_resets += t.epoch_resets;
      if (t.steps != 0) mean_live += static_cast<double>(t.live_sum) / static_cast<double>(t.steps);
      table_live += t.table_live;
    }
    template <class F>
    void report(F&& counter) const {
      counter("steps", static_cast<double>(steps));
      counter("births_failed", static_cast<double>(births_failed));
      counter("fill_objects", static_cast<double>(fill_objects));
      counter("fill_failed", static_cast<double>(fill_failed));
      counter("epoch_resets", static_cast<double>(epoch_resets));  // allocators without free
      // The live set the run held on average, beside the table's (both summed over threads).
      counter("mean_live_objects", mean_live);
      counter("table_mean_live_objects", table_live);
    }
  };

  // `wheel_bits` sizes the death schedule's wheels (2^bits buckets each); the driver leaves it,
  // tests shrink it to reach every level of the schedule within a few steps.
  Empirical(const Params& params, int /*threads*/, unsigned wheel_bits = default_wheel_bits)
      : params_(params),
        per_round_(params.tiny ? 256 : 4096),
        wheel_bits_(std::clamp(wheel_bits, 1u, 20u)),
        wheel_size_(std::uint64_t{1} << wheel_bits_) {
    if (params.distribution == nullptr) return;
    const auto& table = params.distribution->rows;
    // Rates in any unit (only their ratios count), scaled by the largest so that their sum
    // cannot overflow.
    double rate_max = 0;
    for (const auto& r : table)
      if (usable(r)) rate_max = std::max(rate_max, r.rate);
    double rate_sum = 0;
    for (const auto& r : table)
      if (usable(r)) rate_sum += r.rate / rate_max;
    if (!(rate_sum > 0)) return;
    std::vector<double> rates, lives;
    for (const auto& r : table) {
      if (!usable(r)) continue;
      const double live = std::isfinite(r.mean_live) && r.mean_live > 0 ? r.mean_live : 0.0;
      const double p = r.rate / rate_max / rate_sum;  // births of this size per step
      rows_.push_back(make_row(r.size, live / p));
      min_size_ = std::min(min_size_, rows_.back().request);
      rates.push_back(p);
      lives.push_back(live);
      total_live_ += live;
    }
    epoch_rounds_ = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::min(std::ceil(4 * total_live_ / static_cast<double>(per_round_)), 0x1.0p40)));
    births_ = AliasTable(rates);
    fill_ = AliasTable(lives);
  }

  Thread make_thread(int thread_index) const {
    Thread t{Rng(thread_seed(params_, thread_index))};  // independent streams: see thread_seed
    t.steps_wheel.assign(wheel_size_, none);
    t.blocks_wheel.assign(wheel_size_, none);
    t.table_live = births_.empty() ? 0.0 : total_live_;
    // Room for the live set and its usual swing; more grows as it needs.
    const double expect = total_live_ + 8 * std::sqrt(total_live_) + 64;
    t.slots.reserve(static_cast<std::size_t>(std::min(expect, 0x1.0p20)));
    return t;
  }

  // Called by the driver once per run before the timed rounds, with the timer paused: the
  // steady-state fill (the first round would do it otherwise, timed).
  void prepare(A& a, Thread& t) {
    if (!births_.empty() && !t.filled) fill(a, t);
  }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& sync, Probe& probe) {
    if (births_.empty()) return 0;
    // null (a scratch reference) never runs out: no epochs, so it does no refill the allocators
    // that free never do.
    if constexpr (!allocator_traits<A>::supports_free && !requires { A::scratch_bytes; }) {
      // Every thread makes the same number of rounds, so they reach this reset together.
      if (t.filled && t.epoch_rounds == epoch_rounds_) {
        drop(t);
        bulk_reset(a, sync);
        ++t.epoch_resets;
      }
    }
    if (!t.filled) fill(a, t);
    ++t.epoch_rounds;
    std::size_t done = 0;
    // The Rng and the clock in registers for the round: touch() writes through a char pointer,
    // which may alias them in Thread and would force a reload after every object.
    Rng rng = t.rng;
    std::uint64_t now = t.now, live = t.live, live_sum = t.live_sum, failed = 0;
    std::uint32_t* const wheel = t.steps_wheel.data();
    const std::uint64_t mask = wheel_size_ - 1;
    for (std::size_t i = 0; i < per_round_; ++i) {
      if ((now & mask) == 0) [[unlikely]] begin_block(t, now);
      const std::uint32_t r = births_(rng);
      const Row& row = rows_[r];
      void* p = probe(row.request, [&] { return a.allocate(row.request, default_alignment); });
      if (p != nullptr) [[likely]] {
        touch(p);
        schedule(t, p, r, now, now + lifetime(row, rng));
        ++live;
        ++done;
      } else {
        ++failed;
      }
      // The deaths of this step (a lifetime-0 newborn among them).
      std::uint32_t s = wheel[now & mask];
      wheel[now & mask] = none;
      typename Thread::Slot* const slots = t.slots.data();
      while (s != none) {
        typename Thread::Slot& slot = slots[s];
        const std::uint32_t next = slot.next;
        a.deallocate(slot.p, rows_[slot.row].request);
        slot.p = nullptr;
        slot.next = t.free_slot;
        t.free_slot = s;
        --live;
        s = next;
      }
      live_sum += live;
      ++now;
    }
    t.rng = rng;
    t.now = now;
    t.live = live;
    t.live_sum = live_sum;
    t.steps += per_round_;
    t.births_failed += failed;
    return done;
  }

  // Frees every live object (an arena: resets it); the next round starts with a fresh fill.
  void finish(A& a, Thread& t, RoundSync& sync) {
    if constexpr (allocator_traits<A>::supports_free) {
      for (auto& slot : t.slots) {
        if (slot.p != nullptr) a.deallocate(slot.p, rows_[slot.row].request);
      }
    } else {
      bulk_reset(a, sync);  // every thread calls finish: a shared instance is reset once, all stopped
    }
    drop(t);
  }

  [[nodiscard]] std::size_t steps_per_round() const noexcept { return per_round_; }
  [[nodiscard]] std::size_t epoch_rounds() const noexcept { return epoch_rounds_; }

  // The lifetime law on its own, for tests: a draw for a mean of `mean_lifetime` steps.
  [[nodiscard]] std::uint64_t draw_lifetime(double mean_lifetime, Rng& rng) const noexcept {
    return lifetime(make_row(1, mean_lifetime), rng);
  }

 private:
  static constexpr std::uint32_t none = UINT32_MAX;

  // Forgets the live set and the schedule (their memory is freed, or reset, by the caller).
  static void drop(Thread& t) {
    t.slots.clear();
    t.free_slot = none;
    std::fill(t.steps_wheel.begin(), t.steps_wheel.end(), none);
    std::fill(t.blocks_wheel.begin(), t.blocks_wheel.end(), none);
    t.far.clear();
    t.now = 0;
    t.live = 0;
    t.filled = false;
    t.epoch_rounds = 0;
  }

  struct Row {
    std::size_t request;   // the size asked for: the table's (see request_cap)
    double steps_per_exp;  // lifetime = floor(Exp(1) x this): 1 / -ln q, q = L / (1 + L)
  };

  // `null` hands every caller one scratch buffer of A::scratch_bytes (the trace replay's
  // ScratchReference): larger sizes are asked as that much, so that null does the work of every
  // step — its time is the harness's, whatever the sizes. Every other allocator: the size.
  static constexpr std::uint64_t request_cap() noexcept {
    if constexpr (requires { A::scratch_bytes; }) {
      return A::scratch_bytes;
    } else {
      return UINT64_MAX;
    }
  }

  static bool usable(const trace::DistributionRow& r) noexcept {
    return r.size != 0 && r.size <= trace::max_distribution_size && std::isfinite(r.rate) && r.rate > 0;
  }

  // Geometric on {0, 1, ...} with mean L: P(K >= k) = q^k, q = L / (1 + L), so K = floor(E / λ)
  // with E ~ Exp(1) and λ = -ln q = log1p(1 / L) (accurate for L large, where q rounds to 1).
  static Row make_row(std::uint64_t size, double mean_lifetime) noexcept {
    const auto request = static_cast<std::size_t>(std::min(size, request_cap()));
    if (!(mean_lifetime > 0)) return {request, 0.0};  // always 0: dies in its own step
    if (!std::isfinite(mean_lifetime) || mean_lifetime >= static_cast<double>(never)) return {request, INFINITY};
    return {request, 1.0 / std::log1p(1.0 / mean_lifetime)};
  }

  std::uint64_t lifetime(const Row& row, Rng& rng) const noexcept {
    const double k = exponential_(rng) * row.steps_per_exp;  // 0 x inf is NaN: never, below
    return k < static_cast<double>(never) ? static_cast<std::uint64_t>(k) : never;
  }

  static bool later(const typename Thread::Far& x, const typename Thread::Far& y) noexcept {
    return x.death > y.death;
  }

  // Files slot s, dying in step `death`, in the first level that holds it.
  void file(Thread& t, std::uint32_t s, std::uint64_t death, std::uint64_t now) {
    auto push = [&](std::vector<std::uint32_t>& wheel, std::uint64_t bucket) {
      t.slots[s].next = wheel[bucket & (wheel_size_ - 1)];
      wheel[bucket & (wheel_size_ - 1)] = s;
    };
    if (death - now < wheel_size_) {
      push(t.steps_wheel, death);
    } else if ((death >> wheel_bits_) - (now >> wheel_bits_) < wheel_size_) {
      push(t.blocks_wheel, death >> wheel_bits_);
    } else {
      t.far.push_back({death, s});
      std::push_heap(t.far.begin(), t.far.end(), later);
    }
  }

  void schedule(Thread& t, void* p, std::uint32_t row, std::uint64_t now, std::uint64_t death) {
    std::uint32_t s = t.free_slot;
    if (s != none) {
      t.free_slot = t.slots[s].next;
      t.slots[s] = {p, death, row, none};
    } else {
      s = static_cast<std::uint32_t>(t.slots.size());
      t.slots.push_back({p, death, row, none});
    }
    file(t, s, death, now);
  }

  // At the first step of a block of 4096: the heap's objects that now fall within the block
  // wheel's reach move into it (or straight into the step wheel), then this block's bucket is
  // spread over the step wheel, which from now until the block ends covers exactly this block.
  void begin_block(Thread& t, std::uint64_t now) {
    const std::uint64_t block = now >> wheel_bits_;
    while (!t.far.empty() && (t.far.front().death >> wheel_bits_) - block < wheel_size_) {
      std::pop_heap(t.far.begin(), t.far.end(), later);
      const typename Thread::Far f = t.far.back();
      t.far.pop_back();
      file(t, f.slot, f.death, now);
    }
    std::uint32_t s = t.blocks_wheel[block & (wheel_size_ - 1)];
    t.blocks_wheel[block & (wheel_size_ - 1)] = none;
    while (s != none) {
      const std::uint32_t next = t.slots[s].next;
      file(t, s, t.slots[s].death, now);
      s = next;
    }
  }

  // The steady-state live set (see the top of this file). Not through the Probe.
  void fill(A& a, Thread& t) {
    t.filled = true;
    if (fill_.empty()) return;
    const double whole = std::floor(std::min(total_live_, static_cast<double>(never)));
    const std::uint64_t count = static_cast<std::uint64_t>(whole) + (t.rng.unit() < total_live_ - whole ? 1 : 0);
    // An allocator that cannot hold the program's live set refuses some size: from then on the
    // fill skips that size and larger ones (counted in fill_failed, not tried: a table of 2^48
    // objects would otherwise take forever to be refused one by one) and stops once even the
    // smallest size was refused. There are no frees during the fill, so a size refused once
    // would be refused again by any allocator whose room does not depend on the size class.
    std::uint64_t refused = UINT64_MAX;
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint32_t r = fill_(t.rng);
      const Row& row = rows_[r];
      void* p = row.request < refused ? a.allocate(row.request, default_alignment) : nullptr;
      if (p == nullptr) {
        ++t.fill_failed;
        refused = std::min<std::uint64_t>(refused, row.request);
        if (refused <= min_size_) {
          t.fill_failed += count - i - 1;
          return;
        }
        continue;
      }
      touch(p);
      schedule(t, p, r, t.now, t.now + lifetime(row, t.rng));
      ++t.live;
      ++t.fill_objects;
    }
  }

  Params params_;
  std::size_t per_round_;
  std::size_t epoch_rounds_ = 1;  // allocators without free: rounds between resets
  unsigned wheel_bits_;
  std::uint64_t wheel_size_;
  std::vector<Row> rows_;
  AliasTable births_;  // over rate
  AliasTable fill_;    // over mean_live
  ExponentialZiggurat exponential_;
  double total_live_ = 0;
  std::uint64_t min_size_ = UINT64_MAX;
};

}  // namespace alloclab::workloads
