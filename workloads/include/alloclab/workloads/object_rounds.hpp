// alloclab/workloads/object_rounds.hpp — rounds of small objects, allocated, touched, released.
//
// The shape `small` and `stress` share: each round a thread allocates `per_round` objects of
// sizes uniform in granule..granule*max_units (multiples of granule, aligned to it), writes
// each once, then releases the round (release_all: free each object, or an arena's periodic
// reset). What differs — sizes, round length, whether all threads must share one instance — is
// the Spec:
//   struct Spec {
//     static constexpr WorkloadInfo info;
//     static constexpr std::size_t granule, max_units, per_round, per_round_tiny;
//   };
// The timed loop is kept to what a program would do itself, so that it costs well under a
// pointer bump (the `null` reference measures it): the sizes come from a table drawn once per
// thread (each round reads it from a random start), the random number generator is not on the
// path; an arena's objects are not recorded, since its release never reads them. The loop of
// `null` loads the size, checks it, writes one byte, counts and branches: a small fraction of
// bump_limit's cost (both counted per operation in the README, Results).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/release.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

template <Allocator A, class Spec>
class ObjectRounds {
  static_assert(Spec::max_units <= 255, "sizes are stored in units of granule, one byte each");
  static constexpr bool keeps_objects = allocator_traits<A>::supports_free;

 public:
  static constexpr WorkloadInfo info = Spec::info;

  struct Thread {
    Rng rng;
    // per_round sizes in units of granule, uniform in 1..max_units, stored twice in a row: a
    // round starting at offset k reads entries k..k+per_round-1 without wrapping.
    std::vector<std::uint8_t> units;
    std::vector<Live> objects;  // one round's objects (allocators with free only)
  };

  ObjectRounds(const Params& params, int /*threads*/)
      : params_(params), per_round_(params.tiny ? Spec::per_round_tiny : Spec::per_round) {}

  Thread make_thread(int thread_index) const {
    Thread t{Rng(thread_seed(params_, thread_index)), {}, {}};
    t.units.resize(2 * per_round_);
    for (std::size_t i = 0; i < per_round_; ++i)
      t.units[i] = t.units[i + per_round_] = static_cast<std::uint8_t>(t.rng.between(1, Spec::max_units));
    if constexpr (keeps_objects) t.objects.resize(per_round_);
    return t;
  }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& sync, Probe& probe) {
    const std::uint8_t* units = t.units.data() + t.rng.between(0, per_round_ - 1);
    Live* objects = t.objects.data();
    const std::size_t n = per_round_;
    std::size_t done = 0;
    for (; done < n; ++done) {
      const std::size_t size = Spec::granule * units[done];
      void* p = probe(size, [&] { return a.allocate(size, Spec::granule); });
      if (p == nullptr) [[unlikely]] break;  // exhausted: release and go on
      touch(p);
      if constexpr (keeps_objects) objects[done] = {p, size};
    }
    release_all(a, std::span<const Live>(objects, keeps_objects ? done : 0), sync);
    return done;
  }

  // Everything goes, whatever the point in release_all's reset period (every thread calls
  // finish once, so the bulk release lines up). Objects with free went at their round's end.
  void finish(A& a, Thread& /*t*/, RoundSync& sync) { release_now(a, std::span<const Live>(), sync); }

 private:
  Params params_;
  std::size_t per_round_;
};

}  // namespace alloclab::workloads
