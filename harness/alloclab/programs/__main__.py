"""alloclab programs: real programs from Debian's packages, each run as its own process under
glibc and every preloaded allocator, with their time, CPU, page faults and memory over time.

  python3 -m alloclab.programs run   [options]            a suite run into a new results folder
  python3 -m alloclab.programs merge OUT DIR [DIR ...]    merge the folders of a sharded run
  python3 -m alloclab.programs list                       the programs and the allocators
  python3 -m alloclab.programs run --record [options]     each program recorded once under the
                                                          trace recorder into traces/ (alloclab.traces.suite)

Each run (one program, one allocator, one thread count, one repetition) is a process of the
program with the allocator preloaded and liballoclab_probe.so beside it: every process of the
run reports which library its malloc comes from, and a run whose malloc is not the
allocator's is failed ("the preload did not take effect"), as is a run that crashes, hangs
(killed at --timeout), exits non-zero or gives a wrong answer. Runs are interleaved: each
repetition visits the allocators in a rotated order. Inputs are generated once per folder,
deterministically from --scale and --seed. Results are written atomically; --resume re-runs
only the runs with no record; --shard K/N runs every N-th run.

Measured per run: wall time, user and system CPU, peak RSS and page faults (wait4), the RSS
of the program and its children every --sample-ms, and a server's requests per second.
Exit status: 0 done (failed runs are results, listed), 2 bad input (nothing written).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from alloclab import results
from alloclab.cli import Parser, UsageError, clock, parse_names, parse_shard, positive, seconds
from alloclab.fit import out_of_memory_reason
from alloclab.preload import (DEFAULT_PROBE, SYSTEM, Preload, check_takes_effect, parse_preloads, probe_verdict,
                              read_probe, registry_preload, shared_library, system_allocator)
from alloclab.programs import records, summary
from alloclab.programs.catalog import Invocation, Program
from alloclab.programs.launch import launch
from alloclab.programs.records import Plan, ProgramInfo, ProgramRow
from alloclab.programs.suite import PROGRAMS
from alloclab.registry import DEFAULT_BINARY, ROOT, Registry, RegistryError, ask_driver
from alloclab.results import ResultsError
from alloclab.traces import suite as trace_suite

PROFILES = {
    # About 1-5 s per run on 2 cores; 5 interleaved repetitions.
    "default": {"scale": 1.0, "repetitions": 5},
    # The main job's taste of the suite: small inputs, but 5 repetitions, as an interval needs.
    "quick": {"scale": 0.1, "repetitions": 5},
}


def fail(message: str) -> NoReturn:
    print(f"programs: {message}", file=sys.stderr)
    sys.exit(2)


def catalog_allocators(binary: Path, threads: str) -> tuple[list[Preload], list[int]]:
    """glibc and the driver's preloaded peers (installed or not), and the --threads expansion."""
    try:
        registry = ask_driver(binary, threads)
    except RegistryError as e:
        raise UsageError(str(e)) from None
    peers = [system_allocator()]
    peers += [registry_preload(info, binary) for info in registry.allocators if info.kind == "preloaded"]
    return peers, list(registry.threads)


def package_versions(packages: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for p in packages:
        done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True, text=True)
        out[p] = done.stdout.strip() if done.returncode == 0 else "not installed"
    return out


@dataclass(frozen=True)
class Unit:
    repetition: int
    program: str
    allocator: str
    threads: int

    @property
    def name(self) -> str:
        return records.unit_name(self.repetition, self.program, self.allocator, self.threads)


def plan_units(programs: list[Program], allocators: list[str], threads: list[int], repetitions: int) -> list[Unit]:
    """Interleaved: each repetition visits every case, the allocators in a rotated order."""
    units = []
    for rep in range(1, repetitions + 1):
        shift = (rep - 1) % len(allocators)
        order = allocators[shift:] + allocators[:shift]
        for p in programs:
            for t in (threads if p.threaded else [1]):
                units += [Unit(rep, p.name, a, t) for a in order]
    return units


def unit_done(raw: Path, unit: Unit) -> bool:
    """A record exists (whole: records are renamed into place; checked before the run starts)."""
    return (raw / f"{unit.name}.json").is_file()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Runner:
    folder: Path
    programs: dict[str, Program]
    allocators: dict[str, Preload]
    probe: Path
    launcher: Path
    timeout: float
    interval: float

    @property
    def base(self) -> Path:
        return self.folder / "programs"

    def run(self, unit: Unit) -> ProgramRow:
        program, allocator = self.programs[unit.program], self.allocators[unit.allocator]
        # One folder for every run: the same path length in every run's arguments and environment.
        work = self.base / "work" / "run"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        invocation = Invocation(self.base / "inputs" / program.name, work, unit.threads,
                                free_port() if program.server else 0)
        command = program.command(invocation)
        probe_file = work / ".probe"
        env = dict(os.environ, ALLOCLAB_PROBE_FILE=str(probe_file))
        preload = allocator.ld_preload(self.probe)
        drive = (lambda deadline: program.drive(invocation, deadline)) if program.server else None
        out = launch(self.launcher, command, work, env, preload, self.timeout, drive, self.interval)
        probed = read_probe(probe_file)
        reason = ""
        crashed = out.returncode is not None and out.returncode < 0 and out.returncode != -signal.SIGKILL
        if out.drive_error:  # the client's failure, and the server's signal when that was the cause
            reason = (f"server killed by signal {signal.Signals(-(out.returncode or 0)).name}; " if crashed else "") \
                + f"client: {out.drive_error}"
        elif out.timed_out:
            reason = f"timed out after {self.timeout:g} s"
        elif out.returncode != 0:
            code = out.returncode or 0
            last = (out.stderr.strip().splitlines() or [""])[-1][:300]
            reason = f"exit {code}" + (f" (signal {signal.Signals(-code).name})" if code < 0 else "") + \
                (f": {last}" if last else "")
        if reason:  # an allocator that never frees and ran out of its memory: "did not fit", not a crash
            said = out.stderr + "\n" + out.stdout[-4000:]  # programs print their errors to either
            reason = out_of_memory_reason(allocator.name, allocator.frees, out.returncode, out.timed_out,
                                          bool(out.drive_error), said, reason) or reason
        else:
            reason = probe_verdict(allocator, probed) or ""
            if not reason:
                try:
                    reason = program.check(invocation, out.stdout, out.drive) or ""
                except Exception as e:  # a check that breaks on odd output still fails the run, named
                    reason = f"output check could not run: {type(e).__name__}: {e}"
                if reason:
                    reason = f"wrong output: {reason}"
        ok = not reason
        row = ProgramRow(unit.program, unit.allocator, unit.threads, unit.repetition,
                         "ok" if ok else "failed", reason[:results.MAX_TEXT],
                         wall_s=round(out.wall_s, 6), user_s=round(out.user_s, 6), sys_s=round(out.sys_s, 6),
                         peak_rss_bytes=float(out.peak_rss_bytes), minor_faults=float(out.minor_faults),
                         major_faults=float(out.major_faults),
                         requests_per_s=out.drive.requests_per_s if out.drive and ok else None, unit=unit.name)
        record: dict[str, Any] = {**row.csv_fields(), **{k: getattr(row, k) for k in records.COLUMNS},
                                  "schema": 1, "command": command, "cwd": "programs/work/<unit>",
                                  "ld_preload": preload, "exit": out.returncode,
                                  "probe": [list(p) for p in probed], "stderr_tail": out.stderr[-4000:],
                                  "sample_interval_s": self.interval, "timeline": [list(p) for p in out.timeline]}
        results.write_json(self.base / "raw" / f"{unit.name}.json", record)
        shutil.rmtree(work, ignore_errors=True)
        return row


def prepare_inputs(base: Path, programs: list[Program], scale: float, seed: int) -> None:
    """Each program's inputs, once per folder (a folder marked done is kept on --resume)."""
    for p in programs:
        folder = base / "inputs" / p.name
        stamp = folder / ".prepared"
        wanted = f"scale={scale!r} seed={seed}\n"
        if stamp.exists() and stamp.read_text() == wanted:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        started = time.monotonic()
        p.prepare(folder, scale, seed)
        results.write_atomically(stamp, wanted)
        print(f"programs: inputs of {p.name} prepared in {time.monotonic() - started:.1f} s", flush=True)


def machine_facts() -> dict[str, Any]:
    uname = platform.uname()
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""
    return {"host_name": uname.node, "num_cpus": os.cpu_count() or 1, "cpu_model": model,
            "kernel": f"{uname.system} {uname.release}", "glibc_version": platform.libc_ver()[1],
            "git_commit": git("rev-parse", "HEAD") or "unknown", "git_dirty": bool(git("status", "--porcelain")),
            "finished_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def finish(folder: Path, plan: Plan) -> list[ProgramRow]:
    rows = []
    for path in sorted((folder / "programs" / "raw").glob("*.json")):
        if path.name.startswith("."):
            continue
        rows.append(records.check_record(path, plan))
    rows.sort(key=lambda r: ([p.name for p in plan.programs].index(r.program) if plan.program(r.program) else 99,
                             r.program, r.threads, r.allocator, r.repetition))
    records.write_csv(folder / "programs.csv", rows)
    if not (folder / "machine.json").exists():
        results.write_json(folder / "machine.json", machine_facts())
    return rows


def print_summary(folder: Path) -> None:
    run = records.read_programs(folder)
    if summary.BASELINE not in run.allocators():
        return
    header, rows = summary.table(run)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    print("\nwall time relative to glibc: median of per-pass ratios [95 % interval]; < 1 is faster")
    for r in [header] + rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)))


def check_installed(chosen: list[Program], allocators: list[Preload], probe: Path) -> None:
    for p in chosen:
        gone = p.missing()
        if gone:
            raise UsageError(f"program '{p.name}' needs {', '.join(gone)}, not installed (Debian package"
                             f"{'s' if len(p.packages) > 1 else ''} {', '.join(p.packages)}; ./run_all.sh programs installs them)")
    for a in allocators:
        if a.library is None or not a.library.exists():
            raise UsageError(f"allocator '{a.name}' needs {a.library or 'its library'}, which is not there "
                             f"({a.install_hint or 'install it, or name another file'})")
        check_takes_effect(a, probe)


def resumed_allocators(plan: Plan, given: list[Preload]) -> list[Preload]:
    """The plan's allocators as they ran, each from the library path the plan recorded (a
    --preload given again must name the same file)."""
    out = []
    for info in plan.allocators:
        library = Path(info.library) if info.library else None
        again = next((u for u in given if u.name == info.name), None)
        if again is not None and (library is None or again.library != library.resolve()):
            raise UsageError(f"--resume: the run measured '{info.name}' as {info.library or 'the system allocator'}, "
                             f"not {again.library}: give the same library, or none (the plan's is used)")
        out.append(Preload(info.name, info.kind, info.description, library, frees=info.supports_free))
    extra = [u.name for u in given if plan.allocator(u.name) is None]
    if extra:
        raise UsageError(f"--resume: '{extra[0]}' is not an allocator of the run (its allocators: "
                         f"{', '.join(a.name for a in plan.allocators)}); start a new run to add one")
    return out


def checked_records(base: Path, plan: Plan) -> None:
    """Every existing record of a folder read and checked before anything more is run."""
    for path in sorted((base / "raw").glob("*.json")):
        if not path.name.startswith("."):
            records.check_record(path, plan)


def same_labels_as_sweep(folder: Path, plan: Plan) -> None:
    """A folder holds one meaning per name: a label the sweep measured as another library is refused."""
    path = folder / "registry.json"
    if not path.is_file():
        return
    try:
        swept = Registry.from_json(results.read_json(path), str(path))
    except RegistryError as e:
        raise UsageError(str(e)) from None
    for a in plan.allocators:
        other = swept.allocator(a.name)
        if other is not None and other.kind == "preloaded" and a.library and other.library and \
                Path(other.library).name != Path(a.library).name:
            raise UsageError(f"'{a.name}' is {other.library} in this folder's sweep, not {a.library}: use another label")


def command_record(args: argparse.Namespace) -> int:
    """--record: each chosen program recorded once under the trace recorder (no allocators, no
    measurement beyond the recorder's overhead): traces/<program>.trace and traces/index.json."""
    for flag, given in (("--resume", args.resume), ("--shard", args.shard), ("--preload", args.preload),
                        ("--allocators", args.allocators != "all")):
        if given:
            raise UsageError(f"--record runs each program under the recorder alone: {flag} does not apply")
    probe = Path(args.probe).absolute()
    launcher = probe.parent / "alloclab_launch"
    if not os.access(launcher, os.X_OK):
        raise UsageError(f"alloclab_launch is not built beside '{probe}' (cmake --build --preset release)")
    recorder = Path(args.recorder).absolute() if args.recorder else probe.parent / trace_suite.RECORDER
    why = shared_library(recorder) if recorder.exists() else "does not exist"
    if why is not None:
        raise UsageError(f"the recorder '{recorder}' {why} (build it: cmake --build --preset release "
                         "--target alloclab_trace)")
    if not 0 <= args.seed <= 2 ** 31 - 1:
        raise UsageError(f"bad --seed {args.seed} (valid: a whole number from 0 to 2^31 - 1)")
    scale = PROFILES[args.profile]["scale"] if args.scale is None else args.scale
    if not (0 < scale <= records.MAX_SCALE):
        raise UsageError(f"bad --scale {scale} (valid: a number above 0, up to {records.MAX_SCALE:g}; "
                         "1 is the default size)")
    repetitions = 1 if args.repetitions is None else args.repetitions
    positive("--repetitions", repetitions, records.MAX_REPETITIONS)
    seconds("--timeout", args.timeout)
    if not (1 <= args.sample_ms <= 10_000):
        raise UsageError(f"bad --sample-ms {args.sample_ms} (valid: 1 to 10000 milliseconds)")
    cores = os.cpu_count() or 1
    _, threads = catalog_allocators(Path(args.binary), args.threads or str(2 * cores))
    by_name = {p.name: p for p in PROGRAMS}
    chosen = [by_name[n] for n in parse_names("program", args.programs, list(by_name))]
    for p in chosen:
        gone = p.missing()
        if gone:
            raise UsageError(f"program '{p.name}' needs {', '.join(gone)}, not installed (Debian package"
                             f"{'s' if len(p.packages) > 1 else ''} {', '.join(p.packages)})")
    for flag, value in (("--out", args.out), ("--results", args.results), ("--folder-file", args.folder_file)):
        if value is not None and not value.strip():
            raise UsageError(f"bad {flag} ''")
    if args.folder_file and (Path(args.folder_file).is_dir() or not Path(args.folder_file).resolve().parent.is_dir()):
        raise UsageError(f"--folder-file '{args.folder_file}' is not a file in an existing folder")
    folder = (Path(args.out) if args.out else Path(args.results) / results.new_run_name("-traces")).absolute()
    trace_suite.check_folder(folder)
    heaptrack = ""
    if args.compare_heaptrack:
        heaptrack = shutil.which("heaptrack") or ""
        if not heaptrack:
            raise UsageError("--compare-heaptrack needs heaptrack, not installed (Debian package heaptrack)")
    job = trace_suite.Job(folder, chosen, recorder, launcher, max(threads), scale, args.seed, repetitions, args.timeout,
                          args.sample_ms / 1000, heaptrack)
    command_text = "python3 -m alloclab.programs " + shlex.join(sys.argv[1:] if args.argv is None else args.argv)
    results.write_atomically(folder / "traces" / "command.txt", command_text + "\n")
    print(f"programs --record: {len(chosen)} programs, scale {scale:g}, threaded programs at {job.threads} "
          f"threads, {repetitions} untraced/traced pair{'s' if repetitions != 1 else ''} each -> {folder / 'traces'}",
          flush=True)
    entries = trace_suite.record_suite(job, prepare_inputs)
    trace_suite.print_summary(entries, folder)
    if args.folder_file:
        results.write_atomically(args.folder_file, f"{folder}\n")
    return 0


def command_run(args: argparse.Namespace) -> int:
    if args.record:
        return command_record(args)
    for flag, given in (("--recorder", args.recorder), ("--compare-heaptrack", args.compare_heaptrack)):
        if given:
            raise UsageError(f"{flag} goes with --record")
    profile = PROFILES[args.profile]
    for flag, value in (("--out", args.out), ("--resume", args.resume), ("--results", args.results),
                        ("--folder-file", args.folder_file)):
        if value is not None and not value.strip():
            raise UsageError(f"bad {flag} '' (give a folder)" if flag != "--folder-file" else "bad --folder-file ''")
    if args.resume and args.out:
        raise UsageError("give --out DIR (a new run) or --resume DIR (complete one), not both")
    if args.folder_file and (Path(args.folder_file).is_dir() or not Path(args.folder_file).resolve().parent.is_dir()):
        raise UsageError(f"--folder-file '{args.folder_file}' is not a file in an existing folder")
    binary, probe = Path(args.binary), Path(args.probe).absolute()
    why = shared_library(probe) if probe.exists() else "does not exist"
    if why is not None:
        raise UsageError(f"--probe '{probe}' {why} (build it: cmake --build --preset release)")
    launcher = probe.parent / "alloclab_launch"
    if not os.access(launcher, os.X_OK):
        raise UsageError(f"alloclab_launch is not built beside '{probe}' (cmake --build --preset release)")
    if not 0 <= args.seed <= 2 ** 31 - 1:
        raise UsageError(f"bad --seed {args.seed} (valid: a whole number from 0 to 2^31 - 1)")
    cores = os.cpu_count() or 1
    peers, threads = catalog_allocators(binary, args.threads or f"1,{2 * cores}")
    by_name = {p.name: p for p in PROGRAMS}
    user = parse_preloads(args.preload or [], {p.name for p in peers})
    scale = profile["scale"] if args.scale is None else args.scale
    repetitions = profile["repetitions"] if args.repetitions is None else args.repetitions
    if not (0 < scale <= records.MAX_SCALE):  # NaN fails too
        raise UsageError(f"bad --scale {scale} (valid: a number above 0, up to {records.MAX_SCALE:g}; "
                         "1 is the default size)")
    positive("--repetitions", repetitions, records.MAX_REPETITIONS)
    seconds("--timeout", args.timeout)
    if not (1 <= args.sample_ms <= 10_000):
        raise UsageError(f"bad --sample-ms {args.sample_ms} (valid: 1 to 10000 milliseconds)")
    shard = parse_shard(args.shard) if args.shard else (1, 1)

    if args.resume:
        # The folder's own plan decides what runs, so a resume finishes exactly that run.
        folder = Path(args.resume).absolute()
        plan_path = folder / "programs" / "plan.json"
        if not plan_path.is_file():
            raise UsageError(f"--resume '{args.resume}' holds no programs run (no programs/plan.json)")
        plan = Plan.from_json(results.read_json(plan_path), str(plan_path))
        missing = [p.name for p in plan.programs if p.name not in by_name]
        if missing:
            raise UsageError(f"--resume: the run used program '{missing[0]}', which this version does not have")
        chosen = [by_name[p.name] for p in plan.programs]
        chosen_allocators = resumed_allocators(plan, user)
        check_installed(chosen, chosen_allocators, probe)
        checked_records(folder / "programs", plan)
    else:
        chosen = [by_name[n] for n in parse_names("program", args.programs, list(by_name))]
        labels = parse_names("allocator", args.allocators, [p.name for p in peers]) + [u.name for u in user]
        chosen_allocators = [next(p for p in peers + user if p.name == label) for label in labels]
        if SYSTEM not in labels:
            print(f"programs: note: without {SYSTEM} the report has no baseline for its ratios", file=sys.stderr)
        check_installed(chosen, chosen_allocators, probe)
        plan = Plan(tuple(ProgramInfo(p.name, p.description, p.origin, p.not_tested, p.threaded, p.server,
                                      package_versions(p.packages)) for p in chosen),
                    tuple(a.info() for a in chosen_allocators), tuple(threads), scale, args.seed,
                    repetitions, args.timeout)
        folder = (Path(args.out) if args.out else Path(args.results) / results.new_run_name("-programs")).absolute()
        if folder.exists() and not ((folder / "results.csv").is_file() and not (folder / "programs").exists()):
            raise UsageError(f"output folder '{folder}' exists already (--out takes a new folder, or a sweep's "
                             "folder without programs; --resume DIR completes a run)")
        same_labels_as_sweep(folder, plan)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "programs" / "raw").mkdir(parents=True)
        except OSError as e:
            raise UsageError(f"cannot create output folder '{folder}': {e.strerror}") from None
        results.write_json(folder / "programs" / "plan.json", plan.to_json())
    base = folder / "programs"
    command_text = "python3 -m alloclab.programs " + shlex.join(sys.argv[1:] if args.argv is None else args.argv)
    with open(base / "command.txt", "a", encoding="utf-8") as f:  # a resume adds its line below the run's
        f.write(command_text + "\n")

    runner = Runner(folder, {p.name: p for p in chosen}, {a.name: a for a in chosen_allocators}, probe, launcher,
                    plan.timeout, args.sample_ms / 1000)
    units = plan_units(chosen, [a.name for a in plan.allocators], list(plan.threads), plan.repetitions)
    k, n = shard
    # Shards take whole passes of a case (every allocator of one repetition, program and thread
    # count), so each ratio still pairs runs made back to back on one machine.
    groups = list(dict.fromkeys((u.repetition, u.program, u.threads) for u in units))
    mine_groups = {g for i, g in enumerate(groups) if i % n == k - 1}
    mine = [u for u in units if (u.repetition, u.program, u.threads) in mine_groups]
    todo = [u for u in mine if not unit_done(base / "raw", u)]
    print(f"programs: {len(chosen)} programs x {len(plan.allocators)} allocators x {plan.repetitions} repetitions, "
          f"scale {plan.scale:g}, threaded programs at {','.join(map(str, plan.threads))} threads"
          f"{f' (shard {k}/{n})' if n > 1 else ''}: {len(todo)} of {len(mine)} runs to do -> {folder}", flush=True)
    prepare_inputs(base, [p for p in chosen if any(u.program == p.name for u in todo)], plan.scale, plan.seed)
    started, failed = time.monotonic(), 0
    for i, unit in enumerate(todo, start=1):
        row = runner.run(unit)
        failed += not row.ok
        elapsed = time.monotonic() - started
        eta = "done" if i == len(todo) else f"eta {clock(elapsed / i * (len(todo) - i))}"
        figures = (f"{row.wall_s:.3f} s  peak RSS {(row.peak_rss_bytes or 0) / 2**20:.1f} MiB"
                   + (f"  {row.requests_per_s:,.0f} req/s" if row.requests_per_s else "")) if row.ok \
            else f"FAILED: {row.reason}"
        print(f"[{i}/{len(todo)} {clock(elapsed)} {eta}]".ljust(26)
              + f"{unit.program}/{unit.allocator}/threads:{unit.threads} r{unit.repetition}  {figures}", flush=True)
    shutil.rmtree(base / "work", ignore_errors=True)
    rows = finish(folder, plan)
    ok = sum(r.ok for r in rows)
    print(f"programs: {ok} runs ok, {len(rows) - ok} failed ({failed} of them in this session) -> "
          f"{folder / 'programs.csv'}", flush=True)
    if not args.folder_file:  # a script that asked for the folder draws the report (and its tables) itself
        print_summary(folder)
    if args.folder_file:
        results.write_atomically(args.folder_file, f"{folder}\n")
    return 0


def command_merge(args: argparse.Namespace) -> int:
    sources = [Path(d) for d in args.dirs]
    if not args.out.strip():
        raise UsageError("bad OUT '' (give the merged folder to create)")
    plans = []
    for d in sources:
        path = d / "programs" / "plan.json"
        if not path.is_file():
            raise UsageError(f"'{d}' holds no programs run (no programs/plan.json)")
        plans.append(Plan.from_json(results.read_json(path), str(path)))
    if len({d.resolve() for d in sources}) < len(sources):
        raise UsageError("a folder is given twice")
    differing = next((d for d, p in zip(sources, plans) if p.to_json() != plans[0].to_json()), None)
    if differing is not None:
        raise UsageError(f"'{differing}' ran a different plan from '{sources[0]}' (programs, allocators, scale, "
                         "seed, threads or repetitions differ): not shards of one run")
    seen: dict[str, Path] = {}
    for d in sources:
        for path in sorted((d / "programs" / "raw").glob("*.json")):
            if path.name.startswith("."):
                continue
            if path.name in seen:
                raise UsageError(f"run {path.stem} is in both '{seen[path.name].parents[2]}' and '{d}' (overlapping shards?)")
            records.check_record(path, plans[0])
            seen[path.name] = path
    out = Path(args.out)
    if out.exists():
        raise UsageError(f"output folder '{out}' exists already (merge writes a new folder)")
    try:
        (out / "programs" / "raw").mkdir(parents=True)
    except OSError as e:
        raise UsageError(f"cannot create output folder '{out}': {e.strerror}") from None
    for name, path in seen.items():
        shutil.copy2(path, out / "programs" / "raw" / name)
    shutil.copy2(sources[0] / "programs" / "plan.json", out / "programs" / "plan.json")
    results.write_atomically(out / "programs" / "command.txt",
                             "python3 -m alloclab.programs " + shlex.join(sys.argv[1:]) + "\n")
    rows = finish(out, plans[0])
    plan = plans[0]
    planned = sum(len(plan.threads) if p.threaded else 1 for p in plan.programs) * len(plan.allocators) \
        * plan.repetitions
    print(f"programs: merged {len(sources)} folders: {sum(r.ok for r in rows)} runs ok, "
          f"{sum(not r.ok for r in rows)} failed -> {out}")
    if len(rows) < planned:
        print(f"programs: note: {planned - len(rows)} of the plan's {planned} runs are in none of the folders "
              f"(a shard missing or unfinished?); complete them with --resume {out}", file=sys.stderr)
    return 0


def command_list(args: argparse.Namespace) -> int:
    peers, _ = catalog_allocators(Path(args.binary), "1")
    print("programs (name: what it stresses; [threaded] runs at every --threads count):")
    for p in PROGRAMS:
        gone = p.missing()
        print(f"  {p.name:<12} {p.description}{'  [threaded]' if p.threaded else ''}"
              f"{f'  (missing: {chr(44).join(gone)})' if gone else ''}")
    print("\nallocators (add any other with --preload LABEL=/path/to/lib.so):")
    for a in peers:
        where = "nothing preloaded" if a.library is None else str(a.library) + ("" if a.library.exists() else " (not installed)")
        print(f"  {a.name:<16} {where}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="programs", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the suite", description=__doc__,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--profile", choices=sorted(PROFILES), default="default",
                     help="default: scale 1 (about 1-5 s per run), 5 repetitions; quick: scale 0.1, 5 repetitions")
    run.add_argument("--programs", default="all", help="comma-separated program names (list shows them), or all")
    run.add_argument("--allocators", default="all",
                     help=f"comma-separated: {SYSTEM} and the preloaded peers (list shows them), or all")
    run.add_argument("--preload", action="append", metavar="LABEL=PATH",
                     help="also run under this shared library as malloc (repeatable), e.g. mine=/opt/libmine.so")
    run.add_argument("--threads", help="thread counts of the threaded programs: 4, 1,8 or 1..64 (default 1 and 2 x cores)")
    run.add_argument("--scale", type=float, help="input size: 1 is about 1-5 s per run on 2 cores (default: profile)")
    run.add_argument("--repetitions", type=int, help="interleaved repetitions (default: profile)")
    run.add_argument("--seed", type=int, default=42, help="seed of the generated inputs (default 42)")
    run.add_argument("--timeout", type=float, default=300, help="seconds before a run is killed as hung (default 300)")
    run.add_argument("--sample-ms", type=int, default=10, help="RSS sampling period in ms (default 10)")
    run.add_argument("--results", default=str(ROOT / "results"), help="folder of run folders (default: results/)")
    run.add_argument("--out", help="folder to create (or a sweep's folder to add the programs to)")
    run.add_argument("--resume", metavar="DIR", help="complete an interrupted run folder")
    run.add_argument("--shard", metavar="K/N", help="run every N-th run, starting at the K-th")
    run.add_argument("--binary", default=str(DEFAULT_BINARY), help="the alloclab driver (asked for the peers)")
    run.add_argument("--probe", default=str(DEFAULT_PROBE), help="liballoclab_probe.so, with alloclab_launch beside it (default: the release build's)")
    run.add_argument("--folder-file", help="write the run folder's path to this file (for scripts)")
    run.add_argument("--record", action="store_true",
                     help="record each program once under the trace recorder into traces/ instead of measuring "
                     "(--repetitions: untraced/traced pairs for the recorder's overhead, default 1; threaded "
                     "programs at the highest --threads count)")
    run.add_argument("--recorder", help="liballoclab_trace.so for --record (default: beside the probe)")
    run.add_argument("--compare-heaptrack", action="store_true",
                     help="with --record: run each program under heaptrack too (a third run per pair), and "
                     "record its wall time and file size beside the recorder's")
    merge = sub.add_parser("merge", help="merge shard folders")
    merge.add_argument("out", metavar="OUT", help="the merged folder to create")
    merge.add_argument("dirs", metavar="DIR", nargs="+", help="folders of the shards")
    listing = sub.add_parser("list", help="list the programs and the allocators")
    listing.add_argument("--binary", default=str(DEFAULT_BINARY), help="the alloclab driver")
    args = parser.parse_args(argv)
    args.argv = argv
    # A SIGTERM unwinds like an exception, so the running program's tree is killed (launch's finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if args.command == "run":
            return command_run(args)
        return command_merge(args) if args.command == "merge" else command_list(args)
    except (UsageError, ResultsError) as e:
        fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
