"""`programs run --record`: each program of the suite recorded once under liballoclab_trace.so,
instead of measured under allocators (`./run_all.sh programs --record [--programs ...]`).

A program runs as the suite runs it (alloclab.programs.launch: its own process tree, its
inputs generated from --scale and --seed, a server with its client, its output checked), with
the recorder as the only preload and ALLOCLAB_TRACE_DIR a scratch folder. Before each traced
run the same program runs untraced (nothing preloaded), so the index holds the recorder's
overhead on wall time beside the trace: --repetitions pairs (default 1), the trace kept from
the first traced run.

In the run folder:
  traces/<program>.trace        the process of the program with the most events: the program
                                itself, or the child doing the work (g++ -> cc1plus)
  traces/<program>-<pid>.trace  every other process of the program's tree
  traces/index.json             per program: status and reason, the command, the thread count,
                                every process (file, pid, parent, program, events, threads,
                                bytes, bytes per event, truncated), which file is the main one and
                                why, the wall times untraced and traced and their ratio
A program that fails (a crash, a timeout, a wrong answer, no trace written) is recorded as
failed in the index with its reason and the others go on; the index is rewritten after each
program, so an interrupted run keeps what it finished.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alloclab import results
from alloclab.cli import UsageError, clock
from alloclab.programs.catalog import Invocation, Program
from alloclab.programs.launch import Outcome, launch
from alloclab.traces import layout

INDEX_SCHEMA = 1
RECORDER = "liballoclab_trace.so"


@dataclass(frozen=True)
class Job:
    folder: Path              # the run folder; traces/ is made in it
    programs: list[Program]
    recorder: Path
    launcher: Path
    threads: int              # the thread count of the threaded programs
    scale: float
    seed: int
    repetitions: int          # untraced/traced pairs per program
    timeout: float
    interval: float
    heaptrack: str = ""       # the heaptrack script: each pair gets a third run under it, for comparison
    pass_fds: tuple[int, ...] = ()  # the run folder's lock, held by every process of a recording


def check_folder(folder: Path) -> None:
    """Makes traces/ in a new folder (its parent exists), or in an existing one (a programs or
    sweep run) without traces/. `programs run --record` checks the folder before (one line)."""
    valid = "valid: a new folder, or a run folder without traces/"
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"output folder '{folder}' is a file ({valid})")
    if (folder / "traces").exists():
        raise UsageError(f"'{folder}' holds traces already (traces/) ({valid})")
    try:
        if not folder.exists():
            folder.mkdir()
        (folder / "traces").mkdir()
    except OSError as e:
        raise UsageError(f"cannot create output folder '{folder}': {e.strerror} ({valid})") from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _why_failed(program: Program, invocation: Invocation, out: Outcome, timeout: float, check: bool = True) -> str:
    """'' when the run ended well and (with `check`) its output is the expected answer; else the reason."""
    if out.drive_error:
        return f"client: {out.drive_error}"
    if out.timed_out:
        return f"timed out after {timeout:g} s"
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or [""])[-1][:300]
        return f"exit {out.returncode}" + (f": {last}" if last else "")
    if not check:
        return ""
    try:
        why = program.check(invocation, out.stdout, out.drive) or ""
    except Exception as e:  # a check that breaks on odd output fails the run, named
        why = f"output check could not run: {type(e).__name__}: {e}"
    return f"wrong output: {why}" if why else ""


def run_once(job: Job, program: Program, inputs: Path, work: Path, preload: str,
             trace_dir: Path | None, prefix: Sequence[str] = ()) -> tuple[Outcome, str]:
    """One run of the program in a fresh work folder, its command after `prefix` (a profiler's
    own launcher): (outcome, why it failed or '')."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    invocation = Invocation(inputs, work, job.threads if program.threaded else 1,
                            _free_port() if program.server else 0)
    env = {k: v for k, v in os.environ.items() if k != "ALLOCLAB_TRACE_DIR"}
    if trace_dir is not None:
        env["ALLOCLAB_TRACE_DIR"] = str(trace_dir)
    drive = (lambda deadline: program.drive(invocation, deadline)) if program.server else None
    out = launch(job.launcher, [*prefix, *program.command(invocation)], work, env, preload, job.timeout, drive,
                 job.interval, job.pass_fds)
    # A profiler's launcher writes its own lines into the program's output (heaptrack does):
    # the output was checked in the runs without it.
    return out, _why_failed(program, invocation, out, job.timeout, check=not prefix)


def record_program(job: Job, program: Program, inputs: Path, scratch: Path) -> dict[str, Any]:
    """The index entry of one program: its runs untraced and traced, its traces moved into place."""
    traces = job.folder / "traces"
    work = scratch / "work"
    entry: dict[str, Any] = {"program": program.name, "status": "ok", "reason": "",
                             "threads": job.threads if program.threaded else 1,
                             "command": program.command(Invocation(inputs, Path("<work>"), job.threads, 0))}
    untraced: list[float] = []
    traced: list[float] = []
    reasons: list[str] = []
    heaptrack_wall: list[float] = []
    heaptrack_bytes: list[int] = []
    heaptrack_reasons: list[str] = []
    for rep in range(1, job.repetitions + 1):
        out, why = run_once(job, program, inputs, work, "", None)
        if why:
            reasons.append(f"untraced run {rep}: {why}")
        else:
            untraced.append(out.wall_s)
        folder = scratch / f"traces{rep}"
        folder.mkdir()
        out, why = run_once(job, program, inputs, work, str(job.recorder), folder)
        processes = layout.read_folder(folder)
        if not why and not processes:
            why = f"no process wrote a trace: {RECORDER} did not take effect"
        if why:
            reasons.append(f"traced run {rep}: {why}")
        else:
            traced.append(out.wall_s)
        if rep == 1 and processes:  # the first traced run's files are the recording, even a failed run's
            main = layout.busiest(processes)
            root = layout.root_of(processes)
            placed = layout.assign(processes, traces / f"{program.name}{layout.SUFFIX}", main)
            layout.move(placed)
            kept = next(p for p in placed if p.destination == traces / f"{program.name}{layout.SUFFIX}")
            entry["trace"] = kept.destination.name if kept.destination else ""
            entry["main"] = {"pid": kept.pid, "program": kept.program, "events": kept.events,
                             "why": "the program's own process" if root is not None and root.source == kept.source
                             else f"the process with the most events (the program's own is "
                                  f"{root.program if root else '?'}, pid {root.pid if root else '?'})"}
            entry["processes"] = [p.to_json(traces) for p in placed]
            entry["events"] = sum(p.events for p in placed)
        shutil.rmtree(folder, ignore_errors=True)
        if job.heaptrack:
            heap = scratch / f"heaptrack{rep}"
            heap.mkdir()
            out, why = run_once(job, program, inputs, work, "", None,
                                [job.heaptrack, "-o", str(heap / "heaptrack.%p")])
            if why:  # heaptrack's own failure (its interpreter asserts on some programs): not the recording's
                heaptrack_reasons.append(f"heaptrack run {rep}: {why}")
            else:
                heaptrack_wall.append(out.wall_s)
                heaptrack_bytes.append(sum(f.stat().st_size for f in heap.iterdir() if f.is_file()))
            shutil.rmtree(heap, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    entry["wall_s_untraced"] = [round(w, 6) for w in untraced]
    entry["wall_s_traced"] = [round(w, 6) for w in traced]
    pairs = [t / u for u, t in zip(untraced, traced) if u > 0] if len(untraced) == len(traced) else []
    entry["overhead"] = round(statistics.median(pairs), 4) if pairs else None
    if job.heaptrack:
        # heaptrack's whole cost as a user pays it: its preload (with a backtrace per call) and
        # its interpreter, which compresses the data while the program runs.
        entry["wall_s_heaptrack"] = [round(w, 6) for w in heaptrack_wall]
        entry["heaptrack_bytes"] = heaptrack_bytes
        pairs = [h / u for u, h in zip(untraced, heaptrack_wall) if u > 0] \
            if len(untraced) == len(heaptrack_wall) else []
        entry["heaptrack_overhead"] = round(statistics.median(pairs), 4) if pairs else None
        entry["heaptrack_reason"] = "; ".join(heaptrack_reasons)[:results.MAX_TEXT]
    if reasons or "trace" not in entry:
        entry["status"] = "failed"
        entry["reason"] = "; ".join(reasons)[:results.MAX_TEXT] or "no trace recorded"
    return entry


def write_index(job: Job, entries: Sequence[dict[str, Any]]) -> None:
    results.write_json(job.folder / "traces" / "index.json", {
        "schema": INDEX_SCHEMA, "recorder": str(job.recorder), "scale": job.scale, "seed": job.seed,
        "threads": job.threads, "repetitions": job.repetitions, "timeout": job.timeout,
        "layout": "<program>.trace: the process with the most events; <program>-<pid>.trace: the others",
        "programs": list(entries)})


def record_suite(job: Job, prepare: Any) -> list[dict[str, Any]]:
    """Records every program of the job; `prepare(base, programs, scale, seed)` writes their
    inputs into base/inputs/<program> (the suite's own preparation). -> the index entries."""
    entries: list[dict[str, Any]] = []
    scratch = Path(tempfile.mkdtemp(prefix=".recording.", dir=job.folder / "traces"))
    try:
        write_index(job, entries)
        prepare(scratch, job.programs, job.scale, job.seed)
        started = time.monotonic()
        for i, program in enumerate(job.programs, start=1):
            entry = record_program(job, program, scratch / "inputs" / program.name, scratch)
            entries.append(entry)
            write_index(job, entries)
            elapsed = time.monotonic() - started
            eta = "done" if i == len(job.programs) else f"eta {clock(elapsed / i * (len(job.programs) - i))}"
            print(f"[{i}/{len(job.programs)} {clock(elapsed)} {eta}]".ljust(26) + summary_line(entry), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return entries


def summary_line(entry: dict[str, Any]) -> str:
    if entry["status"] != "ok" and "trace" not in entry:
        return f"{entry['program']}: FAILED: {entry['reason']}"
    main = entry["main"]
    per_event = next((p.get("bytes_per_event") for p in entry["processes"] if p["file"] == entry["trace"]), None)
    overhead = f", {entry['overhead']:.2f}x the untraced wall time" if entry.get("overhead") else ""
    if entry.get("heaptrack_overhead"):
        overhead += (f" (heaptrack {entry['heaptrack_overhead']:.2f}x, "
                     f"{statistics.median(entry['heaptrack_bytes']) / 1e6:.2f} MB)")
    elif entry.get("heaptrack_reason"):
        overhead += f" (heaptrack failed: {entry['heaptrack_reason'][:120]})"
    text = (f"{entry['program']}: traces/{entry['trace']} ({main['program']}, {main['events']:,} events"
            + (f", {per_event:.2f} bytes/event" if per_event else "") + ")"
            + (f" + {len(entry['processes']) - 1} other process{'es' if len(entry['processes']) != 2 else ''}"
               if len(entry["processes"]) > 1 else "") + overhead)
    return text + (f"; FAILED: {entry['reason']}" if entry["status"] != "ok" else "")


def print_summary(entries: Sequence[dict[str, Any]], folder: Path) -> None:
    ok = sum(e["status"] == "ok" for e in entries)
    print(f"programs --record: {ok} of {len(entries)} programs recorded -> {folder / 'traces'} "
          f"(index.json says what each file holds)", file=sys.stdout, flush=True)
