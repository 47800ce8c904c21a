// tests/trace/hostile_recorder/hostile.c — programs that try to break liballoclab_trace.so:
// each scenario (argv[1]) prints only run-independent text (no addresses, no times), so that
// its output untraced and traced can be compared byte for byte by compare.sh, and then the
// traces it leaves are validated. Found faults are listed in run_hostile.sh.
//
// Scenarios: api closeall closeall_reopen dup2hi forkthreads concurrent_forks vfork_alloc spawns
// execself sigjmp sigjmp_recorder sigfork sigalloc_safe sigalloc exit_many main_pthread_exit
// threads concurrent_threads cancel key_destructor_frees exit_during_thread_exits term_handler
// small_stack small_stack_threads keys live invalid_free double_free forever forever_threads.
// sigjmp and sigalloc jump out of / allocate in handlers that land anywhere, glibc's malloc
// included: undefined with or without the recorder (both crash); sigjmp_recorder and
// sigalloc_safe are their defined-enough versions.
//
// Build: cc -O1 -g -pthread -fno-builtin -Wno-alloc-size-larger-than -Wno-use-after-free
//          -o hostile hostile.c
// Not a unit test: some scenarios are slow (minutes), abort on purpose, loop until killed, or
// need limits set by the caller (ulimit -n / -f); run_hostile.sh drives the fault checks.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <ucontext.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static void churn(int n, size_t size) {
  void* keep[64] = {0};
  for (int i = 0; i < n; ++i) {
    int k = i & 63;
    free(keep[k]);
    keep[k] = malloc(size + (size_t)(i % 97));
  }
  for (int k = 0; k < 64; ++k) free(keep[k]);
}

static long status_kb(const char* key) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t n = strlen(key);
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, key, n) == 0) v = atol(line + n + 1);
  }
  if (f) fclose(f);
  return v;
}

// --- errno and the corner cases of the API ----------------------------------------------------

static int api(void) {
  errno = 1234;
  void* p = malloc(16);
  printf("malloc ok errno=%d\n", errno);
  errno = 1234;
  free(p);
  printf("free errno=%d\n", errno);
  errno = 1234;
  free(NULL);
  printf("free(NULL) errno=%d\n", errno);
  errno = 1234;
  p = calloc(3, 5);
  printf("calloc ok errno=%d zero=%d\n", errno, ((char*)p)[14] == 0);
  errno = 1234;
  p = realloc(p, 4000);
  printf("realloc ok errno=%d\n", errno);
  errno = 1234;
  void* q = realloc(p, 0);
  printf("realloc(p,0) -> %s errno=%d\n", q ? "ptr" : "NULL", errno);
  free(q);
  errno = 1234;
  q = realloc(NULL, 0);
  printf("realloc(NULL,0) -> %s errno=%d\n", q ? "ptr" : "NULL", errno);
  free(q);
  errno = 0;
  q = malloc(SIZE_MAX);
  printf("malloc(SIZE_MAX) -> %s errno=%d\n", q ? "ptr" : "NULL", errno);
  errno = 0;
  q = malloc((size_t)1 << 62);
  printf("malloc(2^62) -> %s errno=%d\n", q ? "ptr" : "NULL", errno);
  errno = 0;
  q = calloc(SIZE_MAX / 2, 3);
  printf("calloc overflow -> %s errno=%d\n", q ? "ptr" : "NULL", errno);
  errno = 0;
  q = calloc((size_t)1 << 31, (size_t)1 << 31);
  printf("calloc 2^62 -> %s errno=%d\n", q ? "ptr" : "NULL", errno);
  p = malloc(100);
  errno = 0;
  q = realloc(p, SIZE_MAX - 4096);
  printf("realloc huge -> %s errno=%d\n", q ? "ptr" : "NULL", errno);
  errno = 0;
  q = reallocarray(p, SIZE_MAX / 2, 3);
  printf("reallocarray overflow -> %s errno=%d\n", q ? "ptr" : "NULL", errno);
  q = reallocarray(p, 10, 30);
  printf("reallocarray ok -> %s\n", q ? "ptr" : "NULL");
  free(q);
  static const size_t aligns[] = {0, 1, 2, 3, 4, 8, 12, 16, 24, 48, 64, 4096, 65536, (size_t)1 << 30,
                                  (size_t)1 << 40, (size_t)1 << 47, (size_t)1 << 62, ((size_t)1 << 63) + 1,
                                  SIZE_MAX};
  for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; ++i) {
    size_t a = aligns[i];
    void* out = (void*)0x1234;
    errno = 4321;
    int rc = posix_memalign(&out, a, 100);
    printf("posix_memalign(%zu) rc=%d out_%s errno=%d\n", a, rc,
           rc == 0 ? (((uintptr_t)out % (a ? a : 1)) == 0 ? "aligned" : "MISALIGNED")
                   : (out == (void*)0x1234 ? "untouched" : "CHANGED"),
           errno);
    if (rc == 0) free(out);
    errno = 4321;
    void* m = memalign(a, 100);
    printf("memalign(%zu) -> %s errno=%d\n", a, m ? "ptr" : "NULL", errno);
    free(m);
    errno = 4321;
    m = aligned_alloc(a, 100);
    printf("aligned_alloc(%zu,100) -> %s errno=%d\n", a, m ? "ptr" : "NULL", errno);
    free(m);
  }
  errno = 0;
  void* v = valloc(10);
  printf("valloc -> %s page_aligned=%d\n", v ? "ptr" : "NULL", ((uintptr_t)v & 4095) == 0);
  free(v);
  v = pvalloc(0);
  printf("pvalloc(0) -> %s usable>=4096: %d\n", v ? "ptr" : "NULL", malloc_usable_size(v) >= 4096);
  free(v);
  v = pvalloc(SIZE_MAX - 10);
  printf("pvalloc(huge) -> %s errno=%d\n", v ? "ptr" : "NULL", errno);
  printf("malloc_usable_size(NULL)=%zu\n", malloc_usable_size(NULL));
  p = malloc(100);
  printf("malloc_usable_size(100)>=100: %d\n", malloc_usable_size(p) >= 100);
  free(p);
  printf("mallopt=%d\n", mallopt(M_MMAP_THRESHOLD, 64 * 1024));
  for (int i = 0; i < 1000; ++i) free(malloc(100000));
  printf("malloc_trim=%d\n", malloc_trim(0) >= 0);
  struct mallinfo2 mi = mallinfo2();
  printf("mallinfo2 ok=%d\n", mi.arena < ((size_t)1 << 62));
  return 0;
}

// --- descriptors --------------------------------------------------------------------------------

// Closes every descriptor above 2, opens a file of its own, writes to it, allocates enough to make
// the recorder flush, then prints what the file holds.
static int closeall(const char* path) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  for (int fd = 3; fd < (int)rl.rlim_cur; ++fd) close(fd);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // Occupy every descriptor up to the limit, as a server with many clients would.
  int last = fd;
  for (;;) {
    int d = open("/dev/null", O_RDONLY);
    if (d < 0) break;
    last = d;
  }
  for (int d = fd + 1; d <= last; ++d) close(d);
  dprintf(fd, "program data\n");
  churn(300000, 40);
  dprintf(fd, "more program data\n");
  close(fd);
  struct stat st;
  stat(path, &st);
  printf("file %s size=%lld\n", path, (long long)st.st_size);
  return 0;
}

// Closes every descriptor above 2 (as a daemon does at start), then opens `reopen` files of its
// own before the one it writes (a server's clients, a database's table files).
static int closeall_reopen(const char* path, int reopen) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  for (int fd = 3; fd < (int)rl.rlim_cur; ++fd) close(fd);
  for (int i = 0; i < reopen; ++i) open("/dev/null", O_RDONLY);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dprintf(fd, "program data\n");
  churn(300000, 40);
  dprintf(fd, "more program data\n");
  close(fd);
  struct stat st;
  stat(path, &st);
  printf("file %s size=%lld\n", path, (long long)st.st_size);
  return 0;
}

static int dup2hi(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  for (int target = 900; target < 910; ++target) dup2(fd, target);
  close(fd);
  dprintf(900, "program data\n");
  churn(300000, 40);
  dprintf(905, "more program data\n");
  struct stat st;
  stat(path, &st);
  printf("file %s size=%lld\n", path, (long long)st.st_size);
  return 0;
}

// --- fork, vfork, spawn, exec ---------------------------------------------------------------------

static atomic_int stop_flag;
static void* allocator_thread(void* arg) {
  (void)arg;
  while (!atomic_load(&stop_flag)) churn(1000, 24);
  return NULL;
}

static int forkthreads(int forks) {
  pthread_t t[4];
  for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, allocator_thread, NULL);
  int ok = 0;
  for (int i = 0; i < forks; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      churn(2000, 32);
      if (i % 2) exit(3);
      _exit(3);
    }
    int st;
    waitpid(pid, &st, 0);
    ok += WIFEXITED(st) && WEXITSTATUS(st) == 3;
  }
  atomic_store(&stop_flag, 1);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
  printf("forks ok %d of %d\n", ok, forks);
  return 0;
}

// Several threads fork at once while others allocate.
static void* forking_thread(void* arg) {
  int n = (int)(intptr_t)arg, ok = 0;
  for (int i = 0; i < n; ++i) {
    churn(500, 40);
    pid_t pid = fork();
    if (pid == 0) {
      churn(500, 24);
      _exit(4);
    }
    int st;
    waitpid(pid, &st, 0);
    ok += WIFEXITED(st) && WEXITSTATUS(st) == 4;
  }
  return (void*)(intptr_t)ok;
}
static int concurrent_forks(int n) {
  pthread_t a[2], f[4];
  for (int i = 0; i < 2; ++i) pthread_create(&a[i], NULL, allocator_thread, NULL);
  for (int i = 0; i < 4; ++i) pthread_create(&f[i], NULL, forking_thread, (void*)(intptr_t)n);
  long ok = 0;
  for (int i = 0; i < 4; ++i) {
    void* r;
    pthread_join(f[i], &r);
    ok += (intptr_t)r;
  }
  atomic_store(&stop_flag, 1);
  for (int i = 0; i < 2; ++i) pthread_join(a[i], NULL);
  printf("forks ok %ld of %d\n", ok, 4 * n);
  return 0;
}

// A vfork child that allocates and frees before it execs or exits (undefined by POSIX, done by
// real programs): it runs on the parent's memory, and so in the recorder's state.
static int vfork_alloc(void) {
  for (int i = 0; i < 50; ++i) {
    void* keep = malloc(100);
    pid_t pid = vfork();
    if (pid == 0) {
      char* p = malloc(1000);
      free(keep);  // frees the parent's object: what the parent then sees is its own business
      if (i % 2) execl("/bin/true", "true", (char*)NULL);
      _exit(p != NULL ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    churn(100, 16);
  }
  printf("vfork children done\n");
  return 0;
}

static int spawns(void) {
  char* argv[] = {"/bin/echo", "spawned", NULL};
  pid_t pid;
  int st;
  fflush(stdout);
  posix_spawn(&pid, "/bin/echo", NULL, NULL, argv, environ);
  waitpid(pid, &st, 0);
  fflush(stdout);
  pid = vfork();
  if (pid == 0) {
    execve("/bin/echo", (char*[]){"/bin/echo", "vforked", NULL}, environ);
    _exit(127);
  }
  waitpid(pid, &st, 0);
  pid = vfork();
  if (pid == 0) _exit(5);  // a vfork child that exits without exec
  waitpid(pid, &st, 0);
  printf("vfork _exit status %d\n", WEXITSTATUS(st));
  churn(1000, 10);
  fflush(stdout);
  if (system("echo from system") != 0) printf("system failed\n");
  FILE* f = popen("echo from popen", "r");
  char line[64];
  if (fgets(line, sizeof line, f)) printf("%s", line);
  pclose(f);
  return 0;
}

static int execself(int argc, char** argv) {
  churn(100000, 50);
  if (argc > 2) {
    printf("after exec\n");
    return 0;
  }
  fflush(stdout);
  execl("/proc/self/exe", argv[0], "execself", "again", (char*)NULL);
  return 1;
}

// --- signals ----------------------------------------------------------------------------------------

static sigjmp_buf jump;
static volatile sig_atomic_t jumps;
static void jump_handler(int sig) {
  (void)sig;
  ++jumps;
  siglongjmp(jump, 1);
}

// A profiling timer whose handler jumps out of wherever the thread is, allocator included (as
// an interpreter's time-slice or a checker's timeout does).
static int sigjmp(void) {
  struct sigaction sa = {0};
  sa.sa_handler = jump_handler;
  sigaction(SIGPROF, &sa, NULL);
  struct itimerval it = {{0, 50}, {0, 50}};
  setitimer(ITIMER_PROF, &it, NULL);
  long rounds = 0;
  while (jumps < 20000) {
    if (sigsetjmp(jump, 1) == 0) {
      for (;;) churn(64, 30);
    }
    ++rounds;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_PROF, &off, NULL);
  // After the jumps: a known number of calls, to count in the trace.
  for (int i = 0; i < 100000; ++i) free(malloc(12345));
  printf("jumped out %d times\n", jumps >= 20000);
  return 0;
}

// The same jump, taken only when the signal landed in the recorder's own code (never inside
// glibc's malloc, whose state a jump would break whatever the recorder does): what a jump out
// of the recorder leaves behind, with the real allocator intact.
static uintptr_t recorder_lo, recorder_hi;
static int find_recorder(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  (void)data;
  if (!strstr(info->dlpi_name, "alloclab_trace")) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
      recorder_lo = info->dlpi_addr + ph->p_vaddr;
      recorder_hi = recorder_lo + ph->p_memsz;
    }
  }
  return 1;
}
static volatile sig_atomic_t samples, jumps_in_recorder;
static void jump_if_in_recorder(int sig, siginfo_t* si, void* uc_) {
  (void)sig;
  (void)si;
  ucontext_t* uc = uc_;
  uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  ++samples;
  if (pc >= recorder_lo && pc < recorder_hi) {
    ++jumps_in_recorder;
    siglongjmp(jump, 1);
  }
}
static int sigjmp_recorder(long want) {
  dl_iterate_phdr(find_recorder, NULL);
  struct sigaction sa = {0};
  sa.sa_sigaction = jump_if_in_recorder;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGPROF, &sa, NULL);
  struct itimerval it = {{0, 100}, {0, 100}};
  setitimer(ITIMER_PROF, &it, NULL);
  while (samples < 20000 && (recorder_lo == 0 || jumps_in_recorder < want)) {
    if (sigsetjmp(jump, 1) == 0) {
      for (int i = 0; i < 100; ++i) churn(64, 30);
    }
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_PROF, &off, NULL);
  fprintf(stderr, "jumps out of the recorder: %d (of %d samples)\n", (int)jumps_in_recorder, (int)samples);
  // After the jumps: exactly 200000 calls, to count in the trace.
  for (int i = 0; i < 100000; ++i) free(malloc(12345));
  printf("done\n");
  return 0;
}

// fork() from a signal handler (async-signal-safe in POSIX.1-2008, and what crash reporters do),
// landing anywhere in the program, malloc and the recorder included.
static volatile sig_atomic_t forked_in_handler;
static void fork_handler(int sig) {
  (void)sig;
  int saved = errno;
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(pid, NULL, 0);
  ++forked_in_handler;
  errno = saved;
}
static int sigfork(int want) {
  struct sigaction sa = {0};
  sa.sa_handler = fork_handler;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGPROF, &sa, NULL);
  struct itimerval it = {{0, 200}, {0, 200}};
  setitimer(ITIMER_PROF, &it, NULL);
  while (forked_in_handler < want) churn(1000, 30);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_PROF, &off, NULL);
  printf("forked in handler >= %d\n", want);
  return 0;
}

// A handler that allocates (as many real programs do), only when the signal did not land in
// libc (whose malloc is not reentrant whatever the recorder does): it lands in the program or in
// the recorder, which must record it or pass it through and stay consistent.
static uintptr_t libc_lo, libc_hi;
static int find_libc(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  (void)data;
  if (!strstr(info->dlpi_name, "libc.so")) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
      libc_lo = info->dlpi_addr + ph->p_vaddr;
      libc_hi = libc_lo + ph->p_memsz;
    }
  }
  return 1;
}
static volatile sig_atomic_t safe_allocs, signals_seen;
static void alloc_unless_in_libc(int sig, siginfo_t* si, void* uc_) {
  (void)sig;
  (void)si;
  ucontext_t* uc = uc_;
  uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  ++signals_seen;
  if (pc >= libc_lo && pc < libc_hi) return;
  int saved = errno;
  void* p = malloc(77);
  p = realloc(p, 300);
  free(p);
  ++safe_allocs;
  errno = saved;
}
static int sigalloc_safe(int want) {
  dl_iterate_phdr(find_libc, NULL);
  struct sigaction sa = {0};
  sa.sa_sigaction = alloc_unless_in_libc;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGPROF, &sa, NULL);
  struct itimerval it = {{0, 100}, {0, 100}};
  setitimer(ITIMER_PROF, &it, NULL);
  while (safe_allocs < want) churn(1000, 30);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_PROF, &off, NULL);
  printf("allocated in %d handlers\n", want);
  return 0;
}

static volatile sig_atomic_t handled;
static void alloc_handler(int sig) {
  (void)sig;
  void* p = malloc(77);
  free(p);
  ++handled;
}
static int sigalloc(void) {
  struct sigaction sa = {0};
  sa.sa_handler = alloc_handler;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGPROF, &sa, NULL);
  struct itimerval it = {{0, 100}, {0, 100}};
  setitimer(ITIMER_PROF, &it, NULL);
  while (handled < 20000) churn(1000, 30);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_PROF, &off, NULL);
  printf("handled >= 20000: %d\n", handled >= 20000);
  return 0;
}

// --- exits ------------------------------------------------------------------------------------------

static pthread_barrier_t barrier;
static void* exiter(void* arg) {
  churn(10000, 16);
  pthread_barrier_wait(&barrier);
  exit((int)(intptr_t)arg);
}
static int exit_many(void) {
  enum { n = 16 };
  pthread_barrier_init(&barrier, NULL, n);
  pthread_t t[n];
  for (int i = 0; i < n; ++i) pthread_create(&t[i], NULL, exiter, (void*)(intptr_t)9);
  for (;;) churn(1000, 20);
  return 0;
}

static void* late_worker(void* arg) {
  (void)arg;
  churn(200000, 48);
  printf("worker done\n");
  return NULL;
}
static int main_pthread_exit(void) {
  pthread_t t[3];
  for (int i = 0; i < 3; ++i) pthread_create(&t[i], NULL, late_worker, NULL);
  churn(1000, 8);
  pthread_exit(NULL);
}

// --- threads --------------------------------------------------------------------------------------

static void* short_thread(void* arg) {
  free(malloc((size_t)(intptr_t)arg));
  return NULL;
}
// `total` threads, `concurrent` at a time, each one malloc and one free.
static int threads(long total, long concurrent) {
  pthread_t* t = calloc((size_t)concurrent, sizeof *t);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  long made = 0;
  while (made < total) {
    long k = 0;
    for (; k < concurrent && made < total; ++k, ++made) {
      if (pthread_create(&t[k], &attr, short_thread, (void*)(intptr_t)(16 + made % 100)) != 0) {
        printf("pthread_create failed at %ld\n", made);
        return 1;
      }
    }
    for (long j = 0; j < k; ++j) pthread_join(t[j], NULL);
  }
  free(t);
  printf("threads %ld\n", made);
  return 0;
}

static pthread_barrier_t hold;
static void* held_thread(void* arg) {
  void* p = malloc(64);
  pthread_barrier_wait(&hold);  // all alive at once
  free(p);
  (void)arg;
  return NULL;
}
static int concurrent_threads(int n) {
  pthread_t* t = calloc((size_t)n, sizeof *t);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_barrier_init(&hold, NULL, (unsigned)n + 1);
  for (int i = 0; i < n; ++i) {
    if (pthread_create(&t[i], &attr, held_thread, NULL) != 0) {
      printf("pthread_create failed at %d\n", i);
      return 1;
    }
  }
  long rss = status_kb("VmRSS");
  pthread_barrier_wait(&hold);
  for (int i = 0; i < n; ++i) pthread_join(t[i], NULL);
  fprintf(stderr, "rss with %d threads alive: %ld KiB\n", n, rss);
  printf("threads %d\n", n);
  return 0;
}

// Deferred cancellation: malloc and free are not cancellation points, so a thread that calls
// only them inside a critical section cannot be cancelled there. It is cancelled at its
// pthread_testcancel, after the unlock, and the mutex is free again.
static pthread_mutex_t critical = PTHREAD_MUTEX_INITIALIZER;
static atomic_int cancel_ready;
static void* cancellable(void* arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&critical);
    atomic_store(&cancel_ready, 1);
    churn(20000, 40);  // no cancellation point in here
    pthread_mutex_unlock(&critical);
    pthread_testcancel();
  }
  return NULL;
}
static int cancel(int rounds) {
  int held = 0;
  for (int r = 0; r < rounds; ++r) {
    atomic_store(&cancel_ready, 0);
    pthread_t t;
    pthread_create(&t, NULL, cancellable, NULL);
    while (!atomic_load(&cancel_ready)) sched_yield();
    pthread_cancel(t);
    void* result;
    pthread_join(t, &result);
    if (pthread_mutex_trylock(&critical) != 0) {
      ++held;  // cancelled inside the critical section: the mutex stays locked for ever
      pthread_mutex_destroy(&critical);
      pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
      critical = fresh;
    } else {
      pthread_mutex_unlock(&critical);
    }
  }
  printf("cancelled inside the critical section: %d of %d\n", held, rounds);
  return 0;
}

// A thread-specific key's destructor that frees the thread's pool of objects at thread exit (the
// recorder's own key, created first, has run by then).
static pthread_key_t pool_key;
static void free_pool(void* pool) {
  void** v = pool;
  for (int i = 0; v[i] != NULL; ++i) free(v[i]);
  free(v);
}
static void* pool_thread(void* arg) {
  int n = (int)(intptr_t)arg;
  void** v = calloc((size_t)n + 1, sizeof *v);
  for (int i = 0; i < n; ++i) v[i] = malloc(32);
  pthread_setspecific(pool_key, v);
  return NULL;
}
static int key_destructor_frees(int n) {
  pthread_key_create(&pool_key, free_pool);
  pthread_t t;
  pthread_create(&t, NULL, pool_thread, (void*)(intptr_t)n);
  pthread_join(t, NULL);
  printf("pool of %d freed at thread exit\n", n);
  return 0;
}

// exit() while many threads are starting, allocating and exiting (their key destructors and
// teardown racing the recorder's end).
static void* brief_thread(void* arg) {
  churn(2000 + (int)(intptr_t)arg % 3000, 40);
  return NULL;
}
static int exit_during_thread_exits(int n) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < n; ++i) {
    pthread_t t;
    pthread_create(&t, &attr, brief_thread, (void*)(intptr_t)(i * 7919));
  }
  churn(3000, 40);
  printf("exiting\n");
  exit(6);
}

// fork() from a thread with the smallest stack POSIX allows (PTHREAD_STACK_MIN, 16 KiB), with
// the trace directory renamed first when `remove_dir` is set (the child then cannot open its
// file and the recorder says so on stderr): the fork handlers run on that stack.
static const char* small_stack_dir;
static void* small_stack_fork(void* arg) {
  (void)arg;
  void* p = malloc(10);
  if (small_stack_dir != NULL) {
    char gone[4096];
    snprintf(gone, sizeof gone, "%s.gone", small_stack_dir);
    rename(small_stack_dir, gone);
  }
  pid_t pid = fork();
  if (pid == 0) {
    free(p);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  free(p);
  return (void*)(intptr_t)(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}
static int small_stack(int remove_dir) {
  if (remove_dir) small_stack_dir = getenv("ALLOCLAB_TRACE_DIR");
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN);
  pthread_t t;
  pthread_create(&t, &attr, small_stack_fork, NULL);
  void* r;
  pthread_join(t, &r);
  printf("child status %d\n", (int)(intptr_t)r);
  return 0;
}

// Threads with PTHREAD_STACK_MIN stacks that allocate enough to fill a chunk: with the trace
// directory full, the write error is said from that stack.
static void* small_stack_churn(void* arg) {
  (void)arg;
  churn(200000, 40);
  return NULL;
}
static int small_stack_threads(int n) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN);
  pthread_t t[64];
  for (int i = 0; i < n && i < 64; ++i) pthread_create(&t[i], &attr, small_stack_churn, NULL);
  for (int i = 0; i < n && i < 64; ++i) pthread_join(t[i], NULL);
  printf("small-stack threads done\n");
  return 0;
}

static int keys(void) {
  pthread_key_t k;
  int n = 0;
  while (pthread_key_create(&k, NULL) == 0) ++n;
  printf("keys created %d\n", n);
  return 0;
}

// --- memory -----------------------------------------------------------------------------------------

// `n` live objects of `size` bytes, then all freed; prints nothing that depends on the recorder
// and tells the caller the peak RSS on stderr.
static int live(long n, size_t size) {
  void** v = malloc((size_t)n * sizeof *v);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; ++i) v[i] = malloc(size);
  for (long i = 0; i < n; i += 2) free(v[i]);
  for (long i = 0; i < n; i += 2) v[i] = malloc(size);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long hwm = status_kb("VmHWM");
  for (long i = 0; i < n; ++i) free(v[i]);
  free(v);
  fprintf(stderr, "live %ld x %zu: VmHWM %ld KiB, %.2f s for %ld calls\n", n, size, hwm,
          (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9, n * 2);
  printf("live done\n");
  return 0;
}

static int forever(void) {
  for (;;) churn(100000, 40);
  return 0;
}

static void* forever_thread(void* arg) {
  size_t size = (size_t)(intptr_t)arg;
  for (;;) churn(1000, size);
  return NULL;
}
static int forever_threads(int n) {
  pthread_t t;
  for (int i = 1; i < n; ++i) pthread_create(&t, NULL, forever_thread, (void*)(intptr_t)(8 * i));
  forever_thread((void*)(intptr_t)8);
  return 0;
}

// A SIGTERM handler that calls _exit (async-signal-safe, the usual way to stop at once), while
// the threads allocate as fast as they can.
static void term_exit(int sig) {
  (void)sig;
  _exit(3);
}
static int term_handler(int n) {
  signal(SIGTERM, term_exit);
  return forever_threads(n);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char* s = argc > 1 ? argv[1] : "";
  long n = argc > 2 ? atol(argv[2]) : 0;
  if (!strcmp(s, "api")) return api();
  if (!strcmp(s, "closeall")) return closeall(argc > 2 ? argv[2] : "/tmp/hostile_closeall.txt");
  if (!strcmp(s, "closeall_reopen")) return closeall_reopen(argv[2], atoi(argv[3]));
  if (!strcmp(s, "dup2hi")) return dup2hi(argc > 2 ? argv[2] : "/tmp/hostile_dup2hi.txt");
  if (!strcmp(s, "forkthreads")) return forkthreads(n ? (int)n : 200);
  if (!strcmp(s, "concurrent_forks")) return concurrent_forks(n ? (int)n : 100);
  if (!strcmp(s, "vfork_alloc")) return vfork_alloc();
  if (!strcmp(s, "spawns")) return spawns();
  if (!strcmp(s, "execself")) return execself(argc, argv);
  if (!strcmp(s, "sigjmp")) return sigjmp();
  if (!strcmp(s, "sigjmp_recorder")) return sigjmp_recorder(n ? n : 1);
  if (!strcmp(s, "sigfork")) return sigfork(n ? (int)n : 300);
  if (!strcmp(s, "sigalloc_safe")) return sigalloc_safe(n ? (int)n : 5000);
  if (!strcmp(s, "sigalloc")) return sigalloc();
  if (!strcmp(s, "exit_many")) return exit_many();
  if (!strcmp(s, "main_pthread_exit")) return main_pthread_exit();
  if (!strcmp(s, "threads")) return threads(n, argc > 3 ? atol(argv[3]) : 64);
  if (!strcmp(s, "concurrent_threads")) return concurrent_threads((int)n);
  if (!strcmp(s, "cancel")) return cancel(n ? (int)n : 50);
  if (!strcmp(s, "key_destructor_frees")) return key_destructor_frees(n ? (int)n : 100000);
  if (!strcmp(s, "exit_during_thread_exits")) return exit_during_thread_exits(n ? (int)n : 200);
  if (!strcmp(s, "term_handler")) return term_handler(n ? (int)n : 1);
  if (!strcmp(s, "small_stack")) return small_stack((int)n);
  if (!strcmp(s, "small_stack_threads")) return small_stack_threads(n ? (int)n : 4);
  if (!strcmp(s, "keys")) return keys();
  if (!strcmp(s, "live")) return live(n, argc > 3 ? (size_t)atol(argv[3]) : 16);
  if (!strcmp(s, "invalid_free")) {
    char* p = malloc(100);
    free(p + 16);
    return 0;
  }
  if (!strcmp(s, "double_free")) {
    char* p = malloc(100);
    free(p);
    free(p);
    return 0;
  }
  if (!strcmp(s, "forever")) return forever();
  if (!strcmp(s, "forever_threads")) return forever_threads((int)n);
  fprintf(stderr, "unknown scenario %s\n", s);
  return 2;
}
