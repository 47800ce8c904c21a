// alloclab/coalescing_pool.hpp — pre-allocated pool with individual free, split and merge.
//
// Design: one region, carved into blocks that each start with a 16-byte header (size, flags,
// and in checked builds a tag). Free blocks also carry free-list links after the header and
// their size in a footer at their end (boundary tags, Knuth 1973): freeing a block finds both
// neighbours in O(1) — the next through its own size, the previous through the footer just
// below its header, read only when the header's PREV_FREE flag says it is there — so merging
// never scans. Free blocks sit in segregated bins (exact 16-byte classes below 1 KiB, eight
// sub-classes per power of two above) with a bitmap of non-empty bins, so a search is a bin
// lookup plus a find-next-set-bit. Invariant: no two free blocks are adjacent.
// A std::mutex makes it thread-safe; memory freed by one thread and reused by another is
// ordered by that mutex (visible to TSan as a happens-before edge).
//
// Fast path cost: an uncontended lock + unlock, a bin lookup, an unlink and possibly a split
// (counted per `mixed` operation against the harness alone and glibc malloc in the README,
// Results). The mutex per call is the floor that keeps it
// behind malloc's lock-free tcache at 1 thread and serialises it at 2; thread_cached_pool.hpp
// puts per-thread caches in front of this pool to remove it.
//
// Its region is either its own (CoalescingPool(capacity), from the heap) or the caller's
// (CoalescingPool(MemoryBlock), e.g. a lazily committed reservation from MmapBlockSource, as
// the malloc shim gives it: the heap cannot come from the heap). Only split-off headers and
// footers are written, so the pages of a reservation are touched as blocks are carved.
//
// Checked builds (ALLOCLAB_CHECKED=1): each header's tag hashes its address, size, state and the
// pool's generation, so deallocate() recognises — and aborts naming — a double free, a pointer
// outside the pool, a misaligned or interior pointer, a damaged header, a free after reset(),
// a size larger than the block, and overwritten guard bytes.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string_view>

#include "alloclab/allocator.hpp"
#include "alloclab/block_source.hpp"
#include "alloclab/debug.hpp"

namespace alloclab {

class CoalescingPool {
 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = true;
  static constexpr std::string_view name = "coalescing_pool";
  static constexpr std::string_view description = "fixed pool, individual free, boundary-tag merging, mutex";

  static constexpr std::size_t granule = 16;      // block sizes and payloads are multiples
  static constexpr std::size_t header_size = 16;  // per allocated block
  static constexpr std::size_t min_block = 48;    // header + two links + footer, rounded

  explicit CoalescingPool(std::size_t capacity) noexcept
      : CoalescingPool(HeapBlockSource{}.allocate_block(capacity), /*owned=*/true) {}
  // Over a region the caller owns and frees after the pool is gone: release() only forgets it.
  explicit CoalescingPool(MemoryBlock region) noexcept : CoalescingPool(region, /*owned=*/false) {}
  CoalescingPool(const CoalescingPool&) = delete;
  CoalescingPool& operator=(const CoalescingPool&) = delete;
  ~CoalescingPool() { release(); }

  [[nodiscard]] void* allocate(std::size_t size,
                               std::size_t alignment = default_alignment) noexcept {
    std::lock_guard lock(mutex_);
    return allocate_locked(size, alignment);
  }

  void deallocate(void* ptr, std::size_t size) noexcept {
    if (ptr == nullptr) return;
    std::lock_guard lock(mutex_);
    deallocate_locked(ptr, size);
  }

  // Batches under one lock, for a cache in front of the pool (thread_cached_pool.hpp): up to
  // n blocks of `size` bytes at alignment 16 into out[]; returns how many it got. Requires
  // out != nullptr when n > 0 (checked builds abort otherwise). A batch is the cache's
  // traffic, not its callers' calls: it moves blocks (used, bytes requested change) but counts
  // no allocation, deallocation or failure; the cache counts the calls it serves.
  std::size_t allocate_batch(std::size_t size, void** out, std::size_t n) noexcept {
    if constexpr (debug::checked) {
      if (out == nullptr && n > 0) debug::fatal(name.data(), "allocate_batch() into a null array", out);
    }
    std::lock_guard lock(mutex_);
    std::size_t got = 0;
    while (got < n) {
      void* p = allocate_locked</*count_call=*/false>(size, granule);
      if (p == nullptr) break;
      out[got++] = p;
    }
    return got;
  }
  // Frees n blocks, each of `size` bytes as requested, under one lock. Requires
  // ptrs != nullptr when n > 0 (checked builds abort otherwise).
  void deallocate_batch(void* const* ptrs, std::size_t n, std::size_t size) noexcept {
    if constexpr (debug::checked) {
      if (ptrs == nullptr && n > 0) debug::fatal(name.data(), "deallocate_batch() from a null array", ptrs);
    }
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < n; ++i)
      if (ptrs[i] != nullptr) deallocate_locked</*count_call=*/false>(ptrs[i], size);
  }

  // Quiescent. Everything becomes one free block; pointers from before are invalid (and
  // recognised as such by checked builds: a free after reset() aborts). The lock orders a
  // racing allocate() before or after the reset, so no in-flight count is needed.
  void reset() noexcept {
    std::lock_guard lock(mutex_);
    debug::on_release(base_, capacity_);
    ++generation_;
    start_over();
  }

  void release() noexcept {
    std::lock_guard lock(mutex_);
    debug::unpoison(region_, region_size_);
    if (owned_) HeapBlockSource{}.deallocate_block({region_, region_size_});
    region_ = base_ = end_ = nullptr;
    capacity_ = region_size_ = 0;
    start_over();
  }

  // Bytes the caller may use at p: the block's payload, at least the size requested. Requires
  // p handed out by this pool and not freed (checked builds abort naming the fault otherwise).
  // Lock-free in release builds: the owner of a block is the only one who changes its size,
  // and a neighbour's merge only flips a flag bit in the same word (hence the atomic load).
  [[nodiscard]] std::size_t usable_size(const void* p) const noexcept {
    if constexpr (debug::checked) {
      std::lock_guard lock(mutex_);
      validate(const_cast<void*>(p), 0);
    }
    const Header* h = header_of(const_cast<void*>(p));
    return (load_size_flags(h) & ~flag_mask) - header_size - debug::guard_bytes;
  }

  // True when p lies in this pool's region (whether or not it is a live block).
  [[nodiscard]] bool contains(const void* p) const noexcept {
    const auto* c = static_cast<const char*>(p);
    return c >= base_ && c < end_;
  }

  // Grows or shrinks the block at p to hold new_size bytes without moving it: a shrink gives
  // the tail back when it can stand as a free block; a growth takes from a free block right
  // after. False (and nothing changed) when the neighbour cannot supply the growth or the
  // request is invalid. `old_size` is the size p was allocated (or last resized) with.
  [[nodiscard]] bool resize_in_place(void* p, std::size_t old_size, std::size_t new_size) noexcept {
    if (p == nullptr || new_size == 0 || new_size > capacity_) return false;
    std::lock_guard lock(mutex_);
    if constexpr (debug::checked) validate(p, old_size);
    Header* h = header_of(p);
    const std::size_t block = size_of(h);
    const std::size_t need = new_size + debug::guard_bytes;
    const std::size_t total = std::max(min_block, round_up(header_size + need));
    std::size_t grown = block;
    if (total > block) {
      Header* next = next_of(h, block);
      if (next == nullptr || (next->size_flags & allocated_flag) != 0 || block + size_of(next) < total)
        return false;
      debug::unpoison(next, size_of(next));
      unlink(next);  // clears the PREV_FREE flag it had set on the block after it
      grown += size_of(next);
    }
    const std::size_t keep_flags = allocated_flag | (h->size_flags & prev_free_flag);
    std::size_t now = grown;
    if (grown - total >= min_block) {
      // The tail becomes free, merged with a free block after it (none after a growth).
      std::size_t tail = grown - total;
      Header* next = next_of(h, grown);
      if (next != nullptr && (next->size_flags & allocated_flag) == 0) {
        debug::unpoison(next, size_of(next));
        unlink(next);
        tail += size_of(next);
      }
      now = total;
      write_header(h, total, keep_flags);
      make_free_block(reinterpret_cast<Header*>(reinterpret_cast<char*>(h) + total), tail);
    } else {
      write_header(h, grown, keep_flags);
    }
    used_ = used_ - block + now;
    peak_ = std::max(peak_, used_);
    requested_ = requested_ - std::min(old_size, requested_) + new_size;
    // The payload up to new_size is the caller's; the rest (guard bytes included) a red zone.
    char* const q = static_cast<char*>(p);
    const auto payload = static_cast<std::size_t>(reinterpret_cast<char*>(h) + now - q);
    debug::unpoison(q, payload);
    if constexpr (debug::fill) {
      if (new_size > old_size) std::memset(q + old_size, debug::fresh_pattern, new_size - old_size);
    }
    if constexpr (debug::guard_bytes != 0) std::memset(q + new_size, debug::guard_pattern, debug::guard_bytes);
    debug::poison(q + new_size, payload - new_size);
    return true;
  }

  // fork() from a threaded program (pthread_atfork): hold the lock across the fork so the
  // child never inherits it taken by a thread that does not exist there.
  void prepare_fork() noexcept { mutex_.lock(); }
  void after_fork() noexcept { mutex_.unlock(); }

  [[nodiscard]] std::size_t capacity() const noexcept {
    std::lock_guard lock(mutex_);
    return capacity_;
  }
  [[nodiscard]] std::size_t used() const noexcept {
    std::lock_guard lock(mutex_);
    return used_;
  }
  [[nodiscard]] std::size_t remaining() const noexcept {
    std::lock_guard lock(mutex_);
    return capacity_ - used_;
  }
  // Number of free blocks, and the largest: a fully merged pool has one of size capacity().
  [[nodiscard]] std::size_t free_blocks() const noexcept {
    std::lock_guard lock(mutex_);
    return free_count_;
  }
  [[nodiscard]] std::size_t largest_free_block() const noexcept {
    std::lock_guard lock(mutex_);
    for (std::size_t bin = bin_count; bin-- > 0;) {
      std::size_t largest = 0;
      for (Header* h = bins_[bin]; h != nullptr; h = links(h)->next)
        largest = std::max(largest, size_of(h));
      if (largest != 0) return largest;
    }
    return 0;
  }
  // Bytes a single request of alignment <= 16 can get at most right now.
  [[nodiscard]] std::size_t largest_request() const noexcept {
    const std::size_t largest = largest_free_block();
    return largest > header_size + debug::guard_bytes ? largest - header_size - debug::guard_bytes : 0;
  }

  [[nodiscard]] AllocatorStats stats() const noexcept {
    std::lock_guard lock(mutex_);
    AllocatorStats s;
    s.capacity = capacity_;
    s.used = used_;
    s.remaining = capacity_ - used_;
    s.peak_used = peak_;
    s.allocations = allocations_;
    s.deallocations = deallocations_;
    s.failed_allocations = failed_;
    s.bytes_requested = requested_;
    s.bytes_reserved = used_;
    s.blocks = base_ != nullptr ? 1 : 0;
    return s;
  }

 private:
  CoalescingPool(MemoryBlock region, bool owned) noexcept : owned_(owned) {
    region_ = static_cast<char*>(region.data);
    region_size_ = region.size;
    base_ = region_ == nullptr ? nullptr : reinterpret_cast<char*>(align_up(reinterpret_cast<std::uintptr_t>(region_), granule));
    capacity_ = region_ == nullptr ? 0 : (region_size_ - std::min<std::size_t>(region_size_, base_ - region_)) & ~(granule - 1);
    end_ = base_ + capacity_;
    debug::poison(region_, region_size_);
    start_over();
  }

  // count_call: one allocate() call (counted as one allocation or one failure), or a block of
  // a batch (not counted: see allocate_batch).
  template <bool count_call = true>
  [[nodiscard]] void* allocate_locked(std::size_t size, std::size_t alignment) noexcept {
    // Every size test below is against capacity_, so no block-size arithmetic can overflow.
    if (!is_valid_request(size, alignment) || size > capacity_ ||
        alignment > capacity_) [[unlikely]] {
      if constexpr (count_call) ++failed_;
      return nullptr;
    }
    const std::size_t need = size + debug::guard_bytes;
    const std::size_t total = std::max(min_block, round_up(header_size + need));
    Header* h = nullptr;
    if (alignment <= granule) {
      h = take_free_block(total);
    } else {
      // Room for the worst front gap: up to alignment - 16 bytes, or a whole minimum block
      // more when the gap would be too small to stand as a free block of its own.
      h = take_free_block(total + alignment + min_block);
      if (h != nullptr) h = split_front_for_alignment(h, alignment);
    }
    if (h == nullptr) [[unlikely]] {
      if constexpr (count_call) ++failed_;
      return nullptr;
    }
    split_back(h, total);
    const std::size_t block = size_of(h);
    // Keep PREV_FREE: an alignment split leaves a free block right in front of this one.
    write_header(h, block, allocated_flag | (h->size_flags & prev_free_flag));
    used_ += block;
    peak_ = std::max(peak_, used_);
    if constexpr (count_call) ++allocations_;
    requested_ += size;
    char* p = payload(h);
    debug::unpoison(p, block - header_size);
    debug::on_allocate(p, size);
    debug::poison(p + need, block - header_size - need);  // the block's slack is a red zone
    return p;
  }

  template <bool count_call = true>
  void deallocate_locked(void* ptr, std::size_t size) noexcept {
    if constexpr (debug::checked) validate(ptr, size);
    Header* h = header_of(ptr);
    std::size_t block = size_of(h);
    used_ -= block;
    requested_ -= std::min(size, requested_);
    if constexpr (count_call) ++deallocations_;
    debug::unpoison(h, block);
    // A stale copy of this header, left inside a merged block, must read "free" (double free).
    write_header(h, block, h->size_flags & prev_free_flag);
    Header* next = next_of(h, block);
    if (next != nullptr && (next->size_flags & allocated_flag) == 0) {
      unlink(next);
      block += size_of(next);
    }
    if ((h->size_flags & prev_free_flag) != 0) {
      const std::size_t prev_size = *reinterpret_cast<std::size_t*>(reinterpret_cast<char*>(h) - 8);
      h = reinterpret_cast<Header*>(reinterpret_cast<char*>(h) - prev_size);
      unlink(h);
      block += prev_size;
    }
    if constexpr (debug::fill) {
      debug::unpoison(h, block);
      std::memset(reinterpret_cast<char*>(h) + header_size, debug::dead_pattern, block - header_size);
    }
    make_free_block(h, block);
  }

  struct Header {
    std::size_t size_flags;  // block size (multiple of 16) | flags
    std::size_t tag;         // checked builds: hash of address, size, state, generation
  };
  struct Links {
    Header* next;
    Header* prev;
  };
  static_assert(sizeof(Header) == header_size);

  static constexpr std::size_t allocated_flag = 1;
  static constexpr std::size_t prev_free_flag = 2;
  static constexpr std::size_t flag_mask = granule - 1;
  static constexpr std::size_t exact_bins = 64;  // 16-byte classes below 1 KiB
  static constexpr std::size_t bin_count = 512;
  static constexpr std::size_t words = bin_count / 64;
  static constexpr std::size_t bin_scan_limit = 8;

  static constexpr std::size_t round_up(std::size_t n) noexcept {
    return (n + granule - 1) & ~(granule - 1);
  }
  static std::size_t size_of(const Header* h) noexcept { return h->size_flags & ~flag_mask; }
  // The flag bits of an allocated block's header change under the lock while its owner may
  // read the size without it (usable_size): those two accesses are relaxed atomics.
  static std::size_t load_size_flags(const Header* h) noexcept {
    return std::atomic_ref<std::size_t>(const_cast<Header*>(h)->size_flags).load(std::memory_order_relaxed);
  }
  static void store_size_flags(Header* h, std::size_t v) noexcept {
    std::atomic_ref<std::size_t>(h->size_flags).store(v, std::memory_order_relaxed);
  }
  static char* payload(Header* h) noexcept { return reinterpret_cast<char*>(h) + header_size; }
  static Header* header_of(void* p) noexcept {
    return reinterpret_cast<Header*>(static_cast<char*>(p) - header_size);
  }
  static Links* links(Header* h) noexcept { return reinterpret_cast<Links*>(payload(h)); }
  Header* next_of(Header* h, std::size_t size) const noexcept {
    char* n = reinterpret_cast<char*>(h) + size;
    return n < end_ ? reinterpret_cast<Header*>(n) : nullptr;
  }

  static std::size_t bin_of(std::size_t size) noexcept {
    if (size < exact_bins * granule) return size / granule;
    const auto log = static_cast<std::size_t>(std::bit_width(size) - 1);  // >= 10
    const std::size_t sub = (size >> (log - 3)) & 7;
    return exact_bins + (log - 10) * 8 + sub;
  }

  std::size_t tag_for(const Header* h, std::size_t size_and_state,
                      std::size_t generation) const noexcept {
    auto x = reinterpret_cast<std::uintptr_t>(h) * 0x9E3779B97F4A7C15ULL;
    x ^= size_and_state * 0xC2B2AE3D27D4EB4FULL;
    x ^= (generation + 1) * 0x165667B19E3779F9ULL;
    return static_cast<std::size_t>(x ^ (x >> 29));
  }

  void write_header(Header* h, std::size_t size, std::size_t flags) noexcept {
    h->size_flags = size | flags;
    if constexpr (debug::checked) h->tag = tag_for(h, size | (flags & allocated_flag), generation_);
  }

  // A free block at h of `size` bytes: header, links, footer; its middle poisoned; binned;
  // the next block told that its predecessor is free. A block split off a free block has its
  // middle poisoned already: re-poisoning it would cost time in proportion to its size on every
  // split (ASan builds), so the split paths say so.
  void make_free_block(Header* h, std::size_t size, bool middle_poisoned = false) noexcept {
    char* const start = reinterpret_cast<char*>(h);
    debug::unpoison(start, header_size + sizeof(Links));
    debug::unpoison(start + size - 8, 8);
    write_header(h, size, 0);
    *reinterpret_cast<std::size_t*>(start + size - 8) = size;
    if (!middle_poisoned)
      debug::poison(start + header_size + sizeof(Links), size - header_size - sizeof(Links) - 8);
    const std::size_t bin = bin_of(size);
    Links* l = links(h);
    l->prev = nullptr;
    l->next = bins_[bin];
    if (l->next != nullptr) links(l->next)->prev = h;
    bins_[bin] = h;
    bitmap_[bin / 64] |= std::uint64_t{1} << (bin % 64);
    ++free_count_;
    if (Header* next = next_of(h, size)) store_size_flags(next, next->size_flags | prev_free_flag);
  }

  void unlink(Header* h) noexcept {
    Links* l = links(h);
    if (l->prev != nullptr) {
      links(l->prev)->next = l->next;
    } else {
      const std::size_t bin = bin_of(size_of(h));
      bins_[bin] = l->next;
      if (l->next == nullptr) bitmap_[bin / 64] &= ~(std::uint64_t{1} << (bin % 64));
    }
    if (l->next != nullptr) links(l->next)->prev = l->prev;
    --free_count_;
    if (Header* next = next_of(h, size_of(h))) store_size_flags(next, next->size_flags & ~prev_free_flag);
  }

  // An unlinked free block of at least `total` bytes, or nullptr.
  Header* take_free_block(std::size_t total) noexcept {
    if (total > capacity_) return nullptr;
    std::size_t bin = bin_of(total);
    // Above the exact classes a bin spans sizes on both sides of `total`: scan a few.
    std::size_t scanned = 0;
    for (Header* h = bins_[bin]; h != nullptr && scanned < bin_scan_limit; h = links(h)->next, ++scanned) {
      if (size_of(h) >= total) {
        unlink(h);
        return h;
      }
    }
    // Any block in a higher bin is large enough.
    for (std::size_t higher = bin + 1; higher < bin_count;) {
      const std::uint64_t word = bitmap_[higher / 64] >> (higher % 64);
      if (word != 0) {
        higher += static_cast<std::size_t>(std::countr_zero(word));
        Header* h = bins_[higher];
        unlink(h);
        return h;
      }
      higher = (higher / 64 + 1) * 64;
    }
    // Last resort: the rest of the request's own bin, so a fitting block is never missed.
    for (Header* h = bins_[bin]; h != nullptr; h = links(h)->next) {
      if (size_of(h) >= total) {
        unlink(h);
        return h;
      }
    }
    return nullptr;
  }

  // Splits the front of free block h so that the payload after it is aligned; the front
  // becomes a free block of its own. Returns the (unlinked, free) block that starts there.
  Header* split_front_for_alignment(Header* h, std::size_t alignment) noexcept {
    const auto p0 = reinterpret_cast<std::uintptr_t>(payload(h));
    std::uintptr_t p = align_up(p0, alignment);
    if (p != p0 && p - p0 < min_block) p = align_up(p0 + min_block, alignment);
    const std::size_t gap = static_cast<std::size_t>(p - p0);
    if (gap == 0) return h;
    const std::size_t size = size_of(h);
    auto* rest = reinterpret_cast<Header*>(reinterpret_cast<char*>(h) + gap);
    debug::unpoison(rest, header_size);
    write_header(rest, size - gap, 0);
    make_free_block(h, gap, /*middle_poisoned=*/true);  // also flags `rest`: free predecessor
    return rest;
  }

  // Shrinks free block h to `total` bytes when the tail can stand as a free block.
  void split_back(Header* h, std::size_t total) noexcept {
    const std::size_t size = size_of(h);
    const std::size_t prev_free = h->size_flags & prev_free_flag;
    if (size - total >= min_block) {
      write_header(h, total, prev_free);
      make_free_block(reinterpret_cast<Header*>(reinterpret_cast<char*>(h) + total), size - total,
                      /*middle_poisoned=*/true);
    }
  }

  void start_over() noexcept {
    std::fill(std::begin(bins_), std::end(bins_), nullptr);
    std::fill(std::begin(bitmap_), std::end(bitmap_), 0);
    free_count_ = 0;
    used_ = requested_ = 0;
    if (capacity_ >= min_block) make_free_block(reinterpret_cast<Header*>(base_), capacity_);
  }

  // --- checked builds ------------------------------------------------------------------

  // Reads a header even where ASan has poisoned it (a stale header inside a free block).
  [[gnu::no_sanitize_address]] static Header peek(const Header* h) noexcept {
    Header copy;
    std::memcpy(&copy, h, sizeof copy);
    return copy;
  }

  [[gnu::no_sanitize_address]] static std::size_t peek_word(const char* p) noexcept {
    std::size_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
  }

  bool tag_valid(const Header* h, const Header& v, std::size_t generation) const noexcept {
    return v.tag == tag_for(h, (v.size_flags & ~prev_free_flag), generation);
  }

  [[gnu::noinline]] void validate(void* ptr, std::size_t size) const noexcept {
    auto* p = static_cast<char*>(ptr);
    if (p < base_ + header_size || p >= end_) debug::fatal(name.data(), "foreign pointer: not inside this pool", ptr);
    if ((static_cast<std::size_t>(p - base_) % granule) != 0)
      debug::fatal(name.data(), "misaligned pointer: not a block this pool handed out", ptr);
    const Header* h = header_of(ptr);
    const Header v = peek(h);
    if (!tag_valid(h, v, generation_)) {
      if (generation_ > 0 && tag_valid(h, v, generation_ - 1))
        debug::fatal(name.data(), "free after reset(): the block belongs to an earlier generation", ptr);
      // Walk the blocks from the start: is h a block at all?
      const char* w = base_;
      while (w < end_) {
        const auto* wh = reinterpret_cast<const Header*>(w);
        const Header wv = peek(wh);
        if (w == reinterpret_cast<const char*>(h))
          debug::fatal(name.data(), "corrupted block header (overwritten before this free)", ptr);
        const std::size_t ws = wv.size_flags & ~flag_mask;
        if (!tag_valid(wh, wv, generation_) || ws < min_block || ws > static_cast<std::size_t>(end_ - w))
          debug::fatal(name.data(), "heap corruption: a block header before this pointer is damaged", w);
        if (w + ws > reinterpret_cast<const char*>(h)) break;
        w += ws;
      }
      debug::fatal(name.data(), "pointer not handed out by this pool (interior pointer or never allocated)", ptr);
    }
    if ((v.size_flags & allocated_flag) == 0) {
      // After a reset, an old pointer can land on a header that is valid and free now.
      debug::fatal(name.data(), generation_ > 0 ? "double free, or free after reset()" : "double free", ptr);
    }
    const std::size_t block = v.size_flags & ~flag_mask;
    if ((v.size_flags & prev_free_flag) != 0) {
      // The flag is outside the tag: check that a free block really ends right below.
      const char* below = reinterpret_cast<const char*>(h);
      std::size_t prev_size = 0;
      if (below - base_ >= static_cast<std::ptrdiff_t>(min_block)) prev_size = peek_word(below - 8);
      const auto* prev = reinterpret_cast<const Header*>(below - prev_size);
      const bool plausible = prev_size >= min_block && prev_size % granule == 0 &&
                             prev_size <= static_cast<std::size_t>(below - base_);
      if (!plausible || !tag_valid(prev, peek(prev), generation_) ||
          (peek(prev).size_flags & (allocated_flag | ~flag_mask)) != prev_size)
        debug::fatal(name.data(), "corrupted block header (PREV_FREE set, but no free block below)", ptr);
    }
    if (size > block - header_size - debug::guard_bytes)
      debug::fatal(name.data(), "deallocate() size is larger than the block handed out", ptr);
    if constexpr (debug::guard_bytes != 0) {
      debug::unpoison(p + size, debug::guard_bytes);
      for (std::size_t i = 0; i < debug::guard_bytes; ++i)
        if (static_cast<unsigned char>(p[size + i]) != debug::guard_pattern)
          debug::fatal(name.data(), "guard bytes overwritten: write past the end of the block", ptr);
    }
  }

  mutable std::mutex mutex_;
  bool owned_ = true;
  char* region_ = nullptr;  // as obtained; base_ is its first granule-aligned byte
  char* base_ = nullptr;
  char* end_ = nullptr;
  std::size_t region_size_ = 0;
  std::size_t capacity_ = 0;
  std::size_t generation_ = 0;
  Header* bins_[bin_count] = {};
  std::uint64_t bitmap_[words] = {};
  std::size_t free_count_ = 0;
  std::size_t used_ = 0;
  std::size_t peak_ = 0;
  std::size_t allocations_ = 0;
  std::size_t deallocations_ = 0;
  std::size_t failed_ = 0;
  std::size_t requested_ = 0;
};

static_assert(Allocator<CoalescingPool>);

}  // namespace alloclab
