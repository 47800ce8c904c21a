/* alloclab_launch: runs one program and reports its own rusage, not its parent's.
 *
 *   alloclab_launch REPORT_FILE PROGRAM [ARG...]
 *
 * Why it exists: Linux keeps the largest RSS a process ever had across exec (ru_maxrss), so a
 * program forked straight from the Python runner would report the runner's 50 MiB as its
 * floor. Forked from this small launcher instead, its ru_maxrss is its own (plus the launcher's
 * ~1 MiB). The launcher sets LD_PRELOAD for the program only (from ALLOCLAB_LAUNCH_PRELOAD),
 * so neither the allocator nor the probe runs in the launcher.
 *
 * REPORT_FILE (written atomically: REPORT_FILE.tmp, then renamed) holds one line:
 *   wall_ns utime_us stime_us maxrss_kib minflt majflt wait_status
 * Exit status: the program's, 128 + N if signal N killed it, 127 if it could not be started. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The runner gone (it set SIGTERM as this process's parent-death signal) or asked to stop:
 * the whole group goes, grandchildren included (g++'s cc1plus), this launcher last. */
static void end_group(int signal_number) {
  (void)signal_number;
  kill(0, SIGKILL);
  _exit(137);
}

int main(int argc, char** argv) {
  signal(SIGTERM, end_group);
  if (argc < 3) {
    fprintf(stderr, "usage: alloclab_launch REPORT_FILE PROGRAM [ARG...]\n");
    return 2;
  }
  const char* preload = getenv("ALLOCLAB_LAUNCH_PRELOAD");
  const long long started = now_ns();
  const pid_t child = fork();
  if (child < 0) {
    perror("alloclab_launch: fork");
    return 127;
  }
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // the launcher killed: the program goes with it
    signal(SIGTERM, SIG_DFL);
    if (preload != NULL && preload[0] != '\0') setenv("LD_PRELOAD", preload, 1);
    else unsetenv("LD_PRELOAD");
    unsetenv("ALLOCLAB_LAUNCH_PRELOAD");
    execvp(argv[2], argv + 2);
    fprintf(stderr, "alloclab_launch: cannot run %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int status = 0;
  struct rusage usage;
  while (wait4(child, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      perror("alloclab_launch: wait4");
      return 127;
    }
  }
  const long long wall = now_ns() - started;
  char temp[4096];
  if (snprintf(temp, sizeof temp, "%s.tmp", argv[1]) >= (int)sizeof temp) return 127;
  FILE* report = fopen(temp, "w");
  if (report == NULL) {
    perror("alloclab_launch: report file");
    return 127;
  }
  fprintf(report, "%lld %lld %lld %ld %ld %ld %d\n", wall,
          (long long)usage.ru_utime.tv_sec * 1000000LL + usage.ru_utime.tv_usec,
          (long long)usage.ru_stime.tv_sec * 1000000LL + usage.ru_stime.tv_usec,
          usage.ru_maxrss, usage.ru_minflt, usage.ru_majflt, status);
  if (fclose(report) != 0 || rename(temp, argv[1]) != 0) {
    perror("alloclab_launch: report file");
    return 127;
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
