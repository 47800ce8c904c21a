#!/usr/bin/python3
"""tests/trace/hostile_recorder/overhead.py — rough CPU overhead of liballoclab_trace.so on a
command: best of N runs of user+system CPU time (children included) untraced and traced, and
the traced run's trace bytes per event. Rough only: the machine may be shared.
Usage: RECORDER=... overhead.py N CMD [ARGS...]"""
import os, resource, shutil, subprocess, sys, tempfile

def cpu(cmd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

n, cmd = int(sys.argv[1]), sys.argv[2:]
plain = dict(os.environ); plain.pop("LD_PRELOAD", None)
best_plain = min(cpu(cmd, plain) for _ in range(n))
runs = []
for _ in range(n):
    d = tempfile.mkdtemp(prefix="hostrec-oh-")
    env = dict(plain, ALLOCLAB_TRACE_DIR=d, LD_PRELOAD=os.environ["RECORDER"])
    runs.append(cpu(cmd, env))
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    shutil.rmtree(d)
print(f"{' '.join(cmd)[:60]}: cpu untraced {best_plain:.2f}s traced {min(runs):.2f}s "
      f"(x{min(runs) / max(best_plain, 1e-9):.2f}), trace {size} bytes")
