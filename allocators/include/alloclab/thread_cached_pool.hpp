// alloclab/thread_cached_pool.hpp — coalescing_pool behind small per-thread caches.
//
// Why a second pool: coalescing_pool takes its mutex on every allocate and deallocate. An
// uncontended lock/unlock pair alone costs about as much as a whole glibc malloc/free (whose
// tcache takes no lock), and with two threads the pool's one mutex serialises them. That is
// the design's floor, so the variant that reaches the targets is this one, layered on the
// unchanged pool (as glibc puts its tcache in front of its arenas):
//
//   thread cache (per thread, per pool)  --miss / overflow, one lock per batch-->  CoalescingPool
//
// Each thread keeps, per 16-byte size class up to max_cached bytes, a short LIFO list of blocks
// it freed. allocate() pops from it, deallocate() pushes onto it — no lock, no atomic RMW.
// An empty list is refilled with `batch` blocks from the pool under one lock; a full one
// gives `batch` back under one lock. Larger or over-aligned requests go straight to the pool.
// Blocks freed by another thread land in that thread's cache (every block belongs to the one
// pool, so any thread may reuse it): cross-thread free is supported.
//
// Fast path cost: two %fs-relative loads of the one-entry cache, the id compare, the class
// index, the list head, two stores (head and the bin's pop or push count; a free also loads
// the other count, for the limit): per `mixed` operation fewer instructions than glibc malloc
// and far fewer than the bare coalescing_pool (counted per operation in the README, Results). Where frees come in bursts larger than
// the cache (`small` frees a whole round at once) the batches go back to the pool under its
// lock and the advantage shrinks.
//
// Memory: up to cache_limit blocks per class and thread sit in caches, counted as used by the
// pool (they are: no one else can have them) but not as requested — the overhead ratio shows
// what caching costs. Requests are made from the pool at their class size (a multiple of 16),
// so bytes requested count class sizes. Calls are counted as stats.hpp defines them — one
// allocate() one allocation or one failure, one deallocate() one deallocation — whether a cache
// or the pool served them: the batches between caches and pool are no calls (the pool counts
// none for them, and each bin's monotonic push and pop counts, less that traffic, give the
// calls its cache served, so counting costs the fast path nothing).
//
// Lifetime: a thread's cache is shared (shared_ptr) by the thread and the pool. At thread exit
// the cache is marked orphaned, and the next new thread adopts it, blocks included, so
// short-lived threads strand nothing. If the pool dies first, the thread only drops its
// reference. reset() and stats() require quiescence, as for every allocator here (not checked:
// checked builds bypass the caches, and the pool's lock orders the rest).
//
// As the process heap (the malloc shim): its own bookkeeping (a thread's cache, the list of
// caches) is allocated with operator new, which then comes back here. A thread inside that
// bookkeeping is served by the pool directly (thread_cached_pool_building below), and
// prepare_fork()/after_fork_*() keep fork() from a threaded program safe.
//
// Checked builds (ALLOCLAB_CHECKED=1) bypass the caches: every call reaches the pool, whose
// validation then sees every free (a double free into a cache would otherwise go unseen).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/coalescing_pool.hpp"
#include "alloclab/debug.hpp"

namespace alloclab {

namespace detail {

struct ThreadCachedPoolCache {
  static constexpr std::size_t classes = 64;  // 16, 32, ..., 1024 bytes
  // A LIFO list of cached blocks, linked through each block's first word. ASan keeps a cached
  // block poisoned whole, so the two functions that touch the link are exempt.
  struct Bin {
    void* head = nullptr;
    // Blocks ever pushed and popped; the bin holds pushed - popped. Monotonic, so that the
    // calls the cache served are read from them (stats()) at no cost to the fast path, which
    // stores one of them per call as it would store a count. Written only by the owning thread
    // (or under quiescence); atomic (relaxed: plain loads and stores) so that stats() may read
    // them without a data race.
    std::atomic<std::uint64_t> pushed{0};
    std::atomic<std::uint64_t> popped{0};

    [[nodiscard]] std::uint32_t count() const noexcept {
      return static_cast<std::uint32_t>(pushed.load(std::memory_order_relaxed) -
                                        popped.load(std::memory_order_relaxed));
    }
    // Requires head != nullptr (checked builds abort otherwise).
    [[gnu::no_sanitize_address]] void* pop() noexcept {
      if constexpr (debug::checked) {
        if (head == nullptr) debug::fatal("thread_cached_pool", "pop() from an empty cache bin", this);
      }
      void* p = head;
      head = *static_cast<void**>(p);
      popped.store(popped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      return p;
    }
    // `pushed_now`: `pushed`, already read by the caller.
    [[gnu::no_sanitize_address]] void push(void* p, std::uint64_t pushed_now) noexcept {
      *static_cast<void**>(p) = head;
      head = p;
      pushed.store(pushed_now + 1, std::memory_order_relaxed);
    }
    void push(void* p) noexcept { push(p, pushed.load(std::memory_order_relaxed)); }
  };
  explicit ThreadCachedPoolCache(std::uint64_t id) noexcept : pool_id(id) {}
  const std::uint64_t pool_id;
  std::array<Bin, classes> bins{};
  // The pushes and pops of the bins that were no caller's call — a refill's blocks pushed;
  // a flush's, trim()'s and reset()'s pops — and the calls a refill served directly (its first
  // block is handed out without a push or a pop). Calls served from this cache:
  //   allocations   = sum(popped) - traffic_popped + refill_served
  //   deallocations = sum(pushed) - traffic_pushed
  // Slow paths only; written as the bins are.
  std::atomic<std::uint64_t> traffic_pushed{0};
  std::atomic<std::uint64_t> traffic_popped{0};
  std::atomic<std::uint64_t> refill_served{0};

  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::atomic<bool> orphaned{false};   // its thread exited; a new thread may adopt it
  std::atomic<bool> pool_dead{false};  // its pool was destroyed; drop it
};

// The fast path's one-entry cache: trivial, so reading it is one %fs-relative load each.
struct ThreadCachedPoolFastCache {
  std::uint64_t pool_id;
  ThreadCachedPoolCache* cache;
};
inline constinit thread_local ThreadCachedPoolFastCache thread_cached_pool_fast_cache{0, nullptr};
// Set once this thread's cache list is destroyed (thread exit): a pool used by a later
// thread-exit handler then serves the thread directly instead of touching the dead list.
inline constinit thread_local bool thread_cached_pool_thread_exiting = false;
// Set while this thread builds or registers a cache: an allocation made by that bookkeeping
// (which may reach this pool again when the pool is the heap) is served by the pool directly.
inline constinit thread_local bool thread_cached_pool_building = false;

// The caches this thread uses; at thread exit each is handed back to its pool for adoption.
struct ThreadCachedPoolThreadCaches {
  std::vector<std::shared_ptr<ThreadCachedPoolCache>> owned;
  ~ThreadCachedPoolThreadCaches() {
    thread_cached_pool_fast_cache = {0, nullptr};
    thread_cached_pool_thread_exiting = true;
    for (auto& c : owned) c->orphaned.store(true, std::memory_order_release);
  }
};
inline thread_local ThreadCachedPoolThreadCaches thread_cached_pool_thread_caches;

inline std::uint64_t next_thread_cached_pool_id() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace detail

class ThreadCachedPool {
 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = true;
  static constexpr std::string_view name = "thread_cached_pool";
  static constexpr std::string_view description = "coalescing_pool behind per-thread caches of small freed blocks";

  static constexpr std::size_t granule = CoalescingPool::granule;
  static constexpr std::size_t max_cached = detail::ThreadCachedPoolCache::classes * granule;  // 1 KiB
  static constexpr std::uint32_t cache_limit = 32;  // blocks per class and thread
  static constexpr std::uint32_t batch = 16;        // blocks moved per lock of the pool

  explicit ThreadCachedPool(std::size_t capacity) noexcept : pool_(capacity) {}
  // Over a caller-owned region (see CoalescingPool(MemoryBlock)).
  explicit ThreadCachedPool(MemoryBlock region) noexcept : pool_(region) {}
  ThreadCachedPool(const ThreadCachedPool&) = delete;
  ThreadCachedPool& operator=(const ThreadCachedPool&) = delete;
  ~ThreadCachedPool() {
    std::lock_guard lock(mutex_);
    for (auto& c : caches_) c->pool_dead.store(true, std::memory_order_release);
  }

  [[nodiscard]] void* allocate(std::size_t size,
                               std::size_t alignment = default_alignment) noexcept {
    if constexpr (!debug::checked) {
      const detail::ThreadCachedPoolFastCache fast = detail::thread_cached_pool_fast_cache;
      // size - 1 wraps for 0, which then takes the slow path and fails there.
      if (fast.pool_id == id_ && size - 1 < max_cached && alignment <= granule &&
          alignment != 0 && (alignment & (alignment - 1)) == 0) [[likely]] {
        detail::ThreadCachedPoolCache::Bin& bin = fast.cache->bins[class_index(size)];
        if (bin.head != nullptr) [[likely]] {
          void* p = bin.pop();
          debug::on_allocate(p, size);
          return p;
        }
      }
    }
    return allocate_slow(size, alignment);
  }

  void deallocate(void* p, std::size_t size) noexcept {
    if constexpr (!debug::checked) {
      const detail::ThreadCachedPoolFastCache fast = detail::thread_cached_pool_fast_cache;
      if (fast.pool_id == id_ && p != nullptr && size - 1 < max_cached) [[likely]] {
        detail::ThreadCachedPoolCache::Bin& bin = fast.cache->bins[class_index(size)];
        const std::uint64_t pushed = bin.pushed.load(std::memory_order_relaxed);
        if (pushed - bin.popped.load(std::memory_order_relaxed) < cache_limit) [[likely]] {
          debug::on_release(p, class_size(size));
          bin.push(p, pushed);
          return;
        }
      }
    }
    deallocate_slow(p, size);
  }

  // The pool's, for any live block (cached blocks keep their pool headers): see CoalescingPool.
  [[nodiscard]] std::size_t usable_size(const void* p) const noexcept { return pool_.usable_size(p); }
  [[nodiscard]] bool contains(const void* p) const noexcept { return pool_.contains(p); }
  [[nodiscard]] bool resize_in_place(void* p, std::size_t old_size, std::size_t new_size) noexcept {
    return pool_.resize_in_place(p, old_size, new_size);
  }

  // fork() from a threaded program, for pthread_atfork: prepare_fork() takes both locks, the
  // parent releases them, and the child also orphans every other thread's cache (those threads
  // do not exist in the child), so that its next threads adopt their blocks instead of
  // stranding them.
  void prepare_fork() noexcept {
    mutex_.lock();
    pool_.prepare_fork();
  }
  void after_fork_in_parent() noexcept {
    pool_.after_fork();
    mutex_.unlock();
  }
  void after_fork_in_child() noexcept {
    pool_.after_fork();
    mutex_.unlock();
    // Unlocked first: finding this thread's cache may allocate (first use of its list).
    const detail::ThreadCachedPoolCache* mine = nullptr;
    if (!detail::thread_cached_pool_thread_exiting) {
      for (const auto& c : detail::thread_cached_pool_thread_caches.owned)
        if (c->pool_id == id_) mine = c.get();
    }
    std::lock_guard lock(mutex_);
    for (auto& c : caches_)
      if (c.get() != mine) c->orphaned.store(true, std::memory_order_release);
  }

  // Quiescent. Every cache is emptied (its blocks go with the pool's reset).
  void reset() noexcept {
    {
      std::lock_guard lock(mutex_);
      for (auto& c : caches_) {
        for (auto& bin : c->bins) {
          const std::uint32_t held = bin.count();
          bin.head = nullptr;
          bin.popped.store(bin.pushed.load(std::memory_order_relaxed), std::memory_order_relaxed);
          detail::ThreadCachedPoolCache::add(c->traffic_popped, held);
        }
      }
    }
    pool_.reset();
  }

  // Gives the calling thread's cached blocks back to the pool (for a thread about to idle, or
  // before reading the pool's free space).
  void trim() noexcept {
    if (detail::thread_cached_pool_fast_cache.pool_id != id_ && this_thread_cache() == nullptr) return;
    detail::ThreadCachedPoolCache& cache = *detail::thread_cached_pool_fast_cache.cache;
    for (std::size_t k = 0; k < detail::ThreadCachedPoolCache::classes; ++k) {
      detail::ThreadCachedPoolCache::Bin& bin = cache.bins[k];
      while (bin.head != nullptr) {  // one lock per class (a bin holds at most cache_limit)
        std::array<void*, cache_limit> out{};
        std::size_t n = 0;
        while (bin.head != nullptr && n < out.size()) out[n++] = bin.pop();
        detail::ThreadCachedPoolCache::add(cache.traffic_popped, n);
        pool_.deallocate_batch(out.data(), n, (k + 1) * granule);  // the pool unpoisons them
      }
    }
  }

  // Quiescent. reset(), then the pool's memory goes back upstream.
  void release() noexcept {
    reset();
    pool_.release();
  }

  // The pool's statistics, with the blocks sitting in caches counted as used but not as
  // requested, and the calls counted as stats.hpp defines them: one allocate() call is one
  // allocation or one failure, one deallocate() one deallocation, whether a cache or the pool
  // served it — the batches moving blocks between them are no calls (quiescent for exact
  // figures).
  [[nodiscard]] AllocatorStats stats() const noexcept {
    AllocatorStats s = pool_.stats();  // the calls that reached the pool directly
    std::size_t cached = 0;
    std::uint64_t served = 0;
    std::uint64_t taken = 0;
    std::lock_guard lock(mutex_);
    for (const auto& c : caches_) {
      for (std::size_t k = 0; k < detail::ThreadCachedPoolCache::classes; ++k) {
        const detail::ThreadCachedPoolCache::Bin& bin = c->bins[k];
        cached += bin.count() * (k + 1) * granule;
        served += bin.popped.load(std::memory_order_relaxed);
        taken += bin.pushed.load(std::memory_order_relaxed);
      }
      served += c->refill_served.load(std::memory_order_relaxed) - c->traffic_popped.load(std::memory_order_relaxed);
      taken -= c->traffic_pushed.load(std::memory_order_relaxed);
    }
    s.allocations += static_cast<std::size_t>(served);
    s.deallocations += static_cast<std::size_t>(taken);
    s.failed_allocations += failed_.load(std::memory_order_relaxed);
    s.bytes_requested -= std::min(cached, s.bytes_requested);
    return s;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return pool_.capacity(); }
  [[nodiscard]] std::size_t used() const noexcept { return pool_.used(); }
  [[nodiscard]] std::size_t remaining() const noexcept { return pool_.remaining(); }
  // The pool underneath (its free blocks do not include those parked in caches).
  [[nodiscard]] const CoalescingPool& pool() const noexcept { return pool_; }
  // Caches created so far (threads that used the pool, less those adopted after an exit).
  [[nodiscard]] std::size_t thread_caches() const noexcept {
    std::lock_guard lock(mutex_);
    return caches_.size();
  }

 private:
  // A request's size class: its block size, and the index of its bin.
  static constexpr std::size_t class_size(std::size_t size) noexcept { return align_up(size, granule); }
  static constexpr std::size_t class_index(std::size_t size) noexcept { return (size - 1) / granule; }

  // This thread's cache for this pool: found in its list, adopted from an exited thread, or
  // created. nullptr if no memory could be had for one (the caller goes to the pool).
  [[gnu::noinline]] detail::ThreadCachedPoolCache* this_thread_cache() noexcept {
    if (detail::thread_cached_pool_thread_exiting || detail::thread_cached_pool_building) return nullptr;
    struct Building {  // the flag is cleared on every return below
      Building() noexcept { detail::thread_cached_pool_building = true; }
      ~Building() { detail::thread_cached_pool_building = false; }
    } building;
    auto& owned = detail::thread_cached_pool_thread_caches.owned;
    for (auto& c : owned) {
      if (c->pool_id == id_) {
        detail::thread_cached_pool_fast_cache = {id_, c.get()};
        return c.get();
      }
    }
    try {
      // Caches of destroyed pools are dropped here, so a long-lived thread's list does not grow.
      std::erase_if(owned, [](const auto& c) { return c->pool_dead.load(std::memory_order_acquire); });
      owned.reserve(owned.size() + 1);  // so the push_back below cannot throw
      std::shared_ptr<detail::ThreadCachedPoolCache> cache;
      {
        std::lock_guard lock(mutex_);
        for (auto& c : caches_) {
          bool expected = true;
          if (c->orphaned.compare_exchange_strong(expected, false, std::memory_order_acq_rel)) {
            cache = c;
            break;
          }
        }
        if (!cache) {
          cache = std::make_shared<detail::ThreadCachedPoolCache>(id_);
          caches_.push_back(cache);
        }
      }
      owned.push_back(cache);
      detail::thread_cached_pool_fast_cache = {id_, cache.get()};
      return cache.get();
    } catch (...) {  // std::bad_alloc: no cache, the pool serves this thread directly
      return nullptr;
    }
  }

  [[gnu::noinline]] void* allocate_slow(std::size_t size, std::size_t alignment) noexcept {
    if (debug::checked || !is_valid_request(size, alignment) || size > max_cached)
      return pool_.allocate(size, alignment);
    const std::size_t block = class_size(size);
    if (alignment > granule) return pool_.allocate(block, alignment);  // cacheable when freed
    const detail::ThreadCachedPoolFastCache fast = detail::thread_cached_pool_fast_cache;
    detail::ThreadCachedPoolCache* cache = fast.pool_id == id_ ? fast.cache : this_thread_cache();
    if (cache == nullptr) return pool_.allocate(block, alignment);
    detail::ThreadCachedPoolCache::Bin& bin = cache->bins[class_index(block)];
    if (bin.head == nullptr) {
      std::array<void*, batch> got{};
      const std::size_t n = pool_.allocate_batch(block, got.data(), batch);
      if (n == 0) {  // exhausted (a batch counts no failure: this call is the one failure)
        failed_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
      }
      for (std::size_t i = 1; i < n; ++i) {
        debug::on_release(got[i], block);
        bin.push(got[i]);
      }
      detail::ThreadCachedPoolCache::add(cache->traffic_pushed, n - 1);
      detail::ThreadCachedPoolCache::add(cache->refill_served, 1);
      // The pool handed it out whole; past `size` is slack, a red zone under ASan.
      debug::poison(static_cast<char*>(got[0]) + size, block - size);
      return got[0];
    }
    void* p = bin.pop();  // only the one-entry cache had missed
    debug::on_allocate(p, size);
    return p;
  }

  [[gnu::noinline]] void deallocate_slow(void* p, std::size_t size) noexcept {
    if (p == nullptr) return;
    if (debug::checked || size == 0 || size > max_cached) {
      pool_.deallocate(p, size);
      return;
    }
    const std::size_t block = class_size(size);
    const detail::ThreadCachedPoolFastCache fast = detail::thread_cached_pool_fast_cache;
    detail::ThreadCachedPoolCache* cache = fast.pool_id == id_ ? fast.cache : this_thread_cache();
    if (cache == nullptr) {
      pool_.deallocate(p, block);
      return;
    }
    detail::ThreadCachedPoolCache::Bin& bin = cache->bins[class_index(block)];
    if (bin.count() >= cache_limit) {  // full: the oldest-pushed stay, `batch` of the newest go back
      std::array<void*, batch> out{};
      for (void*& q : out) q = bin.pop();  // (the pool unpoisons what it takes back)
      detail::ThreadCachedPoolCache::add(cache->traffic_popped, batch);
      pool_.deallocate_batch(out.data(), batch, block);
    }
    debug::on_release(p, block);
    bin.push(p);
  }

  const std::uint64_t id_ = detail::next_thread_cached_pool_id();
  CoalescingPool pool_;
  mutable std::mutex mutex_;  // guards caches_ (the pool has its own)
  std::vector<std::shared_ptr<detail::ThreadCachedPoolCache>> caches_;
  std::atomic<std::size_t> failed_{0};  // calls a refill could not serve (failures are rare)
};

static_assert(Allocator<ThreadCachedPool>);

}  // namespace alloclab
