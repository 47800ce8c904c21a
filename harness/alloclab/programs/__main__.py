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
only the runs with no record; --shard K/N runs every N-th pass.

--resume DIR takes its selection (programs, allocators, threads, scale, seed, repetitions,
timeout) from DIR's plan: an option given with it must say what the plan says, and a run made
on another machine (CPU model and count) is refused. --out takes a new folder (its parent must
exist) or a sweep's run folder without programs. A run folder is locked (.lock) by the runner
and every process it starts: a second run, resume or merge of a folder still in use is refused,
and a killed runner (kill -9 included, or its run_all.sh) takes its programs, servers and load
generators with it. merge checks every input before it writes, builds OUT in a hidden sibling
and renames it into place. Paths are the caller's (relative to the current folder).

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
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from alloclab import results
from alloclab.cli import Once, Parser, UsageError, clock, create_new_folder, integer, number, parse_names
from alloclab.fit import out_of_memory_reason
from alloclab.preload import (DEFAULT_PROBE, SYSTEM, Preload, check_takes_effect, parse_preloads, probe_verdict,
                              read_probe, registry_preload, shared_library, system_allocator)
from alloclab.processes import FolderLock, die_with_launcher, in_use
from alloclab.programs import checks, records, summary
from alloclab.programs.catalog import Invocation, Program
from alloclab.programs.launch import launch
from alloclab.programs.records import Plan, ProgramInfo, ProgramRow
from alloclab.programs.suite import PROGRAMS
from alloclab.registry import DEFAULT_BINARY, ROOT, Registry, RegistryError, ask_driver
from alloclab.results import ResultsError
from alloclab.traces import suite as trace_suite

PROFILES: dict[str, dict[str, Any]] = {
    # About 1-5 s per run on 2 cores; 5 interleaved repetitions; threaded programs at 1 and 2 x cores.
    "default": {"scale": 1.0, "repetitions": 5, "skip": (), "single_thread_count": False},
    # The main job's taste of the suite, within its 10 minutes: small inputs but 5 repetitions (the
    # fewest whose median interval reaches 94 %), threaded programs at 2 x cores only, and g++ left
    # out (the slowest run at this scale by far: a quarter of the pass on its own).
    "quick": {"scale": 0.1, "repetitions": 5, "skip": ("gxx",), "single_thread_count": True},
}
DEFAULT_SEED = 42
DEFAULT_TIMEOUT = 300.0


def fail(message: str) -> NoReturn:
    print(f"programs: {message}", file=sys.stderr)
    sys.exit(2)


def catalog_allocators(binary: Path, threads: str) -> tuple[list[Preload], list[int]]:
    """glibc and the driver's preloaded peers (installed or not), and the --threads expansion."""
    try:
        registry = ask_driver(binary, threads)
    except RegistryError as e:
        raise UsageError(f"the driver '{binary}' refused: {e} (valid: the alloclab driver of a build, "
                         "cmake --build --preset release)") from None
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


def passes(units: list[Unit]) -> list[tuple[int, str, int]]:
    """The passes of a run, in order: (repetition, program, threads). Shards take whole passes
    (every allocator of one repetition, program and thread count), so each ratio still pairs
    runs made back to back on one machine."""
    return list(dict.fromkeys((u.repetition, u.program, u.threads) for u in units))


def shard_units(units: list[Unit], k: int, n: int) -> list[Unit]:
    """The units of shard K of N: every N-th pass, starting at the K-th."""
    mine = {g for i, g in enumerate(passes(units)) if i % n == k - 1}
    return [u for u in units if (u.repetition, u.program, u.threads) in mine]


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
    pass_fds: tuple[int, ...] = ()  # the run folder's lock: every process of a run holds it

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
        out = launch(self.launcher, command, work, env, preload, self.timeout, drive, self.interval, self.pass_fds)
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


def machine_facts(git_too: bool = True) -> dict[str, Any]:
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
    facts: dict[str, Any] = {"host_name": uname.node, "num_cpus": os.cpu_count() or 1, "cpu_model": model,
                             "kernel": f"{uname.system} {uname.release}", "glibc_version": platform.libc_ver()[1]}
    if not git_too:  # the machine alone (programs/machine.json: what a resume and a merge compare)
        return facts
    return {**facts, "git_commit": git("rev-parse", "HEAD") or "unknown",
            "git_dirty": bool(git("status", "--porcelain")),
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
            raise UsageError(f"program '{p.name}' needs {', '.join(gone)}, not installed (valid: install Debian "
                             f"package{'s' if len(p.packages) > 1 else ''} {', '.join(p.packages)} "
                             "(./run_all.sh programs installs them), or leave the program out of --programs)")
    for a in allocators:
        if a.library is None or not a.library.exists():
            raise UsageError(f"allocator '{a.name}' needs {a.library or 'its library'}, which is not there "
                             f"(valid: {a.install_hint or 'install it, or name another file'}; or leave it out "
                             "of --allocators)")
        check_takes_effect(a, probe)
    seen: dict[str, str] = {}
    for a in allocators:  # one library measured under two names would be one allocator run twice
        real = os.path.realpath(a.library) if a.library is not None else ""
        if real in seen:
            raise UsageError(f"allocators '{seen[real]}' and '{a.name}' are the same library {real} "
                             "(valid: each library once)")
        seen[real] = a.name


def resumed_allocators(plan: Plan, given: list[Preload]) -> list[Preload]:
    """The plan's allocators as they ran, each from the library path the plan recorded (a
    --preload given again must name the same file)."""
    out = []
    for info in plan.allocators:
        library = Path(info.library) if info.library else None
        again = next((u for u in given if u.name == info.name), None)
        if again is not None and (library is None or again.library != library.resolve()):
            raise UsageError(f"--resume: the run measured '{info.name}' as {info.library or 'the system allocator'}, "
                             f"not {again.library}: give the same library, or none (valid: --preload "
                             f"{info.name}={info.library or '?'}, or leave --preload out: the plan's is used)")
        out.append(Preload(info.name, info.kind, info.description, library, frees=info.supports_free))
    extra = [u.name for u in given if plan.allocator(u.name) is None]
    if extra:
        raise UsageError(f"--resume: '{extra[0]}' is not an allocator of the run (valid: its allocators "
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
            raise UsageError(f"'{a.name}' is {other.library} in this folder's sweep, not {a.library} "
                             "(valid: another label for this library)")


def check_tools(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """--binary, --probe and the launcher beside it: (binary, probe, launcher)."""
    checks.nonempty("--binary", args.binary, "the alloclab driver, e.g. build/release/harness/alloclab")
    checks.nonempty("--probe", args.probe, "liballoclab_probe.so of a build")
    binary = checks.caller_path(args.binary)
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise UsageError(f"bad --binary '{args.binary}': not an executable file (valid: the alloclab driver, "
                         "e.g. build/release/harness/alloclab; cmake --build --preset release)")
    probe = checks.caller_path(args.probe)
    why = shared_library(probe) if probe.exists() else "does not exist"
    if why is not None:
        raise UsageError(f"bad --probe '{args.probe}': {why} (valid: liballoclab_probe.so of a build; "
                         "cmake --build --preset release)")
    launcher = probe.parent / "alloclab_launch"
    if not os.access(launcher, os.X_OK):
        raise UsageError(f"alloclab_launch is not built beside --probe '{args.probe}' (valid: a build folder's "
                         "liballoclab_probe.so, with alloclab_launch beside it; cmake --build --preset release)")
    return binary, probe, launcher


def lock_folder(folder: Path) -> FolderLock:
    """The run folder's lock, waiting a second for a holder that is dying; a live one is refused."""
    return FolderLock(folder).acquire(grace=1.0)


def busy(folder: Path, what: str) -> None:
    """Refuses a folder that a run (or the orphan of a killed one) still writes into."""
    pids = in_use(folder)
    if pids is not None:
        who = f" (process {', '.join(map(str, pids))})" if pids else ""
        raise UsageError(f"{what} is in use by another run{who}: wait for it to finish or kill it "
                         "(valid: a folder no running programs run or sweep writes to)")


OUT_VALID = "a new folder, or a sweep's run folder without programs; --resume DIR completes a programs run"


def output_folder(args: argparse.Namespace, suffix: str, sweep_ok: Any) -> tuple[Path, bool]:
    """The run folder of a new run: --out (a new folder, or an existing run folder that
    `sweep_ok(folder)` accepts) or a new one under --results. -> (folder, whether it exists)."""
    if args.out is not None:
        if args.results is not None:
            raise UsageError("give --out DIR or --results DIR, not both (valid: --out, the run folder; or "
                             "--results, the folder of run folders)")
        checks.nonempty("--out", args.out, "the path of a new folder")
        folder = checks.caller_path(args.out)
        if os.path.lexists(folder):
            why = sweep_ok(folder)
            if why:
                raise UsageError(f"bad --out '{args.out}': {why}")
            busy(folder, f"--out '{args.out}'")
            return folder, True
        checks.new_path(folder, f"--out '{args.out}'", "a new folder")
        return folder, False
    results_dir = checks.results_folder(args.results, ROOT / "results")
    return results_dir / results.new_run_name(suffix), False


def programs_out_refusal(folder: Path) -> str:
    """'' when `--out folder` may receive a programs run (a sweep's folder without one); else why not."""
    if not folder.is_dir():
        return f"it exists already and is not a folder (valid: {OUT_VALID})"
    if checks.is_programs_folder(folder) or (folder / "programs").exists() or (folder / "programs.csv").exists():
        return f"it exists already and holds a programs run (valid: {OUT_VALID})"
    if not checks.is_sweep_folder(folder):
        return f"it exists already and is not a sweep's run folder (valid: {OUT_VALID})"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"it cannot be written (valid: {OUT_VALID})"
    return ""


def record_out_refusal(folder: Path) -> str:
    """'' when `--record --out folder` may receive traces/ (a run folder without them); else why not."""
    valid = "a new folder, or a sweep's or programs run's folder without traces/"
    if not folder.is_dir():
        return f"it exists and is not a folder (valid: {valid})"
    if (folder / "traces").exists():
        return f"it holds traces already (traces/) (valid: {valid})"
    if not (checks.is_sweep_folder(folder) or checks.is_programs_folder(folder)):
        return f"it exists and is not a run folder (valid: {valid})"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"it cannot be written (valid: {valid})"
    return ""


def given_options(args: argparse.Namespace, names: tuple[str, ...]) -> list[str]:
    return [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) not in (None, False)]


def command_record(args: argparse.Namespace) -> int:
    """--record: each chosen program recorded once under the trace recorder (no allocators, no
    measurement beyond the recorder's overhead): traces/<program>.trace and traces/index.json."""
    for flag in given_options(args, ("resume", "shard", "preload", "allocators")):
        raise UsageError(f"--record runs each program under the recorder alone: {flag} does not apply "
                         "(valid with --record: --programs, --profile, --scale, --seed, --repetitions, --threads, "
                         "--timeout, --sample-ms, --out, --results, --recorder, --compare-heaptrack)")
    binary, probe, launcher = check_tools(args)
    checks.nonempty("--recorder", args.recorder, "liballoclab_trace.so of a build")
    recorder = checks.caller_path(args.recorder) if args.recorder else probe.parent / trace_suite.RECORDER
    why = shared_library(recorder) if recorder.exists() else "does not exist"
    if why is not None:
        raise UsageError(f"the recorder '{args.recorder or recorder}' {why} (valid: liballoclab_trace.so; build it: "
                         "cmake --build --preset release --target alloclab_trace)")
    profile = PROFILES[args.profile or "default"]
    scale = profile["scale"] if args.scale is None else args.scale
    repetitions = 1 if args.repetitions is None else args.repetitions
    seed = DEFAULT_SEED if args.seed is None else args.seed
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    cores = os.cpu_count() or 1
    threads = checks.parse_threads(args.threads) if args.threads is not None else [2 * cores]
    catalog_allocators(binary, ",".join(map(str, threads)))
    by_name = {p.name: p for p in PROGRAMS}
    chosen = [by_name[n] for n in parse_names("program", "all" if args.programs is None else args.programs,
                                              list(by_name))]
    for p in chosen:
        gone = p.missing()
        if gone:
            raise UsageError(f"program '{p.name}' needs {', '.join(gone)}, not installed (valid: install Debian "
                             f"package{'s' if len(p.packages) > 1 else ''} {', '.join(p.packages)}, or leave "
                             "the program out of --programs)")
    folder_file = checks.folder_file(args.folder_file)
    heaptrack = ""
    if args.compare_heaptrack:
        heaptrack = shutil.which("heaptrack") or ""
        if not heaptrack:
            raise UsageError("--compare-heaptrack needs heaptrack, not installed (valid: install Debian package "
                             "heaptrack, or leave --compare-heaptrack out)")
    folder, exists = output_folder(args, "-traces", record_out_refusal)
    # Every check passed: now the folder, its lock (held by every process the recording starts) and traces/.
    if not exists:
        folder.parent.mkdir(parents=True, exist_ok=True)  # results/ itself, on a first run
        folder = create_new_folder(folder, retry=args.out is None)
    lock = lock_folder(folder)
    trace_suite.check_folder(folder)
    job = trace_suite.Job(folder, chosen, recorder, launcher, max(threads), scale, seed, repetitions, timeout,
                          args.sample_ms / 1000, heaptrack, lock.pass_fds)
    command_text = "python3 -m alloclab.programs " + shlex.join(sys.argv[1:] if args.argv is None else args.argv)
    results.write_atomically(folder / "traces" / "command.txt", command_text + "\n")
    print(f"programs --record: {len(chosen)} programs, scale {scale:g}, threaded programs at {job.threads} "
          f"threads, {repetitions} untraced/traced pair{'s' if repetitions != 1 else ''} each -> {folder / 'traces'}",
          flush=True)
    entries = trace_suite.record_suite(job, prepare_inputs)
    trace_suite.print_summary(entries, folder)
    if folder_file is not None:
        results.write_atomically(folder_file, f"{folder}\n")
    return 0


def resume_selection(args: argparse.Namespace, plan: Plan, peers: list[Preload]) -> None:
    """An option given with --resume must say what the plan says: the plan decides what runs,
    so a resume finishes exactly the run it was (one line naming the option and the plan's value)."""
    text = args.resume

    def conflict(option: str, given: Any, recorded: Any) -> NoReturn:
        raise UsageError(f"--resume '{text}': {option} {given} conflicts with the run's {recorded} "
                         f"(valid: {recorded}, its plan's, or leave {option} out)")

    if args.programs is not None:
        names = parse_names("program", args.programs, [p.name for p in PROGRAMS])
        if set(names) != {p.name for p in plan.programs}:
            conflict("--programs", args.programs, ",".join(p.name for p in plan.programs))
    if args.allocators is not None:
        valid = list(dict.fromkeys([p.name for p in peers] + [a.name for a in plan.allocators]))
        names = parse_names("allocator", args.allocators, valid)
        user = {a.name for a in plan.allocators if not any(p.name == a.name for p in peers)}  # --preload's
        if set(names) | user != {a.name for a in plan.allocators}:
            conflict("--allocators", args.allocators, ",".join(a.name for a in plan.allocators))
    if args.threads is not None and tuple(checks.parse_threads(args.threads)) != tuple(sorted(plan.threads)):
        conflict("--threads", args.threads, ",".join(map(str, plan.threads)))
    profile = PROFILES[args.profile] if args.profile is not None else None
    scale = args.scale if args.scale is not None else profile["scale"] if profile else None
    if scale is not None and float(scale) != plan.scale:
        conflict("--scale" if args.scale is not None else f"--profile {args.profile}: scale", f"{scale:g}",
                 f"{plan.scale:g}")
    repetitions = args.repetitions if args.repetitions is not None else profile["repetitions"] if profile else None
    if repetitions is not None and repetitions != plan.repetitions:
        conflict("--repetitions" if args.repetitions is not None else f"--profile {args.profile}: repetitions",
                 repetitions, plan.repetitions)
    if args.seed is not None and args.seed != plan.seed:
        conflict("--seed", args.seed, plan.seed)
    if args.timeout is not None and args.timeout != plan.timeout:
        conflict("--timeout", f"{args.timeout:g}", f"{plan.timeout:g}")


def read_machine(path: Path) -> tuple[str, int] | None:
    try:
        return checks.machine_identity(results.read_json(path)) if path.is_file() else None
    except ResultsError:
        return None


def command_run(args: argparse.Namespace) -> int:
    if args.record:
        return command_record(args)
    for flag in given_options(args, ("recorder", "compare_heaptrack")):
        raise UsageError(f"{flag} goes with --record (valid: --record {flag} ..., or leave {flag} out)")
    if args.resume is not None:
        for flag in given_options(args, ("out", "results")):
            raise UsageError(f"give {flag} (a new run) or --resume DIR (complete one), not both "
                             "(valid: --resume DIR alone, or with the options of its plan)")
    binary, probe, launcher = check_tools(args)
    folder_file = checks.folder_file(args.folder_file)
    cores = os.cpu_count() or 1
    top_only = PROFILES[args.profile or "default"]["single_thread_count"]
    threads_wanted = checks.parse_threads(args.threads) if args.threads is not None else \
        [2 * cores] if top_only else sorted({1, 2 * cores})
    peers, threads = catalog_allocators(binary, ",".join(map(str, threads_wanted)))
    by_name = {p.name: p for p in PROGRAMS}
    user = parse_preloads(args.preload or [], {p.name for p in peers})
    shard = checks.parse_shard(args.shard) if args.shard is not None else (1, 1)

    if args.resume is not None:
        # The folder's own plan decides what runs, so a resume finishes exactly that run.
        checks.nonempty("--resume", args.resume, "a folder made by programs run")
        folder = checks.caller_path(args.resume)
        plan_path = folder / "programs" / "plan.json"
        if (folder / "slurm.json").is_file():
            raise UsageError(f"--resume '{args.resume}' is a SLURM run (valid: ./run_all.sh programs --slurm --resume "
                             f"{args.resume} resubmits its missing shards)")
        if not plan_path.is_file():
            raise UsageError(f"--resume '{args.resume}' holds no programs run (valid: a folder made by programs "
                             "run, with programs/plan.json)")
        plan = Plan.from_json(results.read_json(plan_path), str(plan_path))
        missing = [p.name for p in plan.programs if p.name not in by_name]
        if missing:
            raise UsageError(f"--resume: the run used program '{missing[0]}', which this version does not have "
                             f"(valid: {', '.join(by_name)})")
        resume_selection(args, plan, peers)
        here = checks.machine_identity(machine_facts(git_too=False))
        there = read_machine(folder / "programs" / "machine.json") or read_machine(folder / "machine.json")
        if there is not None and here is not None and there != here:
            raise UsageError(f"--resume '{args.resume}': the run was made on another machine ({there[0]}, "
                             f"{there[1]} CPUs; this one: {here[0]}, {here[1]} CPUs): its numbers and these would "
                             "not compare (valid: resume it on that machine, or start a new run here)")
        chosen = [by_name[p.name] for p in plan.programs]
        chosen_allocators = resumed_allocators(plan, user)
        check_installed(chosen, chosen_allocators, probe)
        busy(folder, f"--resume '{args.resume}'")
        checked_records(folder / "programs", plan)
        exists = True
    else:
        profile = PROFILES[args.profile or "default"]
        scale = profile["scale"] if args.scale is None else args.scale
        repetitions = profile["repetitions"] if args.repetitions is None else args.repetitions
        chosen = [by_name[n] for n in parse_names("program", "all" if args.programs is None else args.programs,
                                              list(by_name))
                  if args.programs is not None or n not in profile["skip"]]
        labels = parse_names("allocator", "all" if args.allocators is None else args.allocators, [p.name for p in peers]) + [u.name for u in user]
        chosen_allocators = [next(p for p in peers + user if p.name == label) for label in labels]
        check_installed(chosen, chosen_allocators, probe)
        plan = Plan(tuple(ProgramInfo(p.name, p.description, p.origin, p.not_tested, p.threaded, p.server,
                                      package_versions(p.packages)) for p in chosen),
                    tuple(a.info() for a in chosen_allocators), tuple(threads), scale,
                    DEFAULT_SEED if args.seed is None else args.seed, repetitions,
                    DEFAULT_TIMEOUT if args.timeout is None else args.timeout)
        folder, exists = output_folder(args, "-programs", programs_out_refusal)
        same_labels_as_sweep(folder, plan)

    units = plan_units(chosen, [a.name for a in plan.allocators], list(plan.threads), plan.repetitions)
    k, n = shard
    groups = passes(units)
    if k > len(groups):
        raise UsageError(f"bad --shard {k}/{n}: the run has {len(groups)} passes, so shard {k} would run nothing "
                         f"(valid: K/N with K <= {len(groups)})")
    if args.resume is None and SYSTEM not in [a.name for a in plan.allocators]:
        print(f"programs: note: without {SYSTEM} the report has no baseline for its ratios", file=sys.stderr)
    if args.check:  # the options alone (alloclab.slurm asks before it submits anything)
        print(f"programs: the options are valid: {len(groups)} passes", flush=True)
        return 0

    # Every check passed: now the folder, and its lock, held by every process the run starts
    # (an orphan of a killed run keeps the folder locked until it is gone).
    if not exists:
        folder.parent.mkdir(parents=True, exist_ok=True)  # results/ itself, on a first run
        folder = create_new_folder(folder, retry=args.out is None)
    lock = lock_folder(folder)
    base = folder / "programs"
    if args.resume is None:
        if base.exists():  # another run took the folder between the check and the lock
            raise UsageError(f"'{folder}' holds a programs run already (valid: {OUT_VALID})")
        (base / "raw").mkdir(parents=True)
        results.write_json(base / "plan.json", plan.to_json())
        results.write_json(base / "machine.json", machine_facts(git_too=False))
    command_text = "python3 -m alloclab.programs " + shlex.join(sys.argv[1:] if args.argv is None else args.argv)
    with open(base / "command.txt", "a", encoding="utf-8") as f:  # a resume adds its line below the run's
        f.write(command_text + "\n")

    runner = Runner(folder, {p.name: p for p in chosen}, {a.name: a for a in chosen_allocators}, probe, launcher,
                    plan.timeout, args.sample_ms / 1000, lock.pass_fds)
    mine = shard_units(units, k, n)
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
    if folder_file is None:  # a script that asked for the folder draws the report (and its tables) itself
        print_summary(folder)
    else:
        results.write_atomically(folder_file, f"{folder}\n")
    return 0


def command_merge(args: argparse.Namespace) -> int:
    """Every input checked (a programs run, not being written, the same plan and machine, no
    run in two of them, none given twice, OUT none of them) before anything is written; OUT
    is built in a hidden sibling and renamed into place, so a failed merge leaves nothing."""
    checks.nonempty("OUT", args.out, "the merged folder to create")
    out = checks.caller_path(args.out)
    sources: list[Path] = []
    valid = "valid: folders made by programs run (shards of one run), each once"
    for text in args.dirs:
        checks.nonempty("DIR", text, "a folder made by programs run")
        d = checks.caller_path(text)
        if not d.is_dir() or not checks.is_programs_folder(d):
            raise UsageError(f"'{text}' holds no programs run (no programs/plan.json) ({valid})")
        if any(d.resolve() == s.resolve() for s in sources):
            raise UsageError(f"'{text}' is given twice ({valid})")
        if out == d or d in out.parents or out.resolve() == d.resolve() or d.resolve() in out.resolve().parents:
            raise UsageError(f"OUT '{args.out}' is the input '{text}' or inside it (valid: a new folder outside "
                             "the inputs)")
        busy(d, f"'{text}'")
        sources.append(d)
    checks.new_path(out, f"OUT '{args.out}'", "a new folder")
    plans = []
    for d in sources:
        path = d / "programs" / "plan.json"
        plans.append(Plan.from_json(results.read_json(path), str(path)))
    differing = next((d for d, p in zip(sources, plans) if p.to_json() != plans[0].to_json()), None)
    if differing is not None:
        raise UsageError(f"'{differing}' ran a different plan from '{sources[0]}' (programs, allocators, scale, "
                         "seed, threads or repetitions differ): not shards of one run (valid: the shards of one "
                         "programs run --shard K/N)")
    machines = [(d, read_machine(d / "programs" / "machine.json") or read_machine(d / "machine.json"))
                for d in sources]
    known = [(d, m) for d, m in machines if m is not None]
    for d, m in known[1:]:
        if m != known[0][1]:
            raise UsageError(f"'{d}' ran on another machine ({m[0]}, {m[1]} CPUs) than '{known[0][0]}' "
                             f"({known[0][1][0]}, {known[0][1][1]} CPUs): their numbers would not compare "
                             "(valid: shards run on one machine)")
    seen: dict[str, Path] = {}
    for d in sources:
        for path in sorted((d / "programs" / "raw").glob("*.json")):
            if path.name.startswith("."):
                continue
            if path.name in seen:
                raise UsageError(f"run {path.stem} is in both '{seen[path.name].parents[2]}' and '{d}' "
                                 f"(overlapping shards?) ({valid}, with no run in two of them)")
            records.check_record(path, plans[0])
            seen[path.name] = path
    try:
        temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".merging", dir=out.parent))
    except OSError as e:
        raise UsageError(f"cannot create OUT '{args.out}': {e.strerror} (valid: a new folder in a writable one)") \
            from None
    done = False
    try:
        os.chmod(temp, 0o777 & ~_umask())
        (temp / "programs" / "raw").mkdir(parents=True)
        for name, path in seen.items():
            shutil.copy2(path, temp / "programs" / "raw" / name)
        shutil.copy2(sources[0] / "programs" / "plan.json", temp / "programs" / "plan.json")
        facts = next((d / f for d in sources for f in ("programs/machine.json", "machine.json")
                      if (d / f).is_file()), None)
        if facts is not None:
            shutil.copy2(facts, temp / "programs" / "machine.json")
            shutil.copy2(facts, temp / "machine.json")
        results.write_atomically(temp / "programs" / "command.txt",
                                 "python3 -m alloclab.programs " + shlex.join(sys.argv[1:]) + "\n")
        rows = finish(temp, plans[0])
        try:
            os.rename(temp, out)
        except OSError as e:
            raise UsageError(f"cannot create OUT '{args.out}': {e.strerror} (valid: a new folder)") from None
        done = True
    finally:
        if not done:
            shutil.rmtree(temp, ignore_errors=True)
    plan = plans[0]
    planned = sum(len(plan.threads) if p.threaded else 1 for p in plan.programs) * len(plan.allocators) \
        * plan.repetitions
    print(f"programs: merged {len(sources)} folders: {sum(r.ok for r in rows)} runs ok, "
          f"{sum(not r.ok for r in rows)} failed -> {out}")
    if len(rows) < planned:
        print(f"programs: note: {planned - len(rows)} of the plan's {planned} runs are in none of the folders "
              f"(a shard missing or unfinished?); complete them with --resume {out}", file=sys.stderr)
    return 0


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def command_list(args: argparse.Namespace) -> int:
    binary = checks.caller_path(args.binary) if args.binary.strip() else Path("")
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise UsageError(f"bad --binary '{args.binary}': not an executable file (valid: the alloclab driver, "
                         "e.g. build/release/harness/alloclab; cmake --build --preset release)")
    peers, _ = catalog_allocators(binary, "1")
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


def attach_dashed_values(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """`--scale -inf`, `--shard -1/2`: argparse reads a value that starts with '-' as an option
    and says only "expected one argument"; attached (`--scale=-inf`), the value reaches its
    check, which names it."""
    takes_value = {s for a in parser._actions if a.nargs != 0 for s in a.option_strings}
    known = {s for a in parser._actions for s in a.option_strings}
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in takes_value and i + 1 < len(argv) and argv[i + 1].startswith("-") and argv[i + 1] not in known \
                and argv[i + 1] != "--":
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    die_with_launcher()  # started by run_all.sh: dies with it (and its children with this process)
    parser = Parser(prog="programs", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the suite", description=__doc__,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--profile", choices=sorted(PROFILES), action=Once,
                     help="default: scale 1 (about 1-5 s per run), 5 repetitions, threaded programs at 1 and "
                     "2 x cores; quick (the main job's): scale 0.1, 5 repetitions, threaded programs at 2 x cores, "
                     "every program but gxx")
    run.add_argument("--programs", action=Once, help="comma-separated program names (list shows them), or all "
                     "(default: all); each name once")
    run.add_argument("--allocators", action=Once,
                     help=f"comma-separated: {SYSTEM} and the preloaded peers (list shows them), or all (default); "
                     "each name once")
    run.add_argument("--preload", action="append", metavar="LABEL=PATH",
                     help="also run under this shared library as malloc (repeatable; each label and library "
                     "once), e.g. mine=/opt/libmine.so")
    run.add_argument("--threads", action=Once,
                     help="thread counts of the threaded programs: 4, 1,8 or 1..64 (default 1 and 2 x cores; --profile quick: 2 x cores)")
    run.add_argument("--scale", action=Once, type=number(0, records.MAX_SCALE, "a scale", open_low=True),
                     help=f"input size, above 0 up to {records.MAX_SCALE:g}: 1 is about 1-5 s per run on 2 cores "
                     "(default: profile)")
    run.add_argument("--repetitions", action=Once, type=integer(1, records.MAX_REPETITIONS, "a count"),
                     help=f"interleaved repetitions, 1 to {records.MAX_REPETITIONS} (default: profile)")
    run.add_argument("--seed", action=Once, type=integer(0, 2 ** 31 - 1, "a seed"),
                     help=f"seed of the generated inputs, 0 to 2^31 - 1 (default {DEFAULT_SEED})")
    run.add_argument("--timeout", action=Once, type=number(0, 86400, "seconds", open_low=True),
                     help=f"seconds before a run is killed as hung, up to 86400 (default {DEFAULT_TIMEOUT:g})")
    run.add_argument("--sample-ms", action=Once, type=integer(1, 10_000, "milliseconds"), default=10,
                     help="RSS sampling period in ms, 1 to 10000 (default 10)")
    run.add_argument("--results", action=Once,
                     help="an existing folder of run folders, the new run's made in it (default: results/)")
    run.add_argument("--out", action=Once,
                     help="the run folder: a new folder, or a sweep's run folder to add the programs to")
    run.add_argument("--resume", action=Once, metavar="DIR",
                     help="complete an interrupted run folder: its plan decides what runs (an option given "
                     "with it must say what the plan says)")
    run.add_argument("--shard", action=Once, metavar="K/N", help="run every N-th pass, starting at the K-th")
    run.add_argument("--binary", action=Once, default=str(DEFAULT_BINARY),
                     help="the alloclab driver (asked for the peers)")
    run.add_argument("--probe", action=Once, default=str(DEFAULT_PROBE),
                     help="liballoclab_probe.so, with alloclab_launch beside it (default: the release build's)")
    run.add_argument("--folder-file", action=Once, help="write the run folder's path to this file (for scripts)")
    run.add_argument("--check", action=Once, nargs=0,
                     help="check the options and print the number of passes (the units of --shard); write nothing")
    run.add_argument("--record", action=Once, nargs=0,
                     help="record each program once under the trace recorder into traces/ instead of measuring "
                     "(--repetitions: untraced/traced pairs for the recorder's overhead, default 1; threaded "
                     "programs at the highest --threads count; not with --resume, --shard, --preload, --allocators)")
    run.add_argument("--recorder", action=Once, help="liballoclab_trace.so for --record (default: beside the probe)")
    run.add_argument("--compare-heaptrack", action=Once, nargs=0,
                     help="with --record: run each program under heaptrack too (a third run per pair), and "
                     "record its wall time and file size beside the recorder's")
    run.set_defaults(record=False, compare_heaptrack=False)
    merge = sub.add_parser("merge", help="merge shard folders")
    merge.add_argument("out", metavar="OUT", help="the merged folder to create (new; built in a hidden sibling "
                       "and renamed into place)")
    merge.add_argument("dirs", metavar="DIR", nargs="+", help="folders of the shards, each once")
    listing = sub.add_parser("list", help="list the programs and the allocators")
    listing.add_argument("--binary", action=Once, default=str(DEFAULT_BINARY), help="the alloclab driver")
    # A SIGTERM unwinds like an exception, so the running program's tree is killed (launch's finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    given = sys.argv[1:] if argv is None else argv
    if not given or given[0] not in ("run", "merge", "list", "-h", "--help"):
        fail(f"unknown command '{given[0][:80]}' (valid: run, merge, list)" if given else
             "no command (valid: run, merge, list; --help explains them)")
    args = parser.parse_args(attach_dashed_values(given, run))
    args.argv = argv
    try:
        if args.command == "run":
            return command_run(args)
        return command_merge(args) if args.command == "merge" else command_list(args)
    except (UsageError, ResultsError) as e:
        fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
