/* liballoclab_probe.so: proof that an allocator took effect in a program alloclab runs.
 *
 * The programs runner preloads it after the allocator under test (LD_PRELOAD="lib.so probe")
 * with ALLOCLAB_PROBE_FILE set. At load, in every process of the program (children inherit
 * the environment), it appends one line to that file:
 *     <pid> TAB <file that defines the malloc this process calls> TAB <executable>
 * so the runner can check that each process's malloc resolves into the library it preloaded,
 * not merely that the library is mapped. The probe allocates nothing and defines no symbol
 * a program could call. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void alloclab_probe_report(void) {
  const char* path = getenv("ALLOCLAB_PROBE_FILE");
  if (path == NULL || path[0] == '\0') return;
  Dl_info info;
  void* symbol = dlsym(RTLD_DEFAULT, "malloc");
  const char* library = (symbol != NULL && dladdr(symbol, &info) != 0 && info.dli_fname != NULL)
                            ? info.dli_fname : "?";
  char exe[1024];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  char line[3072];
  int length = snprintf(line, sizeof line, "%ld\t%s\t%s\n", (long)getpid(), library, exe);
  if (length <= 0) return;
  if (length >= (int)sizeof line) length = (int)sizeof line - 1;
  /* O_APPEND: the processes of one run write whole lines into one file without a lock. */
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t written = write(fd, line, (size_t)length);
  (void)written;
  close(fd);
}
