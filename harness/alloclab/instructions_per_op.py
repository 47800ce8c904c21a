"""alloclab instructions per operation: the timed loop's cost counted by callgrind.

  python3 -m alloclab.instructions_per_op [--workloads small,mixed] [--allocators a,b,...] [--binary PATH]

Wall-clock figures on a shared or virtual machine move by tens of percent from one minute to
the next; instruction counts do not. For each workload x allocator at 1 thread this runs the
driver under `valgrind --tool=callgrind`, collecting only inside the benchmark function
(CaseRunner::operator(): the timed rounds, the round releases, Google Benchmark's loop; the
latency pass is off), and divides the instructions by the operations the driver reports.
Includes everything the timed loop pays per operation: drawing the size, the allocator's fast
path (and its slow path, amortised), the write to the object, the round's release.
Default allocators: every one the driver runs in-process (library, peers, references).
Needs valgrind (Debian package valgrind). Exit 2 on bad input.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from alloclab import results
from alloclab.registry import DEFAULT_BINARY, RegistryError, ask_driver
from alloclab.results import ResultsError
from alloclab.cli import Parser, UsageError, parse_names
from alloclab.processes import die_with_launcher, die_with_parent_sigkill


def measure(binary: str, workload: str, allocator: str, scratch: Path) -> tuple[int, float]:
    out, profile = scratch / f"{workload}-{allocator}.json", scratch / f"{workload}-{allocator}.callgrind"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}",
               "--toggle-collect=alloclab::harness::CaseRunner<*>::operator()*",
               binary, "--workloads", workload, "--allocators", allocator, "--threads", "1",
               "--no-latency", "--iterations", "400", "--out", str(out)]
    # valgrind and the driver under it die with this tool (SIGKILL when it dies, however).
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   preexec_fn=die_with_parent_sigkill)
    totals = [line for line in profile.read_text().splitlines() if line.startswith(("summary:", "totals:"))]
    instructions = int(totals[-1].split()[1])
    doc = results.read_json(out)
    ops = sum(b.get("ops", 0) for b in doc["benchmarks"] if b.get("run_type") != "aggregate")
    return instructions, ops


def main(argv: list[str] | None = None) -> int:
    die_with_launcher()
    from alloclab.sweep import Once  # an option given twice is refused, as in the sweep
    parser = Parser(prog="instructions_per_op", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", action=Once, default="small,mixed", help="comma-separated names (default small,mixed)")
    parser.add_argument("--allocators", action=Once, default="all", help="comma-separated names, or all (not preloaded peers)")
    parser.add_argument("--binary", action=Once, default=str(DEFAULT_BINARY),
                        help="the driver (default: build/release/harness/alloclab)")
    args = parser.parse_args(argv)
    try:
        if not args.binary:
            raise UsageError("--binary '' names no driver (valid: the alloclab driver's path)")
        registry = ask_driver(args.binary)
        workloads = parse_names("workload", args.workloads, registry.workload_names())
        allocators = parse_names("allocator", args.allocators,
                                 registry.allocator_names("library", "peer", "reference"))
        if shutil.which("valgrind") is None:  # after the arguments: a bad one is named first
            raise UsageError("valgrind not found (valid: a machine with valgrind: apt-get install valgrind)")
    except (UsageError, RegistryError) as e:
        print(f"instructions_per_op: {e}", file=sys.stderr)
        return 2
    print(f"{'workload':<10}{'allocator':<22}{'instructions/op':>16}{'ops':>12}")
    with tempfile.TemporaryDirectory(prefix="alloclab-ir-") as scratch:
        for workload in workloads:
            for allocator in allocators:
                try:
                    instructions, ops = measure(args.binary, workload, allocator, Path(scratch))
                except (subprocess.CalledProcessError, OSError, ValueError, IndexError, KeyError, ResultsError) as e:
                    print(f"{workload:<10}{allocator:<22}{'failed':>16}  ({e})")
                    continue
                per_op = instructions / ops if ops else float("nan")
                print(f"{workload:<10}{allocator:<22}{per_op:>16.1f}{int(ops):>12}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
