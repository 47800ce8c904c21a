// tests/trace/recorder_scenarios.cpp — the programs recorder_preload.cpp runs under
// LD_PRELOAD=liballoclab_trace.so: one scenario per argv[1], each a known sequence of calls.
//
// The sequence a test checks lies between two marker allocations (malloc(marker_begin) ...
// malloc(marker_end)), so what the C runtime allocates around it does not disturb exact counts.
// Sizes inside are distinctive so the test can find each call. Built with -fno-builtin: every
// call stays a call. A scenario exits non-zero when the program itself sees something wrong
// (a result, errno), so the recorder is checked for not disturbing the program too.
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

#include "recorder_sizes.hpp"

namespace {

using namespace alloclab::trace::recorder_test;

// Keeps results observable so the optimiser cannot drop a call.
void* volatile sink;

void* begin_marker() { return std::malloc(marker_begin); }
void end_marker(void* begin) {
  void* end = std::malloc(marker_end);
  std::free(begin);
  std::free(end);
}

int fail(const char* what) {
  std::fprintf(stderr, "scenario: %s\n", what);
  return 1;
}

int counts() {
  void* m = begin_marker();
  void* a[10];
  for (std::size_t i = 0; i < 10; ++i) a[i] = std::malloc(count_malloc_size + i);
  void* c[3];
  for (std::size_t i = 0; i < 3; ++i) c[i] = std::calloc(4, count_calloc_element + i);
  a[0] = std::realloc(a[0], count_realloc_grow);
  a[1] = std::realloc(a[1], count_realloc_shrink);
  void* p1 = nullptr;
  if (posix_memalign(&p1, 64, count_posix_memalign) != 0) return fail("posix_memalign");
  void* p2 = aligned_alloc(4096, count_aligned_alloc);
  void* p3 = memalign(128, count_memalign);
  void* p4 = valloc(count_valloc);
  void* p5 = pvalloc(count_pvalloc);
  if (p2 == nullptr || p3 == nullptr || p4 == nullptr || p5 == nullptr) return fail("aligned allocation");
  if (reinterpret_cast<std::uintptr_t>(p1) % 64 != 0 || reinterpret_cast<std::uintptr_t>(p2) % 4096 != 0 ||
      reinterpret_cast<std::uintptr_t>(p3) % 128 != 0) {
    return fail("alignment");
  }
  for (void* p : a) std::free(p);
  for (void* p : c) std::free(p);
  for (void* p : {p1, p2, p3, p4, p5}) std::free(p);
  std::free(nullptr);  // not recorded
  end_marker(m);
  std::puts("counts done");
  return 0;
}

int realloc_edges() {
  void* m = begin_marker();
  void* p = std::realloc(nullptr, edge_realloc_null);  // a malloc
  if (p == nullptr) return fail("realloc(NULL, n)");
  if (std::realloc(p, 0) != nullptr) return fail("realloc(p, 0) returned a block (glibc frees)");
  void* r = std::malloc(edge_failed_realloc_block);
  errno = 0;
  if (std::realloc(r, huge) != nullptr || errno != ENOMEM) return fail("realloc(p, huge) did not fail with ENOMEM");
  std::memset(r, 1, edge_failed_realloc_block);  // still ours
  std::free(r);
  errno = 0;
  if (std::calloc(huge, 4) != nullptr || errno != ENOMEM) return fail("calloc overflow did not fail with ENOMEM");
  errno = 0;
  if (std::malloc(huge) != nullptr || errno != ENOMEM) return fail("malloc(huge) did not fail with ENOMEM");
  errno = 0;
  if (reallocarray(nullptr, huge, 4) != nullptr || errno != ENOMEM) return fail("reallocarray overflow");
  void* w = std::malloc(edge_reallocarray_block);
  errno = 0;
  if (reallocarray(w, huge, 4) != nullptr || errno != ENOMEM) return fail("reallocarray(p) overflow");
  std::free(w);
  end_marker(m);
  std::puts("edges done");
  return 0;
}

int cross_thread() {
  void* m = begin_marker();
  std::vector<void*> objects(cross_objects);
  std::thread maker([&] {
    for (std::size_t i = 0; i < cross_objects; ++i) objects[i] = std::malloc(cross_size + i);
  });
  maker.join();
  std::thread freer([&] {
    for (void* p : objects) std::free(p);
  });
  freer.join();
  end_marker(m);
  std::puts("cross done");
  return 0;
}

// Many threads at once, every object freed by another thread than the one that made it: the
// trace must hold each free after its malloc in stamp order (the reader checks it).
int handoff() {
  std::mutex lock;
  std::deque<void*> queue;
  std::atomic<int> producing{handoff_threads};
  std::vector<std::thread> threads;
  void* m = begin_marker();
  for (int t = 0; t < handoff_threads; ++t) {
    threads.emplace_back([&] {
      for (std::size_t i = 0; i < handoff_objects; ++i) {
        void* p = std::malloc(handoff_size + 2 * (i % 32));
        const std::lock_guard<std::mutex> hold(lock);
        queue.push_back(p);
      }
      producing.fetch_sub(1);
    });
    threads.emplace_back([&] {
      for (;;) {
        void* p = nullptr;
        {
          const std::lock_guard<std::mutex> hold(lock);
          if (!queue.empty()) {
            p = queue.front();
            queue.pop_front();
          }
        }
        if (p != nullptr) {
          std::free(p);
        } else if (producing.load() == 0) {
          const std::lock_guard<std::mutex> hold(lock);
          if (queue.empty()) return;
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  end_marker(m);
  std::puts("handoff done");
  return 0;
}

// Runs in the exiting thread after the recorder's key destructor (keys are destroyed in the
// order they were created, and the recorder made its key before main).
pthread_key_t late_key;
void late_destructor(void*) {
  void* p = std::malloc(exit_key_destructor_size);
  sink = p;
  std::free(p);
}

struct ThreadLocalDestructor {
  ~ThreadLocalDestructor() {
    void* p = std::malloc(exit_thread_local_size);
    sink = p;
    std::free(p);
  }
};
int thread_exit() {
  if (pthread_key_create(&late_key, late_destructor) != 0) return fail("pthread_key_create");
  void* m = begin_marker();
  std::thread t([] {
    thread_local ThreadLocalDestructor with_destructor;
    sink = &with_destructor;
    (void)pthread_setspecific(late_key, reinterpret_cast<void*>(1));
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < exit_events; ++i) blocks.push_back(std::malloc(exit_size));
    for (void* p : blocks) std::free(p);
  });
  t.join();
  // Thread churn: each thread's buffer is flushed at its exit and used again by the next.
  for (std::size_t i = 0; i < churn_threads; ++i) {
    std::thread([] {
      void* p = std::malloc(churn_size);
      sink = p;
      std::free(p);
    }).join();
  }
  end_marker(m);
  std::puts("thread exit done");
  return 0;
}

int fork_child(bool underscore_exit) {
  void* m = begin_marker();
  void* p1 = std::malloc(fork_parent_freed_in_child);
  void* p2 = std::malloc(fork_parent_kept);
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) return fail("fork");
  if (pid == 0) {
    std::free(p1);  // the parent's object, freed in the child
    void* c = std::malloc(fork_child_size);
    sink = c;
    std::free(c);
    if (underscore_exit) _exit(0);
    std::exit(0);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("child");
  std::free(p2);
  end_marker(m);
  std::printf("child %d\n", static_cast<int>(pid));
  return 0;
}

// Forks while another thread allocates: the recorder's locks must be held across the fork,
// and each child (whose own trace ends with _exit) must work.
int fork_threads() {
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop.load()) {
      void* p = std::malloc(fork_busy_size);
      sink = p;
      std::free(p);
    }
  });
  for (int i = 0; i < fork_children; ++i) {
    const pid_t pid = fork();
    if (pid < 0) return fail("fork");
    if (pid == 0) {
      void* c = std::malloc(fork_child_size);
      sink = c;
      std::free(c);
      _exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("child");
  }
  stop.store(true);
  busy.join();
  std::puts("fork threads done");
  return 0;
}

void many_events(std::size_t pairs, std::size_t size) {
  for (std::size_t i = 0; i < pairs; ++i) {
    void* p = std::malloc(size);
    sink = p;
    std::free(p);
  }
}

int underscore_exit(bool capital) {
  void* m = begin_marker();
  for (std::size_t i = 0; i < exit_kept; ++i) sink = std::malloc(exit_kept_size);
  end_marker(m);
  std::fflush(stdout);
  if (capital) _Exit(3);
  _exit(0);
}

int killed(int signal) {
  many_events(killed_pairs, killed_size);
  std::fflush(stdout);
  if (signal == SIGABRT) std::abort();
  raise(signal);
  return fail("still alive");
}

int bootstrap() {
  // dlopen, dlsym and dlerror allocate (dlerror's state is calloc'd on first use).
  void* libm = dlopen("libm.so.6", RTLD_NOW);
  if (libm == nullptr) return fail("dlopen libm");
  if (dlsym(libm, "no_such_symbol_here") != nullptr) return fail("dlsym of a missing symbol");
  const char* error = dlerror();
  if (error == nullptr || std::strstr(error, "no_such_symbol_here") == nullptr) return fail("dlerror");
  auto* cosine = reinterpret_cast<double (*)(double)>(dlsym(libm, "cos"));
  if (cosine == nullptr) return fail("dlsym cos");
  std::printf("cos(0)=%g\n", cosine(0.0));
  dlclose(libm);
  return 0;
}

int write_error() {
  // A file-size limit past the header and the first chunks: writes then fail (EFBIG; the
  // signal ignored) as they would on a full disk.
  signal(SIGXFSZ, SIG_IGN);
  rlimit limit{write_error_file_limit, write_error_file_limit};
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return fail("setrlimit");
  many_events(write_error_pairs, 24);
  std::puts("write error done");
  return 0;
}

int exit_with_threads() {
  std::atomic<bool> started{false};
  for (int i = 0; i < 3; ++i) {
    std::thread([&] {
      started.store(true);
      for (;;) {
        void* p = std::malloc(48);
        sink = p;
        std::free(p);
      }
    }).detach();
  }
  while (!started.load()) sched_yield();
  usleep(20000);
  std::puts("exit with threads done");
  std::exit(0);
}

// Objects freed by an atexit handler and by a static destructor: the recorder's end comes after.
void* freed_at_exit = nullptr;
struct StaticOwner {
  void* p = nullptr;
  ~StaticOwner() { std::free(p); }
};
StaticOwner static_owner;

}  // namespace
extern "C" void recorder_late_library_keep(std::size_t size);  // recorder_late_library.cpp
namespace {

int late_frees() {
  freed_at_exit = std::malloc(late_atexit_size);
  static_owner.p = std::malloc(late_static_size);
  recorder_late_library_keep(late_library_size);
  std::atexit([] { std::free(freed_at_exit); });
  std::puts("late frees done");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: recorder_scenarios NAME");
  const std::string_view name = argv[1];
  if (name == "counts") return counts();
  if (name == "realloc_edges") return realloc_edges();
  if (name == "cross_thread") return cross_thread();
  if (name == "handoff") return handoff();
  if (name == "thread_exit") return thread_exit();
  if (name == "fork") return fork_child(false);
  if (name == "fork_underscore_exit") return fork_child(true);
  if (name == "fork_threads") return fork_threads();
  if (name == "underscore_exit") return underscore_exit(false);
  if (name == "capital_exit") return underscore_exit(true);
  if (name == "abort") return killed(SIGABRT);
  if (name == "sigkill") return killed(SIGKILL);
  if (name == "bootstrap") return bootstrap();
  if (name == "write_error") return write_error();
  if (name == "exit_with_threads") return exit_with_threads();
  if (name == "late_frees") return late_frees();
  return fail("unknown scenario");
}
