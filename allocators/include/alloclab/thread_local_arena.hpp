// alloclab/thread_local_arena.hpp — every thread bumps in its own blocks from a shared upstream.
//
// Design: each (thread, arena) pair has a ThreadState — a cursor and an end inside a block of
// the arena's. A thread finds its state through a one-entry thread_local cache keyed by the
// arena's id (ids are never reused, so a cache entry of a destroyed arena can never match), so
// the fast path is a plain pointer bump: no lock, no atomic read-modify-write, no hash lookup.
// The cursor and end of the cached state live in the cache itself (see
// ThreadLocalArenaFastCache). Everything else — a new block, a second arena used by the same
// thread, a thread's first request — is the slow path: a thread's own spare blocks without a
// lock, the rest under the arena's mutex.
// Each state keeps the blocks it used: after reset() a thread bumps through its own blocks
// again, still warm in its core's cache, instead of blocks another core wrote last.
//
// Why not oneTBB's enumerable_thread_specific: its local() is a hash lookup on the thread id
// (and a call) on every request; the one-entry cache is two loads and a compare, which keeps
// the fast path close to a bare pointer bump.
//
// Lifetime: when a thread exits, its states are retired to their arenas (if still alive) and
// the next new thread adopts one — its partly used block included — so short-lived threads
// leave nothing stranded. A thread_local destroyed after that hand-back (one constructed
// before the thread's first request) may still allocate: the thread is then served under the
// arena's lock from one state shared by exiting threads (as thread_cached_pool serves such a
// thread from its pool), never from the list that died. reset() and release() cover every
// thread's blocks; both, like
// stats(), capacity(), remaining() and used(), require quiescence (no thread allocating; the
// caller's join or barrier orders it).
// Several arenas can live at once; a thread alternating between them pays a short linear
// search of its own (arena, state) list on each switch; entries of arenas that died are
// dropped from that list as it grows.
//
// Fast path cost: the id compare against the one-entry cache, the request checks (folded
// where the size's range is known), the cursor/end loads, align, bound check, one store of the
// cursor — all at fixed %fs-relative addresses, as in a bare thread-local bump: a few
// instructions more than the bump_limit reference (counted per operation in the README,
// Results).
//
// Statistics: bytes reserved is derived from the cursors when stats() is read, so it costs the
// fast path nothing. The per-request counters (allocations, bytes requested) are two more
// read-modify-writes per request — the stores a bare bump is bound by, so they cost a large
// share of its speed — so they are kept only when instantiated with Counting::on (as the
// atomic arena does); the driver runs ThreadLocalArena, uncounted.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/block_chain.hpp"
#include "alloclab/block_source.hpp"
#include "alloclab/debug.hpp"

namespace alloclab {

namespace detail {

struct ThreadLocalArenaFastCache;

// One thread's bump state in one arena. Written only by its thread while it allocates, and by
// reset()/release() under quiescence. While the thread's fast cache holds this state
// (cached_in set), the cursor and end there are the true ones and these two are stale.
struct alignas(cache_line_size) ThreadLocalArenaThreadState {
  char* cursor = nullptr;
  char* end = nullptr;
  ThreadLocalArenaFastCache* cached_in = nullptr;
  ChainBlock* current = nullptr;
  // Standard blocks this state bumps through (current among them), and those a reset() freed:
  // a thread reuses its own blocks first, still warm in its core's cache. Like the cursor,
  // written by the owning thread alone (no lock) or under quiescence: reset(), release(),
  // stats() and adoption after the owner's exit (under the arena's mutex).
  BlockList blocks;
  BlockList spare;
  std::size_t allocations = 0;  // Counting::on only
  std::size_t requested = 0;    // Counting::on only
  std::size_t reserved = 0;     // in blocks this state has left; the current one: cursor - data()
  std::size_t failed = 0;
};

// The fast path's cache: the arena it belongs to and that arena's cursor and end for this
// thread, kept here rather than in the ThreadLocalArenaThreadState so that the fast path reads
// and writes fixed %fs-relative addresses, as a bare thread-local bump does. (Through a pointer
// loaded from TLS the cursor's store-to-load chain is not renamed by the CPU, and the arena ran
// well below bump_limit; here it runs like it.) Trivially constructible and destructible: no
// TLS guard.
struct ThreadLocalArenaFastCache {
  std::uint64_t arena_id;
  char* cursor;
  char* end;
  ThreadLocalArenaThreadState* state;
};
inline constinit thread_local ThreadLocalArenaFastCache thread_local_arena_fast_cache{0, nullptr, nullptr,
                                                                                  nullptr};
// Set once this thread's list of states is destroyed (thread exit): an arena used by a later
// thread-exit handler (a thread_local destroyed after that list) then serves the thread from
// its shared exit state under its lock, instead of touching the dead list. Trivial: readable
// at any point of the thread's exit.
inline constinit thread_local bool thread_local_arena_thread_exiting = false;

// The part of an arena that thread exit and arena switches need: states handed back.
class ThreadLocalArenaCore {
 public:
  virtual ~ThreadLocalArenaCore() = default;
  void retire(ThreadLocalArenaThreadState* s) {
    std::lock_guard lock(mutex_);
    retired_.push_back(s);
  }
  // The fast cache's cursor goes back into its state (the thread leaves this arena's cache).
  void park(const ThreadLocalArenaFastCache& fc) {
    std::lock_guard lock(mutex_);
    fc.state->cursor = fc.cursor;
    fc.state->end = fc.end;
    fc.state->cached_in = nullptr;
  }

 protected:
  mutable std::mutex mutex_;
  std::vector<ThreadLocalArenaThreadState*> retired_;
};

// Live arenas by id, so a thread exiting after its arena died does not touch freed memory.
// Leaked on purpose: threads may exit during static destruction.
struct ThreadLocalArenaRegistry {
  std::mutex mutex;
  std::unordered_map<std::uint64_t, ThreadLocalArenaCore*> live;
  static ThreadLocalArenaRegistry& instance() {
    static auto* registry = new ThreadLocalArenaRegistry;
    return *registry;
  }
};

inline std::uint64_t next_thread_local_arena_id() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// Empties this thread's fast cache, writing its cursor back if its arena still lives (the
// registry's mutex keeps that arena from being destroyed meanwhile).
inline void thread_local_arena_park_fast_cache() noexcept {
  ThreadLocalArenaFastCache& fc = thread_local_arena_fast_cache;
  if (fc.state != nullptr) {
    ThreadLocalArenaRegistry& r = ThreadLocalArenaRegistry::instance();
    std::lock_guard lock(r.mutex);
    auto it = r.live.find(fc.arena_id);
    if (it != r.live.end()) it->second->park(fc);
  }
  fc = {0, nullptr, nullptr, nullptr};
}

// Every (arena id, state) this thread owns; its destructor retires them at thread exit.
struct ThreadLocalArenaThreadStates {
  std::vector<std::pair<std::uint64_t, ThreadLocalArenaThreadState*>> owned;
  std::size_t prune_at = 8;  // owned.size() at which entries of dead arenas are dropped
  // Drops the entries of arenas that died (their states died with them), so that a long-lived
  // thread using many short-lived arenas keeps a short list. Amortised: the next prune waits
  // until the list has doubled.
  void prune_dead() {
    {
      ThreadLocalArenaRegistry& r = ThreadLocalArenaRegistry::instance();
      std::lock_guard lock(r.mutex);
      std::erase_if(owned, [&](const auto& entry) { return !r.live.contains(entry.first); });
    }
    prune_at = std::max<std::size_t>(8, 2 * owned.size());
  }
  ~ThreadLocalArenaThreadStates() {
    thread_local_arena_thread_exiting = true;
    thread_local_arena_park_fast_cache();
    if (owned.empty()) return;
    ThreadLocalArenaRegistry& r = ThreadLocalArenaRegistry::instance();
    std::lock_guard lock(r.mutex);
    for (auto [id, state] : owned) {
      auto it = r.live.find(id);
      if (it != r.live.end()) it->second->retire(state);
    }
  }
};
inline thread_local ThreadLocalArenaThreadStates thread_local_arena_thread_states;

}  // namespace detail

template <BlockSource Source = HeapBlockSource, Counting CountRequests = Counting::off>
class BasicThreadLocalArena final : private detail::ThreadLocalArenaCore {
  using State = detail::ThreadLocalArenaThreadState;
  using FastCache = detail::ThreadLocalArenaFastCache;

 public:
  static constexpr bool thread_safe = true;
  static constexpr bool supports_free = false;
  static constexpr std::string_view name = "thread_local_arena";
  static constexpr std::string_view description = "per-thread bump in blocks from a shared upstream";
  // The same arena with or without per-request counters.
  template <Counting C>
  using with_counting = BasicThreadLocalArena<Source, C>;
  static constexpr std::size_t default_block_size = 64 * 1024;
  // Requests the fast path takes (the rest go through the slow path's exact checks).
  static constexpr std::size_t fast_max_size = std::size_t{1} << 30;
  static constexpr std::size_t fast_max_alignment = 4096;

  explicit BasicThreadLocalArena(std::size_t block_size = default_block_size,
                                 Source source = Source{})
      : source_(std::move(source)), block_size_(std::max<std::size_t>(block_size, 64)) {
    detail::ThreadLocalArenaRegistry& r = detail::ThreadLocalArenaRegistry::instance();
    std::lock_guard lock(r.mutex);
    r.live.emplace(id_, static_cast<detail::ThreadLocalArenaCore*>(this));
  }
  BasicThreadLocalArena(const BasicThreadLocalArena&) = delete;
  BasicThreadLocalArena& operator=(const BasicThreadLocalArena&) = delete;
  ~BasicThreadLocalArena() override {
    {
      detail::ThreadLocalArenaRegistry& r = detail::ThreadLocalArenaRegistry::instance();
      std::lock_guard lock(r.mutex);
      r.live.erase(id_);
    }
    // Threads whose fast cache still names this arena never read it again (ids are not
    // reused), and may have exited: their caches are not written.
    std::lock_guard lock(mutex_);
    reset_locked(false);
    delete_spare_locked();
  }

  [[nodiscard]] void* allocate(std::size_t size,
                               std::size_t alignment = default_alignment) noexcept {
    [[maybe_unused]] const auto inside = in_flight_.enter();  // checked builds only
    FastCache& cache = detail::thread_local_arena_fast_cache;
    // Zero, huge or oddly aligned requests, and any that do not fit, get the exact checks of
    // the slow path. Written as is_valid_request() plus upper bounds, so that a compiler that
    // knows the size's range (a constant, a byte of a table) drops what it can prove.
    if (cache.arena_id == id_ && is_valid_request(size, alignment) && size <= fast_max_size &&
        alignment <= fast_max_alignment) [[likely]] {
      char* const p = reinterpret_cast<char*>(align_up(reinterpret_cast<std::uintptr_t>(cache.cursor), alignment));
      // Signed: aligning may step past the end. Both sides are far below PTRDIFF_MAX.
      if (cache.end - p >= static_cast<std::ptrdiff_t>(size + debug::guard_bytes)) [[likely]] {
        commit(cache, *cache.state, p, size);
        return p;
      }
    }
    return allocate_slow(size, alignment);
  }

  void deallocate(void* /*p*/, std::size_t /*size*/) noexcept {}

  // Quiescent (checked builds abort when a thread is inside allocate()). Every thread's blocks
  // become free for reuse (one splice, plus one store per thread state); dedicated blocks go
  // upstream.
  void reset() noexcept {
    in_flight_.expect_quiescent(name.data(), "reset()");
    std::lock_guard lock(mutex_);
    reset_locked(true);
  }

  // Quiescent. reset(), then every block goes back upstream.
  void release() noexcept {
    in_flight_.expect_quiescent(name.data(), "release()");
    reset();
    std::lock_guard lock(mutex_);
    delete_spare_locked();
  }

  [[nodiscard]] std::size_t capacity() const noexcept {
    std::lock_guard lock(mutex_);
    return capacity_locked();
  }
  [[nodiscard]] std::size_t remaining() const noexcept {
    std::lock_guard lock(mutex_);
    return remaining_locked();
  }
  [[nodiscard]] std::size_t used() const noexcept {
    std::lock_guard lock(mutex_);
    return used_locked();
  }
  [[nodiscard]] std::size_t block_size() const noexcept { return block_size_; }
  // Thread states created so far (threads that allocated, less those adopted after an exit).
  [[nodiscard]] std::size_t thread_states() const noexcept {
    std::lock_guard lock(mutex_);
    return states_.size();
  }

  [[nodiscard]] AllocatorStats stats() const noexcept {
    std::lock_guard lock(mutex_);
    AllocatorStats s;
    s.capacity = capacity_locked();
    s.remaining = remaining_locked();
    s.used = s.capacity - s.remaining;
    s.peak_used = std::max(peak_, s.used);
    s.failed_allocations = failed_;
    for (const auto& t : states_) {
      s.allocations += t->allocations;
      s.bytes_requested += t->requested;
      s.bytes_reserved += t->reserved + reserved_in_current(*t);
      s.failed_allocations += t->failed;
    }
    s.counted = CountRequests == Counting::on;
    s.blocks = dedicated_.count() + recycled_.count();
    for (const auto& t : states_) s.blocks += t->blocks.count() + t->spare.count();
    return s;
  }

 private:
  // Hands out [p, p + size) from the thread's cached cursor.
  static void commit(FastCache& fc, State& s, char* p, std::size_t size) noexcept {
    fc.cursor = p + size + debug::guard_bytes;
    count(s, size);
    debug::on_allocate(p, size);
  }
  static void count(State& s, std::size_t size) noexcept {
    if constexpr (CountRequests == Counting::on) {
      ++s.allocations;
      s.requested += size;
    } else {
      (void)s;
      (void)size;
    }
  }
  // The current block's bytes handed out (padding and guards included): the cursor only moves
  // forward from the block's start.
  [[nodiscard]] static std::size_t reserved_in_current(const State& s) noexcept {
    return s.current != nullptr ? static_cast<std::size_t>(cursor_of(s) - s.current->data()) : 0;
  }

  void reset_locked(bool clear_thread_caches) noexcept {
    peak_ = std::max(peak_, used_locked());
    delete_chain_blocks(source_, dedicated_);
    for (auto& s : states_) {
      s->blocks.release_data();
      s->spare.splice(s->blocks);  // O(1) in the blocks held
      // Quiescent: the owning thread is not allocating, so its fast cache may be written.
      if (clear_thread_caches && s->cached_in != nullptr) s->cached_in->cursor = s->cached_in->end = nullptr;
      s->cursor = s->end = nullptr;
      s->current = nullptr;
      s->requested = s->reserved = 0;
    }
    // States of exited threads keep their partly used block for an adopter; their spare
    // blocks go where every thread can have them.
    for (auto* s : retired_) recycled_.splice(s->spare);
  }

  void delete_spare_locked() noexcept {
    delete_chain_blocks(source_, recycled_);
    for (auto& s : states_) delete_chain_blocks(source_, s->spare);
  }

  [[nodiscard]] std::size_t capacity_locked() const noexcept {
    std::size_t c = dedicated_.capacity() + recycled_.capacity();
    for (const auto& s : states_) c += s->blocks.capacity() + s->spare.capacity();
    return c;
  }

  // A state's true cursor and end: in its thread's fast cache while it is cached there.
  [[nodiscard]] static char* cursor_of(const State& s) noexcept {
    return s.cached_in != nullptr ? s.cached_in->cursor : s.cursor;
  }
  [[nodiscard]] static char* end_of(const State& s) noexcept {
    return s.cached_in != nullptr ? s.cached_in->end : s.end;
  }

  [[nodiscard]] std::size_t remaining_locked() const noexcept {
    std::size_t r = recycled_.capacity();
    for (const auto& s : states_) r += s->spare.capacity() + static_cast<std::size_t>(end_of(*s) - cursor_of(*s));
    return r;
  }
  [[nodiscard]] std::size_t used_locked() const noexcept {
    return capacity_locked() - remaining_locked();
  }

  // This thread's state in this arena, created (or adopted from an exited thread) on first use.
  [[nodiscard]] State* find_or_create_state() noexcept {
    auto& owned = detail::thread_local_arena_thread_states.owned;
    for (auto& [id, state] : owned) {
      if (id == id_) return cache_state(state);
    }
    try {
      auto& states = detail::thread_local_arena_thread_states;
      if (owned.size() >= states.prune_at) states.prune_dead();
      owned.reserve(owned.size() + 1);  // so the push_back below cannot throw
      State* state = nullptr;
      {
        std::lock_guard lock(mutex_);
        if (!retired_.empty()) {
          state = retired_.back();
          retired_.pop_back();
        } else {
          states_.push_back(std::make_unique<State>());
          state = states_.back().get();
        }
      }
      owned.emplace_back(id_, state);
      return cache_state(state);
    } catch (...) {  // std::bad_alloc from the registry's containers: report as exhaustion
      return nullptr;
    }
  }

  // Makes `state` the one in this thread's fast cache, writing back the one there before.
  State* cache_state(State* state) noexcept {
    detail::thread_local_arena_park_fast_cache();
    std::lock_guard lock(mutex_);
    state->cached_in = &detail::thread_local_arena_fast_cache;
    detail::thread_local_arena_fast_cache = {id_, state->cursor, state->end, state};
    return state;
  }

  // A request the slow path refuses before any arithmetic on it (see max_request_size).
  [[nodiscard]] static bool acceptable(std::size_t size, std::size_t alignment) noexcept {
    return is_valid_request(size, alignment) && size <= max_request_size - debug::guard_bytes &&
           alignment <= max_request_size;
  }

  [[gnu::noinline]] void* allocate_slow(std::size_t size, std::size_t alignment) noexcept {
    if (detail::thread_local_arena_thread_exiting) [[unlikely]] return allocate_at_thread_exit(size, alignment);
    FastCache& fc = detail::thread_local_arena_fast_cache;
    State* s = fc.arena_id == id_ ? fc.state : find_or_create_state();
    if (s == nullptr || !acceptable(size, alignment)) {
      if (s != nullptr) {
        ++s->failed;
      } else {
        std::lock_guard lock(mutex_);
        ++failed_;
      }
      return nullptr;
    }
    // From here this arena's state is in the fast cache: its cursor and end are fc's.
    const std::size_t need = size + debug::guard_bytes;
    if (char* p = fit_in(fc.cursor, fc.end, need, alignment)) {  // only the cache had missed
      commit(fc, *s, p, size);
      return p;
    }
    char* p = allocate_in_new_block(*s, fc.cursor, fc.end, size, alignment, /*locked=*/false);
    if (p == nullptr) ++s->failed;
    return p;
  }

  // A thread whose list of states is gone (a thread_local destroyed after it, at thread exit)
  // is served under the lock from one state shared by all such threads, never cached: the
  // exit path of a thread is no fast path.
  [[gnu::cold, gnu::noinline]] void* allocate_at_thread_exit(std::size_t size, std::size_t alignment) noexcept {
    std::lock_guard lock(mutex_);
    State* s = exit_state_locked();
    if (s == nullptr || !acceptable(size, alignment)) {
      ++(s != nullptr ? s->failed : failed_);
      return nullptr;
    }
    const std::size_t need = size + debug::guard_bytes;
    if (char* p = fit_in(s->cursor, s->end, need, alignment)) {
      s->cursor = p + need;
      count(*s, size);
      debug::on_allocate(p, size);
      return p;
    }
    char* p = allocate_in_new_block(*s, s->cursor, s->end, size, alignment, /*locked=*/true);
    if (p == nullptr) ++s->failed;
    return p;
  }

  // The state of exiting threads (see allocate_at_thread_exit), made on first use; nullptr if
  // no memory could be had for it. Requires mutex_.
  State* exit_state_locked() noexcept {
    if (exit_state_ == nullptr) {
      try {
        states_.push_back(std::make_unique<State>());
        exit_state_ = states_.back().get();
      } catch (...) {  // std::bad_alloc: report as exhaustion
        return nullptr;
      }
    }
    return exit_state_;
  }

  // Serves a request that the state's current block cannot: from a block of its own, or from
  // the state's next standard block (which becomes its current one). `cursor` and `end` are
  // where the state's true cursor and end live (its thread's fast cache, or the state itself);
  // `locked`: the caller holds mutex_. nullptr (nothing changed) when no block can be had.
  char* allocate_in_new_block(State& s, char*& cursor, char*& end, std::size_t size,
                              std::size_t alignment, bool locked) noexcept {
    const std::size_t need = size + debug::guard_bytes;
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    // A standard block when the request fits one whatever the block's address (the padding
    // counted from where its data starts: chain_data_padding); a block of its own otherwise.
    if (!fits_chain_block(need, alignment, block_size_)) {
      const std::size_t data = dedicated_chain_data(need, alignment);
      if (data == 0) return nullptr;
      if (!locked) lock.lock();
      ChainBlock* b = new_chain_block(source_, data);
      if (b == nullptr) return nullptr;
      b->used = b->capacity;
      dedicated_.push(b);
      if (lock.owns_lock()) lock.unlock();
      char* p = fit_in(b->data(), b->end(), need, alignment);
      s.reserved += b->capacity;
      count(s, size);
      debug::on_allocate(p, size);
      return p;
    }
    // This thread's own spare blocks first, without the lock (see ThreadLocalArenaThreadState):
    // after a reset every thread of a shared arena needs blocks at the same moment, and taking
    // the lock here made this path markedly slower at 2 threads.
    ChainBlock* b = s.spare.pop();
    if (b == nullptr) {
      if (!locked) lock.lock();
      b = recycled_.pop();
      if (b == nullptr) b = new_chain_block(source_, block_size_);
      if (b == nullptr) return nullptr;
      if (lock.owns_lock()) lock.unlock();
    }
    b->used = 0;
    s.blocks.push(b);
    if (s.current != nullptr) {
      s.current->used = static_cast<std::size_t>(cursor - s.current->data());
      s.reserved += s.current->used;
    }
    s.current = b;
    char* p = fit_in(b->data(), b->end(), need, alignment);
    end = b->end();
    cursor = p + need;
    count(s, size);
    debug::on_allocate(p, size);
    return p;
  }

  const std::uint64_t id_ = detail::next_thread_local_arena_id();
  Source source_;
  std::size_t block_size_;
  // Guarded by mutex_ (inherited from ThreadLocalArenaCore):
  std::vector<std::unique_ptr<State>> states_;
  State* exit_state_ = nullptr;  // among states_: serves threads past their exit (see above)
  BlockList dedicated_;  // blocks of one oversized request each
  BlockList recycled_;   // standard blocks free for any thread (spares of exited threads)
  std::size_t peak_ = 0;
  std::size_t failed_ = 0;
  [[no_unique_address]] debug::InFlight in_flight_;
};

using ThreadLocalArena = BasicThreadLocalArena<HeapBlockSource, Counting::off>;
static_assert(Allocator<BasicThreadLocalArena<HeapBlockSource, Counting::on>>);
static_assert(Allocator<ThreadLocalArena>);

}  // namespace alloclab
