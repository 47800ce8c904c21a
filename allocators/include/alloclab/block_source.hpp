// alloclab/block_source.hpp — where allocators get their blocks (the bottom layer).
//
// Layers compose as block source -> arena -> strategy: an allocator is parameterised by the
// source of its blocks, so the same arena can run over the heap, over a budgeted heap (to test
// exhaustion of a growable arena), or over a caller's buffer.
//
// A BlockSource hands out blocks aligned to `block_alignment` and never throws: a failed
// request returns {nullptr, 0}.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>

namespace alloclab {

struct MemoryBlock {
  void* data = nullptr;
  std::size_t size = 0;
  explicit operator bool() const noexcept { return data != nullptr; }
};

template <class S>
concept BlockSource = requires(S& s, std::size_t n, MemoryBlock b) {
  { s.allocate_block(n) } noexcept -> std::same_as<MemoryBlock>;
  { s.deallocate_block(b) } noexcept;
};

// Blocks start on a cache line: no block shares a line with another allocation, and the
// bump fast path's first object is cache-aligned.
inline constexpr std::size_t block_alignment = 64;

// The largest block a source is ever asked for, or hands out: no object may span more than
// PTRDIFF_MAX bytes (a difference of two pointers into it must be representable), so no
// address space can serve more, and rounding such a size up to a page or to block_alignment
// cannot wrap. The sources refuse larger sizes themselves, before asking their upstream:
// operator new and mmap round a size up first, and a size near SIZE_MAX wraps to a tiny one
// there (libstdc++'s aligned operator new then returns a 64-byte chunk for SIZE_MAX - 40).
inline constexpr std::size_t max_block_size = static_cast<std::size_t>(PTRDIFF_MAX);

// Blocks from the global heap (aligned operator new, nothrow), optionally capped at a total
// byte budget so a growable arena can be driven to exhaustion.
class HeapBlockSource {
 public:
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

  HeapBlockSource() noexcept = default;
  explicit HeapBlockSource(std::size_t budget) noexcept : budget_(budget) {}

  // A block of exactly `size` bytes, or {} when size is 0 or above max_block_size, the budget
  // would be passed, or the heap refuses.
  [[nodiscard]] MemoryBlock allocate_block(std::size_t size) noexcept {
    if (size == 0 || size > max_block_size || size > budget_ - held_) return {};
    void* p = ::operator new(size, std::align_val_t{block_alignment}, std::nothrow);
    if (p == nullptr) return {};
    held_ += size;
    return {p, size};
  }

  void deallocate_block(MemoryBlock block) noexcept {
    if (block.data == nullptr) return;
    held_ -= block.size;
    ::operator delete(block.data, std::align_val_t{block_alignment});
  }

  [[nodiscard]] std::size_t held() const noexcept { return held_; }
  [[nodiscard]] std::size_t budget() const noexcept { return budget_; }

 private:
  std::size_t budget_ = unlimited;
  std::size_t held_ = 0;
};

static_assert(BlockSource<HeapBlockSource>);

// Blocks straight from the kernel (anonymous private mmap), page-granular, zero-filled, for
// layers that cannot call the heap because they are the heap (the malloc shims). `lazy`
// blocks are mapped MAP_NORESERVE: a reservation the kernel commits page by page as it is
// touched, so a pool can be given far more address space than it will ever use. Holds no
// state: a block is given back with its own size.
class MmapBlockSource {
 public:
  MmapBlockSource() noexcept = default;
  explicit MmapBlockSource(bool lazy) noexcept : lazy_(lazy) {}

  [[nodiscard]] static std::size_t page_size() noexcept {
    static const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return page;
  }

  // A block of at least `size` bytes (rounded up to whole pages), or {} when size is 0 or
  // above max_block_size (where the rounding could overflow) or the kernel refuses.
  [[nodiscard]] MemoryBlock allocate_block(std::size_t size) const noexcept {
    const std::size_t page = page_size();
    if (size == 0 || size > max_block_size) return {};
    const std::size_t rounded = (size + page - 1) & ~(page - 1);
    const int flags = MAP_PRIVATE | MAP_ANONYMOUS | (lazy_ ? MAP_NORESERVE : 0);
    void* p = ::mmap(nullptr, rounded, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED) return {};
    return {p, rounded};
  }

  void deallocate_block(MemoryBlock block) const noexcept {
    if (block.data != nullptr) ::munmap(block.data, block.size);
  }

 private:
  bool lazy_ = false;
};

static_assert(BlockSource<MmapBlockSource>);

}  // namespace alloclab
