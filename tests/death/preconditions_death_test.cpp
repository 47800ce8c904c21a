// Checked-build preconditions outside the pool's pointer checks: each violation aborts with one
// line naming it ("alloclab: <where>: <fault>"), and a correct use never trips a check.
#include <gtest/gtest.h>

#include <cstddef>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

static_assert(debug::checked, "the death tests are built with ALLOCLAB_CHECKED=1");

class PreconditionsDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(PreconditionsDeathTest, FitInRequiresAValidRequest) {
  alignas(64) char buffer[64];
  EXPECT_NE(fit_in(buffer, buffer + 64, 8, 8), nullptr);
  EXPECT_DEATH((void)fit_in(buffer, buffer + 64, 0, 8), "alloclab: fit_in: .*is_valid_request");
  EXPECT_DEATH((void)fit_in(buffer, buffer + 64, 8, 3), "alloclab: fit_in: .*is_valid_request");
  EXPECT_DEATH((void)fit_in(buffer + 64, buffer, 8, 8), "alloclab: fit_in: .*cursor <= end");
}

TEST_F(PreconditionsDeathTest, CacheBinPopRequiresABlock) {
  detail::ThreadCachedPoolCache::Bin bin;
  EXPECT_DEATH((void)bin.pop(), "alloclab: thread_cached_pool: pop\\(\\) from an empty cache bin");
}

TEST_F(PreconditionsDeathTest, PoolBatchesRequireAnArray) {
  CoalescingPool pool(64 * 1024);
  void* out[2] = {};
  EXPECT_EQ(pool.allocate_batch(64, out, 2), 2u);
  pool.deallocate_batch(out, 2, 64);
  EXPECT_DEATH((void)pool.allocate_batch(64, nullptr, 1), "alloclab: coalescing_pool: allocate_batch");
  EXPECT_DEATH(pool.deallocate_batch(nullptr, 1, 64), "alloclab: coalescing_pool: deallocate_batch");
}

// reset() and release() of the lock-free arenas require quiescence; checked builds count the
// threads inside allocate(). A scope of the counter stands in for a thread caught inside.
TEST_F(PreconditionsDeathTest, ResetWhileAThreadAllocatesAborts) {
  debug::InFlight in_flight;
  in_flight.expect_quiescent("test_arena", "reset()");  // nobody inside: fine
  EXPECT_DEATH(
      {
        const auto inside = in_flight.enter();
        in_flight.expect_quiescent("test_arena", "reset()");
      },
      "alloclab: test_arena: reset\\(\\) while a thread is inside allocate\\(\\)");
  AtomicBumpArena atomic(4096);
  ASSERT_NE(atomic.allocate(64), nullptr);
  atomic.reset();  // quiescent: no abort
  ThreadLocalArena local;
  ASSERT_NE(local.allocate(64), nullptr);
  local.reset();
  local.release();
}

}  // namespace
}  // namespace alloclab
