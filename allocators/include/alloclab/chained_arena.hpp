// alloclab/chained_arena.hpp — growable single-thread arena of linked blocks.
//
// Design: bump through the current block; when it is full, move to a recycled block or take a
// new one from the BlockSource. A request that would not fit even in a fresh block gets a
// block of its own (so a huge object does not waste a standard block's tail); "fit" counts the
// padding from where a block's data starts (chain_data_padding), so a request of exactly
// block_size() bytes at an alignment up to 32 — the default included — takes a standard
// block, which a one-block budget admits and a reset keeps. reset() keeps
// the standard blocks for reuse — a frame arena that resets every frame stops touching the
// upstream after the first frame — in one O(1) splice, and returns the dedicated ones.
//
// Fast path cost: align, two compares, the bump (and two counter adds with Counting::on), no
// atomics, no call: a few instructions more than the bump_limit reference, and fewer than
// std::pmr::monotonic_buffer_resource, which pays a virtual call (counted per
// operation in the README, Results). Bytes reserved are derived from the
// cursor when stats() is read. Not thread-safe: one arena per thread, or use
// thread_local_arena.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

#include "alloclab/allocator.hpp"
#include "alloclab/block_chain.hpp"
#include "alloclab/block_source.hpp"
#include "alloclab/debug.hpp"

namespace alloclab {

// Counting: whether allocations and bytes requested are kept (two adds per request). On by
// default — a single-thread arena's counters are cheap, and the C API reports them; the
// driver runs the uncounted instantiation, the fastest this design gets.
template <BlockSource Source = HeapBlockSource, Counting CountRequests = Counting::on>
class BasicChainedArena {
 public:
  static constexpr bool thread_safe = false;
  static constexpr bool supports_free = false;
  static constexpr std::string_view name = "chained_arena";
  static constexpr std::string_view description =
      CountRequests == Counting::on ? "growable single-thread arena of linked blocks"
                                    : "growable single-thread arena of linked blocks (uncounted)";
  // The same arena with or without per-request counters.
  template <Counting C>
  using with_counting = BasicChainedArena<Source, C>;
  static constexpr std::size_t default_block_size = 64 * 1024;

  // `block_size` is the data capacity of a standard block; blocks are taken lazily.
  explicit BasicChainedArena(std::size_t block_size = default_block_size,
                             Source source = Source{}) noexcept
      : source_(std::move(source)), block_size_(std::max<std::size_t>(block_size, 64)) {}
  BasicChainedArena(const BasicChainedArena&) = delete;
  BasicChainedArena& operator=(const BasicChainedArena&) = delete;
  ~BasicChainedArena() { release(); }

  [[nodiscard]] void* allocate(std::size_t size,
                               std::size_t alignment = default_alignment) noexcept {
    if (is_valid_request(size, alignment) && size <= SIZE_MAX - debug::guard_bytes) [[likely]] {
      if (char* p = fit_in(cursor_, end_, size + debug::guard_bytes, alignment)) [[likely]] {
        commit(p, size);
        return p;
      }
    }
    return allocate_slow(size, alignment);
  }

  // Zeroed memory for `count` objects of `size` bytes; nullptr if count * size overflows.
  [[nodiscard]] void* calloc(std::size_t count, std::size_t size,
                             std::size_t alignment = default_alignment) noexcept {
    std::size_t bytes = 0;
    if (__builtin_mul_overflow(count, size, &bytes)) [[unlikely]] {
      ++failed_;
      return nullptr;
    }
    void* p = allocate(bytes, alignment);
    if (p != nullptr) std::memset(p, 0, bytes);
    return p;
  }

  void deallocate(void* /*p*/, std::size_t /*size*/) noexcept {}

  // O(1) in the blocks held: the standard blocks move to the recycled list in one splice;
  // only dedicated (oversized) blocks are returned one by one.
  void reset() noexcept {
    peak_ = std::max(peak_, used());
    in_use_.release_data();
    recycled_.splice(in_use_);
    delete_chain_blocks(source_, dedicated_);
    cursor_ = end_ = nullptr;
    current_ = nullptr;
    requested_ = reserved_ = 0;
  }

  void release() noexcept {
    reset();
    delete_chain_blocks(source_, recycled_);
  }

  [[nodiscard]] std::size_t capacity() const noexcept {
    return in_use_.capacity() + dedicated_.capacity() + recycled_.capacity();
  }
  [[nodiscard]] std::size_t remaining() const noexcept {
    return static_cast<std::size_t>(end_ - cursor_) + recycled_.capacity();
  }
  [[nodiscard]] std::size_t used() const noexcept { return capacity() - remaining(); }
  [[nodiscard]] std::size_t block_size() const noexcept { return block_size_; }
  [[nodiscard]] const Source& source() const noexcept { return source_; }

  [[nodiscard]] AllocatorStats stats() const noexcept {
    AllocatorStats s;
    s.capacity = capacity();
    s.remaining = remaining();
    s.used = s.capacity - s.remaining;
    s.peak_used = std::max(peak_, s.used);
    s.counted = CountRequests == Counting::on;
    s.allocations = allocations_;
    s.failed_allocations = failed_;
    s.bytes_requested = requested_;
    s.bytes_reserved = reserved_ + reserved_in_current();
    s.blocks = in_use_.count() + dedicated_.count() + recycled_.count();
    return s;
  }

 private:
  void commit(char* p, std::size_t size) noexcept {
    cursor_ = p + size + debug::guard_bytes;
    count(size);
    debug::on_allocate(p, size);
  }
  void count(std::size_t size) noexcept {
    if constexpr (CountRequests == Counting::on) {
      ++allocations_;
      requested_ += size;
    } else {
      (void)size;
    }
  }

  [[gnu::noinline]] void* allocate_slow(std::size_t size, std::size_t alignment) noexcept {
    // Sizes and alignments no block can hold are refused here, before any arithmetic on them
    // and before the source is asked (see max_request_size).
    if (!is_valid_request(size, alignment) || size > max_request_size - debug::guard_bytes ||
        alignment > max_request_size) {
      ++failed_;
      return nullptr;
    }
    const std::size_t need = size + debug::guard_bytes;
    // A standard block when the request fits one whatever the block's address (the padding
    // counted from where its data starts: chain_data_padding); a block of its own otherwise.
    if (!fits_chain_block(need, alignment, block_size_)) {
      const std::size_t data = dedicated_chain_data(need, alignment);
      ChainBlock* b = data != 0 ? new_chain_block(source_, data) : nullptr;
      if (b == nullptr) {
        ++failed_;
        return nullptr;
      }
      char* p = fit_in(b->data(), b->end(), need, alignment);
      b->used = b->capacity;  // a dedicated block is consumed whole
      dedicated_.push(b);
      // The current block keeps its tail; the dedicated block is accounted as used whole.
      reserved_ += b->capacity;
      count(size);
      debug::on_allocate(p, size);
      return p;
    }
    ChainBlock* b = recycled_.pop();
    if (b != nullptr) b->used = 0;
    if (b == nullptr) b = new_chain_block(source_, block_size_);
    if (b == nullptr) {
      ++failed_;
      return nullptr;
    }
    if (current_ != nullptr) {
      current_->used = reserved_in_current();
      reserved_ += current_->used;
    }
    in_use_.push(b);
    current_ = b;
    cursor_ = b->data();
    end_ = b->end();
    char* p = fit_in(cursor_, end_, need, alignment);
    commit(p, size);
    return p;
  }

  // The current block's bytes handed out, padding and guards included (the cursor only moves
  // forward from the block's start): reserved bytes cost the fast path nothing.
  [[nodiscard]] std::size_t reserved_in_current() const noexcept {
    return current_ != nullptr ? static_cast<std::size_t>(cursor_ - current_->data()) : 0;
  }

  Source source_;
  std::size_t block_size_;
  char* cursor_ = nullptr;
  char* end_ = nullptr;
  ChainBlock* current_ = nullptr;
  BlockList in_use_;     // standard blocks in use, the current one among them
  BlockList dedicated_;  // blocks of one oversized request each
  BlockList recycled_;   // standard blocks free for reuse
  std::size_t peak_ = 0;
  std::size_t allocations_ = 0;
  std::size_t failed_ = 0;
  std::size_t requested_ = 0;
  std::size_t reserved_ = 0;  // in blocks left behind and dedicated blocks; see reserved_in_current
};

using ChainedArena = BasicChainedArena<>;
static_assert(Allocator<ChainedArena>);
static_assert(Allocator<BasicChainedArena<HeapBlockSource, Counting::off>>);

}  // namespace alloclab
