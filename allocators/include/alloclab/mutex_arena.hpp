// alloclab/mutex_arena.hpp — fixed-capacity bump arena guarded by a std::mutex.
//
// Design: one block, one offset, one lock. allocate() takes the lock, aligns the offset, bumps
// it; reset() sets it back to zero; release() gives the block back. The simplest thread-safe
// arena, and the baseline the lock-free and thread-local arenas are measured against.
//
// Fast path cost: an uncontended lock + unlock (two atomic read-modify-writes) around a few
// instructions of bump arithmetic; the lock pair dominates (counted against
// bump_limit in the README, Results). Under contention every request serialises on
// the lock's cache line, and waiters may sleep in the kernel.
#pragma once

#include <algorithm>
#include <cstddef>
#include <mutex>

#include "alloclab/allocator.hpp"
#include "alloclab/block_source.hpp"
#include "alloclab/debug.hpp"

namespace alloclab {

class MutexArena {
 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = false;
  static constexpr std::string_view name = "mutex_arena";
  static constexpr std::string_view description = "fixed bump arena guarded by a std::mutex";

  // An arena over a new heap block of `capacity` bytes (capacity 0 if the heap refuses).
  explicit MutexArena(std::size_t capacity) noexcept {
    const MemoryBlock block = HeapBlockSource{}.allocate_block(capacity);
    adopt(static_cast<char*>(block.data), block.size, /*owned=*/true);
  }
  // An arena over the caller's buffer; the caller keeps ownership.
  MutexArena(void* buffer, std::size_t size) noexcept {
    adopt(static_cast<char*>(buffer), buffer != nullptr ? size : 0, /*owned=*/false);
  }
  MutexArena(const MutexArena&) = delete;
  MutexArena& operator=(const MutexArena&) = delete;
  ~MutexArena() { release(); }

  [[nodiscard]] void* allocate(std::size_t size,
                               std::size_t alignment = default_alignment) noexcept {
    std::lock_guard lock(mutex_);
    if (!is_valid_request(size, alignment) || size > SIZE_MAX - debug::guard_bytes) [[unlikely]] {
      ++failed_;
      return nullptr;
    }
    char* const p = fit_in(begin_ + used_, end_, size + debug::guard_bytes, alignment);
    if (p == nullptr) [[unlikely]] {
      ++failed_;
      return nullptr;
    }
    used_ = static_cast<std::size_t>(p - begin_) + size + debug::guard_bytes;
    ++allocations_;
    requested_ += size;
    debug::on_allocate(p, size);
    return p;
  }

  void deallocate(void* /*p*/, std::size_t /*size*/) noexcept {}  // an arena frees in bulk

  // Frees everything at once. The caller guarantees no thread is allocating (the lock orders a
  // racing allocate() before or after it, so there is nothing more a checked build could see).
  void reset() noexcept {
    std::lock_guard lock(mutex_);
    peak_ = std::max(peak_, used_);
    debug::on_release(begin_, used_);
    used_ = 0;
    requested_ = 0;
  }
  void clear() noexcept { reset(); }

  // Gives the block back (when the arena owns it); the arena then has capacity 0.
  void release() noexcept {
    std::lock_guard lock(mutex_);
    peak_ = std::max(peak_, used_);
    debug::unpoison(begin_, static_cast<std::size_t>(end_ - begin_));
    if (owned_) HeapBlockSource{}.deallocate_block({begin_, static_cast<std::size_t>(end_ - begin_)});
    begin_ = end_ = nullptr;
    used_ = requested_ = 0;
    owned_ = false;
  }

  [[nodiscard]] std::size_t capacity() const noexcept {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(end_ - begin_);
  }
  [[nodiscard]] std::size_t used() const noexcept {
    std::lock_guard lock(mutex_);
    return used_;
  }
  [[nodiscard]] std::size_t remaining() const noexcept {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(end_ - begin_) - used_;
  }
  [[nodiscard]] const void* data() const noexcept { return begin_; }

  [[nodiscard]] AllocatorStats stats() const noexcept {
    std::lock_guard lock(mutex_);
    AllocatorStats s;
    s.capacity = static_cast<std::size_t>(end_ - begin_);
    s.used = used_;
    s.remaining = s.capacity - used_;
    s.peak_used = std::max(peak_, used_);
    s.allocations = allocations_;
    s.failed_allocations = failed_;
    s.bytes_requested = requested_;
    s.bytes_reserved = used_;  // nothing is freed individually: all consumed bytes are live
    s.blocks = begin_ != nullptr ? 1 : 0;
    return s;
  }

 private:
  void adopt(char* begin, std::size_t size, bool owned) noexcept {
    begin_ = begin;
    end_ = begin != nullptr ? begin + size : nullptr;
    owned_ = owned && begin != nullptr;
    debug::poison(begin_, size);
  }

  mutable std::mutex mutex_;
  char* begin_ = nullptr;
  char* end_ = nullptr;
  std::size_t used_ = 0;
  std::size_t peak_ = 0;
  std::size_t allocations_ = 0;
  std::size_t failed_ = 0;
  std::size_t requested_ = 0;
  bool owned_ = false;
};

static_assert(Allocator<MutexArena>);

}  // namespace alloclab
