// alloclab/block_chain.hpp — linked blocks for the growable arenas (the middle layer).
//
// A ChainBlock is a header at the start of a block from a BlockSource, followed by its data.
// The chained arena and each thread of the thread-local arena bump through such blocks; a
// BlockList keeps the blocks an arena holds, in use or waiting for reuse after a reset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "alloclab/block_source.hpp"
#include "alloclab/debug.hpp"

namespace alloclab {

struct alignas(32) ChainBlock {
  ChainBlock* next = nullptr;
  std::size_t capacity = 0;  // data bytes after the header
  std::size_t used = 0;      // data bytes consumed; written when the chain moves past the block

  [[nodiscard]] char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
  [[nodiscard]] char* end() noexcept { return data() + capacity; }
};

inline constexpr std::size_t chain_header_size = sizeof(ChainBlock);

// The most alignment padding a request can need at the start of a chain block's data. The data
// starts chain_header_size bytes into a block aligned to block_alignment (every BlockSource's
// promise), so up to that alignment the padding is known exactly: none up to 32, 32 at 64.
// Beyond it only the block's own alignment is known, and the worst case is counted. Computed
// from where the data really starts, not as alignment - 1: a request of exactly a block's data
// bytes at the default alignment fits a standard block.
[[nodiscard]] constexpr std::size_t chain_data_padding(std::size_t alignment) noexcept {
  constexpr std::size_t known = (0 - chain_header_size) & (block_alignment - 1);
  return alignment <= block_alignment ? (0 - chain_header_size) & (alignment - 1)
                                      : alignment - block_alignment + known;
}
static_assert(chain_data_padding(1) == 0 && chain_data_padding(16) == 0 && chain_data_padding(32) == 0);
static_assert(chain_data_padding(64) == 32 && chain_data_padding(128) == 96);

// Whether `need` bytes at `alignment` fit in `data_bytes` of a fresh chain block, whatever the
// block's address (within a source's promise). Requires need, alignment <= max_block_size.
[[nodiscard]] constexpr bool fits_chain_block(std::size_t need, std::size_t alignment,
                                              std::size_t data_bytes) noexcept {
  return need <= data_bytes && chain_data_padding(alignment) <= data_bytes - need;
}

// Data bytes of a block of its own for `need` bytes at `alignment` (an oversized request), or
// 0 when no block source could serve it: the block would pass max_block_size.
[[nodiscard]] constexpr std::size_t dedicated_chain_data(std::size_t need, std::size_t alignment) noexcept {
  constexpr std::size_t limit = max_block_size - chain_header_size;
  if (need > limit || alignment > limit) return 0;
  const std::size_t padding = chain_data_padding(alignment);
  return padding <= limit - need ? need + padding : 0;
}

// An intrusive singly linked list of blocks with their total data capacity.
class BlockList {
 public:
  void push(ChainBlock* b) noexcept {
    b->next = head_;
    if (head_ == nullptr) tail_ = b;
    head_ = b;
    capacity_ += b->capacity;
    ++count_;
  }
  ChainBlock* pop() noexcept {
    ChainBlock* b = head_;
    if (b != nullptr) {
      head_ = b->next;
      if (head_ == nullptr) tail_ = nullptr;
      capacity_ -= b->capacity;
      --count_;
    }
    return b;
  }
  // Moves every block of `other` to the front of this list in O(1): what makes an arena's
  // reset() cost the same whatever it holds.
  void splice(BlockList& other) noexcept {
    if (other.head_ == nullptr) return;
    other.tail_->next = head_;
    if (head_ == nullptr) tail_ = other.tail_;
    head_ = other.head_;
    capacity_ += other.capacity_;
    count_ += other.count_;
    other.head_ = other.tail_ = nullptr;
    other.capacity_ = other.count_ = 0;
  }
  // Poisons (and in fill builds marks dead) every block's data; a no-op, and no walk, otherwise.
  void release_data() noexcept {
    if constexpr (debug::asan || debug::fill) {
      for (ChainBlock* b = head_; b != nullptr; b = b->next) debug::on_release(b->data(), b->capacity);
    }
  }
  [[nodiscard]] ChainBlock* head() const noexcept { return head_; }
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }

 private:
  ChainBlock* head_ = nullptr;
  ChainBlock* tail_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t count_ = 0;
};

// Takes a block with at least `data_bytes` of data from `source`, header written, data
// poisoned until handed out. nullptr when the source refuses or the size would overflow.
template <BlockSource Source>
[[nodiscard]] ChainBlock* new_chain_block(Source& source, std::size_t data_bytes) noexcept {
  if (data_bytes > max_block_size - chain_header_size) return nullptr;
  const MemoryBlock m = source.allocate_block(chain_header_size + data_bytes);
  if (!m) return nullptr;
  if constexpr (debug::checked) {
    if (reinterpret_cast<std::uintptr_t>(m.data) % block_alignment != 0 || m.size < chain_header_size + data_bytes)
      debug::fatal("block source", "a block smaller than asked, or not aligned to block_alignment", m.data);
  }
  auto* b = new (m.data) ChainBlock{nullptr, m.size - chain_header_size, 0};
  debug::poison(b->data(), b->capacity);
  return b;
}

template <BlockSource Source>
void delete_chain_block(Source& source, ChainBlock* b) noexcept {
  const std::size_t total = chain_header_size + b->capacity;
  debug::unpoison(b, total);
  source.deallocate_block({b, total});
}

template <BlockSource Source>
void delete_chain_blocks(Source& source, BlockList& list) noexcept {
  while (ChainBlock* b = list.pop()) delete_chain_block(source, b);
}

}  // namespace alloclab
