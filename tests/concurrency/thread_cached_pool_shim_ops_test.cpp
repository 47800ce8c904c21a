// ThreadCachedPool as the malloc shim drives it, across threads: over a lazily committed
// region, usable_size() and resize_in_place() racing with allocation, cross-thread frees and
// neighbours' merges (TSan-clean, contents never damaged, everything back and merged at the
// end), and the fork hooks: a child forked while other threads use the pool allocates and
// frees from it, and its new threads adopt the caches of threads that do not exist there.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "alloclab/alloclab.hpp"
#include "test_support.hpp"

namespace alloclab {
namespace {

using Pool = ThreadCachedPool;

struct Region {
  MmapBlockSource source{/*lazy=*/true};
  MemoryBlock block;
  explicit Region(std::size_t size) : block(source.allocate_block(size)) {}
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region() { source.deallocate_block(block); }
};

// Every thread allocates (cacheable and larger sizes), resizes in place up and down, checks
// usable_size, frees its own blocks and hands some to the other threads to free. A block's
// bytes are stamped with its owner and id, so two threads given the same memory, or a resize
// that moved a neighbour's bytes, fail the check.
TEST(ThreadCachedPoolShimOps, AllocateFreeResizeAcrossThreads) {
  Region region(std::size_t{256} << 20);
  ASSERT_TRUE(region.block);
  Pool pool(region.block);
  const std::size_t threads = test::oversubscribed_threads();
  struct Block {
    char* p;
    std::size_t size;
    std::uint64_t owner, id;
  };
  std::mutex handoff_mutex;
  std::vector<Block> handoff;  // blocks any thread may free
  std::atomic<std::size_t> corrupted{0}, too_small{0}, failed{0}, resized{0};
  test::race(threads, [&](std::size_t t) {
    std::mt19937_64 rng(t + 1);
    std::vector<Block> mine;
    std::uint64_t next_id = 0;
    auto verify_and_free = [&](const Block& b) {
      if (!test::check_pattern(b.p, b.size, b.owner, b.id)) corrupted.fetch_add(1);
      pool.deallocate(b.p, b.size);
    };
    for (int step = 0; step < 1500; ++step) {
      const unsigned op = static_cast<unsigned>(rng() % 10);
      if (mine.size() < 8 || op < 4) {
        const std::size_t size = 1 + rng() % (rng() % 8 == 0 ? 4000 : 600);
        auto* p = static_cast<char*>(pool.allocate(size));
        if (p == nullptr) {
          failed.fetch_add(1);
          continue;
        }
        if (pool.usable_size(p) < size) too_small.fetch_add(1);
        Block b{p, size, t, next_id++};
        test::fill_pattern(p, size, b.owner, b.id);
        mine.push_back(b);
      } else if (op < 7) {
        Block& b = mine[rng() % mine.size()];
        const std::size_t n = 1 + rng() % 3000;
        if (!test::check_pattern(b.p, b.size, b.owner, b.id)) corrupted.fetch_add(1);
        if (pool.resize_in_place(b.p, b.size, n)) {
          resized.fetch_add(1);
          if (!test::check_pattern(b.p, std::min(b.size, n), b.owner, b.id)) corrupted.fetch_add(1);
          if (pool.usable_size(b.p) < n) too_small.fetch_add(1);
          b.size = n;
          b.id = next_id++;
          test::fill_pattern(b.p, b.size, b.owner, b.id);
        }
      } else if (op < 9) {
        const std::size_t i = rng() % mine.size();
        verify_and_free(mine[i]);
        mine[i] = mine.back();
        mine.pop_back();
      } else {
        const std::size_t i = rng() % mine.size();
        Block give = mine[i];
        mine[i] = mine.back();
        mine.pop_back();
        Block take{};
        {
          std::lock_guard lock(handoff_mutex);
          handoff.push_back(give);
          if (handoff.size() > 4) {
            take = handoff.front();
            handoff.erase(handoff.begin());
          }
        }
        if (take.p != nullptr) verify_and_free(take);  // most often another thread's block
      }
    }
    for (const Block& b : mine) verify_and_free(b);
    pool.trim();  // this thread's cache back to the pool
  });
  for (const Block& b : handoff) {
    EXPECT_TRUE(test::check_pattern(b.p, b.size, b.owner, b.id));
    pool.deallocate(b.p, b.size);
  }
  pool.trim();
  EXPECT_EQ(corrupted.load(), 0u);
  EXPECT_EQ(too_small.load(), 0u);
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_GT(resized.load(), 0u);
  EXPECT_EQ(pool.stats().bytes_requested, 0u);
  EXPECT_EQ(pool.used(), 0u);  // every block back, every cache trimmed...
  EXPECT_EQ(pool.pool().free_blocks(), 1u);  // ...and merged into one
  EXPECT_EQ(pool.pool().largest_free_block(), pool.capacity());
}

// A live block's usable size is read without the lock while other threads free and reuse its
// neighbours (which flip a flag in its header): the value never changes, and TSan sees no race.
TEST(ThreadCachedPoolShimOps, UsableSizeIsStableWhileNeighboursChange) {
  Pool pool(std::size_t{4} << 20);
  // Blocks above the cached sizes go to the pool directly, so neighbours really merge.
  constexpr std::size_t kSize = Pool::max_cached + 200;
  std::vector<char*> row;
  for (int i = 0; i < 64; ++i) row.push_back(static_cast<char*>(pool.allocate(kSize)));
  std::vector<std::size_t> usable;
  for (char* p : row) usable.push_back(pool.usable_size(p));
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> changed{0};
  std::vector<std::thread> readers;
  for (std::size_t r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      while (!stop.load(std::memory_order_relaxed))
        for (std::size_t i = 1 + 2 * r; i < row.size(); i += 4)  // odd blocks: never freed
          if (pool.usable_size(row[i]) != usable[i]) changed.fetch_add(1);
    });
  }
  test::race(4, [&](std::size_t t) {
    for (int round = 0; round < 200; ++round) {
      for (std::size_t i = 2 * t; i < row.size(); i += 8) {  // even blocks: freed and reused
        pool.deallocate(row[i], kSize);
        row[i] = static_cast<char*>(pool.allocate(kSize));
      }
    }
  });
  stop.store(true);
  for (auto& r : readers) r.join();
  EXPECT_EQ(changed.load(), 0u);
  for (char* p : row) pool.deallocate(p, kSize);
  pool.trim();
  EXPECT_EQ(pool.used(), 0u);
}

// fork() while other threads allocate: prepare_fork() holds the locks across the fork, so the
// child never inherits one taken by a thread that does not exist there. The child allocates
// and frees (a lock left taken would hang it: an alarm turns that into a failure), and a
// thread it starts adopts a cache the fork orphaned instead of creating one.
//
// The workers make no call to malloc of their own once they run (their list is reserved
// first, and the forks wait until every worker is in its loop), and the child's list is
// reserved in the parent: the sanitizer runtimes of Debian 12's GCC do not hold their own
// allocator's locks across fork(), so a worker inside the runtime's malloc at the fork would
// leave the child hanging on a lock that is not the pool's, and the test would blame the pool.
TEST(ThreadCachedPoolShimOps, ForkHooksLeaveAUsablePoolInTheChild) {
  Region region(std::size_t{64} << 20);
  Pool pool(region.block);
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> ops{0};
  std::atomic<std::size_t> running{0};
  std::vector<std::thread> workers;
  // Stops and joins the workers however the test ends (a failed ASSERT returns early).
  struct Joiner {
    std::atomic<bool>& stop;
    std::vector<std::thread>& workers;
    ~Joiner() {
      stop.store(true);
      for (auto& w : workers) w.join();
    }
  } joiner{stop, workers};
  for (std::size_t t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      std::vector<std::pair<void*, std::size_t>> held;
      held.reserve(64);  // never grows in the loop: see above
      running.fetch_add(1);
      for (std::size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const std::size_t size = 16 + (i * 37 + t * 101) % 3000;
        if (void* p = pool.allocate(size)) held.emplace_back(p, size);
        if (held.size() > 40) {
          for (auto [p, s] : held) pool.deallocate(p, s);
          held.clear();
        }
        ops.fetch_add(1, std::memory_order_relaxed);
      }
      for (auto [p, s] : held) pool.deallocate(p, s);
    });
  }
  // The main thread has a cache of its own in the child too.
  void* mine = pool.allocate(48);
  pool.deallocate(mine, 48);
  while (running.load() < workers.size() || ops.load() < 1000) std::this_thread::yield();
  std::vector<std::pair<char*, std::size_t>> blocks;  // the child's, reserved here: see above
  blocks.reserve(2000);

  for (int round = 0; round < 5; ++round) {
    pool.prepare_fork();
    const pid_t pid = ::fork();
    if (pid == 0) {
      pool.after_fork_in_child();
      ::alarm(20);  // a lock inherited taken would hang here
      int status = 0;
      blocks.clear();
      for (std::size_t i = 0; i < 2000; ++i) {
        const std::size_t size = 1 + (i * 53) % 2500;
        auto* p = static_cast<char*>(pool.allocate(size));
        if (p == nullptr) status |= 1;
        if (p == nullptr) continue;
        test::fill_pattern(p, size, 9, i);
        blocks.emplace_back(p, size);
      }
      for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (!test::check_pattern(blocks[i].first, blocks[i].second, 9, i)) status |= 2;
        pool.deallocate(blocks[i].first, blocks[i].second);
      }
#if !ALLOCLAB_HAS_TSAN  // TSan ends a child of a threaded process that starts threads (die_after_fork)
      const std::size_t caches = pool.thread_caches();
      std::thread adopter([&] {
        for (int i = 0; i < 100; ++i) pool.deallocate(pool.allocate(32), 32);
      });
      adopter.join();
      // Checked builds bypass the caches: no thread has one, none is created.
      if (pool.thread_caches() != caches) status |= 4;
#endif
      ::_exit(status);
    }
    pool.after_fork_in_parent();
    ASSERT_GT(pid, 0) << "fork failed";
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0)
                                   << " (SIGALRM: a lock inherited taken)";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: an allocation failed, 2: a block was damaged, "
                                         "4: the child's thread created a cache instead of adopting one";
  }
  // The parent's pool kept working across the forks.
  void* p = pool.allocate(5000);
  EXPECT_NE(p, nullptr);
  pool.deallocate(p, 5000);
}

}  // namespace
}  // namespace alloclab
