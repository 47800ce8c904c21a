// Exact fits in the growable arenas (chained_arena, thread_local_arena; both counting
// variants): every size from block_size - 64 to block_size + 64 at every alignment 1..64.
// Whether a request fits a standard block is decided by the padding it really needs where a
// block's data starts (chain_header_size bytes into a block aligned to block_alignment), so
//   - it fits:   a one-block budget serves it from a standard block (not a dedicated one), and
//                a frame arena holding such requests stops taking upstream blocks after the
//                first frame (chained_arena.hpp's promise);
//   - it does not: a one-block budget refuses it cleanly, and over the heap it gets a block
//                of its own of exactly the bytes it needs, given back at reset().
// The expected padding is computed here from the layout, not with the library's helper.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "alloclab/alloclab.hpp"
#include "edge_support.hpp"

namespace alloclab {
namespace {

using edge::address;
using edge::CountingSource;
using edge::rebind_t;

template <class A>
class ExactFit : public ::testing::Test {};
using GrowableArenas =
    ::testing::Types<BasicChainedArena<HeapBlockSource, Counting::on>, BasicChainedArena<HeapBlockSource, Counting::off>,
                     BasicThreadLocalArena<HeapBlockSource, Counting::on>,
                     BasicThreadLocalArena<HeapBlockSource, Counting::off>>;
TYPED_TEST_SUITE(ExactFit, GrowableArenas, edge::AllocatorName);

// Padding a request aligned to `alignment` (at most block_alignment) needs at the start of a
// fresh block's data: the data starts chain_header_size bytes past a block_alignment boundary.
std::size_t padding_at_data_start(std::size_t alignment) {
  return (alignment - chain_header_size % alignment) % alignment;
}

constexpr std::size_t kBlockSizes[] = {4096, 1000, 64};

// One request on a fresh arena whose source admits exactly one standard block.
TYPED_TEST(ExactFit, OneBlockBudgetServesEveryRequestThatFitsABlock) {
  using A = rebind_t<TypeParam, CountingSource>;
  for (const std::size_t block : kBlockSizes) {
    for (std::size_t alignment = 1; alignment <= block_alignment; alignment *= 2) {
      const std::size_t padding = padding_at_data_start(alignment);
      for (std::size_t size = block > 64 ? block - 64 : 1; size <= block + 64; ++size) {
        SCOPED_TRACE("block " + std::to_string(block) + ", size " + std::to_string(size) + ", alignment " +
                     std::to_string(alignment));
        CountingSource::Shared shared;
        shared.budget = chain_header_size + block;
        A arena(block, CountingSource{&shared});
        const bool fits = size + debug::guard_bytes + padding <= block;
        void* p = arena.allocate(size, alignment);
        if (fits) {
          ASSERT_NE(p, nullptr) << "a request that fits a standard block was refused on a one-block budget";
          EXPECT_EQ(address(p) % alignment, 0u);
          EXPECT_EQ(arena.capacity(), block) << "not served from a standard block";
          EXPECT_EQ(arena.stats().blocks, 1u);
          EXPECT_EQ(arena.used() + arena.remaining(), arena.capacity());
          EXPECT_EQ(arena.remaining(), block - size - debug::guard_bytes - padding);
          test::fill_pattern(p, size, size, alignment);
          EXPECT_TRUE(test::check_pattern(p, size, size, alignment));
        } else {
          EXPECT_EQ(p, nullptr) << "a request larger than a block fit a one-block budget";
          EXPECT_EQ(arena.capacity(), 0u);
          EXPECT_EQ(arena.stats().failed_allocations, 1u);
          EXPECT_EQ(shared.held.load(), 0u);
        }
      }
    }
  }
}

// Over an unbudgeted source: requests that fit go to standard blocks, which a reset keeps, so
// later frames take nothing upstream; those that do not get a dedicated block of exactly
// size + padding data bytes, returned at each reset.
TYPED_TEST(ExactFit, FramesOfBlockSizedRequestsStopTakingBlocksAfterTheFirst) {
  using A = rebind_t<TypeParam, CountingSource>;
  constexpr std::size_t block = 4096;
  constexpr int frames = 4;
  constexpr int per_frame = 3;
  for (std::size_t alignment = 1; alignment <= block_alignment; alignment *= 2) {
    const std::size_t padding = padding_at_data_start(alignment);
    for (std::size_t size = block - 64; size <= block + 64; ++size) {
      SCOPED_TRACE("size " + std::to_string(size) + ", alignment " + std::to_string(alignment));
      CountingSource::Shared shared;
      A arena(block, CountingSource{&shared});
      const bool fits = size + debug::guard_bytes + padding <= block;
      std::size_t asked_after_first_frame = 0;
      for (int frame = 0; frame < frames; ++frame) {
        for (int i = 0; i < per_frame; ++i) {
          void* p = arena.allocate(size, alignment);
          ASSERT_NE(p, nullptr);
          ASSERT_EQ(address(p) % alignment, 0u);
          test::fill_pattern(p, size, frame, i);
        }
        if (fits) {
          EXPECT_EQ(arena.capacity(), per_frame * block) << "frame " << frame;
        } else {
          // per_frame dedicated blocks, each exactly the bytes its request needs.
          EXPECT_EQ(arena.capacity(), per_frame * (size + debug::guard_bytes + padding)) << "frame " << frame;
        }
        EXPECT_EQ(arena.stats().blocks, static_cast<std::size_t>(per_frame));
        // The current block's tail (abandoned tails are used); a dedicated block has none.
        EXPECT_EQ(arena.remaining(), fits ? block - size - debug::guard_bytes - padding : 0u);
        if (frame == 0) asked_after_first_frame = shared.asked.load();
        arena.reset();
        if (!fits) {
          EXPECT_EQ(shared.held.load(), 0u) << "dedicated blocks go back at reset";
        }
      }
      if (fits) {
        EXPECT_EQ(shared.asked.load(), asked_after_first_frame) << "a frame after the first took an upstream block";
        EXPECT_EQ(asked_after_first_frame, static_cast<std::size_t>(per_frame));
      }
    }
  }
}

// With a partly used current block, a block-sized request moves to the next standard block
// (a two-block budget suffices), not to a dedicated one.
TYPED_TEST(ExactFit, BlockSizedRequestAfterASmallOneTakesTheNextStandardBlock) {
  using A = rebind_t<TypeParam, CountingSource>;
  constexpr std::size_t block = 4096;
  for (std::size_t alignment = 1; alignment <= 32; alignment *= 2) {
    SCOPED_TRACE("alignment " + std::to_string(alignment));
    CountingSource::Shared shared;
    shared.budget = 2 * (chain_header_size + block);
    A arena(block, CountingSource{&shared});
    ASSERT_NE(arena.allocate(1, 1), nullptr);
    void* p = arena.allocate(block - debug::guard_bytes, alignment);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(arena.capacity(), 2 * block);
    EXPECT_EQ(arena.remaining(), 0u);
    EXPECT_EQ(arena.used(), 2 * block);  // the first block's tail is abandoned
    // No room left anywhere, and no budget: refused cleanly.
    EXPECT_EQ(arena.allocate(1, 1), nullptr);
    arena.reset();
    // Both blocks are reused: the same two requests take nothing more upstream.
    const std::size_t asked = shared.asked.load();
    ASSERT_NE(arena.allocate(1, 1), nullptr);
    ASSERT_NE(arena.allocate(block - debug::guard_bytes, alignment), nullptr);
    EXPECT_EQ(shared.asked.load(), asked);
  }
}

}  // namespace
}  // namespace alloclab
