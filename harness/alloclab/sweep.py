"""alloclab sweep: every allocator (and every preloaded peer) x every workload, in processes.

  python3 -m alloclab.sweep run   [options]            a sweep into a new results folder (or --resume one)
  python3 -m alloclab.sweep merge OUT DIR [DIR ...]    merge folders of shards (--shard K/N) into OUT

Each unit — one repetition of one workload on one allocator, all thread counts — runs in its
own `alloclab` process, so a crash, a hang (killed at --timeout) or a non-zero exit is recorded
as a failed unit with its stderr and the sweep goes on. Units are interleaved: each repetition
visits the allocators in a rotated order, so drift of the machine favours none of them.
Results are written atomically; --resume re-runs only the units with no result; --shard K/N
runs every N-th unit, for spreading a sweep over machines. Names, kinds and the thread-count
grammar come from the driver (`alloclab --list --json`).

A preloaded malloc whose free does nothing (alloclab_bump) is skipped, with the reason, on a
workload that needs free, by the rule the driver applies to its arenas; a unit in which it runs
out of its memory budget fails as "did not fit" (alloclab.fit), and the sweep goes on.

Parametric workloads: --workloads may name `trace:PATH` (a recorded trace, replayed) and
`empirical:PATH` (a distilled size table) beside the built-in names; a relative PATH is the
caller's (ALLOCLAB_CALLER_DIR, which run_all.sh sets, else the current folder) and the driver
gets it absolute. Their cases are named after the file's stem (`trace:<stem>`), so two files of
one kind with the same stem are refused. A trace replays at its own recorded thread count (read
from the file before anything runs): its units run that one count, whatever --threads says; an
empirical table runs at every count of the plan. machine.json's `workload_files` maps each such
case name to its file.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from alloclab import results
from alloclab.cli import Parser, UsageError, clock, parse_names, parse_shard, positive, seconds
from alloclab.fit import out_of_memory_reason
from alloclab.preload import (DEFAULT_PROBE, Preload, check_starts, check_takes_effect, installed_library,
                              parse_preloads, registry_preload)
from alloclab.registry import DEFAULT_BINARY, NAME, ROOT, Registry, RegistryError, ask_driver, parametric_kind
from alloclab.results import ResultRow, ResultsError
from alloclab.traces.scan import TraceError, scan

PROFILES = {
    # On 2 cores: threads 1..4, 3 repetitions; the whole job within 10 minutes with the build.
    "default": {"threads_per_core": 2, "repetitions": 3, "min_time": 0.03},
    # For papers: enough repetitions for a significance test, 4 x cores, longer cases.
    "full": {"threads_per_core": 4, "repetitions": 9, "min_time": 0.3},
}
# A unit's record in raw/: the driver's result, or the sweep's record of a failure or a skip.
RECORD_SUFFIXES = (".failed.json", ".skipped.json", ".json")
# The facts of a driver JSON's context that machine.json keeps.
MACHINE_KEYS = ("host_name", "num_cpus", "mhz_per_cpu", "caches", "cpu_model", "hardware_threads",
                "cpu_governor", "kernel", "aslr", "glibc_version", "tbb_version", "compiler", "cxx_flags",
                "build_type", "git_commit", "git_dirty", "alloclab_version", "library_build_type")


def fail(message: str) -> NoReturn:
    print(f"sweep: {message}", file=sys.stderr)
    sys.exit(2)


@dataclass(frozen=True)
class Unit:
    """One driver process: a workload under an allocator at every thread count of the plan, or
    at the one count `threads` (for a malloc that never frees: see plan_units)."""
    repetition: int
    workload: str
    allocator: str
    threads: int = 0  # 0: every thread count of the plan

    @property
    def name(self) -> str:
        tail = f"__t{self.threads}" if self.threads else ""
        return f"r{self.repetition:02d}__{self.workload}__{self.allocator}{tail}"

    def thread_counts(self, plan_threads: list[int]) -> list[int]:
        return [self.threads] if self.threads else plan_threads


def plan_units(labels: list[str], workloads: list[str], repetitions: int,
               one_process_per_count: frozenset[str] = frozenset(), threads: Sequence[int] = (),
               fixed_threads: Mapping[str, int] | None = None) -> list[Unit]:
    """Units in interleaved order: the allocators rotate with the repetition. An allocator in
    `one_process_per_count` (a preloaded malloc whose free does nothing) gets a process per thread
    count: in one process a thread count would inherit every byte the counts before it held, and
    its budget would run out for them, failing cases that fit on their own. A workload in
    `fixed_threads` (a trace: its recorded thread count) runs at that one count only."""
    units = []
    fixed = fixed_threads or {}
    for rep in range(1, repetitions + 1):
        shift = (rep - 1) % len(labels)
        order = labels[shift:] + labels[:shift]
        for w in workloads:
            for a in order:
                if w in fixed:
                    units.append(Unit(rep, w, a, fixed[w]))
                elif a in one_process_per_count:
                    units += [Unit(rep, w, a, t) for t in threads]
                else:
                    units.append(Unit(rep, w, a))
    return units


def unit_done(raw_dir: Path, unit: Unit) -> bool:
    """A unit is done when its result parses or its failure or skip was recorded."""
    if any((raw_dir / f"{unit.name}{suffix}").exists() for suffix in (".failed.json", ".skipped.json")):
        return True
    path = raw_dir / f"{unit.name}.json"
    if not path.exists():
        return False
    try:
        results.read_json(path)
        return True
    except ResultsError:
        return False


class Progress:
    """One line per case: [done/total elapsed eta] text."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.start = total, 0, time.monotonic()

    def line(self, text: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        tail = "done" if self.done >= self.total else f"eta {clock(eta)}"
        print(f"[{self.done}/{self.total} {clock(elapsed)} {tail}]".ljust(26) + text, flush=True)


@dataclass(frozen=True)
class Plan:
    binary: Path
    registry: Registry
    threads: list[int]
    min_time: float
    seed: int
    timeout: float
    tiny: bool
    # Parametric workloads: case name (trace:<stem>) -> the driver's argument (trace:/abs/path),
    # and the thread count of those that fix their own (traces).
    workload_args: Mapping[str, str] = field(default_factory=dict)
    fixed_threads: Mapping[str, int] = field(default_factory=dict)
    touch: str | None = None


@dataclass(frozen=True)
class ParametricWorkload:
    """One `trace:PATH` or `empirical:PATH` of --workloads."""
    case: str       # the name its cases have: KIND:<file stem>
    argument: str   # what the driver is given: KIND:<absolute path>
    path: Path
    threads: int    # a trace's recorded thread count; 0 for an empirical table (every count of the plan)


def caller_dir() -> Path:
    """The folder relative paths on the command line are relative to: run_all.sh's caller's."""
    return Path(os.environ.get("ALLOCLAB_CALLER_DIR") or os.getcwd())


def check_distribution(path: Path) -> None:
    """A distilled table: its header `size,rate,mean_live` (after optional # lines); the driver
    reads the rows."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                if [c.strip() for c in line.strip().split(",")] != ["size", "rate", "mean_live"]:
                    raise UsageError(f"{path}: not a distribution (its first line is not size,rate,mean_live; "
                                     "make one with ./run_all.sh trace distill FILE --out DIST.csv)")
                return
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a distribution (not UTF-8 text)") from None
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None
    raise UsageError(f"{path}: not a distribution (no header line size,rate,mean_live)")


def parametric_workload(text: str, registry: Registry, base: Path) -> ParametricWorkload:
    """KIND:PATH checked before anything runs: the file exists, is what its kind reads, and its
    stem can name cases."""
    kind, _, given = text.partition(":")
    if kind not in registry.parametric_names():
        raise UsageError(f"workload '{text[:200]}': this driver does not run {kind}: workloads "
                         f"(it runs {', '.join(registry.parametric_names()) or 'none'}; rebuild it: "
                         "cmake --build --preset release)")
    if not given:
        raise UsageError(f"workload '{text}' names no file (valid: {kind}:PATH)")
    # Absolute, symbolic links kept: a link's own name is the stem its cases get.
    path = Path(os.path.abspath(base / Path(given).expanduser()))
    if not path.exists():
        raise UsageError(f"workload '{text[:200]}': {path} does not exist")
    if not path.is_file():
        raise UsageError(f"workload '{text[:200]}': {path} is not a regular file")
    stem = path.stem
    if not NAME.fullmatch(stem):
        raise UsageError(f"workload '{text[:200]}': its cases are named after the file's stem '{stem[:80]}', which "
                         "is not a name (letters, digits, _ . + -, at most 64): rename or link the file")
    threads = 0
    if kind == "trace":
        try:
            facts = scan(path)
        except TraceError as e:
            raise UsageError(str(e)) from None
        if facts.events == 0 or facts.threads == 0:
            raise UsageError(f"{path}: holds no events: nothing to replay")
        threads = facts.threads
    else:
        check_distribution(path)
    return ParametricWorkload(f"{kind}:{stem}", f"{kind}:{path}", path, threads)


def parse_workloads(text: str, registry: Registry, base: Path) -> tuple[list[str], list[ParametricWorkload]]:
    """--workloads: built-in names (or all) and KIND:PATH entries -> (case names in order, the
    parametric ones). Paths cannot hold a comma (it separates the entries)."""
    names: list[str] = []
    parametric: list[ParametricWorkload] = []
    for entry in (n for n in text.split(",") if n):
        if parametric_kind(entry) is None:
            names += [n for n in parse_names("workload", entry, registry.workload_names()) if n not in names]
            continue
        p = parametric_workload(entry, registry, base)
        twin = next((q for q in parametric if q.case == p.case), None)
        if twin is not None and twin.path != p.path:
            raise UsageError(f"two {p.case.split(':')[0]} files with the stem '{p.case.split(':', 1)[1]}' "
                             f"({twin.path} and {p.path}): cases are named after the stem; rename or link one")
        if twin is None:
            parametric.append(p)
            names.append(p.case)
    if not names:
        raise UsageError(f"no workload named in '{text[:200]}' (valid: {', '.join(registry.workload_names())}, all, "
                         f"or {', '.join(k + ':FILE' for k in registry.parametric_names()) or 'no file workloads'})")
    return names, parametric


def cannot_run(registry: Registry, workload: str, allocator: str) -> str:
    """Why a preloaded malloc cannot run a workload, or "": one whose free does nothing cannot
    run a workload that needs free (the driver's rule for its arenas, workload.hpp's
    incompatibility(), which the driver cannot apply itself: it measures the preload as
    `malloc`). Such a pair would measure nothing but its memory growing."""
    # A file's workload (empirical:<stem>) has the requirements of its kind (empirical).
    info, w = registry.allocator(allocator), registry.workload(workload) or registry.workload(
        parametric_kind(workload) or workload)
    if info is None or info.kind != "preloaded" or info.supports_free or w is None:
        return ""
    if w.needs_free or w.needs_cross_thread_free:
        return f"needs individual free; {allocator}'s free does nothing"
    return ""


def skip_unit(plan: Plan, raw_dir: Path, unit: Unit, why: str, progress: Progress) -> None:
    """Records a unit that cannot run as skipped (one row per thread count, with the reason)."""
    results.write_json(raw_dir / f"{unit.name}.skipped.json", {
        "unit": unit.name, "workload": unit.workload, "allocator": unit.allocator,
        "repetition": unit.repetition, "threads": unit.thread_counts(plan.threads), "status": "skipped", "why": why})
    for _ in unit.thread_counts(plan.threads):
        progress.line(f"skipped {unit.workload}/{unit.allocator}: {why}")


def run_unit(plan: Plan, raw_dir: Path, unit: Unit, progress: Progress) -> bool:
    out = raw_dir / f"{unit.name}.json"
    info = plan.registry.allocator(unit.allocator)
    preloaded = info is not None and info.kind == "preloaded"
    why_not = cannot_run(plan.registry, unit.workload, unit.allocator)
    if why_not:
        skip_unit(plan, raw_dir, unit, why_not, progress)
        return True
    command = [str(plan.binary), "--workloads", plan.workload_args.get(unit.workload, unit.workload),
               "--allocators", info.measured_as if info is not None and preloaded else unit.allocator,
               "--threads", ",".join(map(str, unit.thread_counts(plan.threads))), "--repetitions", "1",
               "--min-time", str(plan.min_time), "--seed", str(plan.seed + unit.repetition), "--out", str(out)]
    if plan.tiny:
        command.append("--tiny")
    if plan.touch is not None:
        command += ["--touch", plan.touch]
    env = dict(os.environ)
    if info is not None and preloaded:
        env["LD_PRELOAD"] = str(installed_library(info, plan.binary))
        command += ["--malloc-label", unit.allocator, "--expect-malloc", info.expect_in_path]
    started = time.monotonic()
    deadline = started + plan.timeout
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    assert process.stdout is not None and process.stderr is not None
    printed = 0
    try:
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
    except BaseException:  # interrupted (Ctrl-C, SIGTERM): the driver, in a session of its own, dies too
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    finally:
        process.stdout.close()
        process.stderr.close()
    code = process.returncode
    if code == 0 and out.exists():
        return True
    timed_out = time.monotonic() >= deadline
    why = (f"timed out after {plan.timeout:.0f} s" if timed_out
           else f"exit {code}" + (f" (signal {-code})" if code < 0 else ""))
    if info is not None and preloaded:  # a malloc that never frees and ran out of its budget
        why = out_of_memory_reason(unit.allocator, info.supports_free, code, timed_out, False, stderr_text,
                                   why) or why
    results.write_json(raw_dir / f"{unit.name}.failed.json", {
        "unit": unit.name, "workload": unit.workload, "allocator": unit.allocator,
        "repetition": unit.repetition, "threads": unit.thread_counts(plan.threads), "status": "failed", "why": why,
        "stderr": stderr_text[-4000:], "command": command, "ld_preload": env.get("LD_PRELOAD", "")})
    last = stderr_text.strip().splitlines()[-1] if stderr_text.strip() else why
    for _ in range(len(unit.thread_counts(plan.threads)) - printed):
        progress.line(f"FAILED {unit.workload}/{unit.allocator} ({why}): {last}")
    return False


def merge_rows(raw_dirs: list[Path]) -> list[ResultRow]:
    """Every case x repetition of the raw folders, failed units expanded to one row per case."""
    rows: list[ResultRow] = []
    for raw_dir in raw_dirs:
        for path in sorted(raw_dir.glob("*.json")):
            if path.name.startswith("."):
                continue
            suffix = next((s for s in RECORD_SUFFIXES if path.name.endswith(s)), ".json")
            failed, skipped = suffix == ".failed.json", suffix == ".skipped.json"
            unit = path.name.removesuffix(suffix)
            try:
                rep = int(unit.split("__")[0][1:])
            except ValueError:
                continue
            doc = results.read_json(path)
            try:
                if failed or skipped:
                    last = (str(doc.get("stderr", "")).strip().splitlines() or [""])[-1]
                    reason = f"{doc['why']}: {last}" if failed else str(doc["why"])
                    rows += [ResultRow(str(doc["workload"]), str(doc["allocator"]), int(t), repetition=rep,
                                       status="failed" if failed else "skipped", unit=unit, reason=reason)
                             for t in doc.get("threads", [])]
                else:
                    rows += results.rows_from_driver_json(doc, rep, unit)
            except (AttributeError, KeyError, TypeError, ValueError) as e:
                what = "failure record" if failed else "skip record" if skipped else "driver result"
                raise ResultsError(f"{path}: not a {what} ({e})") from None
    rows.sort(key=lambda r: (r.workload, r.allocator, r.threads, r.repetition))
    return rows


def machine_facts(raw_dir: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """The context of one raw result (build, libraries, CPU) plus the sweep's own facts; and
    from every raw result, the files of the parametric workloads (the driver's workload_files:
    case name -> path) and how a trace's objects were written (touch)."""
    facts: dict[str, Any] = {}
    files: dict[str, str] = {}
    touch: set[str] = set()
    for path in sorted(raw_dir.glob("*.json")):
        if not path.name.endswith((".failed.json", ".skipped.json")) and not path.name.startswith("."):
            context = results.read_json(path).get("context", {})
            if not facts:
                facts = {k: context[k] for k in MACHINE_KEYS if k in context}
            try:
                named = json.loads(context.get("workload_files") or "{}")
            except (TypeError, ValueError):
                named = {}
            if isinstance(named, dict):
                files |= {str(k): str(v) for k, v in named.items()}
                if named and isinstance(context.get("touch"), str):
                    touch.add(context["touch"])
    if files:
        facts["workload_files"] = dict(sorted(files.items()))
    if len(touch) == 1:
        facts["touch"] = touch.pop()
    return {**facts, **extra}


def finish_folder(folder: Path, raw_dirs: list[Path], extra: dict[str, Any]) -> dict[str, int]:
    """results.csv and machine.json from raw/; -> rows per status."""
    rows = merge_rows(raw_dirs)
    results.write_csv(folder / "results.csv", rows)
    results.write_json(folder / "machine.json", machine_facts(raw_dirs[0], extra))
    return {s: sum(1 for r in rows if r.status == s) for s in results.STATUSES}


def create_folder(folder: Path) -> None:
    """A new run folder with raw/ in it; an existing folder is never written into."""
    try:
        folder.mkdir(parents=True, exist_ok=False)
        (folder / "raw").mkdir()
    except FileExistsError:
        raise UsageError(f"output folder '{folder}' exists already (use --resume to complete it)") from None
    except OSError as e:
        raise UsageError(f"cannot create output folder '{folder}': {e.strerror}") from None


def check_run_arguments(args: argparse.Namespace) -> tuple[Plan, list[str], list[str]]:
    """Everything checked before anything is written: -> plan, allocators, workloads."""
    binary = Path(args.binary)
    if not os.access(binary, os.X_OK):
        raise UsageError(f"driver '{binary}' not found or not executable (build it: cmake --build --preset release)")
    profile = PROFILES[args.profile]
    cores = os.cpu_count() or 1
    try:
        registry = ask_driver(binary, args.threads if args.threads is not None
                              else f"1..{profile['threads_per_core'] * cores}")
    except RegistryError as e:
        raise UsageError(str(e)) from None
    # --preload LABEL=PATH: a user's library joins the registry as a preloaded peer (registry.json
    # records its path), measured through the malloc adapter like Debian's peers.
    user = parse_preloads(args.preload or [], set(registry.allocator_names()))
    if args.resume:
        user = resumed_preloads(Path(args.resume), registry, user)
    registry = Registry(registry.allocators + tuple(u.info() for u in user), registry.workloads, registry.threads)
    labels = parse_names("allocator", args.allocators, registry.allocator_names())
    labels += [u.name for u in user if u.name not in labels]
    workloads, parametric = parse_workloads(args.workloads, registry, caller_dir())
    repetitions = profile["repetitions"] if args.repetitions is None else args.repetitions
    min_time = profile["min_time"] if args.min_time is None else args.min_time
    positive("--repetitions", repetitions, 10_000)
    seconds("--min-time", min_time, 3600)
    seconds("--timeout", args.timeout)
    if not 0 <= args.seed <= 2 ** 64 - 1 - repetitions:  # repetition r runs with seed + r
        raise UsageError(f"bad --seed {args.seed} (valid: a whole number from 0 to 2^64 - 1 - repetitions)")
    if args.resume and args.out:
        raise UsageError("give --out DIR (a new run) or --resume DIR (complete one), not both")
    if args.folder_file and (Path(args.folder_file).is_dir() or not Path(args.folder_file).resolve().parent.is_dir()):
        raise UsageError(f"--folder-file '{args.folder_file}' is not a file in an existing folder")
    for label in labels:
        info = registry.allocator(label)
        if info is not None and info.kind == "preloaded" and installed_library(info, binary) is None:
            expected = registry_preload(info, binary)
            raise UsageError(f"peer '{label}' needs {expected.library}, which is not there ({expected.install_hint})")
        if info is not None and info.kind == "preloaded" and info.name not in {u.name for u in user}:
            check_starts(registry_preload(info, binary))  # e.g. a shim refusing a bad ALLOCLAB_* variable
    for u in user:
        check_takes_effect(u, Path(args.probe))
    args.repetitions, args.min_time = repetitions, min_time
    plan = Plan(binary, registry, list(registry.threads), min_time, args.seed, args.timeout, args.tiny,
                {p.case: p.argument for p in parametric}, {p.case: p.threads for p in parametric if p.threads},
                args.touch)
    return plan, labels, workloads


def resumed_preloads(folder: Path, driver: Registry, given: list[Preload]) -> list[Preload]:
    """A resumed sweep measures a user's library from the path its registry.json recorded; a
    --preload given again must name the same file."""
    path = folder / "registry.json"
    try:
        recorded = Registry.from_json(results.read_json(path), str(path)) if path.is_file() else Registry()
    except RegistryError as e:
        raise UsageError(str(e)) from None
    out = []
    for info in recorded.allocators:
        if info.kind != "preloaded" or driver.allocator(info.name) is not None:
            continue
        again = next((u for u in given if u.name == info.name), None)
        if again is not None and str(again.library) != info.library:
            raise UsageError(f"--resume: the sweep measured '{info.name}' as {info.library}, not {again.library}: "
                             "give the same library, or none (the recorded one is used)")
        out.append(Preload(info.name, info.kind, info.description, Path(info.library)))
    extra = [u.name for u in given if recorded.allocator(u.name) is None]
    if extra:
        raise UsageError(f"--resume: '{extra[0]}' was not measured by this sweep; start a new sweep to add it")
    return out


def wanted_pairs(path: str) -> set[tuple[str, str]]:
    """--units: a JSON list of [workload, allocator] pairs."""
    try:
        doc = results.read_json(path)
    except ResultsError as e:
        raise UsageError(f"--units {e}") from None
    if not isinstance(doc, list) or not doc or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in doc):
        raise UsageError(f"--units '{path}': expected a non-empty JSON list of [workload, allocator] pairs of names")
    return {(w, a) for w, a in doc}


def point_latest(results_dir: Path, folder: Path) -> None:
    latest, temp = results_dir / "latest", results_dir / "latest.tmp"
    temp.unlink(missing_ok=True)
    temp.symlink_to(folder.name)
    os.replace(temp, latest)


def command_run(args: argparse.Namespace) -> int:
    plan, labels, workloads = check_run_arguments(args)
    shard = parse_shard(args.shard) if args.shard else (1, 1)
    never_free = frozenset(a.name for a in plan.registry.allocators
                           if a.name in labels and a.kind == "preloaded" and not a.supports_free)
    units = plan_units(labels, workloads, args.repetitions, never_free, plan.threads, plan.fixed_threads)
    if args.units:
        wanted = wanted_pairs(args.units)
        outside = sorted(wanted - {(u.workload, u.allocator) for u in units})
        if outside:
            raise UsageError(f"--units names {'/'.join(outside[0])}, which --workloads/--allocators do not select")
        units = [u for u in units if (u.workload, u.allocator) in wanted]
    if args.resume:
        folder = Path(args.resume)
        if not (folder / "raw").is_dir():
            raise UsageError(f"--resume '{folder}' is not a results folder (no raw/ in it)")
    else:
        folder = Path(args.out) if args.out else Path(args.results) / results.new_run_name()
        create_folder(folder)
    raw_dir = folder / "raw"
    command_text = "python3 -m alloclab.sweep " + shlex.join(sys.argv[1:])
    results.write_atomically(folder / "command.txt", command_text + "\n")
    results.write_json(folder / "registry.json", plan.registry.to_json())

    k, n = shard
    mine = [u for i, u in enumerate(units) if i % n == k - 1]
    todo = [u for u in mine if not unit_done(raw_dir, u)]
    fixed = "".join(f" ({w} at {t} thread{'s' if t != 1 else ''}, the trace's)" for w, t in plan.fixed_threads.items())
    print(f"sweep: {len(labels)} allocators x {len(workloads)} workloads x threads "
          f"{','.join(map(str, plan.threads))}{fixed} x {args.repetitions} repetitions"
          f"{f' (shard {k}/{n})' if n > 1 else ''}: {len(todo)} of {len(mine)} units to run -> {folder}",
          flush=True)
    progress = Progress(sum(len(u.thread_counts(plan.threads)) for u in todo))
    failed = sum(not run_unit(plan, raw_dir, u, progress) for u in todo)

    extra = {"command": command_text, "profile": args.profile, "threads": plan.threads,
             "repetitions": args.repetitions, "min_time": args.min_time, "shard": f"{k}/{n}",
             "finished_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "allocators": labels, "workloads": workloads}
    if plan.workload_args:
        extra["workload_files"] = {w: arg.split(":", 1)[1] for w, arg in plan.workload_args.items()}
    if plan.touch is not None:
        extra["touch"] = plan.touch
    counts = finish_folder(folder, [raw_dir], extra)
    if not args.out and not args.resume and n == 1:
        point_latest(Path(args.results), folder)
    print(f"sweep: {counts['ok']} cases measured, {counts['skipped']} skipped, {counts['failed']} failed "
          f"({failed} failed units) -> {folder / 'results.csv'}", flush=True)
    if args.folder_file:
        results.write_atomically(args.folder_file, f"{folder}\n")
    return 0


def command_merge(args: argparse.Namespace) -> int:
    sources = [Path(d) for d in args.dirs]
    for d in sources:
        if not (d / "raw").is_dir():
            raise UsageError(f"'{d}' is not a results folder (no raw/ in it)")
    if len({d.resolve() for d in sources}) < len(sources):
        raise UsageError("a folder is given twice")
    # Every input is read and checked before the output folder is made.
    seen: dict[str, Path] = {}
    for d in sources:
        for path in (d / "raw").glob("*.json"):
            if path.name.startswith("."):
                continue
            if path.name in seen:
                raise UsageError(f"unit {path.name} is in both '{seen[path.name].parent.parent}' and '{d}' "
                                 "(overlapping shards?)")
            seen[path.name] = path
    for r in merge_rows([d / "raw" for d in sources]):
        bad = [m for m in results.METRICS if (v := r.metric(m)) is not None and not 0 <= v <= results.MAX_VALUE]
        if bad:
            raise UsageError(f"raw/{r.unit}.json: {r.workload}/{r.allocator}/threads:{r.threads} has {bad[0]} "
                             f"{r.metric(bad[0])}, not a measurement")
    registries = [d / "registry.json" for d in sources if (d / "registry.json").exists()]
    parsed = []
    for path in registries:
        try:
            parsed.append(Registry.from_json(results.read_json(path), str(path)))
        except RegistryError as e:
            raise UsageError(str(e)) from None
    if any(r != parsed[0] for r in parsed[1:]):
        differing = registries[next(i for i, r in enumerate(parsed) if r != parsed[0])]
        raise UsageError(f"{differing} differs from {registries[0]}: the shards were run by different drivers")
    out = Path(args.out)
    create_folder(out)
    # The merged folder holds copies of every raw file, so it stands on its own.
    for name, path in seen.items():
        shutil.copy2(path, out / "raw" / name)
    if registries:
        shutil.copy2(registries[0], out / "registry.json")
    counts = finish_folder(out, [out / "raw"], {"command": "python3 -m alloclab.sweep " + shlex.join(sys.argv[1:]),
                                                 "merged_from": args.dirs})
    print(f"sweep: merged {len(sources)} folders: {counts['ok']} measured, {counts['skipped']} skipped, "
          f"{counts['failed']} failed -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a sweep")
    run.add_argument("--profile", choices=sorted(PROFILES), default="default",
                     help="default: threads to 2 x cores, 3 repetitions; full: threads to 4 x cores, 9 repetitions")
    run.add_argument("--allocators", default="all",
                     help="comma-separated names (`alloclab --list` shows them, preloaded peers included), or all")
    run.add_argument("--workloads", default="all",
                     help="comma-separated workload names, or all; and trace:PATH (a recorded trace, replayed at "
                     "its own thread count) or empirical:PATH (a table from trace distill), PATH relative to "
                     "the caller's folder")
    run.add_argument("--touch", choices=("none", "pages", "all"),
                     help="how a trace replay writes its objects (the driver's default: pages, every page and "
                     "the first cache line of each object)")
    run.add_argument("--threads", help="thread counts: 4, 1,2,8 or 1..64 (default: from the profile)")
    run.add_argument("--repetitions", type=int, help="repetitions of every case (default: from the profile)")
    run.add_argument("--min-time", type=float, dest="min_time", help="seconds per case (default: from the profile)")
    run.add_argument("--seed", type=int, default=42, help="base seed; repetition r uses seed + r (default 42)")
    run.add_argument("--timeout", type=float, default=300,
                     help="seconds before a unit is killed as hung (default 300)")
    run.add_argument("--results", default=str(ROOT / "results"), help="folder of run folders (default: results/)")
    run.add_argument("--out", help="run folder to create (default: results/<UTC time>-<host>)")
    run.add_argument("--resume", metavar="DIR", help="complete an interrupted run folder")
    run.add_argument("--shard", metavar="K/N", help="run every N-th unit, starting at the K-th")
    run.add_argument("--binary", default=str(DEFAULT_BINARY),
                     help="the driver (default: build/release/harness/alloclab)")
    run.add_argument("--preload", action="append", metavar="LABEL=PATH",
                     help="also measure this shared library as malloc, under LABEL (repeatable), e.g. "
                     "mine=/opt/libmine.so: it runs through the malloc adapter, verified in each process")
    run.add_argument("--probe", default=str(DEFAULT_PROBE), help=argparse.SUPPRESS)
    run.add_argument("--tiny", action="store_true", help="tiny cases (tests)")
    run.add_argument("--folder-file", help="write the run folder's path to this file (for scripts)")
    run.add_argument("--units", help="JSON file of [workload, allocator] pairs: run only those (with "
                     "--workloads/--allocators naming at least them)")
    merge = sub.add_parser("merge", help="merge shard folders")
    merge.add_argument("out", metavar="OUT", help="the merged run folder to create (it must not exist)")
    merge.add_argument("dirs", metavar="DIR", nargs="+", help="results folders to merge (shards of one sweep)")
    args = parser.parse_args(argv)
    # A SIGTERM unwinds like an exception, so the running unit's driver is killed (run_unit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return command_run(args) if args.command == "run" else command_merge(args)
    except (UsageError, ResultsError) as e:
        fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
