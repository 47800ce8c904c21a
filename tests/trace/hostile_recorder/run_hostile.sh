#!/bin/bash
# tests/trace/hostile_recorder/run_hostile.sh — the faults a hostile test of liballoclab_trace.so
# found, one check each: it prints "FAULT name: what happened" while the fault is there and
# "ok name" once it is fixed. Exit status: the number of faults seen (0 = none).
#
# Usage: tests/trace/hostile_recorder/run_hostile.sh BUILD_DIR [NAME...]
#   BUILD_DIR holds harness/liballoclab_trace.so and harness/alloclab-trace (cmake --build
#   BUILD_DIR --target alloclab_trace alloclab_trace_tool). NAMEs pick checks (default: all but
#   the slow ones; SLOW=1 adds thread_index, about a minute). Needs cc and root for nothing
#   except full_dir (a 64 KiB tmpfs; skipped when mount fails).
# Not part of ctest: several checks take seconds, two need timeouts to tell a hang.
set -u
build=$(cd "${1:?usage: run_hostile.sh BUILD_DIR [NAME...]}" && pwd); shift
here=$(cd "$(dirname "$0")" && pwd)
export RECORDER=$build/harness/liballoclab_trace.so TOOL=$build/harness/alloclab-trace
work=$(mktemp -d /tmp/hostile_recorder.XXXXXX)
H=$work/hostile
cc -O1 -g -pthread -fno-builtin -Wno-alloc-size-larger-than -Wno-use-after-free -o "$H" "$here/hostile.c" || exit 100
faults=0
fault() { echo "FAULT $1: $2"; faults=$((faults + 1)); }
ok() { echo "ok $1"; }
traced() {  # traced DIR CMD... : runs CMD under the recorder writing into DIR
  local dir=$1; shift
  mkdir -p "$dir"
  ALLOCLAB_TRACE_DIR=$dir LD_PRELOAD=$RECORDER "$@"
}
valid() {  # valid DIR : 0 when every trace in DIR is read back
  local f rc=0
  for f in "$1"/*.trace; do
    [ -e "$f" ] || continue
    "$TOOL" info "$f" >/dev/null 2>"$f.err" || { cat "$f.err"; rc=1; }
  done
  return $rc
}
wanted() { [ $# -eq 0 ] && return 0; local n; for n in "${@:2}"; do [ "$n" = "$1" ] && return 0; done; return 1; }
names=("$@")
pick() { if [ ${#names[@]} -eq 0 ]; then [ "${2:-}" != slow ] || [ "${SLOW:-0}" = 1 ]; else wanted "$1" "${names[@]}"; fi; }

# 1. The trace descriptor is not protected: a program that dup2()s onto 900 (or closes every
#    descriptor and opens ~900 files, or runs with RLIMIT_NOFILE below 901) gets trace chunks
#    written into its own file.
if pick fd_dup2; then
  f=$work/dup2.txt
  traced "$work/t_dup2" "$H" dup2hi "$f" >/dev/null 2>&1
  size=$(stat -c %s "$f")
  [ "$size" = 31 ] && ok fd_dup2 || fault fd_dup2 "dup2(fd, 900): the program's file holds $size bytes, 31 untraced (trace chunks in it)"
fi
if pick fd_closeall; then
  f=$work/closeall.txt
  traced "$work/t_closeall" "$H" closeall_reopen "$f" 897 >/dev/null 2>&1
  size=$(stat -c %s "$f")
  [ "$size" = 31 ] && ok fd_closeall || fault fd_closeall "close all, open 897 files, then its own: the file holds $size bytes, 31 untraced"
fi
if pick fd_lowlimit; then
  f=$work/lowlimit.txt
  (ulimit -n 256; traced "$work/t_low" "$H" closeall_reopen "$f" 0 >/dev/null 2>&1)
  size=$(stat -c %s "$f")
  [ "$size" = 31 ] && ok fd_lowlimit || fault fd_lowlimit "ulimit -n 256, close all, open a file: it holds $size bytes, 31 untraced"
fi

# 2. pthread_cancel: write() in the recorder makes malloc/free cancellation points.
if pick cancel; then
  start=$(date +%s)
  mkdir -p "$work/t_cancel"
  out=$(timeout 120 env ALLOCLAB_TRACE_DIR="$work/t_cancel" LD_PRELOAD="$RECORDER" "$H" cancel 20 2>&1)
  took=$(( $(date +%s) - start ))
  err=$(valid "$work/t_cancel")
  if [[ "$out" == *"section: 0 of 20"* ]] && [ -z "$err" ] && [ "$took" -lt 5 ]; then ok cancel; else
    fault cancel "untraced 0 of 20 threads are cancelled inside their critical section; traced: '${out##*: }', exit took ${took}s, trace: ${err:-read}"
  fi
fi

# 3. _exit from a SIGTERM handler that lands in a flush: the end record miscounts, the trace is
#    rejected as corrupt (a few percent of kills).
if pick term_exit; then
  out=$(WORK=$work/kill "$here/kill_random.sh" 60 300 TERM "$H" term_handler 1 2>&1)
  [[ "$out" == *"rejected=0"* ]] && ok term_exit || fault term_exit "$(grep -c rejected: <<<"$out") of 60 traces rejected: $(grep -m1 rejected: <<<"$out" | sed 's/.*rejected: //')"
fi

# 4. fork() in a signal handler that interrupted the recorder: before_fork spins on a lock its
#    own thread holds. Untraced the program finishes (single-threaded glibc fork takes no locks).
if pick sigfork; then
  hung=0
  mkdir -p "$work/t_sigfork"
  for i in 1 2 3; do
    timeout 20 env ALLOCLAB_TRACE_DIR="$work/t_sigfork" LD_PRELOAD="$RECORDER" "$H" sigfork 300 >/dev/null 2>&1
    [ $? = 124 ] && hung=$((hung + 1))
  done
  [ $hung = 0 ] && ok sigfork || fault sigfork "$hung of 3 runs hung (killed after 20 s); untraced they finish in well under a second"
fi

# 5. RLIMIT_FSIZE: the trace outgrows `ulimit -f` and SIGXFSZ kills the program.
if pick fsize; then
  rc=$( (ulimit -f 100; traced "$work/t_fsize" "$H" live 100000 16 >/dev/null 2>&1; echo $?) )
  [ "$rc" = 0 ] && ok fsize || fault fsize "ulimit -f 100: exit status $rc traced (SIGXFSZ), 0 untraced"
fi

# 6. More than 2^20 threads over the process's life (one at a time is enough): the reader refuses
#    the trace. Slow (about a minute).
if pick thread_index slow; then
  traced "$work/t_threads" "$H" threads 1050000 64 >/dev/null 2>&1
  err=$(valid "$work/t_threads")
  [ -z "$err" ] && ok thread_index || fault thread_index "$err"
fi

# 7. A fork child of a PTHREAD_STACK_MIN thread that cannot create its trace: say()'s 8 KiB
#    buffer overflows the stack.
if pick small_stack; then
  mkdir -p "$work/t_small"
  out=$(traced "$work/t_small" "$H" small_stack 1 2>/dev/null)
  [ "$out" = "child status 0" ] && ok small_stack || fault small_stack "the fork child died: '$out' (untraced: child status 0)"
fi

# 8. siglongjmp out of a handler that interrupted the recorder (not glibc): the thread stays
#    "inside the recorder" and none of its later calls is recorded, nor counted as dropped.
if pick longjmp; then
  lost=0
  for i in 1 2 3; do
    rm -rf "$work/t_jmp"; mkdir -p "$work/t_jmp"
    timeout 60 env ALLOCLAB_TRACE_DIR="$work/t_jmp" LD_PRELOAD="$RECORDER" "$H" sigjmp_recorder 1 >/dev/null 2>&1
    n=$("$TOOL" info --json "$work"/t_jmp/*.trace 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(b["count"] for b in d["size_histogram"] if b["min"] == 8192), d["dropped_events"])' 2>/dev/null)
    [ "${n%% *}" = 100000 ] || lost=$((lost + 1))
  done
  [ $lost = 0 ] && ok longjmp || fault longjmp "$lost of 3 runs: the 100000 mallocs made after the jump are missing (trace complete, dropped ${n##* })"
fi

# 9. The recorder's pthread key: the program can create one key fewer.
if pick keys; then
  a=$("$H" keys); b=$(traced "$work/t_keys" "$H" keys 2>/dev/null)
  [ "$a" = "$b" ] && ok keys || fault keys "untraced '$a', traced '$b'"
fi

# 10. A directory too full for the header: an empty <pid>.trace is left, which the reader refuses.
if pick full_dir; then
  mnt=$work/tiny
  mkdir -p "$mnt"
  if mount -t tmpfs -o size=64k tmpfs "$mnt" 2>/dev/null; then
    dd if=/dev/zero of="$mnt/fill" bs=1k count=64 2>/dev/null
    traced "$mnt" /bin/true 2>/dev/null
    left=$(ls "$mnt" | grep -c '\.trace$')
    umount "$mnt"
    [ "$left" = 0 ] && ok full_dir || fault full_dir "$left unreadable empty .trace file(s) left by an untraced process"
  else
    echo "skip full_dir (cannot mount a tmpfs)"
  fi
fi

# 11. Two processes with the same pid (pid namespaces, or pids wrapping: pid_max is
#     $(cat /proc/sys/kernel/pid_max) here): the second truncates the first's trace.
if pick same_pid; then
  if unshare --pid --fork --mount-proc true 2>/dev/null; then
    mkdir -p "$work/t_pid"
    unshare --pid --fork --mount-proc env ALLOCLAB_TRACE_DIR="$work/t_pid" LD_PRELOAD="$RECORDER" "$H" live 1000 16 >/dev/null 2>&1
    first=$(stat -c %s "$work/t_pid/1.trace")
    unshare --pid --fork --mount-proc env ALLOCLAB_TRACE_DIR="$work/t_pid" LD_PRELOAD="$RECORDER" /bin/true
    files=$(ls "$work/t_pid" | grep -c '\.trace$')
    [ "$files" = 2 ] && ok same_pid || fault same_pid "two processes of pid 1: $files trace left; the first ($first bytes) was overwritten"
  else
    echo "skip same_pid (unshare refused)"
  fi
fi

# 12. A relative ALLOCLAB_TRACE_DIR and a program that changes directory before it execs a child.
if pick relative_dir; then
  mkdir -p "$work/rel/tr" "$work/rel/sub"
  err=$(cd "$work/rel" && ALLOCLAB_TRACE_DIR=tr LD_PRELOAD=$RECORDER bash -c 'cd sub && /bin/true' 2>&1)
  [ -z "$err" ] && ok relative_dir || fault relative_dir "the exec'd child is not traced and says: $err"
fi

# 13. A process killed before its first 64 KiB chunk leaves a trace with no events (a
#     multiprocessing.Pool's workers, terminated when the pool closes; abort() on a double free).
if pick killed_prefix; then
  mkdir -p "$work/t_abort"
  traced "$work/t_abort" "$H" double_free >/dev/null 2>&1
  n=$("$TOOL" info --json "$work"/t_abort/*.trace 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["events"]["total"])')
  [ "${n:-0}" -gt 0 ] && ok killed_prefix || fault killed_prefix "abort() after a malloc and two frees: the truncated trace holds ${n:-no} events"
fi

rm -rf "$work"
echo "$faults fault(s)"
exit "$faults"
