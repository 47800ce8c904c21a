#!/usr/bin/env python3
"""alloclab sweep: every allocator (and every preloaded peer) x every workload, in processes.

  sweep.py run   [options]            run a sweep into a new results folder (or --resume one)
  sweep.py merge OUT DIR [DIR ...]    merge folders of shards (--shard K/N) into OUT

Each unit — one repetition of one workload on one allocator, all thread counts — runs in its
own `alloclab` process, so a crash, a hang (killed at --timeout) or a non-zero exit is recorded
as a failed unit with its stderr and the sweep goes on. Units are interleaved: each repetition
visits the allocators in a rotated order, so drift of the machine favours none of them.
Results are written atomically; --resume re-runs only the units with no result; --shard K/N
runs every N-th unit, for spreading a sweep over machines.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_io  # noqa: E402

LIB_DIR = "/usr/lib/x86_64-linux-gnu"
# Peers measured through the `malloc` adapter with their library preloaded:
# label -> (library file, text its file name must contain once loaded)
PRELOADED = {
    "jemalloc": ("libjemalloc.so.2", "libjemalloc"),
    "mimalloc": ("libmimalloc.so.2", "libmimalloc"),
    "tcmalloc": ("libtcmalloc_minimal.so.4", "libtcmalloc"),
    "tbbmalloc_proxy": ("libtbbmalloc_proxy.so.2", "libtbbmalloc"),
}
PROFILES = {
    # On 2 cores: threads 1..4, 3 repetitions; the whole job within 10 minutes with the build.
    "default": {"threads_per_core": 2, "repetitions": 3, "min_time": 0.03},
    # For papers: enough repetitions for a significance test, 4 x cores, longer cases.
    "full": {"threads_per_core": 4, "repetitions": 9, "min_time": 0.3},
}


def fail(message):
    print(f"sweep: {message}", file=sys.stderr)
    sys.exit(2)


def clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def driver_list(binary):
    """Allocator and workload names as `alloclab --list` prints them."""
    out = subprocess.run([binary, "--list"], check=True, capture_output=True, text=True).stdout
    allocators, workloads, section = [], [], None
    for line in out.splitlines():
        if line.startswith("allocators"):
            section = allocators
        elif line.startswith("workloads"):
            section = workloads
        elif section is not None and line.startswith("  ") and not line.startswith("   "):
            section.append(line.split()[0])
    return allocators, workloads


def parse_names(kind, text, valid):
    if text == "all":
        return list(valid)
    names = [n for n in text.split(",") if n]
    for n in names:
        if n not in valid:
            fail(f"unknown {kind} '{n}' (valid: {', '.join(valid)}, or all)")
    return names


MAX_THREADS = 1024  # the driver's ceiling too


def parse_threads(text):
    bad = (f"bad --threads '{text}' (valid: a count like 4, a list like 1,2,8, or a doubling range "
           f"like 1..64; each from 1 to {MAX_THREADS})")
    try:
        if ".." in text:
            lo, hi = (int(x) for x in text.split("..", 1))
            if lo < 1 or hi < lo:
                raise ValueError
            out, t = [], lo
            while t < hi:
                out.append(t)
                t *= 2
            out.append(hi)
        else:
            out = sorted({int(x) for x in text.split(",")})
        if not out or out[0] < 1 or out[-1] > MAX_THREADS:
            raise ValueError
        return out
    except ValueError:
        fail(bad)


def parse_shard(text):
    try:
        k, n = (int(x) for x in text.split("/", 1))
        if not 1 <= k <= n:
            raise ValueError
        return k, n
    except ValueError:
        fail(f"bad --shard '{text}' (valid: K/N with 1 <= K <= N, e.g. 2/4)")


def plan_units(labels, workloads, repetitions):
    """(repetition, workload, label) in interleaved order: labels rotate with the repetition."""
    units = []
    for rep in range(1, repetitions + 1):
        shift = (rep - 1) % len(labels)
        order = labels[shift:] + labels[:shift]
        for w in workloads:
            for label in order:
                units.append((rep, w, label))
    return units


def unit_name(rep, workload, label):
    return f"r{rep:02d}__{workload}__{label}"


def unit_done(raw_dir, name):
    """A unit is done when its result parses or its failure was recorded."""
    if os.path.exists(os.path.join(raw_dir, name + ".failed.json")):
        return True
    path = os.path.join(raw_dir, name + ".json")
    if not os.path.exists(path):
        return False
    try:
        results_io.read_json(path)
        return True
    except results_io.ResultsError:
        return False


class Progress:
    def __init__(self, total):
        self.total, self.done, self.start = total, 0, time.monotonic()

    def line(self, text):
        self.done += 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0
        tail = "done" if self.done >= self.total else f"eta {clock(eta)}"
        print(f"[{self.done}/{self.total} {clock(elapsed)} {tail}]".ljust(26) + text, flush=True)


def run_unit(args, raw_dir, rep, workload, label, progress):
    name = unit_name(rep, workload, label)
    out = os.path.join(raw_dir, name + ".json")
    allocator = "malloc" if label in PRELOADED else label
    command = [args.binary, "--workloads", workload, "--allocators", allocator,
               "--threads", ",".join(map(str, args.thread_list)), "--repetitions", "1",
               "--min-time", str(args.min_time), "--seed", str(args.seed + rep), "--out", out]
    if args.tiny:
        command.append("--tiny")
    env = dict(os.environ)
    if label in PRELOADED:
        library, expect = PRELOADED[label]
        env["LD_PRELOAD"] = os.path.join(LIB_DIR, library)
        command += ["--malloc-label", label, "--expect-malloc", expect]
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    printed = 0
    deadline = started + args.timeout
    stderr_text = ""
    try:
        import selectors
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        timed_out = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if not selector.select(timeout=min(remaining, 1.0)):
                if process.poll() is not None:
                    break
                continue
            line = process.stdout.readline()
            if not line:
                break
            # The driver's case lines: "[i/n ...]  workload/allocator/threads:N  figures"
            if line.startswith("["):
                progress.line(line.split("]", 1)[1].strip())
                printed += 1
        if timed_out:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        stderr_text = process.stderr.read()
    finally:
        process.stdout.close()
        process.stderr.close()
    code = process.returncode
    if code == 0 and os.path.exists(out):
        return True
    why = (f"timed out after {args.timeout:.0f} s" if time.monotonic() >= deadline
           else f"exit {code}" + (f" (signal {-code})" if code < 0 else ""))
    record = {"unit": name, "workload": workload, "allocator": label, "repetition": rep,
              "threads": args.thread_list, "status": "failed", "why": why,
              "stderr": stderr_text[-4000:], "command": command,
              "ld_preload": env.get("LD_PRELOAD", "")}
    results_io.write_atomically(os.path.join(raw_dir, name + ".failed.json"), json.dumps(record, indent=2))
    last = stderr_text.strip().splitlines()[-1] if stderr_text.strip() else why
    for _ in range(len(args.thread_list) - printed):
        progress.line(f"FAILED {workload}/{label} ({why}): {last}")
    return False


def merge_rows(raw_dirs):
    """Every case x repetition of the raw folders, failed units expanded to one row per case."""
    rows = []
    for raw_dir in raw_dirs:
        for entry in sorted(os.listdir(raw_dir)):
            path = os.path.join(raw_dir, entry)
            if entry.startswith(".") or not entry.endswith(".json"):
                continue
            unit = entry[:-len(".failed.json")] if entry.endswith(".failed.json") else entry[:-len(".json")]
            try:
                rep = int(unit.split("__")[0][1:])
            except ValueError:
                continue
            doc = results_io.read_json(path)
            if entry.endswith(".failed.json"):
                for t in doc.get("threads", []):
                    rows.append({"workload": doc["workload"], "allocator": doc["allocator"], "threads": t,
                                 "repetition": rep, "status": "failed", "unit": unit,
                                 "reason": doc["why"] + ": " + (doc.get("stderr", "").strip().splitlines() or [""])[-1]})
            else:
                rows.extend(results_io.rows_from_driver_json(doc, rep, unit))
    rows.sort(key=lambda r: (r["workload"], r["allocator"], r["threads"], r["repetition"]))
    return rows


def machine_facts(raw_dir, extra):
    """The context of one raw result (build, libraries, CPU) plus the sweep's own facts."""
    facts = {}
    for entry in sorted(os.listdir(raw_dir)):
        if entry.endswith(".json") and not entry.endswith(".failed.json") and not entry.startswith("."):
            context = results_io.read_json(os.path.join(raw_dir, entry)).get("context", {})
            keep = ("host_name", "num_cpus", "mhz_per_cpu", "caches", "cpu_model", "hardware_threads",
                    "cpu_governor", "kernel", "aslr", "glibc_version", "tbb_version", "compiler", "cxx_flags",
                    "build_type", "git_commit", "git_dirty", "alloclab_version", "library_build_type")
            facts = {k: context[k] for k in keep if k in context}
            break
    facts.update(extra)
    return facts


def finish_folder(folder, raw_dirs, extra):
    rows = merge_rows(raw_dirs)
    results_io.write_csv(os.path.join(folder, "results.csv"), rows)
    facts = machine_facts(raw_dirs[0], extra)
    results_io.write_atomically(os.path.join(folder, "machine.json"), json.dumps(facts, indent=2) + "\n")
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("ok", "skipped", "failed")}
    return rows, counts


def command_run(args):
    if not os.access(args.binary, os.X_OK):
        fail(f"driver '{args.binary}' not found or not executable (build it: cmake --build --preset release)")
    profile = PROFILES[args.profile]
    allocators, workloads = driver_list(args.binary)
    labels_valid = allocators + [p for p in PRELOADED]
    labels = parse_names("allocator", args.allocators, labels_valid)
    chosen_workloads = parse_names("workload", args.workloads, workloads)
    cores = os.cpu_count() or 1
    args.thread_list = parse_threads(args.threads or f"1..{profile['threads_per_core'] * cores}")
    args.repetitions = profile["repetitions"] if args.repetitions is None else args.repetitions
    args.min_time = args.min_time if args.min_time is not None else profile["min_time"]
    if args.repetitions < 1:
        fail(f"bad --repetitions {args.repetitions} (valid: a positive count)")
    if args.min_time <= 0:
        fail(f"bad --min-time {args.min_time} (valid: a positive number of seconds)")
    if args.timeout <= 0:
        fail(f"bad --timeout {args.timeout} (valid: a positive number of seconds)")
    shard = parse_shard(args.shard) if args.shard else (1, 1)
    for label in labels:
        if label in PRELOADED and not os.path.exists(os.path.join(LIB_DIR, PRELOADED[label][0])):
            fail(f"peer '{label}' needs {os.path.join(LIB_DIR, PRELOADED[label][0])} (install its Debian package)")

    if args.resume:
        folder = args.resume
        if not os.path.isdir(os.path.join(folder, "raw")):
            fail(f"--resume '{folder}' is not a results folder (no raw/ in it)")
    else:
        folder = args.out or os.path.join(args.results, results_io.new_run_name())
        try:
            os.makedirs(os.path.join(folder, "raw"), exist_ok=False)
        except FileExistsError:
            fail(f"output folder '{folder}' exists already (use --resume to complete it)")
        except OSError as e:
            fail(f"cannot create output folder '{folder}': {e.strerror}")
    raw_dir = os.path.join(folder, "raw")
    command_text = " ".join([sys.argv[0]] + sys.argv[1:])
    results_io.write_atomically(os.path.join(folder, "command.txt"), command_text + "\n")

    units = plan_units(labels, chosen_workloads, args.repetitions)
    if args.units:
        # Only the (workload, allocator) pairs listed, e.g. the cases a claims file needs.
        try:
            with open(args.units, encoding="utf-8") as f:
                wanted = {tuple(pair) for pair in json.load(f)}
        except (OSError, ValueError, TypeError) as e:
            fail(f"--units '{args.units}': {e}")
        units = [u for u in units if (u[1], u[2]) in wanted]
    k, n = shard
    mine = [u for i, u in enumerate(units) if i % n == k - 1]
    todo = [u for u in mine if not unit_done(raw_dir, unit_name(*u))]
    print(f"sweep: {len(labels)} allocators x {len(chosen_workloads)} workloads x threads "
          f"{','.join(map(str, args.thread_list))} x {args.repetitions} repetitions"
          f"{f' (shard {k}/{n})' if n > 1 else ''}: {len(todo)} of {len(mine)} units to run -> {folder}",
          flush=True)
    progress = Progress(len(todo) * len(args.thread_list))
    failed = 0
    for rep, workload, label in todo:
        failed += not run_unit(args, raw_dir, rep, workload, label, progress)

    extra = {"command": command_text, "profile": args.profile, "threads": args.thread_list,
             "repetitions": args.repetitions, "min_time": args.min_time, "shard": f"{k}/{n}",
             "finished_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "allocators": labels, "workloads": chosen_workloads}
    rows, counts = finish_folder(folder, [raw_dir], extra)
    if not args.out and not args.resume and n == 1:
        latest = os.path.join(args.results, "latest")
        temp = latest + ".tmp"
        if os.path.lexists(temp):
            os.unlink(temp)
        os.symlink(os.path.basename(folder), temp)
        os.replace(temp, latest)
    print(f"sweep: {counts['ok']} cases measured, {counts['skipped']} skipped, {counts['failed']} failed "
          f"({failed} failed units) -> {os.path.join(folder, 'results.csv')}", flush=True)
    if args.folder_file:
        results_io.write_atomically(args.folder_file, folder + "\n")
    return 0


def command_merge(args):
    raw_dirs = []
    for d in args.dirs:
        raw = os.path.join(d, "raw")
        if not os.path.isdir(raw):
            fail(f"'{d}' is not a results folder (no raw/ in it)")
        raw_dirs.append(raw)
    os.makedirs(os.path.join(args.out, "raw"), exist_ok=True)
    # The merged folder holds copies of every raw file, so it stands on its own.
    import shutil
    for raw in raw_dirs:
        for entry in os.listdir(raw):
            if entry.endswith(".json") and not entry.startswith("."):
                target = os.path.join(args.out, "raw", entry)
                if os.path.exists(target):
                    fail(f"unit {entry} appears in more than one folder (overlapping shards?)")
                shutil.copy2(os.path.join(raw, entry), target)
    extra = {"command": " ".join(sys.argv), "merged_from": args.dirs}
    rows, counts = finish_folder(args.out, [os.path.join(args.out, "raw")], extra)
    print(f"sweep: merged {len(args.dirs)} folders: {counts['ok']} measured, {counts['skipped']} skipped, "
          f"{counts['failed']} failed -> {args.out}")
    return 0


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    parser = argparse.ArgumentParser(prog="sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a sweep")
    run.add_argument("--profile", choices=sorted(PROFILES), default="default",
                     help="default: threads to 2 x cores, 3 repetitions; full: threads to 4 x cores, 9 repetitions")
    run.add_argument("--allocators", default="all", help="comma-separated names (the driver's and the preloaded "
                     f"peers {', '.join(PRELOADED)}), or all")
    run.add_argument("--workloads", default="all", help="comma-separated workload names, or all")
    run.add_argument("--threads", help="thread counts: 4, 1,2,8 or 1..64 (default: from the profile)")
    run.add_argument("--repetitions", type=int, help="repetitions of every case (default: from the profile)")
    run.add_argument("--min-time", type=float, dest="min_time", help="seconds per case (default: from the profile)")
    run.add_argument("--seed", type=int, default=42, help="base seed; repetition r uses seed + r")
    run.add_argument("--timeout", type=float, default=300, help="seconds before a unit is killed as hung")
    run.add_argument("--results", default=os.path.join(root, "results"), help="folder of run folders")
    run.add_argument("--out", help="run folder to create (default: results/<UTC time>-<host>)")
    run.add_argument("--resume", metavar="DIR", help="complete an interrupted run folder")
    run.add_argument("--shard", metavar="K/N", help="run every N-th unit, starting at the K-th")
    run.add_argument("--binary", default=os.path.join(root, "build", "release", "harness", "alloclab"))
    run.add_argument("--tiny", action="store_true", help="tiny cases (tests)")
    run.add_argument("--folder-file", help="write the run folder's path to this file (for scripts)")
    run.add_argument("--units", help="JSON file of [workload, allocator] pairs: run only those (with "
                     "--workloads/--allocators naming at least them)")
    merge = sub.add_parser("merge", help="merge shard folders")
    merge.add_argument("out", help="folder to create or complete")
    merge.add_argument("dirs", nargs="+", help="results folders to merge")
    args = parser.parse_args(argv)
    try:
        return command_run(args) if args.command == "run" else command_merge(args)
    except results_io.ResultsError as e:
        fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
