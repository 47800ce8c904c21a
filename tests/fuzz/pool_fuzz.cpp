// tests/fuzz/pool_fuzz.cpp — libFuzzer target: CoalescingPool against a reference model.
//
// Input: two bytes choose the capacity (4 KiB .. 256 KiB, not always a multiple of 16), then a
// stream of operations, each an opcode byte and its operands (reads past the end yield 0):
//   allocate     size (1 .. a little over the capacity) and alignment (1 .. 4096, powers of two)
//   free         live block i (exact size, as the contract requires)
//   fill         live block i gets a new pattern
//   check        live block i: pattern, fully addressable, its slack still a red zone (ASan)
//   reset        everything freed at once
//   free all     every live block, in one of five orders (insertion, reverse, address up/down,
//                even slots then odd)
//   bad request  size 0, alignment 0 or not a power of two, sizes that overflow: must fail
//   release      the region goes back to the heap; every later request must fail
//
// The model keeps every live block: payload pointer, size, alignment, pattern seed. After EVERY
// operation it checks:
//   * bounds: each block's extent [p - header_size, p - header_size + total) lies inside
//     [base, base + capacity), where total = max(min_block, round_up(header + size + guard)) is
//     the least block the pool can have carved for the request; p is aligned as asked and on
//     the pool's 16-byte granule;
//   * disjointness: those extents (headers included) do not overlap;
//   * contents: every live block still holds its pattern (memcmp against the tape);
//   * accounting: used() + remaining() == capacity() == the capacity asked for, rounded down to
//     16; stats() agrees (used, reserved == used, requested == sum of live sizes, allocation,
//     deallocation and failure counts, peak == the largest used() observed, one block);
//   * the free list, as far as the public API shows it (see below): free_blocks() exactly,
//     used() and largest_free_block() within tight bounds; with no live block: used() == 0,
//     free_blocks() == 1 and largest_free_block() == capacity(); free_blocks() <= live + 1;
//   * requests, both ways: an allocation of alignment <= 16 succeeds if and only if
//     total <= largest_free_block() before it, a larger alignment if and only if
//     total + alignment + min_block <= largest_free_block() (the pool's documented search: any
//     free block that large is found); a failed request changes nothing but the failure count.
//
// What the public API shows of the free list. The pool does not expose its blocks, so the exact
// free intervals ("the free blocks are exactly the maximal gaps between live blocks") cannot be
// compared directly: a live block's extent is public only at its start (p - header_size, the
// header sits right before the payload) — its end is not, because a block whose split would
// leave a tail smaller than min_block keeps that tail (0, 16 or 32 bytes of slack). From the
// pool's documented layout (header_size, granule, min_block are public constants) the model still
// derives, for each gap g between one block's least end and the next block's start (and the
// region's ends):
//   g == 0, 16 or 32 -> no free block there (a free block is >= min_block = 48); the preceding
//                       block holds exactly g bytes of slack;
//   g >= 48          -> exactly ONE free block there (no two free blocks are ever adjacent), of
//                       f bytes with max(48, g - 32) <= f <= g (the preceding block may hold up to
//                       min(32, g - 48) bytes of slack);
//   the gap before the first block has no slack to absorb it: 0, or one free block of >= 48.
// So free_blocks() must equal the number of gaps >= 48 (exactly), used() must lie in
// [sum(total) + slack known, + slack possible], and largest_free_block() between the largest
// least and the largest greatest free block. A lost merge (two adjacent free blocks), a leaked
// tail, a free block the model cannot account for, or a request refused while a block that fits
// is free all break one of these.
//
// The region's base is not public either: the constructor probes it with one 1-byte request
// (a fresh pool is one free block at base, and a request takes the front of it), frees it and
// checks the pool is whole again.
//
// Built with ALLOCLAB_CHECKED=1 (deallocate() validates every pointer: a model/pool mismatch the
// pool notices first aborts there) and ASan + UBSan.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "alloclab/coalescing_pool.hpp"
#include "fuzz_common.hpp"

namespace {

using alloclab::CoalescingPool;
using namespace alloclab_fuzz;

constexpr std::size_t kHeader = CoalescingPool::header_size;
constexpr std::size_t kGranule = CoalescingPool::granule;
constexpr std::size_t kMinBlock = CoalescingPool::min_block;
constexpr std::size_t kGuard = alloclab::debug::guard_bytes;
// Most slack a live block can hold: a tail too small to split off (min_block - granule).
constexpr std::size_t kMaxSlack = kMinBlock - kGranule;

constexpr std::size_t kMinCapacity = 4 * 1024;
constexpr std::size_t kMaxCapacity = 256 * 1024;

constexpr std::size_t round_up(std::size_t n) { return (n + kGranule - 1) & ~(kGranule - 1); }
// The least block the pool carves for a request (requires size <= capacity).
constexpr std::size_t least_block(std::size_t size) {
  return std::max(kMinBlock, round_up(kHeader + size + kGuard));
}

struct Live {
  char* p;
  std::size_t size;
  std::size_t alignment;
  std::size_t total;  // least_block(size)
  std::uint32_t seed;
};

class PoolHarness {
 public:
  explicit PoolHarness(std::size_t capacity) : pool_(capacity), capacity_(capacity & ~(kGranule - 1)) {
    context().op = "construct";
    ALLOCLAB_FUZZ_CHECK(pool_.capacity() == capacity_, "capacity() %zu, expected %zu", pool_.capacity(),
                        capacity_);
    // The probe: the first request of a fresh pool starts right after the region's first header.
    auto* p = static_cast<char*>(pool_.allocate(1, 1));
    ALLOCLAB_FUZZ_CHECK(p != nullptr, "a fresh pool of %zu bytes refused 1 byte", capacity_);
    base_ = p - kHeader;
    ALLOCLAB_FUZZ_CHECK(addr(base_) % alloclab::block_alignment == 0, "region base %p is not %zu-aligned",
                        static_cast<void*>(base_), alloclab::block_alignment);
    ++allocations_;
    peak_ = pool_.used();
    ALLOCLAB_FUZZ_CHECK(peak_ == least_block(1), "probe block uses %zu bytes, expected %zu", peak_,
                        least_block(1));
    pool_.deallocate(p, 1);
    ++deallocations_;
    check_all();
  }

  void run(ByteReader& in) {
    for (std::size_t n = 0; n < kMaxOps && !in.done(); ++n) {
      context().op_index = n;
      const std::uint8_t op = in.u8();
      switch (op % 16) {
        case 0: case 1: case 2: case 3: case 4:
          context().op = "allocate";
          allocate(size_from(in), alignment_from(in.u8()), in.u8());
          break;
        case 5:
          context().op = "allocate (large alignment)";
          allocate(size_from(in), std::size_t{16} << (in.u8() % 9), in.u8());
          break;
        case 6: case 7: case 8:
          context().op = "free";
          free_slot(in.u8());
          break;
        case 9:
          context().op = "fill";
          fill_slot(in.u8(), in.u8());
          break;
        case 10:
          context().op = "check";
          check_slot(in.u8());
          break;
        case 11:
          context().op = "reset";
          reset();
          break;
        case 12:
          context().op = "free all";
          free_all(in.u8());
          break;
        case 13:
          context().op = "bad request";
          bad_request(in.u8());
          break;
        case 14:
          // Rare on purpose: a released pool refuses everything afterwards.
          if (in.u8() == 0xA5) {
            context().op = "release";
            release();
          } else {
            context().op = "free (via 14)";
            free_slot(in.u8());
          }
          break;
        default:
          context().op = "allocate + free";
          allocate(size_from(in), alignment_from(in.u8()), in.u8());
          free_slot(in.u8());
          break;
      }
      check_all();
      trace("live %zu, used %zu, free blocks %zu, largest %zu", live_.size(), pool_.used(), pool_.free_blocks(),
            pool_.largest_free_block());
    }
    context().op = "final free all";
    free_all(0);
    check_all();
  }

 private:
  // Sizes: mostly small, sometimes medium, sometimes anything up to a little over the capacity.
  std::size_t size_from(ByteReader& in) const {
    const std::uint8_t s = in.u8();
    if (s < 0x80) return std::size_t{s} + 1;
    if (s < 0xC0) return 129 + in.u16() % 2048;
    const std::size_t cap = std::max<std::size_t>(capacity_, 1);
    if (s < 0xF0) return 1 + in.u24() % cap;
    // Near the capacity, on both sides of it.
    return std::min(kMaxRequest, std::max<std::size_t>(cap, 256) - 128 + in.u8());
  }

  void allocate(std::size_t size, std::size_t alignment, std::uint8_t seed_byte) {
    const std::size_t largest = pool_.largest_free_block();
    const Snapshot before = snapshot();
    void* const vp = pool_.allocate(size, alignment);
    auto* const p = static_cast<char*>(vp);

    // Exact success condition (the pool's search finds any free block that is large enough).
    bool should = !released_ && size <= capacity_ && alignment <= capacity_;
    if (should) {
      const std::size_t total = least_block(size);
      should = alignment <= kGranule ? total <= largest : total + alignment + kMinBlock <= largest;
    }
    if (p == nullptr) {
      ALLOCLAB_FUZZ_CHECK(!should,
                          "allocate(%zu, %zu) failed, but the largest free block (%zu bytes) fits it",
                          size, alignment, largest);
      ++failed_;
      expect_unchanged(before, "failed allocate");
      return;
    }
    ALLOCLAB_FUZZ_CHECK(should, "allocate(%zu, %zu) succeeded, but no free block was large enough (largest %zu)",
                        size, alignment, largest);
    ++allocations_;
    requested_ += size;
    const Live block{p, size, alignment, least_block(size), seed_byte * 2654435761u};
    check_new_block(block);
    fill_pattern(p, size, block.seed);
    order_.push_back(p);
    live_.emplace(addr(p), block);
    peak_ = std::max(peak_, pool_.used());
  }

  // The new block against its neighbours in address order (the other blocks did not move).
  void check_new_block(const Live& b) {
    const std::uintptr_t start = addr(b.p) - kHeader;
    ALLOCLAB_FUZZ_CHECK(addr(b.p) % b.alignment == 0, "%p is not %zu-aligned", static_cast<void*>(b.p),
                        b.alignment);
    ALLOCLAB_FUZZ_CHECK(start >= addr(base_) && start + b.total <= addr(base_) + capacity_,
                        "block [%p, +%zu) outside the pool [%p, +%zu)", reinterpret_cast<void*>(start),
                        b.total, static_cast<void*>(base_), capacity_);
    auto next = live_.lower_bound(addr(b.p));
    if (next != live_.end())
      ALLOCLAB_FUZZ_CHECK(start + b.total <= next->first - kHeader,
                          "new block %p (%zu bytes) overlaps live block %p (%zu bytes)",
                          static_cast<void*>(b.p), b.size, static_cast<void*>(next->second.p), next->second.size);
    if (next != live_.begin()) {
      const Live& prev = std::prev(next)->second;
      ALLOCLAB_FUZZ_CHECK(addr(prev.p) - kHeader + prev.total <= start,
                          "new block %p (%zu bytes) overlaps live block %p (%zu bytes)",
                          static_cast<void*>(b.p), b.size, static_cast<void*>(prev.p), prev.size);
    }
    if constexpr (alloclab::debug::asan) {
      const void* bad = first_poisoned(b.p, b.size);
      ALLOCLAB_FUZZ_CHECK(bad == nullptr, "byte %p of the new block %p (%zu bytes) is poisoned", bad,
                          static_cast<void*>(b.p), b.size);
    }
  }

  void free_slot(std::uint8_t index) {
    if (order_.empty()) return;
    const std::size_t i = index % order_.size();
    char* const p = order_[i];
    order_[i] = order_.back();
    order_.pop_back();
    free_block(p);
  }

  void free_block(char* p) {
    auto it = live_.find(addr(p));
    const std::size_t size = it->second.size;
    live_.erase(it);
    pool_.deallocate(p, size);
    ++deallocations_;
    requested_ -= size;
  }

  void free_all(std::uint8_t how) {
    std::vector<char*> victims = order_;
    switch (how % 5) {
      case 0: break;
      case 1: std::reverse(victims.begin(), victims.end()); break;
      case 2: std::sort(victims.begin(), victims.end()); break;
      case 3: std::sort(victims.begin(), victims.end(), std::greater<>()); break;
      default: {  // every other block by address first: the rest then merge on both sides
        std::sort(victims.begin(), victims.end());
        std::vector<char*> reordered;
        for (std::size_t i = 0; i < victims.size(); i += 2) reordered.push_back(victims[i]);
        for (std::size_t i = 1; i < victims.size(); i += 2) reordered.push_back(victims[i]);
        victims.swap(reordered);
      }
    }
    order_.clear();
    for (char* p : victims) free_block(p);
  }

  void fill_slot(std::uint8_t index, std::uint8_t seed_byte) {
    if (order_.empty()) return;
    Live& b = live_.at(addr(order_[index % order_.size()]));
    b.seed = seed_byte * 2246822519u + 1;
    fill_pattern(b.p, b.size, b.seed);
  }

  void check_slot(std::uint8_t index) {
    if (order_.empty()) return;
    const Live& b = live_.at(addr(order_[index % order_.size()]));
    check_pattern(b.p, b.size, b.seed, "check");
    if constexpr (alloclab::debug::asan) {
      const void* bad = first_poisoned(b.p, b.size);
      ALLOCLAB_FUZZ_CHECK(bad == nullptr, "byte %p of live block %p (%zu bytes) is poisoned", bad,
                          static_cast<void*>(b.p), b.size);
      // The block's slack after the request (and its guard bytes) is a red zone. ASan tracks
      // 8-byte granules, so look from the first granule boundary after the request.
      const std::uintptr_t slack = alloclab::align_up(addr(b.p) + b.size + kGuard, 8);
      const std::uintptr_t end = addr(b.p) - kHeader + b.total;
      if (slack < end)
        ALLOCLAB_FUZZ_CHECK(poisoned(reinterpret_cast<void*>(slack)),
                            "slack byte %p after live block %p (%zu bytes) is not poisoned",
                            reinterpret_cast<void*>(slack), static_cast<void*>(b.p), b.size);
    }
  }

  void reset() {
    pool_.reset();
    if constexpr (alloclab::debug::asan) {
      // Everything is poisoned again but the fresh free block's header, links and footer.
      for (const auto& [a, b] : live_) {
        if (a >= addr(base_) + kHeader + 16 && a < addr(base_) + capacity_ - 8)
          ALLOCLAB_FUZZ_CHECK(poisoned(b.p), "block %p is still addressable after reset()",
                              static_cast<void*>(b.p));
      }
    }
    live_.clear();
    order_.clear();
    requested_ = 0;
  }

  void release() {
    pool_.release();
    released_ = true;
    capacity_ = 0;
    live_.clear();
    order_.clear();
    requested_ = 0;
  }

  void bad_request(std::uint8_t b) {
    const BadRequest r = bad_request_from(b);
    const Snapshot before = snapshot();
    void* p = pool_.allocate(r.size, r.alignment);
    ALLOCLAB_FUZZ_CHECK(p == nullptr, "allocate(%zu, %zu) must fail, returned %p", r.size, r.alignment, p);
    ++failed_;
    expect_unchanged(before, "refused request");
  }

  struct Snapshot {
    std::size_t used, remaining, capacity, free_blocks, largest;
  };
  Snapshot snapshot() const {
    return {pool_.used(), pool_.remaining(), pool_.capacity(), pool_.free_blocks(), pool_.largest_free_block()};
  }
  void expect_unchanged(const Snapshot& before, const char* what) const {
    const Snapshot now = snapshot();
    ALLOCLAB_FUZZ_CHECK(now.used == before.used && now.remaining == before.remaining &&
                            now.capacity == before.capacity && now.free_blocks == before.free_blocks &&
                            now.largest == before.largest,
                        "%s changed the pool: used %zu->%zu, free blocks %zu->%zu, largest %zu->%zu", what,
                        before.used, now.used, before.free_blocks, now.free_blocks, before.largest, now.largest);
  }

  void check_all() const {
    const std::size_t cap = pool_.capacity();
    const std::size_t used = pool_.used();
    const std::size_t remaining = pool_.remaining();
    const std::size_t free_blocks = pool_.free_blocks();
    const std::size_t largest = pool_.largest_free_block();
    ALLOCLAB_FUZZ_CHECK(cap == capacity_, "capacity() is %zu, expected %zu", cap, capacity_);
    ALLOCLAB_FUZZ_CHECK(used + remaining == cap, "used() %zu + remaining() %zu != capacity() %zu", used,
                        remaining, cap);

    // Walk the live blocks in address order: bounds, disjointness, contents, and the gaps.
    const std::uintptr_t base = addr(base_);
    const std::uintptr_t end = base + capacity_;
    std::uintptr_t cursor = base;  // least end of the previous block (base before the first)
    bool first = true;
    std::size_t expect_free = 0, used_lo = 0, used_hi = 0, largest_lo = 0, largest_hi = 0, requested = 0;
    auto gap_after_block = [&](std::size_t gap) {
      ALLOCLAB_FUZZ_CHECK(gap % kGranule == 0, "gap of %zu bytes is not a multiple of the granule", gap);
      if (gap < kMinBlock) {  // slack of the block before
        used_lo += gap;
        used_hi += gap;
      } else {  // one free block, the block before may keep part of the gap as slack
        const std::size_t slack = std::min(kMaxSlack, gap - kMinBlock);
        ++expect_free;
        used_hi += slack;
        largest_lo = std::max(largest_lo, gap - slack);
        largest_hi = std::max(largest_hi, gap);
      }
    };
    for (const auto& [a, b] : live_) {
      const std::uintptr_t start = a - kHeader;
      ALLOCLAB_FUZZ_CHECK(start >= cursor && start + b.total <= end,
                          "live block %p (%zu bytes, extent %zu) overlaps its predecessor or leaves the pool",
                          static_cast<void*>(b.p), b.size, b.total);
      ALLOCLAB_FUZZ_CHECK(a % b.alignment == 0 && (a - base) % kGranule == 0, "live block %p misaligned",
                          static_cast<void*>(b.p));
      check_pattern(b.p, b.size, b.seed, "after operation");
      const std::size_t gap = start - cursor;
      if (first) {
        ALLOCLAB_FUZZ_CHECK(gap == 0 || gap >= kMinBlock,
                            "%zu bytes before the first live block: neither nothing nor a free block", gap);
        if (gap != 0) {
          ++expect_free;
          largest_lo = std::max(largest_lo, gap);
          largest_hi = std::max(largest_hi, gap);
        }
        first = false;
      } else {
        gap_after_block(gap);
      }
      used_lo += b.total;
      used_hi += b.total;
      requested += b.size;
      cursor = start + b.total;
    }
    if (released_) {
      ALLOCLAB_FUZZ_CHECK(used == 0 && free_blocks == 0 && largest == 0,
                          "released pool: used %zu, free blocks %zu, largest %zu", used, free_blocks, largest);
    } else if (live_.empty()) {
      ALLOCLAB_FUZZ_CHECK(used == 0 && free_blocks == 1 && largest == cap,
                          "no live block, but used %zu, free blocks %zu, largest %zu of %zu", used, free_blocks,
                          largest, cap);
    } else {
      gap_after_block(end - cursor);
      ALLOCLAB_FUZZ_CHECK(free_blocks <= live_.size() + 1, "%zu free blocks for %zu live blocks: two are adjacent",
                          free_blocks, live_.size());
      ALLOCLAB_FUZZ_CHECK(free_blocks == expect_free,
                          "free_blocks() is %zu; the live blocks leave %zu gaps that must each be one free block",
                          free_blocks, expect_free);
      ALLOCLAB_FUZZ_CHECK(used >= used_lo && used <= used_hi,
                          "used() is %zu; the live blocks account for between %zu and %zu", used, used_lo, used_hi);
      ALLOCLAB_FUZZ_CHECK(largest >= largest_lo && largest <= largest_hi,
                          "largest_free_block() is %zu; the gaps allow between %zu and %zu", largest, largest_lo,
                          largest_hi);
    }

    const alloclab::AllocatorStats s = pool_.stats();
    ALLOCLAB_FUZZ_CHECK(s.capacity == cap && s.used == used && s.remaining == remaining && s.bytes_reserved == used,
                        "stats() capacity/used/remaining/reserved %zu/%zu/%zu/%zu disagree with %zu/%zu/%zu",
                        s.capacity, s.used, s.remaining, s.bytes_reserved, cap, used, remaining);
    ALLOCLAB_FUZZ_CHECK(s.bytes_requested == requested && requested == requested_,
                        "stats().bytes_requested %zu, live blocks request %zu", s.bytes_requested, requested);
    ALLOCLAB_FUZZ_CHECK(s.allocations == allocations_ && s.deallocations == deallocations_ &&
                            s.failed_allocations == failed_,
                        "stats() counts %zu/%zu/%zu (allocations/deallocations/failures), model %zu/%zu/%zu",
                        s.allocations, s.deallocations, s.failed_allocations, allocations_, deallocations_, failed_);
    ALLOCLAB_FUZZ_CHECK(s.peak_used == peak_, "stats().peak_used %zu, largest used() seen %zu", s.peak_used, peak_);
    ALLOCLAB_FUZZ_CHECK(s.blocks == (released_ ? 0u : 1u), "stats().blocks is %zu", s.blocks);
  }

  CoalescingPool pool_;
  std::size_t capacity_;
  char* base_ = nullptr;
  bool released_ = false;
  std::map<std::uintptr_t, Live> live_;  // by address
  std::vector<char*> order_;             // slots, in the order the stream refers to them
  std::size_t requested_ = 0;
  std::size_t allocations_ = 0;
  std::size_t deallocations_ = 0;
  std::size_t failed_ = 0;
  std::size_t peak_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  context() = Context{"pool_fuzz", "coalescing_pool", 0, "setup"};
  const std::size_t capacity = kMinCapacity + (std::size_t{in.u16()} * 4) % (kMaxCapacity - kMinCapacity + 1);
  PoolHarness harness(capacity);
  harness.run(in);
  return 0;
}
