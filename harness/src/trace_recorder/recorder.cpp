// liballoclab_trace.so — the allocation trace recorder: preloaded into any program
// (LD_PRELOAD, ALLOCLAB_TRACE_DIR=<existing directory>), it records every malloc, calloc,
// realloc, reallocarray, free, posix_memalign, aligned_alloc, memalign, valloc and pvalloc to
// <dir>/<pid>.trace in the format of workloads/TRACE_FORMAT.md, and calls the real functions
// (dlsym(RTLD_NEXT)) underneath. malloc_usable_size passes through.
//
// How (the parts, in the order an event meets them):
//   stamps   one process-wide atomic counter. A free is stamped before the real free, an
//            allocation after the real call returns, a realloc twice (before and after), so
//            in stamp order an address is always freed before it is handed out again.
//   objects  object_map.hpp maps a live address to its creation stamp (the id): erased before
//            the real free/realloc, inserted after the allocation returns. A free of an address
//            not there (memory from before the recorder started, or allocated by a call that
//            passed through) is not recorded; the end record counts it (untracked_frees).
//   buffers  each thread appends to a 64 KiB buffer of its own (mmap), encoded by
//            alloclab/trace/writer.hpp; a full buffer leaves as one chunk in one write() to the
//            O_APPEND file. A pthread key's destructor flushes it when the thread exits and puts
//            it on a free list for the next thread. A call after that destructor (a later key's
//            destructor, glibc's own thread teardown) takes a buffer, writes, and gives it back.
//   end      an exit handler registered from this library's constructor with __cxa_atexit and
//            no DSO handle runs after every handler registered later, after the ELF
//            destructors (glibc registers _dl_fini after the preloaded libraries' constructors
//            ran), so the frees done by static destructors and atexit handlers are recorded.
//            It flushes every buffer and writes the end record. _exit/_Exit are interposed to
//            do the same. A thread still running then finds its buffer closed: its later
//            events are counted as dropped. The calls of the exiting thread after the end (the
//            last exit handlers, glibc's own teardown) pass through, neither written nor
//            counted. A killed process leaves a truncated file whose complete chunks are
//            readable.
//   fork     the parent holds every lock across fork; the child discards the parent's
//            unflushed buffers (the parent flushes its own copies), opens <dir>/<childpid>.trace
//            with parent_pid and forked_from_stamp, keeps the object map (its frees of the
//            parent's objects name them) and records on.
//   reentry  a per-thread flag: a call made while this thread is inside the recorder (dlsym,
//            pthread_setspecific, atexit registration) goes straight to the real function,
//            unrecorded. Before the real functions are resolved, a static bootstrap arena
//            serves them; frees of its memory are ignored.
//   file     <dir>/<pid>.trace, the directory made absolute at the start (a fork child writes
//            beside its parent even after a chdir), truncated when opened (an exec'd image keeps
//            its pid and starts the file again: the image before it is lost), its descriptor
//            moved to 900 or above so a program that closes and reopens its low descriptors
//            does not get it back and have chunks written into its own file.
//   errors   ALLOCLAB_TRACE_DIR unset or unusable: one line on stderr, the program runs
//            untraced. A failed write: one line, and from then on events are dropped and
//            counted; the file stays a readable prefix (a torn chunk is the reader's "torn last
//            write"), with the end record unless a write went out in part.
//   sizes    as requested; a calloc or reallocarray whose product overflows is a failed call
//            of size 2^64 - 1 (the reader keeps failed sizes past 2^48 clamped).
//
// Never calls malloc in its own paths, throws nothing, and changes no errno the program sees.
// Not done: quick_exit (runs no atexit handlers: the file is left truncated), vfork children
// that allocate (they share the parent's memory; recording there is undefined), programs that
// call __libc_malloc directly (unrecorded; their frees count as untracked).
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <new>
#include <string_view>

#include "alloclab/trace/writer.hpp"
#include "metadata.hpp"
#include "object_map.hpp"

#if __has_include("build_info.hpp")
#include "build_info.hpp"
#define ALLOCLAB_TRACE_COMMIT alloclab::harness::build_info::git_commit
#define ALLOCLAB_TRACE_DIRTY alloclab::harness::build_info::git_dirty
#else
#define ALLOCLAB_TRACE_COMMIT "unknown"
#define ALLOCLAB_TRACE_DIRTY "unknown"
#endif

extern "C" int __cxa_atexit(void (*function)(void*), void* argument, void* dso_handle) noexcept;

namespace {

namespace tr = alloclab::trace;
using alloclab::trace_recorder::JsonOut;
using alloclab::trace_recorder::ObjectMap;
using alloclab::trace_recorder::SpinLock;

constexpr std::string_view recorder_name = "liballoclab_trace.so";
constexpr std::size_t buffer_bytes = std::size_t{64} << 10;
constexpr std::uint64_t no_id = 0;  // stamps start at 1

// --- the real functions -------------------------------------------------------------------------

struct Reals {
  void* (*malloc)(std::size_t);
  void (*free)(void*);
  void* (*calloc)(std::size_t, std::size_t);
  void* (*realloc)(void*, std::size_t);
  int (*posix_memalign)(void**, std::size_t, std::size_t);
  void* (*aligned_alloc)(std::size_t, std::size_t);
  void* (*memalign)(std::size_t, std::size_t);
  void* (*valloc)(std::size_t);
  void* (*pvalloc)(std::size_t);
  std::size_t (*malloc_usable_size)(void*);
  void (*exit_)(int);
  void (*Exit_)(int);
};
constinit Reals real{};
std::atomic<bool> reals_ready{false};

// --- the bootstrap arena: what dlsym allocates before the real functions are known ------------

// Each block: a 16-byte header holding its size, then the block. Never reused; zero from the
// start (.bss), so calloc needs no memset.
alignas(64) constinit unsigned char bootstrap_arena[std::size_t{64} << 10];
std::atomic<std::size_t> bootstrap_used{0};

bool is_bootstrap(const void* p) noexcept {
  const auto* c = static_cast<const unsigned char*>(p);
  return c >= bootstrap_arena && c < bootstrap_arena + sizeof bootstrap_arena;
}

void* bootstrap_alloc(std::size_t n, std::size_t alignment = 16) noexcept {
  if (alignment < 16) alignment = 16;
  if (n > sizeof bootstrap_arena || alignment > sizeof bootstrap_arena) return nullptr;
  const std::size_t need = 16 + alignment + ((n + 15) & ~std::size_t{15});
  const std::size_t at = bootstrap_used.fetch_add(need, std::memory_order_relaxed);
  if (at + need > sizeof bootstrap_arena) {
    errno = ENOMEM;
    return nullptr;
  }
  const auto base = reinterpret_cast<std::uintptr_t>(bootstrap_arena + at + 16);
  const std::uintptr_t start = (base + alignment - 1) & ~(std::uintptr_t{alignment} - 1);
  auto* header = reinterpret_cast<std::size_t*>(start - 16);
  *header = n;
  return reinterpret_cast<void*>(start);
}

std::size_t bootstrap_size(const void* p) noexcept {
  return *reinterpret_cast<const std::size_t*>(static_cast<const unsigned char*>(p) - 16);
}

// --- process state --------------------------------------------------------------------------

enum State : int { uninitialized, initializing, recording, off, ending, ended };
std::atomic<int> state{uninitialized};

std::atomic<std::uint64_t> next_stamp{1};
std::atomic<std::uint32_t> next_thread{0};
std::atomic<std::uint64_t> written_events{0};
std::atomic<std::uint64_t> written_chunks{0};
std::atomic<std::uint64_t> dropped_events{0};
std::atomic<std::uint64_t> untracked_frees{0};
std::atomic<bool> write_failed{false};  // no more writes: the file ends where it is
std::atomic<bool> write_torn{false};    // a write went partly out: no end record after it
std::atomic<bool> said_write_error{false};

std::atomic<int> trace_fd{-1};  // replaced when the program takes its number (check_descriptor)
pid_t recorder_pid = 0;
std::uint64_t clock_origin_ns = 0;  // CLOCK_MONOTONIC at started_unix_ns
pthread_key_t thread_key;
bool have_thread_key = false;
char trace_dir[PATH_MAX];
char trace_path[PATH_MAX + 32];

constinit ObjectMap objects;

std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}
std::uint64_t realtime_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}
std::uint64_t trace_ns() noexcept { return monotonic_ns() - clock_origin_ns; }

// One line on stderr, with write(2): nothing allocated.
void say(std::initializer_list<std::string_view> parts) noexcept {
  char line[1024];  // small: a thread with a minimal stack may get here (a fork child's open)
  JsonOut out(line, sizeof line - 1);
  out.raw("alloclab_trace: ");
  for (std::string_view part : parts) out.raw(part);
  line[out.size()] = '\n';  // room kept for it
  (void)!::write(STDERR_FILENO, line, out.size() + 1);
}

std::string_view describe(int error) noexcept {
  const char* text = ::strerrordesc_np(error);
  return text != nullptr ? text : "unknown error";
}

// --- buffers ------------------------------------------------------------------------------------

enum BufferState : std::uint32_t { idle = 0, appending = 1, closed = 2 };

struct Buffer {
  std::atomic<std::uint32_t> owner{idle};  // appending while a thread writes into it; closed by the end
  Buffer* next_all = nullptr;              // every buffer ever mapped (never unmapped)
  Buffer* next_free = nullptr;
  tr::ChunkEncoder chunk;
};
constexpr std::size_t buffer_header = (sizeof(Buffer) + 63) & ~std::size_t{63};

std::atomic<Buffer*> all_buffers{nullptr};
SpinLock free_lock;
Buffer* free_buffers = nullptr;

struct ThreadState {
  Buffer* buffer;
  std::uint32_t index_plus_one;  // the thread's dense index + 1; 0 before its first event
  std::uint32_t since_mark;      // events since its last time mark
  bool busy;                     // inside the recorder: calls pass through
  bool exited;                   // the key destructor ran: events go out one by one
};
// initial-exec: the library is preloaded, so its thread-locals are in the static TLS block and
// touching them never calls into ld.so (which could allocate). constinit, trivially destroyed:
// no TLS wrapper function, no registration.
[[gnu::tls_model("initial-exec")]] constinit thread_local ThreadState tls{};

Buffer* take_buffer() noexcept {
  free_lock.lock();
  Buffer* b = free_buffers;
  if (b != nullptr) free_buffers = b->next_free;
  free_lock.unlock();
  if (b != nullptr) return b;
  void* m = ::mmap(nullptr, buffer_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  b = new (m) Buffer{};
  b->chunk = tr::ChunkEncoder(static_cast<unsigned char*>(m) + buffer_header, buffer_bytes - buffer_header, 0);
  Buffer* head = all_buffers.load(std::memory_order_relaxed);
  do {
    b->next_all = head;
  } while (!all_buffers.compare_exchange_weak(head, b, std::memory_order_release, std::memory_order_relaxed));
  return b;
}

void give_back(Buffer* b) noexcept {
  free_lock.lock();
  b->next_free = free_buffers;
  free_buffers = b;
  free_lock.unlock();
}

void report_write_error(int error) noexcept {
  if (said_write_error.exchange(true)) return;
  say({"writing ", trace_path, ": ", describe(error), "; the trace ends here, later events are dropped"});
}

// The trace file as opened: a program that closes descriptors and opens its own files (or
// dup2s onto ours) may take the trace's number; chunks must then not go into its file.
dev_t trace_dev = 0;
ino_t trace_ino = 0;
std::atomic_flag fd_lock = ATOMIC_FLAG_INIT;

// A descriptor above the program's usual ones: 900, or under a lower RLIMIT_NOFILE the top of
// the range. Returns fd itself when no higher one can be had.
int move_high(int fd) noexcept {
  int start = 900;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur <= 916)
    start = static_cast<int>(limit.rlim_cur) - 16;
  if (start <= fd) return fd;
  const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, start);
  if (high < 0) return fd;
  ::close(fd);
  return high;
}

// True when trace_fd still names the trace file; otherwise reopens it (append) on a new
// descriptor. Once per chunk: one fstat per 64 KiB of events.
bool check_descriptor(int* error) noexcept {
  struct stat st {};
  if (::fstat(trace_fd, &st) == 0 && st.st_dev == trace_dev && st.st_ino == trace_ino) return true;
  while (fd_lock.test_and_set(std::memory_order_acquire)) sched_yield();
  bool ok = ::fstat(trace_fd, &st) == 0 && st.st_dev == trace_dev && st.st_ino == trace_ino;  // another thread did it
  if (!ok) {
    const int fd = ::open(trace_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0 && ::fstat(fd, &st) == 0 && st.st_dev == trace_dev && st.st_ino == trace_ino) {
      trace_fd = move_high(fd);  // the old number is the program's now: not closed
      ok = true;
    } else {
      *error = fd < 0 ? errno : ESTALE;
      if (fd >= 0) ::close(fd);
    }
  }
  fd_lock.clear(std::memory_order_release);
  return ok;
}

// Writes all of [data, data + n); returns the bytes that went out. The raw system call: write()
// is a cancellation point, and malloc must not become one (a thread cancelled inside it would
// leave the program's locks held).
std::size_t write_all(const unsigned char* data, std::size_t n, int* error) noexcept {
  std::size_t done = 0;
  if (!check_descriptor(error)) return 0;
  while (done < n) {
    const ssize_t w = ::syscall(SYS_write, trace_fd.load(), data + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      *error = w < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<std::size_t>(w);
  }
  return done;
}

// The caller holds the buffer (appending, or closed by the end). Empties it.
void flush(Buffer* b) noexcept {
  const std::uint64_t events = b->chunk.event_count();
  if (events != 0) {
    if (write_failed.load(std::memory_order_relaxed)) {
      dropped_events.fetch_add(events, std::memory_order_relaxed);
    } else {
      const int saved = errno;
      const auto bytes = b->chunk.finish();
      int error = 0;
      const std::size_t done = write_all(bytes.data(), bytes.size(), &error);
      errno = saved;
      if (done == bytes.size()) {
        written_events.fetch_add(events, std::memory_order_relaxed);
        written_chunks.fetch_add(1, std::memory_order_relaxed);
      } else {
        // Once one chunk is missing, a later one could name objects it made: stop writing.
        write_failed.store(true);
        if (done != 0) write_torn.store(true);
        dropped_events.fetch_add(events, std::memory_order_relaxed);
        report_write_error(error);
      }
    }
  }
  b->chunk.clear();
}

// Appends one event to b (whose thread is this one) unless the end closed it.
template <class Encode>
void append(Buffer* b, ThreadState& t, Encode& encode) noexcept {
  std::uint32_t expected = idle;
  if (!b->owner.compare_exchange_strong(expected, appending, std::memory_order_seq_cst)) {
    dropped_events.fetch_add(1, std::memory_order_relaxed);  // closed: the end has begun
    return;
  }
  if (state.load(std::memory_order_seq_cst) != recording) {
    b->owner.store(idle, std::memory_order_release);
    dropped_events.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (t.since_mark == 0) b->chunk.time_mark(trace_ns());
  encode(b->chunk);
  if (++t.since_mark == tr::time_mark_period) t.since_mark = 0;
  if (!b->chunk.has_room()) flush(b);
  b->owner.store(idle, std::memory_order_release);
}

// Records one event of this thread; `encode(ChunkEncoder&)` writes it.
template <class Encode>
void emit(Encode&& encode) noexcept {
  ThreadState& t = tls;
  if (t.index_plus_one == 0) t.index_plus_one = next_thread.fetch_add(1, std::memory_order_relaxed) + 1;
  if (t.exited) [[unlikely]] {
    // After the key destructor: nothing would flush a buffer kept now. One chunk per event.
    Buffer* b = take_buffer();
    if (b == nullptr) {
      dropped_events.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    b->chunk.set_thread(t.index_plus_one - 1);
    append(b, t, encode);
    std::uint32_t expected = idle;
    if (b->owner.compare_exchange_strong(expected, appending)) {
      flush(b);
      b->owner.store(idle, std::memory_order_release);
      give_back(b);
    }
    return;
  }
  Buffer* b = t.buffer;
  if (b == nullptr) [[unlikely]] {
    b = take_buffer();
    if (b == nullptr) {
      dropped_events.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    b->chunk.set_thread(t.index_plus_one - 1);
    t.buffer = b;
    // Non-null: the destructor runs when the thread exits.
    if (have_thread_key) (void)::pthread_setspecific(thread_key, b);
  }
  append(b, t, encode);
}

std::uint64_t take_stamp() noexcept { return next_stamp.fetch_add(1, std::memory_order_relaxed); }

// Sets busy for the scope: calls the recorder itself makes pass through.
class Busy {
 public:
  Busy() noexcept { tls.busy = true; }
  ~Busy() { tls.busy = false; }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;
};

// Keeps the program's errno across the recorder's own calls (write, mmap).
class KeepErrno {
 public:
  KeepErrno() noexcept : saved_(errno) {}
  ~KeepErrno() { errno = saved_; }
  KeepErrno(const KeepErrno&) = delete;
  KeepErrno& operator=(const KeepErrno&) = delete;

 private:
  int saved_;
};

// --- start, fork, end ----------------------------------------------------------------------------

void resolve_reals() noexcept {
  Reals r{};
  r.malloc = reinterpret_cast<decltype(r.malloc)>(::dlsym(RTLD_NEXT, "malloc"));
  r.free = reinterpret_cast<decltype(r.free)>(::dlsym(RTLD_NEXT, "free"));
  r.calloc = reinterpret_cast<decltype(r.calloc)>(::dlsym(RTLD_NEXT, "calloc"));
  r.realloc = reinterpret_cast<decltype(r.realloc)>(::dlsym(RTLD_NEXT, "realloc"));
  r.posix_memalign = reinterpret_cast<decltype(r.posix_memalign)>(::dlsym(RTLD_NEXT, "posix_memalign"));
  r.aligned_alloc = reinterpret_cast<decltype(r.aligned_alloc)>(::dlsym(RTLD_NEXT, "aligned_alloc"));
  r.memalign = reinterpret_cast<decltype(r.memalign)>(::dlsym(RTLD_NEXT, "memalign"));
  r.valloc = reinterpret_cast<decltype(r.valloc)>(::dlsym(RTLD_NEXT, "valloc"));
  r.pvalloc = reinterpret_cast<decltype(r.pvalloc)>(::dlsym(RTLD_NEXT, "pvalloc"));
  r.malloc_usable_size = reinterpret_cast<decltype(r.malloc_usable_size)>(::dlsym(RTLD_NEXT, "malloc_usable_size"));
  r.exit_ = reinterpret_cast<decltype(r.exit_)>(::dlsym(RTLD_NEXT, "_exit"));
  r.Exit_ = reinterpret_cast<decltype(r.Exit_)>(::dlsym(RTLD_NEXT, "_Exit"));
  if (r.malloc == nullptr || r.free == nullptr || r.calloc == nullptr || r.realloc == nullptr ||
      r.posix_memalign == nullptr || r.memalign == nullptr) {
    say({"cannot find the real malloc (dlsym(RTLD_NEXT) failed); aborting"});
    ::abort();
  }
  real = r;
  reals_ready.store(true, std::memory_order_release);
}

// Opens <dir>/<pid>.trace and writes its header. False (and one line said) when it cannot.
bool open_trace(bool forked, std::uint64_t forked_from_stamp) noexcept {
  if (!forked) {
    // Made absolute once: a fork child opens its file here even if the program changed its
    // working directory since.
    const char* dir = ::getenv("ALLOCLAB_TRACE_DIR");
    if (dir == nullptr || *dir == '\0') {
      say({"ALLOCLAB_TRACE_DIR is not set (the directory to write <pid>.trace into); this process is not traced"});
      return false;
    }
    if (::realpath(dir, trace_dir) == nullptr) {
      say({"cannot use ALLOCLAB_TRACE_DIR=", dir, ": ", describe(errno),
           " (it must be an existing, writable directory); this process is not traced"});
      return false;
    }
  }
  const pid_t pid = ::getpid();
  JsonOut path(trace_path, sizeof trace_path - 1);
  path.raw(trace_dir);
  path.raw("/");
  path.number(static_cast<std::uint64_t>(pid));
  path.raw(".trace");
  if (path.overflowed()) {
    say({"ALLOCLAB_TRACE_DIR is too long; this process is not traced"});
    return false;
  }
  trace_path[path.size()] = '\0';
  // O_TRUNC: an exec'd image keeps its pid and starts the file again.
  int fd = ::open(trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    say({"cannot create ", trace_path, ": ", describe(errno),
         " (ALLOCLAB_TRACE_DIR must be an existing, writable directory); this process is not traced"});
    return false;
  }
  // Out of the way of the program's own descriptors: one that closes the low ones and opens
  // files again must not get this number back and have trace chunks written into its file.
  fd = move_high(fd);
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    trace_dev = st.st_dev;
    trace_ino = st.st_ino;
  }

  const std::uint64_t started = realtime_ns();
  clock_origin_ns = monotonic_ns();
  recorder_pid = pid;

  // The metadata and the files it reads, in mappings of their own (touched as far as used).
  constexpr std::size_t json_bytes = std::size_t{1} << 20;
  constexpr std::size_t scratch_bytes = std::size_t{256} << 10;
  void* m = ::mmap(nullptr, json_bytes + scratch_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    say({"cannot map memory for the trace header; this process is not traced"});
    ::close(fd);
    return false;
  }
  char* json = static_cast<char*>(m);
  char* scratch = json + json_bytes;

  char recorder[256];
  JsonOut r(recorder, sizeof recorder);
  r.raw(recorder_name);
  r.raw(" ");
  r.raw(ALLOCLAB_TRACE_COMMIT);
  if (std::string_view(ALLOCLAB_TRACE_DIRTY) == "true") r.raw("-dirty");

  alloclab::trace_recorder::MetadataInput in;
  in.pid = static_cast<std::uint64_t>(pid);
  in.parent_pid = static_cast<std::uint64_t>(::getppid());
  in.forked = forked;
  in.forked_from_stamp = forked_from_stamp;
  in.started_unix_ns = started;
  in.recorder = r.view();
  // The JSON goes after room for the header's fixed part, which then goes right before it:
  // the whole header leaves in one write.
  constexpr std::size_t front = tr::max_file_header_prefix_bytes;
  JsonOut out(json + front, json_bytes - front);
  bool ok = alloclab::trace_recorder::write_metadata(out, in, scratch, scratch_bytes);
  if (ok) {
    unsigned char prefix[front];
    const std::size_t n = tr::put_file_header_prefix(prefix, out.size());
    unsigned char* start = reinterpret_cast<unsigned char*>(json + front - n);
    std::memcpy(start, prefix, n);
    trace_fd = fd;
    int error = 0;
    ok = write_all(start, n + out.size(), &error) == n + out.size();
    if (!ok) say({"writing ", trace_path, ": ", describe(error), "; this process is not traced"});
  } else {
    say({"the trace header does not fit in its buffer; this process is not traced"});
  }
  ::munmap(m, json_bytes + scratch_bytes);
  if (!ok) {
    trace_fd = -1;
    ::close(fd);
    ::unlink(trace_path);  // a file without its header is no trace: none is left behind
  }
  return ok;
}

void on_thread_exit(void*) noexcept;

void initialize() noexcept {
  int expected = uninitialized;
  if (!state.compare_exchange_strong(expected, initializing)) return;  // another thread is at it
  const bool was_busy = tls.busy;
  tls.busy = true;
  const int saved = errno;
  resolve_reals();
  have_thread_key = ::pthread_key_create(&thread_key, on_thread_exit) == 0;
  const bool ok = open_trace(false, 0);
  errno = saved;
  tls.busy = was_busy;
  state.store(ok ? recording : off, std::memory_order_release);
}

// True when this call is to be recorded. Starts the recorder on the first call.
inline bool recording_now() noexcept {
  const int s = state.load(std::memory_order_acquire);
  if (s == recording) [[likely]] return !tls.busy;
  if (s == uninitialized) {
    initialize();
    return state.load(std::memory_order_acquire) == recording && !tls.busy;
  }
  // The end has begun in another thread: this event will not be written.
  if (s == ending && !tls.busy) dropped_events.fetch_add(1, std::memory_order_relaxed);
  return false;
}

// Flushes every buffer and writes the end record (exit, _exit). Once, in the recording process.
void finish() noexcept {
  if (state.load() != recording || ::getpid() != recorder_pid) return;
  int expected = recording;
  if (!state.compare_exchange_strong(expected, ending)) return;
  tls.busy = true;  // for good: this thread's later calls pass through
  const int saved = errno;
  bool lost_buffer = false;
  for (Buffer* b = all_buffers.load(std::memory_order_acquire); b != nullptr; b = b->next_all) {
    // A thread appending finishes within microseconds, given the processor (hence the
    // yield); one that does not within half a second (stopped in a write, or by a signal
    // handler that called _exit in the middle of it) loses its buffer's events (counted).
    // This thread's own buffer held by itself means finish() interrupted its own append or
    // write (a signal handler that called _exit): no use waiting.
    const std::uint64_t deadline = monotonic_ns() + (b == tls.buffer ? 0 : 500'000'000u);
    bool mine = false;
    for (;;) {
      std::uint32_t e = idle;
      if (b->owner.compare_exchange_strong(e, closed, std::memory_order_seq_cst)) {
        mine = true;
        break;
      }
      if (e == closed || monotonic_ns() > deadline) break;
      sched_yield();
    }
    if (mine) {
      flush(b);
    } else {
      // Its chunk may be half written or written without being counted: the end record's
      // counts could not be trusted, so there is none and the file reads as truncated.
      lost_buffer = true;
    }
  }
  if (!write_torn.load() && !lost_buffer) {
    tr::EndRecord end;
    end.total_events = written_events.load();
    end.chunks = written_chunks.load();
    end.threads = next_thread.load();
    end.untracked_frees = untracked_frees.load();
    end.end_ns = trace_ns();
    end.dropped_events = dropped_events.load();
    unsigned char record[tr::max_end_record_bytes];
    const std::size_t n = tr::put_end_record(record, end);
    int error = 0;
    if (write_all(record, n, &error) != n) report_write_error(error);
  }
  ::close(trace_fd);
  trace_fd = -1;
  errno = saved;
  state.store(ended);
}

void at_process_exit(void*) noexcept { finish(); }

void on_thread_exit(void*) noexcept {
  ThreadState& t = tls;
  const bool was_busy = t.busy;
  t.busy = true;
  Buffer* b = t.buffer;
  t.buffer = nullptr;
  t.exited = true;
  if (b != nullptr) {
    std::uint32_t expected = idle;
    if (b->owner.compare_exchange_strong(expected, appending)) {
      flush(b);
      b->owner.store(idle, std::memory_order_release);
      give_back(b);
    }  // else closed: the end flushed it and keeps it
  }
  t.busy = was_busy;
}

// A fork from a signal handler that interrupted this thread inside the recorder (tls.busy) must
// not take the locks that thread may hold: it would wait for itself. The child then records
// nothing (see after_fork_in_child).
thread_local bool fork_took_locks = false;
thread_local bool busy_before_fork = false;

void before_fork() noexcept {
  fork_took_locks = false;
  if (state.load() != recording) return;
  busy_before_fork = tls.busy;
  if (busy_before_fork) return;
  tls.busy = true;
  free_lock.lock();
  objects.lock_all();
  fork_took_locks = true;
}

void after_fork_in_parent() noexcept {
  if (!fork_took_locks) return;
  objects.unlock_all();
  free_lock.unlock();
  tls.busy = busy_before_fork;
}

void after_fork_in_child() noexcept {
  if (state.load() != recording) return;
  if (!fork_took_locks) {
    // Forked from inside the recorder: its tables may be mid-change. The child is not traced
    // (its calls pass through); the parent's file is the parent's.
    trace_fd = -1;
    state.store(ended);
    return;
  }
  objects.reset_locks();
  free_lock.reset();
  // The parent's buffers: its own to flush. Every buffer here starts empty, on the free list.
  free_buffers = nullptr;
  for (Buffer* b = all_buffers.load(std::memory_order_relaxed); b != nullptr; b = b->next_all) {
    b->chunk.clear();
    b->owner.store(idle, std::memory_order_relaxed);
    b->next_free = free_buffers;
    free_buffers = b;
  }
  tls.buffer = nullptr;
  tls.index_plus_one = 0;
  tls.since_mark = 0;
  tls.exited = false;
  next_thread.store(0);
  written_events.store(0);
  written_chunks.store(0);
  dropped_events.store(0);
  untracked_frees.store(0);
  write_failed.store(false);
  write_torn.store(false);
  said_write_error.store(false);
  ::close(trace_fd);
  trace_fd = -1;
  // Every object the parent made has an id below this; the child's stamps continue from it.
  const std::uint64_t forked_from = next_stamp.load();
  const int saved = errno;
  const bool ok = open_trace(true, forked_from);
  errno = saved;
  if (!ok) state.store(off);
  tls.busy = false;
}

[[gnu::constructor]] void recorder_start() noexcept {
  if (state.load() == uninitialized) initialize();
  const bool was_busy = tls.busy;
  tls.busy = true;  // the registrations may allocate
  // No DSO handle: run by exit() itself, not by this library's ELF destructor; registered
  // before glibc registers _dl_fini, so it runs after every ELF destructor.
  (void)__cxa_atexit(at_process_exit, nullptr, nullptr);
  (void)::pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
  tls.busy = was_busy;
}

// --- recording each call --------------------------------------------------------------------------

// Saturating nmemb * size: an overflowing product is recorded as the largest size (a failed call).
std::uint64_t product(std::size_t a, std::size_t b) noexcept {
  std::size_t n = 0;
  return __builtin_mul_overflow(a, b, &n) ? std::numeric_limits<std::uint64_t>::max() : n;
}

// log2 of the alignment as recorded: a power of two's, or the next power of two up (memalign
// rounds up; an invalid alignment is a failed call anyway).
unsigned alignment_log2(std::size_t alignment) noexcept {
  if (alignment <= 1) return 0;
  const unsigned bits = 64 - static_cast<unsigned>(__builtin_clzll(alignment - 1));
  return bits > 63 ? 63 : bits;
}

void record_allocation(tr::Kind kind, void* p, std::uint64_t size, unsigned log2) noexcept {
  KeepErrno keep;
  const std::uint64_t stamp = take_stamp();
  if (p != nullptr) (void)objects.insert(reinterpret_cast<std::uintptr_t>(p), stamp);
  const bool failed = p == nullptr;
  emit([&](tr::ChunkEncoder& c) {
    switch (kind) {
      case tr::Kind::calloc: c.calloc_event(stamp, size, failed); break;
      case tr::Kind::aligned: c.aligned_event(stamp, log2, size, failed); break;
      default: c.malloc_event(stamp, size, failed); break;
    }
  });
}

void* pass_malloc(std::size_t n) noexcept {
  return reals_ready.load(std::memory_order_acquire) ? real.malloc(n) : bootstrap_alloc(n);
}

void* traced_realloc(void* p, std::size_t n) noexcept;

}  // namespace

// --- the exported functions -----------------------------------------------------------------------

extern "C" {

[[gnu::visibility("default")]] void* malloc(std::size_t n) noexcept {
  if (!recording_now()) return pass_malloc(n);
  Busy busy;
  void* p = real.malloc(n);
  record_allocation(tr::Kind::malloc, p, n, 0);
  return p;
}

[[gnu::visibility("default")]] void free(void* p) noexcept {
  if (p == nullptr || is_bootstrap(p)) return;
  if (!recording_now()) {
    if (reals_ready.load(std::memory_order_acquire)) real.free(p);
    return;
  }
  Busy busy;
  {
    KeepErrno keep;
    std::uint64_t id = no_id;
    if (objects.erase(reinterpret_cast<std::uintptr_t>(p), &id)) {
      const std::uint64_t stamp = take_stamp();  // before the real free: see the file comment
      emit([&](tr::ChunkEncoder& c) { c.free_event(stamp, id); });
    } else {
      untracked_frees.fetch_add(1, std::memory_order_relaxed);
    }
  }
  real.free(p);
}

[[gnu::visibility("default")]] void* calloc(std::size_t count, std::size_t size) noexcept {
  if (!recording_now()) {
    if (reals_ready.load(std::memory_order_acquire)) return real.calloc(count, size);
    std::size_t n = 0;
    return __builtin_mul_overflow(count, size, &n) ? nullptr : bootstrap_alloc(n);  // zero already
  }
  Busy busy;
  void* p = real.calloc(count, size);
  record_allocation(tr::Kind::calloc, p, product(count, size), 0);
  return p;
}

[[gnu::visibility("default")]] void* realloc(void* p, std::size_t n) noexcept {
  if (p != nullptr && is_bootstrap(p)) {
    // Bootstrap memory cannot go to the real realloc: move it to a real (recorded) block.
    void* q = malloc(n);
    if (q != nullptr) {
      const std::size_t old = bootstrap_size(p);
      std::memcpy(q, p, old < n ? old : n);
    }
    return q;
  }
  if (!recording_now()) return reals_ready.load(std::memory_order_acquire) ? real.realloc(p, n) : bootstrap_alloc(n);
  if (p == nullptr) return malloc(n);  // recorded as a malloc (TRACE_FORMAT.md)
  return traced_realloc(p, n);
}

[[gnu::visibility("default")]] void* reallocarray(void* p, std::size_t count, std::size_t size) noexcept {
  std::size_t n = 0;
  if (!__builtin_mul_overflow(count, size, &n)) return realloc(p, n);
  // Overflow: a failed call, p unchanged.
  if (recording_now()) {
    Busy busy;
    KeepErrno keep;
    std::uint64_t id = no_id;
    const auto address = reinterpret_cast<std::uintptr_t>(p);
    if (p != nullptr && !is_bootstrap(p) && objects.erase(address, &id)) {
      (void)objects.insert(address, id);
      const std::uint64_t stamp = take_stamp();
      emit([&](tr::ChunkEncoder& c) { c.failed_realloc_event(stamp, id, std::numeric_limits<std::uint64_t>::max()); });
    } else {
      const std::uint64_t stamp = take_stamp();
      emit([&](tr::ChunkEncoder& c) { c.malloc_event(stamp, std::numeric_limits<std::uint64_t>::max(), true); });
    }
  }
  errno = ENOMEM;
  return nullptr;
}

[[gnu::visibility("default")]] int posix_memalign(void** out, std::size_t alignment, std::size_t n) noexcept {
  if (!recording_now()) {
    if (reals_ready.load(std::memory_order_acquire)) return real.posix_memalign(out, alignment, n);
    void* p = bootstrap_alloc(n, alignment);
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
  }
  Busy busy;
  void* p = nullptr;
  const int rc = real.posix_memalign(&p, alignment, n);
  record_allocation(tr::Kind::aligned, rc == 0 ? p : nullptr, n, alignment_log2(alignment));
  if (rc == 0) *out = p;
  return rc;
}

[[gnu::visibility("default")]] void* aligned_alloc(std::size_t alignment, std::size_t n) noexcept {
  if (!recording_now()) {
    if (!reals_ready.load(std::memory_order_acquire)) return bootstrap_alloc(n, alignment);
    return real.aligned_alloc != nullptr ? real.aligned_alloc(alignment, n) : real.memalign(alignment, n);
  }
  Busy busy;
  void* p = real.aligned_alloc != nullptr ? real.aligned_alloc(alignment, n) : real.memalign(alignment, n);
  record_allocation(tr::Kind::aligned, p, n, alignment_log2(alignment));
  return p;
}

[[gnu::visibility("default")]] void* memalign(std::size_t alignment, std::size_t n) noexcept {
  if (!recording_now()) {
    return reals_ready.load(std::memory_order_acquire) ? real.memalign(alignment, n) : bootstrap_alloc(n, alignment);
  }
  Busy busy;
  void* p = real.memalign(alignment, n);
  record_allocation(tr::Kind::aligned, p, n, alignment_log2(alignment));
  return p;
}

[[gnu::visibility("default")]] void* valloc(std::size_t n) noexcept {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  if (!recording_now()) {
    if (!reals_ready.load(std::memory_order_acquire)) return bootstrap_alloc(n, page);
    return real.valloc != nullptr ? real.valloc(n) : real.memalign(page, n);
  }
  Busy busy;
  void* p = real.valloc != nullptr ? real.valloc(n) : real.memalign(page, n);
  record_allocation(tr::Kind::aligned, p, n, alignment_log2(page));
  return p;
}

[[gnu::visibility("default")]] void* pvalloc(std::size_t n) noexcept {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  // What pvalloc allocates: n rounded up to whole pages (one page for 0).
  const std::uint64_t rounded = n == 0 ? page
                                : n > std::numeric_limits<std::size_t>::max() - page
                                    ? std::numeric_limits<std::uint64_t>::max()
                                    : (n + page - 1) & ~(page - 1);
  if (!recording_now()) {
    if (!reals_ready.load(std::memory_order_acquire)) return bootstrap_alloc(rounded, page);
    return real.pvalloc != nullptr ? real.pvalloc(n) : real.memalign(page, rounded);
  }
  Busy busy;
  void* p = real.pvalloc != nullptr ? real.pvalloc(n) : real.memalign(page, rounded);
  record_allocation(tr::Kind::aligned, p, rounded, alignment_log2(page));
  return p;
}

[[gnu::visibility("default")]] std::size_t malloc_usable_size(void* p) noexcept {
  if (p == nullptr) return 0;
  if (is_bootstrap(p)) return bootstrap_size(p);
  if (!reals_ready.load(std::memory_order_acquire)) return 0;
  return real.malloc_usable_size != nullptr ? real.malloc_usable_size(p) : 0;
}

// As unistd.h declares it: noreturn (its attribute carries over), not noexcept.
[[gnu::visibility("default")]] void _exit(int status) {
  finish();
  if (real.exit_ != nullptr) real.exit_(status);
  ::syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

[[gnu::visibility("default")]] void _Exit(int status) noexcept {
  finish();
  if (real.Exit_ != nullptr) real.Exit_(status);
  ::syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

}  // extern "C"

namespace {

// realloc of a non-null pointer that is not bootstrap memory, while recording.
void* traced_realloc(void* p, std::size_t n) noexcept {
  Busy busy;
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  std::uint64_t id = no_id;
  std::uint64_t stamp = 0;
  bool known = false;
  {
    KeepErrno keep;
    // Its free side: stamped and forgotten before the real call, which may free p (and another
    // thread may get p back) before it returns.
    stamp = take_stamp();
    known = objects.erase(address, &id);
  }
  void* q = real.realloc(p, n);
  KeepErrno keep;
  if (q == nullptr) {
    if (n == 0) {
      // glibc's realloc(p, 0): p freed, NULL returned. A free of p.
      if (known) {
        emit([&](tr::ChunkEncoder& c) { c.free_event(stamp, id); });
      } else {
        untracked_frees.fetch_add(1, std::memory_order_relaxed);
      }
    } else if (known) {
      (void)objects.insert(address, id);  // failed: p lives on, the same object
      emit([&](tr::ChunkEncoder& c) { c.failed_realloc_event(stamp, id, n); });
    } else {
      emit([&](tr::ChunkEncoder& c) { c.malloc_event(stamp, n, true); });
    }
    return nullptr;
  }
  const std::uint64_t made = take_stamp();  // the allocation side, after the real call
  (void)objects.insert(reinterpret_cast<std::uintptr_t>(q), made);
  if (known) {
    emit([&](tr::ChunkEncoder& c) { c.realloc_event(stamp, id, n, made); });
  } else {
    // The old block was never recorded: what the trace sees is a new object.
    untracked_frees.fetch_add(1, std::memory_order_relaxed);
    emit([&](tr::ChunkEncoder& c) { c.malloc_event(made, n, false); });
  }
  return q;
}

}  // namespace
