// alloclab/workloads/mixed.hpp — random allocate/free churn over a live set (two size laws).
//
// Origin: the steady-state "random malloc/free" micro-benchmarks (Wilson et al.'s survey of
//   dynamic storage allocation, 1995; mimalloc-bench's alloc-test): a program holding a live
//   set and replacing random members of it. The power-law variant follows the observation
//   that object sizes in real programs are heavy-tailed — most tiny, a few very large.
// Stresses: reuse of freed memory at steady state — free-list search, splitting and merging,
//   fragmentation — for allocators with individual free; for arenas, memory that cannot be
//   reused until the next epoch reset (their peak use shows the cost of having no free).
// Parameters: 1024 slots per thread (64 tiny); a round is 4096 slot visits (256 tiny).
//   free_ratio 0.5: an occupied slot is freed with that probability, else its object is
//   written (the program using it). `mixed`: sizes uniform in 16..512 B (multiples of 16).
//   `mixed_powerlaw`: sizes from a Pareto law (alpha 1.5) truncated to 16 B .. 64 KiB,
//   sampled by power-of-two bin with the law's exact bin probabilities and uniformly (16 B
//   steps) inside a bin: about 65 % of requests are 16 B, 1 in about 143 000 is 32-64 KiB,
//   the mean is about 44 B.
//   Alignment 16. Allocators without individual free get an epoch reset: every 8192 visits
//   (256 tiny) the whole live set is dropped and the arena reset (with every thread stopped
//   when the instance is shared); allocators with free keep churning, no epochs.
// Operation: one slot visit: an allocate() into an empty slot (and one write), a free of an
//   occupied one (for an arena: the slot is cleared, its deallocate() being a no-op), or one
//   write to the live object; the epoch resets are included. A failed allocate() is not
//   counted.
// Does not test: frees by another thread (see `larson`), contention on purpose (`stress`),
//   bulk release speed (`frame`, `ast_*`).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/release.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

enum class SizeDistribution { uniform, power_law };

// Knobs of the mixed workloads beyond Params. The registered workloads use the defaults:
// `mixed` is {0.5, uniform}, `mixed_powerlaw` is {0.5, power_law}.
struct MixedParams {
  double free_ratio = 0.5;
  SizeDistribution dist = SizeDistribution::uniform;
};

// Request sizes of the mixed workloads. Cheap enough for the timed loop: no libm call per
// sample (the power law's bin table is computed once, in the constructor).
class MixedSizes {
 public:
  static constexpr std::size_t uniform_max = 512;
  static constexpr std::size_t power_min = 16;
  static constexpr std::size_t power_max = 64 * 1024;
  static constexpr double alpha = 1.5;
  static constexpr int bins = 12;  // [16, 32), [32, 64), ..., [32 KiB, 64 KiB]

  explicit MixedSizes(SizeDistribution dist) : dist_(dist) {
    // Truncated Pareto: P(X < x) = (min^-a - x^-a) / (min^-a - max^-a); the thresholds are
    // that CDF at each bin's upper edge, scaled to 53-bit integers.
    const double lo = std::pow(static_cast<double>(power_min), -alpha);
    const double hi = std::pow(static_cast<double>(power_max), -alpha);
    for (int k = 0; k < bins - 1; ++k) {
      const double edge = static_cast<double>(power_min << (k + 1));
      const double cdf = (lo - std::pow(edge, -alpha)) / (lo - hi);
      cumulative_[static_cast<std::size_t>(k)] = static_cast<std::uint64_t>(cdf * 0x1.0p53);
    }
  }

  [[nodiscard]] std::size_t operator()(Rng& rng) const noexcept {
    if (dist_ == SizeDistribution::uniform) return 16 * rng.between(1, uniform_max / 16);
    const std::uint64_t r = rng.next() >> 11;  // uniform 53-bit
    std::size_t k = 0;
    while (k < bins - 1 && r >= cumulative_[k]) ++k;  // ~1.5 steps on average
    const std::size_t first = power_min << k;
    const std::size_t last = k == bins - 1 ? power_max : 2 * first - 16;
    return 16 * rng.between(first / 16, last / 16);
  }

  [[nodiscard]] SizeDistribution distribution() const noexcept { return dist_; }

 private:
  SizeDistribution dist_;
  std::array<std::uint64_t, bins - 1> cumulative_{};
};

// The implementation shared by `mixed` and `mixed_powerlaw`; each names itself (info).
template <Allocator A>
class BasicMixed {
 public:
  struct Thread {
    explicit Thread(std::uint64_t seed, std::size_t slot_count) : rng(seed), slots(slot_count, Live{nullptr, 0}) {}
    Rng rng;
    std::vector<Live> slots;      // nullptr: empty
    std::size_t since_epoch = 0;  // visits since the last epoch reset (arenas only)
  };

  BasicMixed(const Params& params, int /*threads*/, const MixedParams& mixed)
      : params_(params),
        free_ratio_(mixed.free_ratio),
        sizes_(mixed.dist),
        slots_(params.tiny ? 64 : 1024),
        per_round_(params.tiny ? 256 : 4096),
        epoch_(params.tiny ? 256 : 8192) {}

  Thread make_thread(int thread_index) const { return Thread(thread_seed(params_, thread_index), slots_); }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& sync, Probe& probe) {
    // The generator and the epoch count live in registers for the round: kept in Thread, each
    // write of an object (which may alias them, being a char store) would force a reload.
    Rng rng = t.rng;
    std::size_t since_epoch = t.since_epoch;
    Live* const slots = t.slots.data();
    std::size_t done = 0;
    // Every thread makes exactly per_round_ visits, whatever its draws and failures, so the
    // epoch resets (barriers on a shared instance) line up across threads.
    for (std::size_t i = 0; i < per_round_; ++i) {
      Live& slot = slots[rng.between(0, slots_ - 1)];
      if (slot.p != nullptr) {
        if (rng.unit() < free_ratio_) {
          if constexpr (allocator_traits<A>::supports_free) a.deallocate(slot.p, slot.size);
          slot.p = nullptr;
        } else {
          touch(slot.p);
        }
        ++done;
      } else {
        const std::size_t size = sizes_(rng);
        void* p = probe(size, [&] { return a.allocate(size, 16); });
        if (p != nullptr) [[likely]] {
          touch(p);
          slot = {p, size};
          ++done;
        }  // exhausted: leave the slot empty; the next epoch reset (or frees) makes room
      }
      if constexpr (!allocator_traits<A>::supports_free) {
        if (++since_epoch == epoch_) {
          drop_all(a, t, sync);
          since_epoch = 0;
        }
      }
    }
    t.rng = rng;
    t.since_epoch = since_epoch;
    return done;
  }

  void finish(A& a, Thread& t, RoundSync& sync) { drop_all(a, t, sync); }

 private:
  // Frees every live object (allocators with free) or resets the instance (arenas: every
  // thread must call this at the same point, which the epoch counter guarantees).
  void drop_all(A& a, Thread& t, RoundSync& sync) {
    if constexpr (allocator_traits<A>::supports_free) {
      for (Live& slot : t.slots) {
        if (slot.p != nullptr) a.deallocate(slot.p, slot.size);
        slot.p = nullptr;
      }
    } else {
      for (Live& slot : t.slots) slot.p = nullptr;
      bulk_reset(a, sync);
    }
    t.since_epoch = 0;
  }

  Params params_;
  double free_ratio_;
  MixedSizes sizes_;
  std::size_t slots_;
  std::size_t per_round_;
  std::size_t epoch_;
};

template <Allocator A>
class Mixed : public BasicMixed<A> {
 public:
  static constexpr WorkloadInfo info{
      "mixed", "random allocate/free churn over a live set, 16-512 B uniform",
      "one slot visit: allocate into an empty slot, free an occupied one (p=0.5) or write it"};

  // `mixed` registered is the default MixedParams; other values are for exploration.
  Mixed(const Params& params, int threads, const MixedParams& mixed = {})
      : BasicMixed<A>(params, threads, mixed) {}
};

template <Allocator A>
class MixedPowerLaw : public BasicMixed<A> {
 public:
  static constexpr WorkloadInfo info{
      "mixed_powerlaw", "random allocate/free churn over a live set, 16 B-64 KiB power-law sizes",
      "one slot visit: allocate into an empty slot, free an occupied one (p=0.5) or write it"};

  MixedPowerLaw(const Params& params, int threads, double free_ratio = 0.5)
      : BasicMixed<A>(params, threads, MixedParams{free_ratio, SizeDistribution::power_law}) {}
};

}  // namespace alloclab::workloads
