// thread_cached_pool's ASan poisoning of the blocks parked in a thread's cache. Checked builds
// (the asan preset among them) bypass the caches, so this file is built unchecked on its own
// (ALLOCLAB_CHECKED=0 for this executable only): under ASan a block parked in a cache is
// poisoned whole, a block taken from the cache is addressable up to the request, and touching
// a parked block is reported. Without ASan the poisoning is compiled out and these tests skip.
#include <gtest/gtest.h>

#include <cstring>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

static_assert(!alloclab::debug::checked, "built unchecked: the thread caches must be in use");

namespace alloclab {
namespace {

TEST(ThreadCachedPoolPoisoning, ParkedBlockIsPoisonedAndReusedBlockIsNot) {
  SKIP_WITHOUT_ASAN();
  ThreadCachedPool pool(64 * 1024);
  auto* a = static_cast<char*>(pool.allocate(100));  // class of 112-byte blocks
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(test::none_poisoned(a, 100));
  EXPECT_TRUE(test::all_poisoned(a + 100, 12));  // the block's slack after the request
  std::memset(a, 0x5A, 100);
  pool.deallocate(a, 100);  // parked in this thread's cache, not given back to the pool
  EXPECT_TRUE(test::all_poisoned(a, 112));
  auto* b = static_cast<char*>(pool.allocate(97));  // same class: the parked block again
  ASSERT_EQ(b, a);
  EXPECT_TRUE(test::none_poisoned(b, 97));
  EXPECT_TRUE(test::all_poisoned(b + 97, 15));
  pool.deallocate(b, 97);
}

TEST(ThreadCachedPoolPoisoning, TouchingAParkedBlockIsReported) {
  SKIP_WITHOUT_ASAN();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ThreadCachedPool pool(64 * 1024);
  auto* a = static_cast<char*>(pool.allocate(100));
  ASSERT_NE(a, nullptr);
  pool.deallocate(a, 100);
  EXPECT_DEATH(
      {
        volatile char* q = a + 40;
        *q = 1;
      },
      "use-after-poison");
}

}  // namespace
}  // namespace alloclab
