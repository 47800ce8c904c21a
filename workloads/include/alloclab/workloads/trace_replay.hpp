// alloclab/workloads/trace_replay.hpp — `trace:FILE`: a recorded program's allocations replayed
// in-process, through the allocator contract, by as many threads as the program had.
//
// Origin: traces recorded from real programs by liballoclab_trace.so (workloads/TRACE_FORMAT.md).
//   allocbench replays glibc's dj_trace files, but only through malloc; AOSP-style replayers
//   run the threads' events one at a time in the recorded order (serialised) or each thread
//   alone (losing the order between them). Here each recorded thread is replayed by a thread
//   of its own, concurrently, and a free or realloc of an object another thread made waits
//   only until that object's allocation has been replayed: the one cross-thread order that
//   matters to an allocator (made before freed) is kept, nothing else is serialised.
// Stresses: whatever the program did — its real mix of sizes, lifetimes, reallocs, alignments,
//   bursts and cross-thread frees — against any allocator, with no virtual call per event.
// Parameters: the trace (read once per file, prepared by prepare_replay and shared read-only
//   by every case of the process); the thread count is the trace's; --touch (Touch below):
//   none, pages (default: the first cache line of each object and one write per further page
//   it covers) or all (every byte).
// Operation: one recorded event — malloc, calloc, aligned allocation, realloc or free.
// One round replays the whole trace once; each thread replays its own events in order. At the
//   end of a round each thread frees the objects it made that the trace never frees (they
//   would leak into the next round), an arena is reset (a shared one with every thread
//   stopped), and threads that hand objects to each other meet at a barrier (a round's objects
//   are named by their index, so no thread may start the next round while another still
//   frees this round's). Those end-of-round steps are inside the timed round: they are what
//   replaying a trace again costs. Nothing is live after a round, so finish() has nothing
//   left to free.
// How each event is replayed:
//   malloc, aligned   allocate(size) / allocate(size, recorded alignment).
//   calloc            the allocator's allocate_zeroed() if it has one (the malloc adapter:
//                     ::calloc, which skips zeroing fresh pages), else allocate + memset 0.
//   realloc           the allocator's reallocate() if it has one (the malloc adapter: ::realloc),
//                     else allocate + copy min(old, new) + free the old (a no-op for arenas).
//   free              deallocate(p, size); nothing for an allocator that cannot free (arenas:
//                     frees are no-ops, reported as frees_are_noops).
//   size 0            allocate(1): the contract refuses 0; the bytes written follow the
//                     recorded size, so nothing is written.
//   failed call       (the recorded call returned NULL) skipped, and counted: it made no
//                     object, and replayed against another allocator it would either fail too
//                     (indistinguishable from exhaustion) or add an object the program never
//                     had — neither measures the allocator on the program.
//   foreign free      (of an object made before the trace began, or lost with a truncated
//                     tail) skipped and counted; a realloc of one replays its allocation side.
//   alignment         as recorded for aligned requests, the default for the others.
// The replay's own memory: one 16-byte slot per object of the trace (calloc'd: its pages join
//   the RSS as the replay reaches them), in every allocator's RSS figures — `null`'s show it.
//   `null` (ScratchReference below) gets requests above its scratch at the scratch's size and
//   writes clamped to it, so that it runs every trace and its time stays the replay's own.
// Exhaustion: an allocation the program got and the allocator refuses is counted (Thread::
//   failures, first_failure), never dereferenced; the replay goes on with a null object so
//   that threads waiting for it are released. The driver skips such a case.
// Does not test: the program's own work between calls, the cache effects of the program's
//   data (only the bytes --touch writes are touched), the exact interleaving of the threads
//   (only creation-before-free across threads is kept), the recorded timing (events run back
//   to back), and calls the recorder cannot see (mmap, sbrk, allocators the program embeds).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

#include "alloclab/allocator.hpp"
#include "alloclab/trace/trace.hpp"
#include "alloclab/workloads/workload.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace alloclab::workloads {

// --- how replayed objects are written --------------------------------------------------------

enum class Touch : std::uint8_t { none, pages, all };

constexpr std::string_view touch_name(Touch t) noexcept {
  switch (t) {
    case Touch::none: return "none";
    case Touch::pages: return "pages";
    case Touch::all: return "all";
  }
  return "?";
}

inline std::optional<Touch> parse_touch(std::string_view text) noexcept {
  for (Touch t : {Touch::none, Touch::pages, Touch::all})
    if (text == touch_name(t)) return t;
  return std::nullopt;
}

// --- optional allocator members the replay uses when they exist -------------------------------

// realloc: p (allocated with old_size) resized to new_size — p, a new block (p freed), or
// nullptr (p unchanged). The malloc adapters have it (::realloc, scalable_realloc).
template <class A>
concept Reallocates = requires(A& a, void* p, std::size_t n) {
  { a.reallocate(p, n, n) } noexcept -> std::same_as<void*>;
};
// calloc: size bytes, zeroed (::calloc, which knows which pages are fresh).
template <class A>
concept AllocatesZeroed = requires(A& a, std::size_t n) {
  { a.allocate_zeroed(n) } noexcept -> std::same_as<void*>;
};
// A reference that hands out one prepared scratch buffer (harness `null`): requests above the
// scratch are made at its size, and writes are clamped to it, so that it runs every trace and
// its time stays the replay's own. It does not own what it hands out, so realloc copies nothing.
template <class A>
concept ScratchReference = requires {
  { A::scratch_bytes } -> std::convertible_to<std::size_t>;
  { A::scratch_alignment } -> std::convertible_to<std::size_t>;
};

// --- the trace prepared for replay -----------------------------------------------------------

// Bits the replay adds to trace::Op at load time (bits 60-63 are unused by trace.hpp).
namespace replay_bits {
inline constexpr std::uint64_t failed = std::uint64_t{1} << 51;
inline constexpr std::uint64_t wait = std::uint64_t{1} << 58;      // recomputed by prepare_replay
inline constexpr std::uint64_t foreign = std::uint64_t{1} << 59;
inline constexpr std::uint64_t publish = std::uint64_t{1} << 60;   // another thread frees the object made
inline constexpr std::uint64_t skip = std::uint64_t{1} << 61;      // nothing to replay (failed, foreign free)
}  // namespace replay_bits

// A Trace with what the replay needs computed once, at load time: which objects cross threads
// (their maker publishes them, their freer waits), which ops are skipped, and which objects
// each thread must free at the end of a round. Shared read-only by every case of a process.
struct ReplayPlan {
  trace::Trace trace;  // ops annotated with replay_bits
  std::vector<std::vector<std::uint32_t>> leftovers;  // per thread: objects it made and the trace never frees
  std::uint64_t events = 0;                 // ops of one replay, every thread
  std::uint64_t cross_thread_frees = 0;     // frees and reallocs of an object another thread made
  std::uint64_t failed_skipped = 0;         // recorded calls that returned NULL
  std::uint64_t foreign_skipped = 0;        // frees of objects not in the trace
  std::uint64_t over_aligned = 0;           // aligned requests above default_alignment
  std::size_t max_alignment = default_alignment;

  [[nodiscard]] int threads() const noexcept {
    return trace.threads.empty() ? 1 : static_cast<int>(trace.threads.size());
  }
};

// Annotates the trace's ops for the replay and checks what the replay relies on (the reader
// checks files; this also guards traces built in memory): every object named exists, is made
// once, is freed at most once, by its own thread only after it made it. nullopt and a one-line
// problem otherwise.
inline std::optional<ReplayPlan> prepare_replay(trace::Trace trace, std::string* error) {
  using trace::Kind;
  using trace::no_object;
  namespace b = replay_bits;
  const auto fail = [&](std::string problem) -> std::optional<ReplayPlan> {
    if (error != nullptr) *error = std::move(problem);
    return std::nullopt;
  };
  if (trace.threads.size() > (std::size_t{1} << 20)) return fail("more than 2^20 threads");
  const std::uint64_t objects = trace.objects;
  if (objects >= no_object) return fail("more than 2^32 - 1 objects");
  constexpr std::uint32_t nobody = UINT32_MAX;
  std::vector<std::uint32_t> maker(objects, nobody);
  // Per object: made (seen while walking its maker's ops), freed, published.
  enum : std::uint8_t { made = 1, freed = 2, published = 4 };
  std::vector<std::uint8_t> state(objects, 0);

  const auto where = [](std::size_t t, std::size_t i) {
    return "op " + std::to_string(i) + " of thread " + std::to_string(t);
  };
  // The object an op makes, or no_object.
  const auto made_by = [](const trace::Op& op) -> std::uint32_t {
    if (op.failed()) return no_object;
    switch (op.kind()) {
      case Kind::malloc:
      case Kind::calloc:
      case Kind::aligned:
      case Kind::realloc: return op.object;
      default: return no_object;
    }
  };
  // The object an op frees, or no_object (a foreign free, a failed realloc).
  const auto freed_by = [](const trace::Op& op) -> std::uint32_t {
    if (op.kind() == Kind::free) return op.foreign() ? no_object : op.object;
    if (op.kind() == Kind::realloc && !op.failed()) return op.foreign() ? no_object : op.old_object;
    return no_object;
  };

  ReplayPlan plan;
  for (std::size_t t = 0; t < trace.threads.size(); ++t) {
    const auto& ops = trace.threads[t];
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (static_cast<unsigned>(ops[i].kind()) > static_cast<unsigned>(Kind::aligned))
        return fail(where(t, i) + " has kind " + std::to_string(static_cast<unsigned>(ops[i].kind())));
      const std::uint32_t o = made_by(ops[i]);
      if (o == no_object) {
        if (!ops[i].failed() && ops[i].kind() != Kind::free) return fail(where(t, i) + " makes no object");
        continue;
      }
      if (o >= objects) return fail(where(t, i) + " makes object " + std::to_string(o) + ", past the trace's " + std::to_string(objects));
      if (maker[o] != nobody) return fail(where(t, i) + " makes object " + std::to_string(o) + " a second time");
      maker[o] = static_cast<std::uint32_t>(t);
    }
  }
  for (std::size_t t = 0; t < trace.threads.size(); ++t) {
    auto& ops = trace.threads[t];
    plan.events += ops.size();
    for (std::size_t i = 0; i < ops.size(); ++i) {
      trace::Op& op = ops[i];
      op.bits &= ~(b::wait | b::publish | b::skip);
      if (op.failed()) {
        ++plan.failed_skipped;
        op.bits |= b::skip;
        continue;
      }
      if (op.kind() == Kind::free && op.foreign()) {
        ++plan.foreign_skipped;
        op.bits |= b::skip;
        continue;
      }
      if (op.kind() == Kind::aligned && (std::size_t{1} << op.alignment_log2()) > default_alignment) {
        ++plan.over_aligned;
        plan.max_alignment = std::max(plan.max_alignment, std::size_t{1} << op.alignment_log2());
      }
      if (op.kind() == Kind::realloc && op.foreign()) {
        ++plan.foreign_skipped;  // its free side
        op.old_object = no_object;
      }
      const std::uint32_t f = freed_by(op);
      if (f != no_object) {
        if (f >= objects) return fail(where(t, i) + " frees object " + std::to_string(f) + ", past the trace's " + std::to_string(objects));
        if (maker[f] == nobody) return fail(where(t, i) + " frees object " + std::to_string(f) + ", which no op makes");
        if (state[f] & freed) return fail(where(t, i) + " frees object " + std::to_string(f) + " a second time");
        state[f] |= freed;
        if (maker[f] != t) {
          op.bits |= b::wait;
          state[f] |= published;
          ++plan.cross_thread_frees;
        } else if ((state[f] & made) == 0) {
          return fail(where(t, i) + " frees object " + std::to_string(f) + " before its thread makes it");
        }
      }
      if (const std::uint32_t o = made_by(op); o != no_object) state[o] |= made;
    }
  }
  plan.leftovers.resize(trace.threads.size());
  for (std::size_t t = 0; t < trace.threads.size(); ++t) {
    for (trace::Op& op : trace.threads[t]) {
      if (op.bits & b::skip) continue;
      const std::uint32_t o = made_by(op);
      if (o == no_object) continue;
      if (state[o] & published) op.bits |= b::publish;
      if ((state[o] & freed) == 0) plan.leftovers[t].push_back(o);
    }
  }
  plan.trace = std::move(trace);
  return plan;
}

// --- the replay ------------------------------------------------------------------------------

// What the replay reports to an observer. The driver's untimed pass observes (latency, RSS at
// deciles of progress, the allocator's statistics near the peak, where exhaustion struck);
// the timed rounds use NoObserver, which compiles to nothing.
struct NoObserver {
  template <class F>
  [[gnu::always_inline]] void* allocate(std::size_t /*size*/, F&& call) {
    return call();
  }
  // After op `index` of the thread; live_delta: the change it made to the requested bytes (as
  // recorded: a size-0 object counts 0) the allocator holds for the replay — an arena holds
  // what it never frees.
  [[gnu::always_inline]] void after(std::size_t /*index*/, std::ptrdiff_t /*live_delta*/) noexcept {}
  // Op `index` could not allocate what the recording got.
  [[gnu::always_inline]] void failed(std::size_t /*index*/) noexcept {}
  // Every op of the thread's round done (before its end-of-round frees).
  [[gnu::always_inline]] void ops_done() noexcept {}
};

// What a round needs from the runner: whether the threads share one allocator instance, which
// thread leads, and a barrier across the run's threads.
template <class S>
concept ReplaySync = requires(S& s, const S& cs) {
  { cs.shared() } -> std::convertible_to<bool>;
  { cs.leader() } -> std::convertible_to<bool>;
  s.arrive_and_wait();
};

template <Allocator A>
class TraceReplay {
 public:
  static constexpr WorkloadInfo info{
      .name = "trace",
      .description = "replays a recorded program's allocations (alloclab-trace): its sizes, lifetimes, reallocs and threads",
      .operation = "one recorded event (malloc, calloc, aligned allocation, realloc or free), objects written per --touch"};
  static constexpr bool supports_free = allocator_traits<A>::supports_free;
  // Frees go through the object table and deallocate(): every allocator that frees, and the
  // scratch reference (null), whose deallocate() does nothing — so null pays the replay's own
  // bookkeeping of a free (the table load, the cross-thread wait) exactly as malloc does, and
  // its time is the replay's cost. Arenas skip it: their frees are no-ops by contract.
  static constexpr bool replays_frees = supports_free || ScratchReference<A>;
  static constexpr std::size_t npos = SIZE_MAX;

  // Why A cannot replay this trace, or an empty string. One instance per thread (an allocator
  // that is not thread-safe) cannot take back an object another thread made.
  static std::string incompatibility(const ReplayPlan& plan) {
    if (plan.events == 0) return "the trace holds no events";
    if (!allocator_traits<A>::thread_safe && supports_free && plan.cross_thread_frees > 0) {
      return "the trace frees " + std::to_string(plan.cross_thread_frees) +
             " objects in another thread than the one that made them; an allocator with one instance per "
             "thread cannot take them back";
    }
    return {};
  }

  struct Thread {
    const trace::Op* ops = nullptr;
    std::size_t count = 0;
    const std::uint32_t* leftovers = nullptr;
    std::size_t leftover_count = 0;
    std::uint32_t generation = 0;      // rounds started: names this round's publications
    std::uint64_t failures = 0;        // allocations the recording got that failed here
    std::size_t first_failure = npos;  // the lowest index of such an op, in any round
  };

  TraceReplay(std::shared_ptr<const ReplayPlan> plan, Touch touch, int threads)
      : plan_(std::move(plan)),
        touch_(touch),
        // Every round of a case with several threads ends at a barrier: Google Benchmark averages
        // the threads' own times, and a thread that finished its share early would report less
        // than the replay's wall time (a trace with one busy thread and idle helpers would look
        // N times faster). With the barrier every thread's time is the slowest one's: the wall
        // time, for every allocator alike. One barrier per whole-trace round costs nothing.
        meet_(threads > 1),
        spin_(threads <= static_cast<int>(std::thread::hardware_concurrency())),
        page_(page_size()),
        // Zeroed (a published slot's generation must start at 0) by calloc, which maps large
        // tables untouched: their pages join the RSS as the replay reaches them.
        slots_(static_cast<Slot*>(std::calloc(plan_->trace.objects == 0 ? 1 : plan_->trace.objects, sizeof(Slot)))) {
    if (slots_ == nullptr) throw std::bad_alloc();
  }

  Thread make_thread(int index) const {
    Thread t;
    const auto i = static_cast<std::size_t>(index);
    if (i < plan_->trace.threads.size()) {
      t.ops = plan_->trace.threads[i].data();
      t.count = plan_->trace.threads[i].size();
      t.leftovers = plan_->leftovers[i].data();
      t.leftover_count = plan_->leftovers[i].size();
    }
    return t;
  }

  // Replays thread t's events once, frees what it made and the trace never frees, and meets
  // the other threads where they must (see the top of this file). Returns the events replayed.
  template <ReplaySync Sync, class Observer>
  std::size_t run_round(A& a, Thread& t, Sync& sync, Observer& observer) {
    ++t.generation;
    replay_ops(a, t, observer);
    observer.ops_done();
    if constexpr (replays_frees) {
      for (std::size_t i = 0; i < t.leftover_count; ++i) {
        const Slot& s = slots_[t.leftovers[i]];  // never published: its maker's alone
        if (s.p != nullptr) [[likely]] a.deallocate(s.p, request_size(s.word & size_mask));
      }
      if (meet_) sync.arrive_and_wait();
    } else if (sync.shared()) {
      // reset() of a shared instance needs every thread out of it.
      sync.arrive_and_wait();
      if (sync.leader()) a.reset();
      sync.arrive_and_wait();
    } else {
      if (meet_) sync.arrive_and_wait();  // no one still copies from this instance's objects
      a.reset();
    }
    return t.count;
  }

  // Nothing is live after a round (run_round frees it): the workload shape's last step.
  template <ReplaySync Sync>
  void finish(A& /*a*/, Thread& /*t*/, Sync& /*sync*/) noexcept {}

  [[nodiscard]] const ReplayPlan& plan() const noexcept { return *plan_; }

 private:
  // One object of the trace, by its index. The maker writes it; a free or realloc reads it.
  // For an object another thread frees, `word` is also the publication: the maker stores it
  // last (release), with the round's generation, and the freer waits for that generation —
  // one cache line moves between them, not two.
  struct alignas(16) Slot {
    void* p;
    std::uint64_t word;  // bits 0-47 the size as recorded (request_size() of it was allocated),
                         // 48-62 the round's generation (published objects), 63 a waiter sleeps
  };
  static constexpr std::uint64_t size_mask = trace::Op::size_mask;
  static constexpr std::uint64_t waiting_bit = std::uint64_t{1} << 63;
  static constexpr std::uint64_t generation_tag(std::uint32_t generation) noexcept {
    // 15 bits suffice: a published slot holds this round's generation or the last round's.
    return static_cast<std::uint64_t>(generation & 0x7FFF) << 48;
  }
  struct FreeSlots {
    void operator()(Slot* s) const noexcept { std::free(s); }
  };
  static constexpr std::size_t line = 64;

  static std::size_t page_size() noexcept {
    const long p = ::sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<std::size_t>(p) : 4096;
  }

  // What is asked of the allocator for a recorded size: at least 1 byte (the contract refuses
  // 0), at most a scratch reference's buffer.
  static std::size_t request_size(std::uint64_t recorded) noexcept {
    std::size_t n = recorded == 0 ? 1 : static_cast<std::size_t>(recorded);
    if constexpr (ScratchReference<A>) n = std::min<std::size_t>(n, A::scratch_bytes);
    return n;
  }
  static std::size_t request_alignment(std::size_t alignment) noexcept {
    if constexpr (ScratchReference<A>) return std::min<std::size_t>(alignment, A::scratch_alignment);
    return alignment;
  }
  // Bytes of an object the replay may write: the recorded size (a scratch reference's buffer
  // at most).
  static std::size_t writable(std::uint64_t recorded) noexcept {
    if constexpr (ScratchReference<A>) return std::min<std::uint64_t>(recorded, A::scratch_bytes);
    return static_cast<std::size_t>(recorded);
  }

  // Writes [p, p + n) as --touch says: pages, the first cache line and the first byte of each
  // further page it covers; all, every byte.
  [[gnu::always_inline]] void write(void* p, std::size_t n) const noexcept {
    auto* c = static_cast<unsigned char*>(p);
    switch (touch_) {
      case Touch::none:
        return;
      case Touch::pages: {
        if (n < 8) {
          for (std::size_t i = 0; i < n; ++i) c[i] = 1;
          break;
        }
        // The first line (or the object, if smaller) in 8-byte stores, the last overlapping.
        const std::size_t m = n < line ? n : line;
        constexpr std::uint64_t ones = 0x0101010101010101u;
        for (std::size_t i = 0; i + 8 <= m; i += 8) std::memcpy(c + i, &ones, 8);
        std::memcpy(c + m - 8, &ones, 8);
        if (n <= page_ - (reinterpret_cast<std::uintptr_t>(c) & (page_ - 1))) break;  // within one page
        const std::uintptr_t end = reinterpret_cast<std::uintptr_t>(c) + n;
        for (std::uintptr_t q = (reinterpret_cast<std::uintptr_t>(c) | (page_ - 1)) + 1; q < end; q += page_)
          *reinterpret_cast<unsigned char*>(q) = 1;
        break;
      }
      case Touch::all:
        std::memset(c, 1, n);
        break;
    }
    keep(p);  // the writes are the program's: not dead stores
  }

  [[gnu::always_inline]] void* allocate_zeroed(A& a, std::size_t size) noexcept {
    if constexpr (AllocatesZeroed<A>) {
      return a.allocate_zeroed(size);
    } else {
      void* p = a.allocate(size);
      if (p != nullptr) [[likely]] std::memset(p, 0, size);
      return p;
    }
  }

  // Writes object's slot; publishes it when another thread frees the object.
  [[gnu::always_inline]] void store(const trace::Op& op, std::uint32_t object, void* p, std::uint64_t size,
                                    std::uint32_t generation) noexcept {
    Slot& s = slots_[object];
    s.p = p;
    if (op.bits & replay_bits::publish) {
      // Release: p, and the object's bytes, are visible to whoever sees the generation.
      std::atomic_ref<std::uint64_t> word(s.word);
      if (word.exchange(size | generation_tag(generation), std::memory_order_acq_rel) & waiting_bit) [[unlikely]]
        word.notify_all();
    } else {
      s.word = size;
    }
  }

  // The slot of an object this op frees: waited for when another thread makes it.
  [[gnu::always_inline]] Slot load(const trace::Op& op, std::uint32_t object, std::uint32_t generation) noexcept {
    Slot& s = slots_[object];
    if (op.bits & replay_bits::wait) {
      std::uint64_t word = std::atomic_ref<std::uint64_t>(s.word).load(std::memory_order_acquire);
      if ((word & ~size_mask) != generation_tag(generation)) [[unlikely]] word = await(s, generation);
      return {s.p, word & size_mask};
    }
    return {s.p, s.word & size_mask};
  }

  // The maker has not replayed the object yet. Spin briefly while every thread has a core,
  // then yield, then sleep on the slot (the maker's exchange sees the waiting bit and wakes
  // it): with many more recorded threads than cores, spinning would keep the maker off a core.
  [[gnu::noinline]] std::uint64_t await(Slot& s, std::uint32_t generation) noexcept {
    std::atomic_ref<std::uint64_t> word(s.word);
    const std::uint64_t tag = generation_tag(generation);
    if (spin_) {
      for (int i = 0; i < 1024; ++i) {
        if (const std::uint64_t w = word.load(std::memory_order_acquire); (w & ~size_mask) == tag) return w;
        pause();
      }
    }
    for (int i = 0; i < 16; ++i) {
      if (const std::uint64_t w = word.load(std::memory_order_acquire); (w & ~size_mask) == tag) return w;
      std::this_thread::yield();
    }
    for (;;) {
      std::uint64_t seen = word.load(std::memory_order_acquire);
      if ((seen & ~size_mask) == tag) return seen;
      if ((seen & waiting_bit) == 0) {
        if (!word.compare_exchange_weak(seen, seen | waiting_bit, std::memory_order_acquire, std::memory_order_acquire))
          continue;
        seen |= waiting_bit;
      }
      word.wait(seen, std::memory_order_acquire);
    }
  }

  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  template <class Observer>
  [[gnu::noinline, gnu::cold]] static void failure(Thread& t, std::size_t index, Observer& observer) noexcept {
    ++t.failures;
    if (index < t.first_failure) t.first_failure = index;
    observer.failed(index);
  }

  // malloc, calloc, aligned: the object made, written, and published if another thread frees it.
  template <class Observer>
  [[gnu::always_inline]] std::ptrdiff_t make(A& a, Thread& t, std::size_t index, const trace::Op& op,
                                             std::size_t alignment, bool zeroed, Observer& observer) {
    const std::size_t size = request_size(op.size());
    void* p = observer.allocate(size, [&]() noexcept {
      return zeroed ? allocate_zeroed(a, size) : a.allocate(size, request_alignment(alignment));
    });
    if (p != nullptr) [[likely]] {
      write(p, writable(op.size()));
    } else {
      failure(t, index, observer);
    }
    store(op, op.object, p, op.size(), t.generation);
    return p != nullptr ? static_cast<std::ptrdiff_t>(op.size()) : 0;
  }

  [[gnu::always_inline]] std::ptrdiff_t release(A& a, const Thread& t, const trace::Op& op) {
    if constexpr (!replays_frees) {
      return 0;  // a no-op: nothing to wait for either
    } else {
      const Slot s = load(op, op.object, t.generation);
      if (s.p == nullptr) [[unlikely]] return 0;  // its allocation failed
      a.deallocate(s.p, request_size(s.word));
      return -static_cast<std::ptrdiff_t>(s.word);
    }
  }

  template <class Observer>
  [[gnu::always_inline]] std::ptrdiff_t reallocate(A& a, Thread& t, std::size_t index, const trace::Op& op,
                                                   Observer& observer) {
    if (op.old_object == trace::no_object) return make(a, t, index, op, default_alignment, false, observer);
    const Slot old = load(op, op.old_object, t.generation);  // old.word: its recorded size
    const std::size_t old_size = request_size(old.word);
    const std::size_t size = request_size(op.size());
    void* q;
    if constexpr (Reallocates<A>) {
      q = observer.allocate(size, [&]() noexcept {
        return old.p != nullptr ? a.reallocate(old.p, old_size, size) : a.allocate(size);
      });
    } else {
      q = observer.allocate(size, [&]() noexcept { return a.allocate(size); });
      if (q != nullptr && old.p != nullptr) [[likely]] {
        // memmove: a reference that wraps around (bump_limit) may hand out overlapping bytes.
        if constexpr (!ScratchReference<A>) std::memmove(q, old.p, std::min(old_size, size));
        if constexpr (replays_frees) a.deallocate(old.p, old_size);
      }
    }
    std::ptrdiff_t delta;
    if (q != nullptr) [[likely]] {
      // The program writes what the realloc grew; the rest was copied.
      const std::size_t from = std::min(writable(old.word), writable(op.size()));
      if (writable(op.size()) > from) write(static_cast<unsigned char*>(q) + from, writable(op.size()) - from);
      store(op, op.object, q, op.size(), t.generation);
      const auto grown = static_cast<std::ptrdiff_t>(op.size());
      delta = replays_frees && old.p != nullptr ? grown - static_cast<std::ptrdiff_t>(old.word) : grown;
    } else {
      failure(t, index, observer);
      store(op, op.object, old.p, old.word, t.generation);  // the old block lives on under the new name
      delta = 0;
    }
    return delta;
  }

  template <class Observer>
  void replay_ops(A& a, Thread& t, Observer& observer) {
    using trace::Kind;
    const trace::Op* const ops = t.ops;
    const std::size_t n = t.count;
    for (std::size_t i = 0; i < n; ++i) {
      const trace::Op& op = ops[i];
      std::ptrdiff_t delta = 0;
      if ((op.bits & replay_bits::skip) == 0) [[likely]] {
        switch (op.kind()) {
          case Kind::malloc:
            delta = make(a, t, i, op, default_alignment, false, observer);
            break;
          case Kind::free:
            delta = release(a, t, op);
            break;
          case Kind::calloc:
            delta = make(a, t, i, op, default_alignment, true, observer);
            break;
          case Kind::realloc:
            delta = reallocate(a, t, i, op, observer);
            break;
          case Kind::aligned:
            delta = make(a, t, i, op, std::size_t{1} << op.alignment_log2(), false, observer);
            break;
          default:
            break;
        }
      }
      observer.after(i, delta);
    }
  }

  std::shared_ptr<const ReplayPlan> plan_;
  Touch touch_;
  bool meet_;  // several threads: a barrier ends each round (see the constructor)
  bool spin_;
  std::size_t page_;
  std::unique_ptr<Slot[], FreeSlots> slots_;  // by object index, shared by the threads
};

}  // namespace alloclab::workloads
