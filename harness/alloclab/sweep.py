"""alloclab sweep: every allocator (and every preloaded peer) x every workload, in processes.

  python3 -m alloclab.sweep run   [options]            a sweep into a new results folder (or --resume one)
  python3 -m alloclab.sweep merge OUT DIR [DIR ...]    merge folders of shards (--shard K/N) into OUT

Each unit — one repetition of one workload on one allocator, all thread counts — runs in its
own `alloclab` process, so a crash, a hang (killed at --timeout) or a non-zero exit is recorded
as a failed unit with its stderr and the sweep goes on. Units are interleaved: each repetition
visits the allocators in a rotated order, so drift of the machine favours none of them.
Results are written atomically; --shard K/N runs every N-th unit, for spreading a sweep over
identical machines. Names, kinds and the thread-count grammar come from the driver
(`alloclab --list --json`).

Pairing: every process also runs the reference case (--reference, default tbbmalloc: an
allocator apart from every malloc a peer preloads) on the unit's workload at the unit's thread
counts, after the unit's own cases. A process's state (clock, page and cache placement) is
drawn anew for each process and shared by the cases in it; each row records the reference's
throughput in its process (ref_items_per_second), and alloclab.ranking compares allocators on
their throughput divided by it, so the draw cancels, in a cell where that narrows the spread and
every process ran under one malloc (a preloaded peer changes the reference's speed too). The
reference's throughput across the processes is also the run's calibration probe: the report
flags processes in which the machine was off its usual state.

Adaptive repetitions (--precision P, alloclab.adaptive): after the plan's repetitions, the units
holding a case whose interval (at alloclab.confidence's 99 %) is wider than +/-P run once more,
a round at a time in the plan's interleaved order, until no case is (or --max-repetitions, or
--budget seconds); the extra repetitions are units like the others (r04__..., resumed the same
way). Not with --shard: the rule needs every process of a cell.

The plan: a new run writes plan.json first (atomically): the selection (allocators,
workloads and their files, threads, repetitions, min-time, seed, profile, tiny, touch, units,
shard, preloaded libraries), the driver, the machine (CPU model and count) and the node
(host, CPU model, CPUs, kernel: machine.json names the one it finished on). `--resume DIR`
runs the units of that plan which have no valid record, whatever the defaults are now; an
option given with --resume must say what the plan says (else one line naming the option and
both values), and a folder started on another machine is refused. A record counts as done
only when it reads back whole (a driver result with every case of its unit, a failure or skip
record with every field); others are run again. A run folder is locked (FolderLock) while a
sweep or one of its drivers runs in it: a second sweep, or a resume, is refused meanwhile.
The drivers die with the sweep (PR_SET_PDEATHSIG), and the sweep with run_all.sh.

`merge OUT DIR...` checks every folder before it writes anything (a run folder of the same
plan, from the same kind of machine, no unit twice, every record valid), builds OUT in a
temporary sibling and renames it into place: a failed merge leaves nothing. Shards from
different CPU models or CPU counts are refused, naming both, unless --allow-mixed-machines:
then every row of results.csv names its node (column `machine`) and the charts are drawn per
machine. machine.json's `nodes` lists the node of every shard.

A preloaded malloc whose free does nothing (alloclab_bump) is skipped, with the reason, on a
workload that needs free, by the rule the driver applies to its arenas; a unit in which it runs
out of its memory budget fails as "did not fit" (alloclab.fit), and the sweep goes on. A
selection in which every pair would be skipped is refused: it would measure nothing.

Parametric workloads: --workloads may name `trace:PATH` (a recorded trace, replayed) and
`empirical:PATH` (a distilled size table) beside the built-in names (entries are separated by
commas, so a PATH cannot hold one); a relative path — these, --out, --results, --resume,
--folder-file, merge's folders — is the current folder's (run_all.sh runs the tools from its
caller's folder) and the driver gets it absolute. Their cases are named after the
file's stem (`trace:<stem>`), so two files of one kind with the same stem are refused. A trace
replays at its own recorded thread count (read from the file before anything runs): its units
run that one count, whatever --threads says; an empirical table runs at every count of the
plan. machine.json's `workload_files` maps each such case name to its file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from alloclab import adaptive, results
from alloclab.confidence import CONFIDENCE, EARLIER_CONFIDENCE, LEVEL, stated
from alloclab.cli import (Once, Parser, UsageError, clock, create_new_folder, integer, number, one_line,
                          parse_names)
from alloclab.fit import out_of_memory_reason
from alloclab.preload import (DEFAULT_PROBE, Preload, check_starts, check_takes_effect, installed_library,
                              parse_preload, registry_preload)
from alloclab.processes import FolderLock, die_with_launcher, die_with_parent_sigkill, in_use
from alloclab.registry import DEFAULT_BINARY, NAME, ROOT, Registry, RegistryError, ask_driver, parametric_kind
from alloclab.results import ResultsError
from alloclab.traces.scan import TraceError, scan

PROFILES = {
    # On 2 cores: threads 1..4, 3 repetitions; the whole main job (build, this sweep, the programs'
    # quick pass, charts) within 10 minutes on 2 cores. Not shorter cases: at 0.02 s a stall of
    # one thread dominated a case, and two default runs reversed 2.0 % of their pairs (0.9 % at 0.03 s).
    "default": {"threads_per_core": 2, "repetitions": 3, "min_time": 0.03},
    # For papers: enough repetitions for a significance test, 4 x cores, longer cases.
    "full": {"threads_per_core": 4, "repetitions": 9, "min_time": 0.3},
}
# Workloads a profile leaves out when --workloads is not given, so the main job stays within its 10
# minutes: ast_256k's trees take a quarter of the default sweep's time (ast_1k and ast_16k stay),
# and slot_exchange, alloclab's own cross-thread stress, is no classic (larson, the published
# algorithm, stays). --workloads all or --profile full include them.
PROFILE_SKIPS = {"default": ("ast_256k", "slot_exchange")}
PLAN_FILE = "plan.json"
PLAN_SCHEMA = 1
SEED_LIMIT = 2 ** 64  # the driver's seeds: 0 .. 2^64 - 1; repetition r runs with (seed + r) mod 2^64
MAX_REPETITIONS = 10_000
MAX_SHARDS = 1_000_000
DEFAULT_REFERENCE = "tbbmalloc"
# A unit's record in raw/: the driver's result, or the sweep's record of a failure or a skip.
RECORD_SUFFIXES = (".failed.json", ".skipped.json", ".json")
# The facts of a driver JSON's context that machine.json keeps.
MACHINE_KEYS = ("host_name", "num_cpus", "mhz_per_cpu", "caches", "cpu_model", "hardware_threads",
                "cpu_governor", "kernel", "aslr", "glibc_version", "tbb_version", "compiler", "cxx_flags",
                "build_type", "git_commit", "git_dirty", "alloclab_version", "library_build_type")


def fail(message: str) -> NoReturn:
    print(f"sweep: {one_line(message)}", file=sys.stderr)
    sys.exit(2)


def shard_type(text: str) -> tuple[int, int]:
    """argparse type of --shard: K/N, plain whole numbers, 1 <= K <= N."""
    m = re.fullmatch(r"([0-9]{1,7})/([0-9]{1,7})", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)) <= MAX_SHARDS:
        raise argparse.ArgumentTypeError(f"bad value '{text[:80]}' (valid: K/N with 1 <= K <= N <= {MAX_SHARDS}, "
                                         "e.g. 2/4)")
    return int(m.group(1)), int(m.group(2))


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


class Progress:
    """One line per case: [done/total elapsed eta] text."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.start = total, 0, time.monotonic()

    def extend(self, cases: int) -> None:
        """More cases to run than first known (--precision's rounds)."""
        self.total += cases

    def line(self, text: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        tail = "done" if self.done >= self.total else f"eta {clock(eta)}"
        print(f"[{self.done}/{self.total} {clock(elapsed)} {tail}]".ljust(26) + text, flush=True)



def machine_identity() -> dict[str, Any]:
    """What must be the same for numbers to be comparable: the CPU model and the CPU count
    (the driver's cpu_model is /proc/cpuinfo's model name too)."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip() in ("model name", "Model", "cpu model", "Processor"):
                    model = value.strip()
                    break
    except OSError:
        pass
    return {"cpu_model": model, "cpus": os.cpu_count() or 0}


def describe_machine(m: Mapping[str, Any]) -> str:
    return f"{m.get('cpu_model') or 'unknown CPU'}, {m.get('cpus')} CPUs"


def node_identity() -> dict[str, Any]:
    """The node a shard runs on: its host name and kernel besides what makes numbers comparable
    (a cluster's nodes of one kind differ in name only)."""
    uname = platform.uname()
    return {"host": uname.node, **machine_identity(), "kernel": f"{uname.system} {uname.release}"}


def node_label(node: Mapping[str, Any]) -> str:
    """A node as a row of a merge across machines names it: host (CPU model, CPUs)."""
    return f"{node.get('host') or 'unknown host'} ({describe_machine(node)})"


@dataclass(frozen=True)
class Plan:
    """What a sweep runs: everything plan.json records."""
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
    profile: str = "default"
    allocators: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()
    repetitions: int = 1
    pairs: frozenset[tuple[str, str]] | None = None  # --units: only these (workload, allocator)
    shard: tuple[int, int] = (1, 1)
    preloads: Mapping[str, str] = field(default_factory=dict)  # a user's --preload: label -> library
    # A parametric workload's file as it was when the sweep started: case -> {size, mtime_ns}.
    files: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    machine: Mapping[str, Any] = field(default_factory=dict)
    command: str = ""
    node: Mapping[str, Any] = field(default_factory=dict)  # where the shard started: node_identity()
    # The case run in every process beside the unit's own (same workload and thread counts), or
    # None: the calibration probe, and in a cell of one malloc the figure comparisons may be divided by
    # (alloclab.ranking.cell_paired).
    reference: str | None = None
    # --precision: after `repetitions`, repeat the units holding a case whose relative 99 %
    # half-width is above this (alloclab.adaptive), up to max_repetitions each, and start no
    # unit after budget seconds of the session. None: exactly `repetitions`.
    precision: float | None = None
    max_repetitions: int = 0
    budget: float | None = None

    def never_free(self) -> frozenset[str]:
        return frozenset(a.name for a in self.registry.allocators
                         if a.name in self.allocators and a.kind == "preloaded" and not a.supports_free)

    def all_units(self) -> list[Unit]:
        """Every unit of the plan, every shard's, in running order."""
        units = plan_units(list(self.allocators), list(self.workloads), self.repetitions, self.never_free(),
                           self.threads, self.fixed_threads)
        if self.pairs is not None:
            units = [u for u in units if (u.workload, u.allocator) in self.pairs]
        return units

    def units(self) -> list[Unit]:
        """This shard's units."""
        k, n = self.shard
        return [u for i, u in enumerate(self.all_units()) if i % n == k - 1]

    def expected_keys(self, unit: Unit) -> list[tuple[str, str, int]]:
        return [(unit.workload, unit.allocator, t) for t in unit.thread_counts(self.threads)]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": PLAN_SCHEMA, "tool": "alloclab.sweep", "command": self.command, "binary": str(self.binary),
            "profile": self.profile, "allocators": list(self.allocators), "workloads": list(self.workloads),
            "workload_files": {w: {"argument": self.workload_args[w], "threads": self.fixed_threads.get(w, 0),
                                   **self.files.get(w, {})} for w in self.workload_args},
            "threads": self.threads, "repetitions": self.repetitions, "min_time": self.min_time,
            "seed": self.seed, "timeout": self.timeout, "tiny": self.tiny, "touch": self.touch,
            "units": None if self.pairs is None else sorted(list(p) for p in self.pairs),
            "shard": f"{self.shard[0]}/{self.shard[1]}", "preloads": dict(self.preloads),
            "machine": dict(self.machine), "node": dict(self.node), "reference": self.reference,
            "precision": self.precision, "max_repetitions": self.max_repetitions if self.precision else None,
            "precision_confidence": CONFIDENCE if self.precision else None,
            "budget": self.budget, "started_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}

    def selection(self) -> dict[str, Any]:
        """What two folders must share to be parts of one sweep (merge): the plan but its shard's K,
        its command, driver path and time."""
        doc = self.to_json()
        for key in ("command", "binary", "started_utc", "shard", "timeout", "node"):
            doc.pop(key)
        doc["shards"] = self.shard[1]
        return doc


def _plan_error(path: Path, what: str) -> ResultsError:
    return ResultsError(f"{path}: not a sweep's plan ({what}; valid: the plan.json a sweep wrote)")


def read_plan(folder: Path) -> Plan:
    """FOLDER/plan.json and FOLDER/registry.json, every field checked."""
    path = folder / PLAN_FILE
    if not path.exists():
        raise UsageError(f"'{folder}' holds no {PLAN_FILE}: it is not a sweep's folder, or one made by an older "
                         "sweep (valid: a folder made by `sweep run`; start a new sweep to complete an old one)")
    doc = results.read_json(path)
    if not isinstance(doc, dict) or doc.get("schema") != PLAN_SCHEMA or doc.get("tool") != "alloclab.sweep":
        raise _plan_error(path, f"expected an object with \"schema\": {PLAN_SCHEMA} and \"tool\": \"alloclab.sweep\"")

    def typed(key: str, kind: type | tuple[type, ...]) -> Any:
        value = doc.get(key)
        if not isinstance(value, kind) or isinstance(value, bool) and kind in (int, float, (int, float)):
            raise _plan_error(path, f"'{key}' is missing or not a {getattr(kind, '__name__', 'value')}")
        return value

    def names(key: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
        value = typed(key, list)
        if not value or not all(isinstance(v, str) and pattern.fullmatch(v) for v in value) or \
                len(set(value)) != len(value):
            raise _plan_error(path, f"'{key}' is not a list of distinct names")
        return tuple(value)

    registry_path = folder / "registry.json"
    try:
        registry = Registry.from_json(results.read_json(registry_path), str(registry_path))
    except RegistryError as e:
        raise ResultsError(str(e)) from None
    allocators = names("allocators", NAME)
    workloads = names("workloads", results.WORKLOAD_NAME)
    threads = typed("threads", list)
    if not threads or not all(type(t) is int and 1 <= t <= results.MAX_THREADS for t in threads) or \
            len(set(threads)) != len(threads):
        raise _plan_error(path, "'threads' is not a list of distinct positive counts")
    files_doc = typed("workload_files", dict)
    args, fixed, files = {}, {}, {}
    for case, entry in files_doc.items():
        if case not in workloads or not isinstance(entry, dict) or not isinstance(entry.get("argument"), str) or \
                not all(type(entry.get(k, 0)) is int and entry.get(k, 0) >= 0 for k in ("threads", "size", "mtime_ns")):
            raise _plan_error(path, f"workload_files entry '{str(case)[:80]}' is not a file of its workloads")
        args[case] = entry["argument"]
        if entry.get("threads"):
            fixed[case] = entry["threads"]
        files[case] = {k: entry[k] for k in ("size", "mtime_ns") if k in entry}
    repetitions = typed("repetitions", int)
    seed = typed("seed", int)
    min_time, timeout = typed("min_time", (int, float)), typed("timeout", (int, float))
    if not 1 <= repetitions <= MAX_REPETITIONS or not 0 <= seed < SEED_LIMIT or not 0 < min_time <= 3600 or \
            not 0 < timeout <= 86400:
        raise _plan_error(path, "repetitions, seed, min_time or timeout out of range")
    profile = typed("profile", str)
    if profile not in PROFILES:
        raise _plan_error(path, f"profile '{profile[:40]}' is not one of {', '.join(PROFILES)}")
    tiny = doc.get("tiny")
    touch = doc.get("touch")
    if not isinstance(tiny, bool) or touch not in (None, "none", "pages", "all"):
        raise _plan_error(path, "'tiny' or 'touch' is not what the sweep writes")
    units = doc.get("units")
    pairs = None
    if units is not None:
        if not isinstance(units, list) or not all(isinstance(p, list) and len(p) == 2 and
                                                  all(isinstance(x, str) for x in p) for p in units):
            raise _plan_error(path, "'units' is not a list of [workload, allocator] pairs")
        pairs = frozenset((w, a) for w, a in units)
    try:
        shard = shard_type(str(typed("shard", str)))
    except argparse.ArgumentTypeError:
        raise _plan_error(path, "'shard' is not K/N") from None
    preloads = typed("preloads", dict)
    if not all(isinstance(v, str) and k in allocators for k, v in preloads.items()):
        raise _plan_error(path, "'preloads' is not a map of its allocators to libraries")
    machine = typed("machine", dict)
    node = doc.get("node", {})  # absent from plans written before shards recorded their node
    if not isinstance(node, dict) or not all(isinstance(node.get(k, ""), str) for k in ("host", "cpu_model", "kernel")):
        raise _plan_error(path, "'node' is not the host, CPU model, CPUs and kernel of a node")
    for name in allocators:
        if registry.allocator(name) is None:
            raise ResultsError(f"{registry_path}: does not list allocator '{name}', which {path} selects")
    reference = doc.get("reference")  # absent from plans written before sweeps paired processes
    if reference is not None and (not isinstance(reference, str) or reference == "malloc" or
                                  registry.kind_of(reference) in ("other", "preloaded")):
        raise _plan_error(path, "'reference' is not an allocator the driver runs in process")
    # Absent from plans written before sweeps could adapt their repetitions.
    precision, budget = doc.get("precision"), doc.get("budget")
    max_reps: Any = doc.get("max_repetitions")
    if precision is not None and (not isinstance(precision, (int, float)) or isinstance(precision, bool) or
                                  not 0 < precision < adaptive.MAX_PRECISION or type(max_reps) is not int or
                                  not repetitions <= max_reps <= MAX_REPETITIONS or shard[1] != 1 or
                                  budget is not None and (not isinstance(budget, (int, float)) or
                                                          isinstance(budget, bool) or not 0 < budget <= 10 ** 7)):
        raise _plan_error(path, "'precision', 'max_repetitions' or 'budget' is not what the sweep writes")
    if precision is None and (max_reps is not None or budget is not None):
        raise _plan_error(path, "'max_repetitions' or 'budget' without 'precision'")
    if precision is not None:
        # The half-width --precision stops on is taken at the plan's confidence; a plan written
        # when intervals were 95 % would change its stopping rule halfway through the run.
        confidence = doc.get("precision_confidence", EARLIER_CONFIDENCE)
        if not isinstance(confidence, (int, float)) or isinstance(confidence, bool) or not 0 < confidence < 1:
            raise _plan_error(path, "'precision_confidence' is not what the sweep writes")
        if confidence != CONFIDENCE:
            raise ResultsError(f"{path}: its --precision was judged on {stated(confidence)} intervals, and this "
                               f"sweep judges on {LEVEL} ones (valid: a new run, e.g. ./run_all.sh sweep --precision "
                               f"{100 * float(precision):g}%)")
    return Plan(Path(typed("binary", str)), registry, list(threads), float(min_time), seed, float(timeout), tiny,
                args, fixed, touch, profile, allocators, workloads, repetitions, pairs, shard, preloads, files,
                machine, typed("command", str), node, reference,
                None if precision is None else float(precision), max_reps if precision is not None else 0,
                None if precision is None or budget is None else float(budget))


# ----------------------------------------------------------------------------- paths and workloads

def caller_dir() -> Path:
    """The folder relative paths on the command line are relative to: the current one (run_all.sh
    runs the tools from its caller's folder)."""
    return Path(os.getcwd())


def caller_path(text: str) -> Path:
    """A path given on the command line, absolute (symbolic links kept)."""
    return Path(os.path.abspath(caller_dir() / Path(text).expanduser()))


def check_distribution(path: Path) -> None:
    """A distilled table: its header `size,rate,mean_live` (after optional # lines); the driver
    reads the rows."""
    hint = "valid: a table made by ./run_all.sh trace distill FILE --out DIST.csv"
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                if [c.strip() for c in line.strip().split(",")] != ["size", "rate", "mean_live"]:
                    raise UsageError(f"{path}: not a distribution (its first line is not size,rate,mean_live; "
                                     f"{hint})")
                return
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a distribution (not UTF-8 text; {hint})") from None
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror} ({hint})") from None
    raise UsageError(f"{path}: not a distribution (no header line size,rate,mean_live; {hint})")


@dataclass(frozen=True)
class ParametricWorkload:
    """One `trace:PATH` or `empirical:PATH` of --workloads."""
    case: str       # the name its cases have: KIND:<file stem>
    argument: str   # what the driver is given: KIND:<absolute path>
    path: Path
    threads: int    # a trace's recorded thread count; 0 for an empirical table (every count of the plan)


def file_facts(path: Path) -> dict[str, int]:
    """What tells a file changed after the sweep started (a resume checks it)."""
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def parametric_workload(text: str, registry: Registry, base: Path, comma_hint: str = "") -> ParametricWorkload:
    """KIND:PATH checked before anything runs: the file exists, is what its kind reads, and its
    stem can name cases."""
    kind, _, given = text.partition(":")
    if kind not in registry.parametric_names():
        raise UsageError(f"workload '{text[:200]}': this driver does not run {kind}: workloads "
                         f"(valid: {', '.join(registry.parametric_names()) or 'none'}; rebuild it: "
                         "cmake --build --preset release)")
    if not given:
        raise UsageError(f"workload '{text}' names no file (valid: {kind}:PATH)")
    # Absolute, symbolic links kept: a link's own name is the stem its cases get.
    path = Path(os.path.abspath(base / Path(given).expanduser()))
    valid = f"valid: {kind}:PATH of a {'trace file' if kind == 'trace' else 'distribution table'}"
    if not path.exists():
        raise UsageError(f"workload '{text[:200]}': {path} does not exist ({valid}{comma_hint})")
    if not path.is_file():
        raise UsageError(f"workload '{text[:200]}': {path} is not a regular file ({valid})")
    stem = path.stem
    if not NAME.fullmatch(stem):
        raise UsageError(f"workload '{text[:200]}': its cases are named after the file's stem '{stem[:80]}', which "
                         "is not a name (valid: letters, digits, _ . + -, at most 64): rename or link the file")
    threads = 0
    if kind == "trace":
        try:
            facts = scan(path)
        except TraceError as e:
            raise UsageError(f"{e} ({valid})") from None
        if facts.events == 0 or facts.threads == 0:
            raise UsageError(f"{path}: holds no events: nothing to replay ({valid} with events)")
        threads = facts.threads
    else:
        check_distribution(path)
    return ParametricWorkload(f"{kind}:{stem}", f"{kind}:{path}", path, threads)


def parse_workloads(text: str, registry: Registry, base: Path) -> tuple[list[str], list[ParametricWorkload]]:
    """--workloads: built-in names (or all) and KIND:PATH entries -> (case names in order, the
    parametric ones). The rules of cli.parse_names: no empty selection, no empty entry, no case
    named twice (a name twice, a name and all, one file twice). Entries are separated by commas,
    so a PATH cannot hold one."""
    valid = registry.workload_names()
    kinds = registry.parametric_names()
    choices = (f"valid: {', '.join(valid)}, all, or {', '.join(k + ':FILE' for k in kinds) or 'no file workloads'}; "
               "each once")
    if not text.strip(","):
        raise UsageError(f"no workload named in '{text[:200]}' ({choices})")
    items = text.split(",")
    names: list[str] = []
    parametric: list[ParametricWorkload] = []
    for i, entry in enumerate(items):
        if not entry:
            raise UsageError(f"empty workload name in '{text[:200]}' ({choices})")
        after_file = any(parametric_kind(e) is not None for e in items[:i])
        comma_hint = "; a FILE cannot hold a comma: link it under a name without one"
        if parametric_kind(entry) is None:
            if entry != "all" and entry not in valid:
                raise UsageError(f"unknown workload '{entry[:80]}' ({choices}{comma_hint if after_file else ''})")
            for n in (valid if entry == "all" else [entry]):
                if n in names:
                    raise UsageError(f"workload '{n}' named twice in '{text[:200]}' ({choices})")
                names.append(n)
            continue
        p = parametric_workload(entry, registry, base, comma_hint if i + 1 < len(items) else "")
        twin = next((q for q in parametric if q.case == p.case), None)
        if twin is not None and twin.path == p.path:
            raise UsageError(f"workload '{entry[:200]}' names {p.path} a second time in --workloads ({choices})")
        if twin is not None:
            raise UsageError(f"two {p.case.split(':')[0]} files with the stem '{p.case.split(':', 1)[1]}' "
                             f"({twin.path} and {p.path}): cases are named after the stem "
                             "(valid: files of distinct stems; rename or link one)")
        parametric.append(p)
        names.append(p.case)
    return names, parametric


def parse_threads(text: str, binary: Path) -> Registry:
    """The driver's registry with --threads expanded by its grammar; a count given twice
    (which the driver would merge) is refused, as a name twice is."""
    if re.fullmatch(r"[0-9]+(,[0-9]+)+", text):
        counts = [int(t) for t in text.split(",")]
        twice = next((c for i, c in enumerate(counts) if c in counts[:i]), None)
        if twice is not None:
            raise UsageError(f"bad --threads '{text[:80]}': {twice} given twice (valid: each count once, e.g. 1,2,8)")
    try:
        return ask_driver(binary, text)
    except RegistryError as e:
        raise UsageError(str(e)) from None


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


def skipped_pair(registry: Registry, workload: str, allocator: str) -> str:
    """Why a pair is skipped whoever skips it: the sweep (cannot_run) or the driver, by
    workload.hpp's incompatibility() over the registry's traits; "" when it runs. A trace's
    own rule (its allocator may run out) depends on the trace: it is taken to run."""
    why = cannot_run(registry, workload, allocator)
    info, w = registry.allocator(allocator), registry.workload(workload) or registry.workload(
        parametric_kind(workload) or workload)
    if why or info is None or w is None or info.kind == "preloaded" or parametric_kind(workload) == "trace":
        return why
    if w.needs_shared_instance and not info.thread_safe:
        return "needs one instance shared by all threads; the allocator is not thread-safe"
    if w.needs_cross_thread_free and not (info.thread_safe and info.supports_free):
        return "needs objects freed by other threads; the allocator cannot free across threads"
    if w.needs_free and not info.supports_free:
        return "needs individual free; the allocator only frees in bulk"
    return ""


def wanted_pairs(path: str) -> frozenset[tuple[str, str]]:
    """--units: a JSON list of [workload, allocator] pairs."""
    try:
        doc = results.read_json(caller_path(path))
    except ResultsError as e:
        raise UsageError(f"--units {e} (valid: a JSON file of [workload, allocator] pairs)") from None
    if not isinstance(doc, list) or not doc or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in doc):
        raise UsageError(f"--units '{path}': expected a non-empty JSON list of [workload, allocator] pairs of names "
                         "(valid: e.g. [[\"small\", \"malloc\"]])")
    return frozenset((w, a) for w, a in doc)


# ----------------------------------------------------------------------------- records

def unit_records(raw_dir: Path, unit: Unit) -> list[Path]:
    return [p for p in (raw_dir / f"{unit.name}{s}" for s in RECORD_SUFFIXES) if p.exists() or p.is_symlink()]


def record_fault(path: Path, plan: Plan, unit: Unit) -> str:
    """Why a unit's record does not count (it is run again), or "" when it does: it must read
    back whole (results.read_unit_file) and hold exactly the unit's cases."""
    try:
        record = results.read_unit_file(path)
    except ResultsError as e:
        return str(e)
    keys = [r.key for r in record.rows]
    expected = plan.expected_keys(unit)
    if sorted(keys) != sorted(expected):
        shown = ", ".join(f"{w}/{a}/threads:{t}" for w, a, t in keys[:3])
        return f"{path}: holds {shown or 'no case'}, not the cases of unit {unit.name}"
    return ""


def unit_done(raw_dir: Path, unit: Unit, plan: Plan) -> bool:
    """A unit is done when it has one record and that record counts (record_fault)."""
    records = unit_records(raw_dir, unit)
    return len(records) == 1 and not record_fault(records[0], plan, unit)


def remove_temporaries(folder: Path) -> None:
    """What an interrupted writer left: .NAME.tmp files (results.write_atomically's, the
    driver's --out), never read as results. Only while the folder's lock is held."""
    for d in (folder, folder / "raw"):
        for entry in d.glob(".*.tmp"):
            try:
                if entry.is_file() and not entry.is_symlink():
                    entry.unlink()
            except OSError:
                pass


def skip_unit(plan: Plan, raw_dir: Path, unit: Unit, why: str, progress: Progress) -> None:
    """Records a unit that cannot run as skipped (one row per thread count, with the reason)."""
    results.write_json(raw_dir / f"{unit.name}.skipped.json", {
        "unit": unit.name, "workload": unit.workload, "allocator": unit.allocator,
        "repetition": unit.repetition, "threads": unit.thread_counts(plan.threads), "status": "skipped", "why": why})
    for _ in unit.thread_counts(plan.threads):
        progress.line(f"skipped {unit.workload}/{unit.allocator}: {why}")


def stop_driver(process: subprocess.Popen[str], out: Path, grace: float = 2.0) -> None:
    """Ends a driver and its session: SIGTERM first, on which it removes its temporary result
    file, SIGKILL after `grace` seconds; then removes what a killed driver could not."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait()
    for stale in out.parent.glob(f".{out.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def run_unit(plan: Plan, raw_dir: Path, unit: Unit, progress: Progress, pass_fds: tuple[int, ...] = ()) -> bool:
    for stale in unit_records(raw_dir, unit):  # a record that did not count: this run replaces it
        stale.unlink()
    out = raw_dir / f"{unit.name}.json"
    info = plan.registry.allocator(unit.allocator)
    preloaded = info is not None and info.kind == "preloaded"
    why_not = cannot_run(plan.registry, unit.workload, unit.allocator)
    if why_not:
        skip_unit(plan, raw_dir, unit, why_not, progress)
        return True
    measured = info.measured_as if info is not None and preloaded else unit.allocator
    # The driver runs the reference after the unit's own cases, so theirs start in a fresh process
    # (their memory figures start from the driver's own, not from what the reference kept), and
    # without its latency pass, which nobody reads.
    paired = plan.reference is not None and plan.reference != unit.allocator
    command = [str(plan.binary), "--workloads", plan.workload_args.get(unit.workload, unit.workload),
               "--allocators", measured,
               "--threads", ",".join(map(str, unit.thread_counts(plan.threads))), "--repetitions", "1",
               "--min-time", str(plan.min_time), "--seed", str((plan.seed + unit.repetition) % SEED_LIMIT),
               "--out", str(out)]
    if plan.tiny:
        command.append("--tiny")
    if plan.touch is not None:
        command += ["--touch", plan.touch]
    if plan.reference is not None:
        command += ["--reference", plan.reference]
    env = dict(os.environ)
    if info is not None and preloaded:
        env["LD_PRELOAD"] = str(installed_library(info, plan.binary))
        command += ["--malloc-label", unit.allocator, "--expect-malloc", info.expect_in_path]
    started = time.monotonic()
    deadline = started + plan.timeout
    # The driver dies with the sweep (SIGKILL at the sweep's death, whatever kills it) and holds
    # the folder's lock while it lives, so no other sweep measures beside it.
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=die_with_parent_sigkill, pass_fds=pass_fds)
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
            # The driver's case lines: "[i/n ...]  workload/allocator/threads:N  figures"; the
            # reference's are not the unit's cases.
            if line.startswith("["):
                text = line.split("]", 1)[1].strip()
                case = results.split_name(text.split(maxsplit=1)[0] if text else "")
                if paired and case is not None and case[1] == plan.reference:
                    continue
                progress.line(text)
                printed += 1
        if timed_out:
            stop_driver(process, out)
        process.wait()
        stderr_text = process.stderr.read()
    except BaseException:  # interrupted (Ctrl-C, SIGTERM): the driver, in a session of its own, dies too
        stop_driver(process, out)
        raise
    finally:
        process.stdout.close()
        process.stderr.close()
    code = process.returncode
    timed_out = time.monotonic() >= deadline
    why = (f"timed out after {plan.timeout:g} s" if timed_out
           else f"exit {code}" + (f" (signal {-code})" if code < 0 else ""))
    if code == 0 and out.exists():
        fault = record_fault(out, plan, unit)
        if not fault:
            return True
        # Kept beside the records for a look, under a name no reader takes for a result.
        os.replace(out, out.with_name(out.name + ".invalid"))
        why = f"its result is not valid: {fault}"
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


def read_records(paths: Sequence[Path]) -> list[results.UnitFile]:
    return [results.read_unit_file(p) for p in paths]


def machine_facts(records: Sequence[results.UnitFile], extra: dict[str, Any]) -> dict[str, Any]:
    """The context of one raw result (build, libraries, CPU) plus the sweep's own facts; and
    from every raw result, the files of the parametric workloads (the driver's workload_files:
    case name -> path) and how a trace's objects were written (touch)."""
    facts: dict[str, Any] = {}
    files: dict[str, str] = {}
    touch: set[str] = set()
    for record in sorted(records, key=lambda r: r.path.name):
        if record.kind != "result":
            continue
        context = record.context
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


def finish_folder(folder: Path, records: Sequence[results.UnitFile], extra: dict[str, Any],
                  machine_of: Mapping[Path, str] | None = None) -> dict[str, int]:
    """results.csv and machine.json from the records; -> rows per status. `machine_of` (a merge
    across machines): a record's path -> the node it ran on, kept as each row's machine."""
    rows = sorted((replace(r, machine=machine_of[record.path]) if machine_of else r
                   for record in records for r in record.rows),
                  key=lambda r: (r.workload, r.allocator, r.threads, r.repetition))
    results.write_csv(folder / "results.csv", rows, results.columns_for(rows))
    results.write_json(folder / "machine.json", machine_facts(records, extra))
    return {s: sum(1 for r in rows if r.status == s) for s in results.STATUSES}


def plan_facts(plan: Plan, here: bool = True) -> dict[str, Any]:
    """machine.json's facts of the sweep, from its plan (a resume does not change them); with
    `here`, the node this process runs on (a shard's, not a merge's)."""
    k, n = plan.shard
    extra: dict[str, Any] = {
        "command": plan.command, "profile": plan.profile, "threads": plan.threads, "repetitions": plan.repetitions,
        "min_time": plan.min_time, "seed": plan.seed, "shard": f"{k}/{n}",
        "finished_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "allocators": list(plan.allocators), "workloads": list(plan.workloads)}
    if here:
        extra["node"] = node_identity()
        if plan.node and plan.node.get("host") != extra["node"]["host"]:
            extra["started_on"] = dict(plan.node)  # resumed on another node of the same kind
    if plan.workload_args:
        extra["workload_files"] = {w: arg.split(":", 1)[1] for w, arg in plan.workload_args.items()}
    if plan.touch is not None:
        extra["touch"] = plan.touch
    if plan.precision is not None:
        extra["precision"] = plan.precision
        extra["precision_confidence"] = CONFIDENCE
        extra["max_repetitions"] = plan.max_repetitions
    return extra


# ----------------------------------------------------------------------------- the plan from the command line

def driver_binary(text: str | None) -> Path:
    binary = DEFAULT_BINARY if text is None else caller_path(text) if text else Path("")
    if not text and text is not None or not os.access(binary, os.X_OK) or binary.is_dir():
        raise UsageError(f"driver '{text if text is not None else binary}' not found or not executable "
                         "(valid: the alloclab driver; build it: cmake --build --preset release)")
    return binary


def command_text(args: argparse.Namespace) -> str:
    return "python3 -m alloclab.sweep " + shlex.join(args.argv)


def new_plan(args: argparse.Namespace) -> tuple[Plan, list[Preload]]:
    """A new run's plan, every option checked; nothing written."""
    binary = driver_binary(args.binary)
    profile_name = args.profile or "default"
    profile = PROFILES[profile_name]
    cores = os.cpu_count() or 1
    driver = parse_threads(args.threads if args.threads is not None
                           else f"1..{profile['threads_per_core'] * cores}", binary)
    # --preload LABEL=PATH: a user's library joins the registry as a preloaded peer (registry.json
    # records its path), measured through the malloc adapter like Debian's peers.
    user = parse_preloads(args.preload or [], set(driver.allocator_names()))
    registry = Registry(driver.allocators + tuple(u.info() for u in user), driver.workloads, driver.threads)
    labels = parse_names("allocator", "all" if args.allocators is None else args.allocators,
                         registry.allocator_names())
    labels += [u.name for u in user if u.name not in labels]
    if args.workloads is None:
        skipped = PROFILE_SKIPS.get(profile_name, ())
        workloads = [w for w in registry.workload_names() if w not in skipped]
        parametric: list[ParametricWorkload] = []
    else:
        workloads, parametric = parse_workloads(args.workloads, registry, caller_dir())
    plan = Plan(binary, registry, list(driver.threads),
                profile["min_time"] if args.min_time is None else args.min_time,
                42 if args.seed is None else args.seed, 300.0 if args.timeout is None else args.timeout,
                bool(args.tiny), {p.case: p.argument for p in parametric},
                {p.case: p.threads for p in parametric if p.threads}, args.touch, profile_name, tuple(labels),
                tuple(workloads), profile["repetitions"] if args.repetitions is None else args.repetitions,
                wanted_pairs(args.units) if args.units is not None else None,
                args.shard or (1, 1), {u.name: str(u.library) for u in user},
                {p.case: file_facts(p.path) for p in parametric}, machine_identity(), command_text(args),
                node_identity(), parse_reference(args.reference, registry))
    plan = replace(plan, **dict(zip(("precision", "max_repetitions", "budget"),
                                    adaptive_options(args, plan.repetitions, plan.shard[1]))))
    return plan, user


def precision_type(text: str) -> float:
    """argparse type of --precision: 3%, 3 % or 0.03."""
    try:
        return adaptive.parse_precision(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


DEFAULT_MAX_REPETITIONS = 10


def adaptive_options(args: argparse.Namespace, repetitions: int, shards: int) -> tuple[float | None, int, float | None]:
    """--precision, --max-repetitions and --budget of a new run, checked together."""
    if args.precision is None:
        for option, value in (("--max-repetitions", args.max_repetitions), ("--budget", args.budget)):
            if value is not None:
                raise UsageError(f"{option} goes with --precision (valid: --precision P {option} ..., or leave "
                                 f"{option} out)")
        return None, 0, None
    if shards > 1:
        raise UsageError("--precision adapts a whole sweep's repetitions as it runs, and a shard sees only its part "
                         "(valid: --precision without --shard, or --shard without --precision)")
    most = max(DEFAULT_MAX_REPETITIONS, repetitions) if args.max_repetitions is None else args.max_repetitions
    if most < repetitions:
        raise UsageError(f"bad --max-repetitions '{most}': below the {repetitions} repetitions every case runs "
                         f"(valid: {repetitions} to {MAX_REPETITIONS})")
    return args.precision, most, args.budget


def parse_reference(text: str | None, registry: Registry) -> str | None:
    """--reference NAME|none: an allocator the driver runs in process (default tbbmalloc, an
    allocator apart from every malloc a peer preloads, that runs every workload). Not malloc:
    in a preloaded peer's process, malloc is the peer itself."""
    choices = [a.name for a in registry.allocators if a.kind != "preloaded" and a.name != "malloc"]
    if text is None:
        return DEFAULT_REFERENCE if DEFAULT_REFERENCE in choices else None
    if text == "none":
        return None
    if text not in choices:
        raise UsageError(f"bad --reference '{text[:80]}' (valid: none, or an allocator the driver runs in process: "
                         f"{', '.join(choices)})")
    return text


def parse_preloads(texts: list[str], taken: set[str]) -> list[Preload]:
    out: list[Preload] = []
    for text in texts:
        out.append(parse_preload(text, taken | {q.name for q in out}))
    return out


def resume_plan(args: argparse.Namespace) -> tuple[Plan, list[Preload], Path]:
    """--resume DIR: the folder's plan, with what the command line may change (the driver's
    path, --timeout); any other option must say what the plan says."""
    text = args.resume
    folder = caller_path(text) if text else Path("")
    valid = "valid: a folder made by sweep run, with plan.json and raw/"
    for option in ("out", "results"):
        if getattr(args, option) is not None:
            raise UsageError(f"give --{option} (a new run) or --resume DIR (complete one), not both "
                             f"(valid: --resume DIR alone, or with the options of its plan)")
    if text and (folder / "slurm.json").is_file():
        raise UsageError(f"--resume '{text}' is a SLURM run (valid: ./run_all.sh sweep --slurm --resume {text} "
                         "resubmits its missing shards)")
    if not text or not folder.is_dir() or not (folder / "raw").is_dir():
        raise UsageError(f"--resume '{text}' is not a results folder of a sweep ({valid})")
    plan = read_plan(folder)
    here = machine_identity()
    if plan.machine and (plan.machine.get("cpu_model"), plan.machine.get("cpus")) != (here["cpu_model"],
                                                                                       here["cpus"]):
        raise UsageError(f"--resume '{text}': the sweep ran on another machine ({describe_machine(plan.machine)}; "
                         f"this one: {describe_machine(here)}): its numbers and these would not compare "
                         "(valid: resume it on that machine, or start a new sweep here)")
    binary = plan.binary if args.binary is None else driver_binary(args.binary)
    if not os.access(binary, os.X_OK) or binary.is_dir():
        raise UsageError(f"--resume '{text}': the sweep's driver {binary} is gone (valid: --binary PATH of the same "
                         "build; cmake --build --preset release)")
    driver = parse_threads(args.threads, binary) if args.threads is not None else None
    if driver is None:
        try:
            driver = ask_driver(binary)
        except RegistryError as e:
            raise UsageError(str(e)) from None
    for name in plan.allocators:
        if name not in plan.preloads and driver.allocator(name) != plan.registry.allocator(name):
            raise UsageError(f"--resume '{text}': the driver {binary} does not run allocator '{name}' as the sweep's "
                             f"did (valid: the driver the sweep started with, {plan.binary})")
    for w in plan.workloads:
        key = parametric_kind(w) or w
        if driver.workload(key) != plan.registry.workload(key):
            raise UsageError(f"--resume '{text}': the driver {binary} does not run workload '{key}' as the sweep's "
                             f"did (valid: the driver the sweep started with, {plan.binary})")

    def conflict(option: str, given: Any, recorded: Any) -> NoReturn:
        raise UsageError(f"--resume '{text}': {option} {given} conflicts with the sweep's {recorded} "
                         f"(valid: {recorded}, its plan's, or leave {option} out)")

    given: set[str] = getattr(args, "given_options", set())
    if "profile" in given and args.profile != plan.profile:
        conflict("--profile", args.profile, plan.profile)
    if "allocators" in given:
        chosen = set(parse_names("allocator", args.allocators, plan.registry.allocator_names())) | set(plan.preloads)
        if chosen != set(plan.allocators):
            conflict("--allocators", args.allocators, ",".join(plan.allocators))
    if "workloads" in given:
        names, parametric = parse_workloads(args.workloads, plan.registry, caller_dir())
        arguments = {p.case: p.argument for p in parametric}
        if {(n, arguments.get(n, n)) for n in names} != {(n, plan.workload_args.get(n, n)) for n in plan.workloads}:
            conflict("--workloads", args.workloads,
                     ",".join(plan.workload_args.get(n, n) for n in plan.workloads))
    if "threads" in given and sorted(driver.threads) != sorted(plan.threads):
        conflict("--threads", args.threads, ",".join(map(str, plan.threads)))
    for option, value, recorded in (("--repetitions", args.repetitions, plan.repetitions),
                                    ("--min-time", args.min_time, plan.min_time),
                                    ("--seed", args.seed, plan.seed), ("--touch", args.touch, plan.touch)):
        if option[2:].replace("-", "_") in given and value != recorded:
            conflict(option, value, recorded if recorded is not None else "(none: the driver's default)")
    if "reference" in given and parse_reference(args.reference, plan.registry) != plan.reference:
        conflict("--reference", args.reference, plan.reference or "none")
    if "precision" in given and not adaptive.same_precision(args.precision, plan.precision):
        conflict("--precision", f"{100 * args.precision:g}%",
                 f"{100 * plan.precision:g}%" if plan.precision else "none (fixed repetitions)")
    if "max_repetitions" in given and args.max_repetitions != (plan.max_repetitions if plan.precision else None):
        conflict("--max-repetitions", args.max_repetitions,
                 plan.max_repetitions if plan.precision else "none (fixed repetitions)")
    if "budget" in given and plan.precision is None:
        conflict("--budget", args.budget, "none (fixed repetitions)")
    if "tiny" in given and not plan.tiny:
        conflict("--tiny", "(tiny cases)", "full-size cases")
    if "units" in given and wanted_pairs(args.units) != plan.pairs:
        conflict("--units", args.units, "list of units" if plan.pairs is not None else "whole selection")
    if "shard" in given and args.shard != plan.shard:
        conflict("--shard", "/".join(map(str, args.shard)), "/".join(map(str, plan.shard)))
    for p in parse_preloads(args.preload or [], set(driver.allocator_names())):
        if plan.preloads.get(p.name) != str(p.library):
            conflict("--preload", f"{p.name}={p.library}",
                     f"{p.name}={plan.preloads[p.name]}" if p.name in plan.preloads else
                     f"preloads ({', '.join(f'{k}={v}' for k, v in plan.preloads.items()) or 'none'})")
    for case, argument in plan.workload_args.items():
        path = Path(argument.split(":", 1)[1])
        if not path.is_file():
            raise UsageError(f"--resume '{text}': the file of workload {case}, {path}, is gone "
                             "(valid: the sweep's files, unchanged)")
        if plan.files.get(case) and file_facts(path) != plan.files[case]:
            raise UsageError(f"--resume '{text}': the file of workload {case}, {path}, changed since the sweep "
                             "started (valid: the sweep's files, unchanged; or start a new sweep)")
    user = []
    for label, library in plan.preloads.items():
        info = plan.registry.allocator(label)
        assert info is not None  # read_plan checked
        user.append(Preload(label, "preloaded", info.description, Path(library), frees=info.supports_free))
    # What may change on a resume: the driver's path, --timeout, and --budget (this session's time).
    return replace(plan, binary=binary, timeout=plan.timeout if args.timeout is None else args.timeout,
                   budget=plan.budget if args.budget is None else args.budget), user, folder


def check_runnable(plan: Plan, user: list[Preload], probe: Path) -> list[Unit]:
    """What must hold before anything is written: the preloaded libraries are there and take
    effect, --units names pairs of the selection, something can run, this shard has units.
    -> this shard's units."""
    units = plan.all_units()
    if plan.pairs is not None:
        every = {(u.workload, u.allocator) for u in plan_units(list(plan.allocators), list(plan.workloads), 1,
                                                                frozenset(), plan.threads, plan.fixed_threads)}
        outside = sorted(plan.pairs - every)
        if outside:
            raise UsageError(f"--units names {'/'.join(outside[0])}, which --workloads/--allocators do not select "
                             "(valid: pairs of the selected workloads and allocators)")
    for label in plan.allocators:
        info = plan.registry.allocator(label)
        if info is not None and info.kind == "preloaded" and installed_library(info, plan.binary) is None:
            expected = registry_preload(info, plan.binary)
            raise UsageError(f"peer '{label}' needs {expected.library}, which is not there ({expected.install_hint})")
        if info is not None and info.kind == "preloaded" and info.name not in {u.name for u in user}:
            check_starts(registry_preload(info, plan.binary))  # e.g. a shim refusing a bad ALLOCLAB_* variable
    for u in user:
        check_takes_effect(u, probe)
    reasons = [skipped_pair(plan.registry, u.workload, u.allocator) for u in units]
    if all(reasons):
        example = units[0]
        raise UsageError(f"nothing to run: every case of the selection would be skipped (e.g. "
                         f"{example.workload}/{example.allocator}: {reasons[0]}) (valid: a selection in which "
                         "some allocator can run some workload)")
    k, n = plan.shard
    if k > len(units):
        raise UsageError(f"bad --shard {k}/{n}: the plan has {len(units)} units, so shard {k} would hold none "
                         f"(valid: K up to {len(units)})")
    return plan.units()


def new_folder(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The run folder to create (checked, not created) and the folder of runs whose `latest`
    link is moved to it (None with --out)."""
    if args.out is not None:
        if args.results is not None:
            raise UsageError("give --out DIR or --results DIR, not both (valid: --out, the run folder; or "
                             "--results, the folder of run folders)")
        if not args.out.strip():
            raise UsageError("--out '' names no folder (valid: the path of a new folder)")
        folder = caller_path(args.out)
        check_new_folder(folder, f"--out '{args.out}'")
        return folder, None
    if args.results is not None and not args.results.strip():
        raise UsageError("--results '' names no folder (valid: an existing folder of run folders)")
    results_dir = caller_path(args.results) if args.results is not None else ROOT / "results"
    shown = args.results if args.results is not None else str(results_dir)
    if not results_dir.is_dir():
        raise UsageError(f"--results '{shown}' is not a folder (valid: an existing folder of run folders)")
    if not os.access(results_dir, os.W_OK | os.X_OK):
        raise UsageError(f"--results '{shown}' cannot be written (valid: a writable folder of run folders)")
    return results_dir / results.new_run_name(), results_dir


def check_new_folder(folder: Path, what: str) -> None:
    if os.path.lexists(folder):
        raise UsageError(f"output folder {what} exists already (valid: a new folder; use --resume DIR to "
                         "complete a sweep's folder)")
    parent = folder.parent
    if not parent.is_dir():
        raise UsageError(f"cannot create output folder {what}: {parent} is not a folder "
                         "(valid: a new folder in an existing one)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot create output folder {what}: {parent} cannot be written "
                         "(valid: a new folder in a writable one)")


def check_folder_file(text: str | None) -> Path | None:
    if text is None:
        return None
    path = caller_path(text) if text else Path("")
    if not text or path.is_dir() or (os.path.lexists(path) and not path.is_file()) or not path.parent.is_dir():
        raise UsageError(f"--folder-file '{text}' is not a file in an existing folder "
                         "(valid: the path of a new or a regular file)")
    return path


def create_run_folder(folder: Path, retry: bool) -> Path:
    return create_new_folder(folder, retry, "; use --resume DIR to complete a sweep's folder")


def point_latest(results_dir: Path, folder: Path) -> None:
    latest, temp = results_dir / "latest", results_dir / f".latest.{os.getpid()}.tmp"
    try:
        temp.symlink_to(folder.name)
        os.replace(temp, latest)
    except OSError as e:
        temp.unlink(missing_ok=True)
        print(f"sweep: note: {latest} not pointed at {folder.name}: {e.strerror}", file=sys.stderr)


# ----------------------------------------------------------------------------- run

def foreign_record(raw_dir: Path, names: set[str]) -> Path | None:
    """A record in raw/ of no unit of `names` (another selection's, or a hand-made file)."""
    for entry in sorted(raw_dir.iterdir()):
        named = results.unit_file_name(entry.name)
        if named is not None and named[0] not in names:
            return entry
    return None


def possible_extras(plan: Plan, mine: Sequence[Unit]) -> list[Unit]:
    """--precision: every repetition beyond the plan's a unit could get (none without it)."""
    if plan.precision is None:
        return []
    return [replace(u, repetition=r) for u in mine if u.repetition == 1
            for r in range(plan.repetitions + 1, plan.max_repetitions + 1)]


def run_adaptive(plan: Plan, raw_dir: Path, mine: list[Unit], extras: list[Unit], progress: Progress,
                 session_start: float, pass_fds: tuple[int, ...]) -> int:
    """--precision's rounds (alloclab.adaptive): while a unit holds an open case and is under the
    cap of repetitions, run it once more, the units of a round in the plan's interleaved order;
    no unit starts once the budget is spent. Appends what it runs to `extras`; -> failed units."""
    assert plan.precision is not None
    target = plan.precision
    rows_of: dict[str, tuple[results.ResultRow, ...]] = {}

    def rows() -> list[results.ResultRow]:
        out: list[results.ResultRow] = []
        for u in (*mine, *extras):
            if u.name not in rows_of:
                found = unit_records(raw_dir, u)
                rows_of[u.name] = results.read_unit_file(found[0]).rows if len(found) == 1 else ()
            out += rows_of[u.name]
        return out

    reps = {u: plan.repetitions for u in mine if u.repetition == 1}
    for u in extras:
        first = replace(u, repetition=1)
        reps[first] = max(reps[first], u.repetition)
    labels, workloads = list(plan.allocators), list(plan.workloads)
    failed = 0
    shown = f"±{100 * target:g} %"
    while True:
        still = adaptive.open_cases(adaptive.case_precisions(rows()), target)
        due = [u for u, r in reps.items() if r < plan.max_repetitions and any(k in still for k in plan.expected_keys(u))]
        capped = sum(1 for u, r in reps.items() if r >= plan.max_repetitions for k in plan.expected_keys(u) if k in still)
        out_of_time = plan.budget is not None and time.monotonic() - session_start >= plan.budget
        if not due or out_of_time:
            if not still:
                least, most = min(reps.values()), max(reps.values())
                print(f"sweep: precision {shown}: every case within it, after {least}"
                      f"{f' to {most}' if most != least else ''} repetitions", flush=True)
            else:
                why = (f"the budget of {plan.budget:g} s is spent" if out_of_time and due else
                       f"{plan.max_repetitions} repetitions, the cap, reached")
                print(f"sweep: precision {shown}: {len(still)} case{'s' if len(still) != 1 else ''} still above it "
                      f"({why}{f'; {capped} at the cap' if due and capped else ''}); the report gives each case's "
                      "precision", flush=True)
            return failed
        rep = min(reps[u] for u in due) + 1
        shift = (rep - 1) % len(labels)
        due.sort(key=lambda u: (workloads.index(u.workload), (labels.index(u.allocator) - shift) % len(labels),
                                u.threads))
        print(f"sweep: precision {shown}: {len(still)} case{'s' if len(still) != 1 else ''} above it: one more "
              f"repetition of {len(due)} unit{'s' if len(due) != 1 else ''} (repetition {rep}"
              f"{'' if all(reps[u] + 1 == rep for u in due) else ' and up'}, at most {plan.max_repetitions})",
              flush=True)
        progress.extend(sum(len(u.thread_counts(plan.threads)) for u in due))
        for u in due:
            if plan.budget is not None and time.monotonic() - session_start >= plan.budget:
                break
            extra = replace(u, repetition=reps[u] + 1)
            failed += not run_unit(plan, raw_dir, extra, progress, pass_fds)
            extras.append(extra)
            reps[u] += 1


def command_run(args: argparse.Namespace) -> int:
    session_start = time.monotonic()
    resume = args.resume is not None
    results_dir: Path | None = None
    if resume:
        plan, user, folder = resume_plan(args)
    else:
        plan, user = new_plan(args)
        folder, results_dir = new_folder(args)
    folder_file = check_folder_file(args.folder_file)
    mine = check_runnable(plan, user, Path(args.probe))
    k, n = plan.shard
    if resume:  # checked before --check answers: what --check approves, the run must not refuse
        stray = foreign_record(folder / "raw", {u.name for u in (*mine, *possible_extras(plan, mine))})
        if stray is not None:
            raise UsageError(f"--resume '{args.resume}': {stray} is no unit of the sweep's plan (shard {k}/{n}) "
                             "(valid: a folder holding its own sweep's records only; move the file out)")
    if args.check:  # the options alone (alloclab.slurm asks before it submits anything)
        more = f" (up to {len(plan.all_units()) + len(possible_extras(plan, plan.all_units()))} with --precision)" \
            if plan.precision is not None else ""
        count = len(plan.all_units())
        print(f"sweep: the options are valid: {count} unit{'s' if count != 1 else ''}{more}", flush=True)
        return 0

    # Everything is checked: from here on the folder is written, under its lock.
    if resume:
        lock = FolderLock(folder).acquire(grace=1.0)
        remove_temporaries(folder)
    else:
        folder = create_run_folder(folder, retry=results_dir is not None)
        lock = FolderLock(folder)
        try:
            lock.acquire()
            (folder / "raw").mkdir()
            results.write_json(folder / "registry.json", plan.registry.to_json())
            results.write_atomically(folder / "command.txt", plan.command + "\n")
            results.write_json(folder / PLAN_FILE, plan.to_json())  # last: a folder with a plan has the rest
        except BaseException:
            lock.release()
            shutil.rmtree(folder, ignore_errors=True)
            raise
    raw_dir = folder / "raw"
    extras = [u for u in possible_extras(plan, mine) if unit_records(raw_dir, u)]  # a resumed --precision run's
    todo = [u for u in (*mine, *extras) if not unit_done(raw_dir, u, plan)]
    fixed = "".join(f" ({w} at {t} thread{'s' if t != 1 else ''}, the trace's)" for w, t in plan.fixed_threads.items())
    print(f"sweep: {len(plan.allocators)} allocators x {len(plan.workloads)} workloads x threads "
          f"{','.join(map(str, plan.threads))}{fixed} x {plan.repetitions} repetitions"
          f"{f' (shard {k}/{n})' if n > 1 else ''}"
          f"{f', then more where a case is wider than ±{100 * plan.precision:g} % (at most {plan.max_repetitions})' if plan.precision else ''}"
          f": {len(todo)} of {len(mine) + len(extras)} units to run -> {folder}", flush=True)
    progress = Progress(sum(len(u.thread_counts(plan.threads)) for u in todo))
    failed = sum(not run_unit(plan, raw_dir, u, progress, lock.pass_fds) for u in todo)
    if plan.precision is not None:
        failed += run_adaptive(plan, raw_dir, mine, extras, progress, session_start, lock.pass_fds)

    records = []
    for u in (*mine, *extras):
        found = unit_records(raw_dir, u)
        if len(found) != 1:
            raise ResultsError(f"{raw_dir}: unit {u.name} has {len(found)} records after the run (valid: one)")
        records.append(results.read_unit_file(found[0]))
    extra = plan_facts(plan)
    if resume:
        extra["resumed_by"] = command_text(args)
    counts = finish_folder(folder, records, extra)
    if results_dir is not None and n == 1:
        point_latest(results_dir, folder)
    print(f"sweep: {counts['ok']} cases measured, {counts['skipped']} skipped, {counts['failed']} failed "
          f"({failed} failed units) -> {folder / 'results.csv'}", flush=True)
    if folder_file is not None:
        results.write_atomically(folder_file, f"{folder}\n")
    lock.release()
    return 0


# ----------------------------------------------------------------------------- merge

def held_by_a_run(folder: Path) -> bool:
    """Whether a sweep (or its orphaned driver) holds FOLDER's lock; the file is not created."""
    return in_use(folder) is not None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def legacy_selection(folder: Path) -> dict[str, Any]:
    """A folder made before plan.json: what its machine.json says of the selection and machine."""
    path = folder / "machine.json"
    if not path.exists():
        return {}
    facts = results.read_json(path)
    if not isinstance(facts, dict):
        raise ResultsError(f"{path}: expected a JSON object (valid: the machine.json a sweep wrote)")
    keys = ("allocators", "workloads", "threads", "repetitions", "min_time", "profile", "cpu_model", "num_cpus")
    selection = {k: facts.get(k) for k in keys}
    selection["shards"] = str(facts.get("shard", "1/1")).partition("/")[2]
    return selection


def command_merge(args: argparse.Namespace) -> int:
    if not args.out.strip():
        raise UsageError("merge: OUT '' names no folder (valid: the path of a new folder)")
    out = caller_path(args.out)
    sources: list[Path] = []
    for text in args.dirs:
        d = caller_path(text) if text else Path("")
        if not text or not d.exists():
            raise UsageError(f"merge: '{text}' is not a results folder (it does not exist; valid: results folders "
                             "of one sweep's shards)")
        if not d.is_dir() or not (d / "raw").is_dir():
            raise UsageError(f"merge: '{text}' is not a results folder (no raw/ in it; valid: results folders of "
                             "one sweep's shards)")
        if not os.access(d, os.R_OK | os.X_OK) or not os.access(d / "raw", os.R_OK | os.X_OK):
            raise UsageError(f"merge: '{text}' cannot be read (valid: readable results folders)")
        if d.resolve() in {s.resolve() for s in sources}:
            raise UsageError(f"merge: '{text}' is given twice (valid: each folder once)")
        sources.append(d)
    if os.path.lexists(out):
        raise UsageError(f"merge: OUT '{args.out}' exists already (valid: a new folder)")
    real_out = out.parent.resolve() / out.name
    for text, d in zip(args.dirs, sources):
        if real_out == d.resolve() or d.resolve() in real_out.parents:
            raise UsageError(f"merge: OUT '{args.out}' is inside '{text}', a folder it reads (valid: a new folder "
                             "outside them)")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK | os.X_OK):
        raise UsageError(f"merge: OUT '{args.out}' cannot be created: {out.parent} is not a writable folder "
                         "(valid: a new folder in a writable one)")
    for text, d in zip(args.dirs, sources):
        if held_by_a_run(d):
            raise UsageError(f"merge: '{text}' is in use by a running sweep (valid: folders no sweep writes to; "
                             "wait for it to finish)")

    # The same sweep: the same plan (but for its shard) and machine, made by the same driver.
    plans = [read_plan(d) if (d / PLAN_FILE).exists() else None for d in sources]
    if any(p is None for p in plans) and any(p is not None for p in plans):
        odd = args.dirs[next(i for i, p in enumerate(plans) if (p is None) != (plans[0] is None))]
        raise UsageError(f"merge: '{odd}' and '{args.dirs[0]}' were made by different versions of the sweep (one "
                         f"has {PLAN_FILE}) (valid: folders of one sweep)")
    selections = [p.selection() if p is not None else legacy_selection(d) for p, d in zip(plans, sources)]
    # The machine first, naming both: the likeliest difference between shards a scheduler placed.
    machines = [s.pop("machine", None) for s in selections]
    mixed = any(m != machines[0] for m in machines[1:])
    if mixed and not args.allow_mixed_machines:
        i = next(i for i, m in enumerate(machines) if m != machines[0])
        raise UsageError(f"merge: '{args.dirs[i]}' ran on {describe_machine(machines[i] or {})} but '{args.dirs[0]}' "
                         f"on {describe_machine(machines[0] or {})}: shards from different machines do not compare "
                         "(valid: shards of one kind of machine; `plot DIR DIR...` compares machines; "
                         "--allow-mixed-machines merges them with the node as a column)")
    if mixed and any(p is None for p in plans):
        raise UsageError(f"merge --allow-mixed-machines: '{args.dirs[0]}' was made before shards recorded their node "
                         "(valid: folders made by this version of sweep run)")
    for text, selection in zip(args.dirs[1:], selections[1:]):
        key = next((k for k in sorted(set(selection) | set(selections[0]))
                    if selection.get(k) != selections[0].get(k)), None)
        if key is not None:
            what = {"shards": "number of shards (N of --shard K/N)"}.get(key, key)
            raise UsageError(f"merge: '{text}' is not a shard of the sweep of '{args.dirs[0]}': its {what} differs "
                             f"({json.dumps(selection.get(key))[:120]} vs {json.dumps(selections[0].get(key))[:120]}) "
                             "(valid: shards of one sweep, on one kind of machine)")
    shards_seen: dict[tuple[int, int], str] = {}
    for text, p in zip(args.dirs, plans):
        if p is not None:
            if p.shard in shards_seen:
                raise UsageError(f"merge: '{text}' and '{shards_seen[p.shard]}' are both shard "
                                 f"{p.shard[0]}/{p.shard[1]} (valid: each shard once)")
            shards_seen[p.shard] = text
    registries = [d / "registry.json" for d in sources if (d / "registry.json").exists()]
    parsed = []
    for path in registries:
        try:
            parsed.append(Registry.from_json(results.read_json(path), str(path)))
        except RegistryError as e:
            raise UsageError(str(e)) from None
    if any(r != parsed[0] for r in parsed[1:]):
        differing = registries[next(i for i, r in enumerate(parsed) if r != parsed[0])]
        raise UsageError(f"merge: {differing} differs from {registries[0]}: the shards were run by different "
                         "drivers (valid: shards of one sweep)")

    # Every record read and checked before anything is written.
    owner: dict[str, Path] = {}
    records: list[results.UnitFile] = []
    for text, d, p in zip(args.dirs, sources, plans):
        units = {u.name: u for u in p.units()} if p is not None else {}
        for entry in sorted((d / "raw").iterdir()):
            named = results.unit_file_name(entry.name)
            if named is None:
                continue  # temporary files, the driver's .unparsed output, notes
            unit = named[0]
            if unit in owner:
                where = "twice in" if owner[unit].parent.parent == d else \
                    f"in both '{owner[unit].parent.parent}' and"
                raise UsageError(f"merge: unit {unit} is {where} '{text}' (overlapping shards?; valid: shards of "
                                 "one sweep, each unit in one folder)")
            if p is not None and unit not in units:
                raise UsageError(f"merge: {entry} is no unit of its folder's plan (shard {p.shard[0]}/{p.shard[1]}) "
                                 "(valid: folders holding their own sweep's records only)")
            fault = record_fault(entry, p, units[unit]) if p is not None else ""
            try:
                record = results.read_unit_file(entry)
            except ResultsError as e:
                fault = str(e)
            if fault:
                raise UsageError(f"merge: {fault} (valid: records that read back whole; `sweep run --resume "
                                 f"{text}` runs such a unit again)")
            bad = [m for r in record.rows for m in results.METRICS
                   if (v := r.metric(m)) is not None and not 0 <= v <= results.MAX_VALUE]
            if bad:
                raise UsageError(f"merge: {entry} has {bad[0]} out of range, not a measurement")
            owner[unit] = entry
            records.append(record)

    # Built beside OUT under a temporary name, renamed into place once whole.
    pattern = re.compile(re.escape(f".{out.name}.merge-") + r"([0-9]+)\.tmp")
    for stale in out.parent.glob(f".{out.name}.merge-*.tmp"):
        m = pattern.fullmatch(stale.name)
        if m and not pid_alive(int(m.group(1))):
            shutil.rmtree(stale, ignore_errors=True)
    temp = out.parent / f".{out.name}.merge-{os.getpid()}.tmp"
    try:
        temp.mkdir()
        (temp / "raw").mkdir()
        for record in records:
            shutil.copy2(record.path, temp / "raw" / record.path.name)
        if registries:
            shutil.copy2(registries[0], temp / "registry.json")
        command = command_text(args)
        extra: dict[str, Any] = {"command": command, "merged_from": [str(d) for d in sources]}
        nodes = {d: node_label(p.node or p.machine) for d, p in zip(sources, plans) if p is not None}
        if plans[0] is not None:
            merged = replace(plans[0], shard=(1, 1), command=command, machine={} if mixed else plans[0].machine,
                             node={})
            results.write_json(temp / PLAN_FILE, merged.to_json())
            extra = {**plan_facts(merged, here=False), **extra,
                     "nodes": {nodes[d]: dict(p.node) for d, p in zip(sources, plans) if p is not None}}
        machine_of = None
        if mixed:
            machine_of = {r.path: nodes[r.path.parent.parent] for r in records}
            extra["machines"] = {label: node for label, node in extra["nodes"].items()
                                 if label in set(machine_of.values())}
        results.write_atomically(temp / "command.txt", command + "\n")
        counts = finish_folder(temp, records, extra, machine_of)
        if os.path.lexists(out):
            raise UsageError(f"merge: OUT '{args.out}' appeared while merging (valid: a new folder)")
        os.rename(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    print(f"sweep: merged {len(sources)} folders: {counts['ok']} measured, {counts['skipped']} skipped, "
          f"{counts['failed']} failed -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    die_with_launcher()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = Parser(prog="sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a sweep")
    run.add_argument("--profile", action=Once, choices=sorted(PROFILES),
                     help="default: threads to 2 x cores, 3 repetitions, every workload but ast_256k and "
                     "slot_exchange; full: threads "
                     "to 4 x cores, 9 repetitions, every workload")
    run.add_argument("--allocators", action=Once,
                     help="comma-separated names (`alloclab --list` shows them, preloaded peers included), or all")
    run.add_argument("--workloads", action=Once,
                     help="comma-separated workload names, or all; and trace:PATH (a recorded trace, replayed at "
                     "its own thread count) or empirical:PATH (a table from trace distill), PATH relative to "
                     "the caller's folder")
    run.add_argument("--touch", action=Once, choices=("none", "pages", "all"),
                     help="how a trace replay writes its objects (the driver's default: pages, every page and "
                     "the first cache line of each object)")
    run.add_argument("--threads", action=Once, help="thread counts: 4, 1,2,8 or 1..64 (default: from the profile)")
    run.add_argument("--repetitions", action=Once, type=integer(1, MAX_REPETITIONS, "a count"),
                     help="repetitions of every case (default: from the profile)")
    run.add_argument("--min-time", action=Once, type=number(0, 3600, "seconds", open_low=True), dest="min_time",
                     help="seconds per case (default: from the profile)")
    run.add_argument("--seed", action=Once, type=integer(0, SEED_LIMIT - 1, "a seed"),
                     help="base seed; repetition r uses seed + r, modulo 2^64 (default 42)")
    run.add_argument("--reference", action=Once, metavar="NAME",
                     help=f"the case run in every process beside the unit's own, same workload and threads: the "
                     "calibration probe the report's 'Machine state' reads, and, in a cell whose processes all ran "
                     "under one malloc, the figure comparisons are divided by where that narrows the spread "
                     f"(default {DEFAULT_REFERENCE}; none: no reference, each process compared on its own)")
    run.add_argument("--precision", action=Once, type=precision_type, metavar="P",
                     help="after --repetitions, repeat (one process more per round) each unit holding a case whose "
                     f"{LEVEL}% interval is wider than +/-P (3%% or 0.03), until none is, --max-repetitions or --budget "
                     "(Kalibera & Jones: spend repetitions where the variance is); not with --shard")
    run.add_argument("--max-repetitions", action=Once, type=integer(1, MAX_REPETITIONS, "a count"),
                     dest="max_repetitions", help=f"with --precision: the most repetitions a case gets (default "
                     f"{DEFAULT_MAX_REPETITIONS}, or --repetitions if more)")
    run.add_argument("--budget", action=Once, type=number(0, 10 ** 7, "seconds", open_low=True),
                     help="with --precision: seconds after which no further repetition starts (counted from this "
                     "session's start; a --resume may give a new one)")
    run.add_argument("--timeout", action=Once, type=number(0, 86400, "seconds", open_low=True),
                     help="seconds before a unit is killed as hung (default 300)")
    run.add_argument("--results", action=Once, help="folder of run folders (default: the repository's results/)")
    run.add_argument("--out", action=Once, help="run folder to create (default: results/<UTC time>-<host>)")
    run.add_argument("--resume", action=Once, metavar="DIR",
                     help="complete an interrupted run folder, by its plan (options given must agree with it)")
    run.add_argument("--shard", action=Once, metavar="K/N", type=shard_type,
                     help="run every N-th unit, starting at the K-th")
    run.add_argument("--binary", action=Once, help="the driver (default: build/release/harness/alloclab)")
    run.add_argument("--preload", action="append", metavar="LABEL=PATH",
                     help="also measure this shared library as malloc, under LABEL (repeatable), e.g. "
                     "mine=/opt/libmine.so: it runs through the malloc adapter, verified in each process")
    run.add_argument("--probe", action=Once, default=str(DEFAULT_PROBE), help=argparse.SUPPRESS)
    run.add_argument("--tiny", action=Once, nargs=0, help="tiny cases (tests)")
    run.add_argument("--folder-file", action=Once, help="write the run folder's path to this file (for scripts)")
    run.add_argument("--check", action=Once, nargs=0,
                     help="check the options and print the number of units; run and write nothing")
    run.add_argument("--units", action=Once, help="JSON file of [workload, allocator] pairs: run only those (with "
                     "--workloads/--allocators naming at least them)")
    merge = sub.add_parser("merge", help="merge shard folders")
    merge.add_argument("out", metavar="OUT", help="the merged run folder to create (it must not exist)")
    merge.add_argument("dirs", metavar="DIR", nargs="+", help="results folders to merge (shards of one sweep)")
    merge.add_argument("--allow-mixed-machines", action=Once, nargs=0, dest="allow_mixed_machines",
                       help="merge shards that ran on different kinds of machine (CPU model, CPUs): every row keeps "
                            "its node in a column `machine`, and the charts are drawn per machine")
    args = parser.parse_args(argv)
    args.argv = argv
    # A SIGTERM unwinds like an exception, so the running unit's driver is killed (run_unit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return command_run(args) if args.command == "run" else command_merge(args)
    except (UsageError, ResultsError) as e:
        fail(str(e))
    except OSError as e:  # the disk, not the input: one line all the same
        print(f"sweep: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the running driver was killed (run_unit); its folder resumes
        print("sweep: interrupted (sweep run --resume DIR completes a run folder)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
