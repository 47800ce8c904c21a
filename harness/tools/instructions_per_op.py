#!/usr/bin/env python3
"""alloclab instructions per operation: the timed loop's cost counted by callgrind.

  instructions_per_op.py [--workloads small,mixed] [--allocators a,b,...] [--binary PATH]

Wall-clock figures on a shared or virtual machine move by tens of percent from one minute to
the next; instruction counts do not. For each workload x allocator at 1 thread this runs the
driver under `valgrind --tool=callgrind`, collecting only inside the benchmark function
(CaseRunner::operator(): the timed rounds, the round releases, Google Benchmark's loop; the
latency pass is off), and divides the instructions by the operations the driver reports.
Includes everything the timed loop pays per operation: drawing the size, the allocator's fast
path (and its slow path, amortised), the write to the object, the round's release.
Needs valgrind (Debian package valgrind). Exit 2 on bad input.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import results_io  # noqa: E402
import sweep  # noqa: E402


def measure(binary, workload, allocator, scratch):
    out = os.path.join(scratch, f"{workload}-{allocator}.json")
    cg = os.path.join(scratch, f"{workload}-{allocator}.callgrind")
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}",
               "--toggle-collect=alloclab::harness::CaseRunner<*>::operator()*",
               binary, "--workloads", workload, "--allocators", allocator, "--threads", "1",
               "--no-latency", "--iterations", "400", "--out", out]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(cg) as f:
        totals = [line for line in f if line.startswith(("summary:", "totals:"))]
    instructions = int(totals[-1].split()[1])
    doc = results_io.read_json(out)
    ops = sum(b.get("ops", 0) for b in doc["benchmarks"] if b.get("run_type") != "aggregate")
    return instructions, ops


def main(argv=None):
    parser = argparse.ArgumentParser(prog="instructions_per_op", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", default="small,mixed")
    parser.add_argument("--allocators", default="null,bump_limit,thread_local_arena,atomic_bump_arena,"
                        "mutex_arena,chained_arena,pmr_monotonic,coalescing_pool,thread_cached_pool,malloc,"
                        "pmr_sync_pool")
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "release", "harness", "alloclab"))
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("instructions_per_op: valgrind not found (apt-get install valgrind)", file=sys.stderr)
        return 2
    if not os.access(args.binary, os.X_OK):
        print(f"instructions_per_op: driver '{args.binary}' not found (cmake --build --preset release)",
              file=sys.stderr)
        return 2
    valid_allocators, valid_workloads = sweep.driver_list(args.binary)
    for kind, names in (("workloads", valid_workloads), ("allocators", valid_allocators)):
        for name in getattr(args, kind).split(","):
            if name not in names:
                print(f"instructions_per_op: unknown {kind[:-1]} '{name}' (alloclab --list shows the valid ones)",
                      file=sys.stderr)
                return 2
    print(f"{'workload':<10}{'allocator':<22}{'instructions/op':>16}{'ops':>12}")
    with tempfile.TemporaryDirectory(prefix="alloclab-ir-") as scratch:
        for workload in args.workloads.split(","):
            for allocator in args.allocators.split(","):
                try:
                    instructions, ops = measure(args.binary, workload, allocator, scratch)
                except (subprocess.CalledProcessError, OSError, ValueError, IndexError, KeyError,
                        results_io.ResultsError) as e:
                    print(f"{workload:<10}{allocator:<22}{'failed':>16}  ({e})")
                    continue
                per_op = instructions / ops if ops else float("nan")
                print(f"{workload:<10}{allocator:<22}{per_op:>16.1f}{int(ops):>12}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
