// thread_seed (workloads/workload.hpp): the threads of a case draw independent streams. Seeds one
// Rng increment apart would make thread i+1's stream thread i's shifted by one draw; this test
// looks for any thread's stream inside another's first draws, at every small lag.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

#include "alloclab/workloads/workload.hpp"

namespace {

using alloclab::workloads::Params;
using alloclab::workloads::Rng;
using alloclab::workloads::thread_seed;

std::vector<std::uint64_t> draws(std::uint64_t seed, int n) {
  Rng rng(seed);
  std::vector<std::uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(rng.next());
  return out;
}

TEST(ThreadSeed, ThreadsDoNotShareAStreamAtAnyLag) {
  for (std::uint64_t seed : {0ULL, 1ULL, 42ULL, 0xFFFFFFFFFFFFFFFFULL}) {
    Params p;
    p.seed = seed;
    std::set<std::uint64_t> seen;
    constexpr int threads = 64, per_thread = 256;
    for (int t = 0; t < threads; ++t) {
      for (std::uint64_t v : draws(thread_seed(p, t), per_thread)) {
        EXPECT_TRUE(seen.insert(v).second) << "seed " << seed << ": thread " << t << " repeats a draw of another thread";
      }
    }
  }
}

TEST(ThreadSeed, DependsOnTheSeed) {
  Params a, b;
  a.seed = 1;
  b.seed = 2;
  EXPECT_NE(thread_seed(a, 0), thread_seed(b, 0));
  EXPECT_EQ(thread_seed(a, 3), thread_seed(a, 3));
}

}  // namespace
