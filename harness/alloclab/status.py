"""alloclab status: where a run stands, read from its folder.

  python3 -m alloclab.status DIR [DIR ...]

DIR is a SLURM run folder (made by `./run_all.sh sweep --slurm` or `programs --slurm`), a sweep's
folder or a programs run's folder (a whole run or one shard of it, made by hand). For each
shard: done, running (a process holds the folder's lock, or SLURM says so), pending (queued),
failed (stopped before its end: the reason from the task's log or the folder) or not started;
the units (sweep) or runs (programs) recorded out of the shard's, and the cases that failed with
their reasons. Nothing is written; SLURM is asked (squeue) when it is there.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from alloclab import results
from alloclab.cli import Parser, UsageError, one_line
from alloclab.processes import in_use
from alloclab.results import ResultsError

# How many failed cases are listed per shard (the rest are counted).
SHOWN_FAILURES = 5


def fail(message: str) -> NoReturn:
    print(one_line(f"status: {message}"), file=sys.stderr)
    sys.exit(2)


@dataclass
class ShardState:
    """One shard as its folder (and SLURM) show it."""
    label: str
    state: str  # done, running, pending, failed, not started
    done: int = 0
    total: int = 0
    what: str = "units"
    failures: list[str] = field(default_factory=list)
    node: str = ""
    note: str = ""

    def lines(self) -> list[str]:
        counts = "" if not self.what else \
            f"{self.done}/{self.total} {self.what}" if self.total else f"{self.done} {self.what}"
        head = f"  {self.label:<12} {self.state:<11} {counts}".rstrip()
        if self.failures:
            head += f", {len(self.failures)} failed case{'s' if len(self.failures) != 1 else ''}"
        if self.node:
            head += f"  [{self.node}]"
        out = [head]
        if self.note:
            out.append(f"      {self.note}")
        out += [f"      failed: {f}" for f in self.failures[:SHOWN_FAILURES]]
        if len(self.failures) > SHOWN_FAILURES:
            out.append(f"      ... and {len(self.failures) - SHOWN_FAILURES} more (results.csv's reason column)")
        return out


# ----------------------------------------------------------------------------- a sweep's folder

def sweep_progress(folder: Path) -> tuple[int, int, list[str], str, str]:
    """-> (units with a record, units of its shard, failed cases with reasons, node, shard K/N)."""
    from alloclab import sweep  # its plan reader and its rule for a unit that is done
    plan = sweep.read_plan(folder)
    raw = folder / "raw"
    units = plan.units()
    done = [u for u in units if raw.is_dir() and sweep.unit_done(raw, u, plan)]
    failures: list[str] = []
    for u in done:
        for path in sweep.unit_records(raw, u):
            try:
                record = results.read_unit_file(path)
            except ResultsError:
                continue
            failures += [f"{r.workload}/{r.allocator}/threads:{r.threads} r{r.repetition}: {r.reason or 'no reason'}"
                         for r in record.rows if r.status == "failed"]
    node = sweep.node_label(plan.node) if plan.node else ""
    facts_path = folder / "machine.json"
    if facts_path.is_file():  # the node it finished on, if it moved
        try:
            facts = results.read_json(facts_path)
            if isinstance(facts, dict) and isinstance(facts.get("node"), dict):
                node = sweep.node_label(facts["node"])
        except ResultsError:
            pass
    return len(done), len(units), failures, node, f"{plan.shard[0]}/{plan.shard[1]}"


def programs_progress(folder: Path) -> tuple[int, int, list[str], str, str]:
    """-> (runs recorded, runs of its shard (0: not known), failed runs with reasons, node, K/N)."""
    from alloclab.programs import records
    from alloclab.programs.__main__ import Unit as ProgramUnit, plan_units, shard_units, unit_done
    base = folder / "programs"
    plan_path = base / "plan.json"
    plan = records.Plan.from_json(results.read_json(plan_path), str(plan_path))
    shard = (1, 1)
    command = base / "command.txt"
    if command.is_file():
        m = re.search(r"--shard[= ]([0-9]+)/([0-9]+)", command.read_text(encoding="utf-8", errors="replace"))
        if m:
            shard = (int(m.group(1)), int(m.group(2)))
            if not 1 <= shard[0] <= shard[1] <= 1_000_000:
                raise ResultsError(f"{command}: --shard {shard[0]}/{shard[1]} is not a shard (K/N, 1 <= K <= N)")
    units: list[ProgramUnit] = plan_units(list(plan.programs), [a.name for a in plan.allocators],  # type: ignore[arg-type]
                                          list(plan.threads), plan.repetitions)
    units = shard_units(units, *shard)
    raw = base / "raw"
    done, failures = 0, []
    for u in units:
        if not unit_done(raw, u):
            continue
        path = raw / f"{u.name}.json"
        done += 1
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("status", "ok") != "ok":
            failures.append(f"{u.program}/{u.allocator}/threads:{u.threads} r{u.repetition}: "
                            f"{str(doc.get('reason') or 'no reason')[:200]}")
    node = ""
    for facts_path in (base / "machine.json", folder / "machine.json"):
        if facts_path.is_file():
            try:
                facts = results.read_json(facts_path)
            except ResultsError:
                continue
            if isinstance(facts, dict):
                node = f"{facts.get('host_name') or 'unknown host'} ({facts.get('cpu_model') or 'unknown CPU'}, " \
                       f"{facts.get('num_cpus')} CPUs)"
                break
    return done, len(units), failures, node, f"{shard[0]}/{shard[1]}"


def folder_kind(folder: Path) -> str | None:
    if (folder / "plan.json").is_file():
        return "sweep"
    if (folder / "programs" / "plan.json").is_file():
        return "programs"
    return None


def shard_state(kind: str, folder: Path, label: str) -> ShardState:
    """A shard's folder, run by hand or by a task: its state from the folder alone."""
    progress = sweep_progress if kind == "sweep" else programs_progress
    done, total, failures, node, _ = progress(folder)
    from alloclab.slurm import shard_complete
    if in_use(folder) is not None:
        state = "running"
    elif shard_complete(kind, folder):
        state = "done"
    else:
        state = "failed"
    return ShardState(label, state, done, total, "units" if kind == "sweep" else "runs", failures, node)


# ----------------------------------------------------------------------------- a SLURM run

def log_reason(folder: Path, k: int | None, job: str) -> str:
    """Why a task or merge stopped, from the end of its log: SLURM's own line (CANCELLED, TIME
    LIMIT, NODE FAIL, OUT OF MEMORY) or the tool's last error."""
    name = f"shard-{k}.{job}.out" if k is not None else f"merge.{job}.out"
    path = folder / "logs" / name
    what = "task" if k is not None else "merge job"
    if not os.path.lexists(path):
        return f"no log (logs/{name}): the {what} never started"
    if not path.is_file():
        return f"logs/{name} is not a regular file: the {what}'s reason is not known"
    try:
        with open(path, "rb") as f:  # the end of the log: the reason is in its last lines
            f.seek(max(0, os.fstat(f.fileno()).st_size - 65536))
            text = f.read().decode("utf-8", errors="replace")
    except OSError as e:
        return f"cannot read logs/{name}: {e.strerror}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # SLURM's own line first: a cancelled task's tool may print its death after it, and which of
    # the two reaches the log last is a race.
    slurm_lines = [line for line in lines if "***" in line]
    for line in reversed(slurm_lines or lines):
        if slurm_lines or re.search(r"error|refused|Traceback|Killed|oom", line, re.IGNORECASE):
            return f"{line[:240]} (log: logs/{name})"
    return f"{(lines[-1] if lines else 'empty log')[:240]} (log: logs/{name})"


def slurm_status(folder: Path, shown: str) -> list[str]:
    from alloclab.slurm import merge_complete, queued_jobs, read_run, shard_complete, shard_started
    run = read_run(folder, shown)
    queued = queued_jobs(run.job_ids())
    last = run.submissions[-1] if run.submissions else {}
    array = str(last.get("array_job") or "")
    # The latest array that ran each shard (a resubmission names only the shards it reran).
    task_job: dict[int, str] = {}
    for submission in run.submissions:
        for k in submission.get("shards", []):
            if isinstance(k, int) and submission.get("array_job"):
                task_job[k] = str(submission["array_job"])
    out = [f"{shown}: {run.kind} on SLURM, {run.tasks} shard{'s' if run.tasks != 1 else ''}; "
           f"{len(run.submissions)} submission{'s' if len(run.submissions) != 1 else ''}, latest: "
           f"array {array or '-'}, merge {last.get('merge_job') or '-'}"]
    states: list[ShardState] = []
    for k in range(1, run.tasks + 1):
        shard = run.shard(k)
        job = task_job.get(k, array)
        in_queue = queued.get(f"{job}_{k}")
        if in_queue is None and job == array and len(queued) and f"{job}_[{k}]" in queued:
            in_queue = queued[f"{job}_[{k}]"]
        label = f"shard {k}/{run.tasks}"
        if shard_started(run.kind, shard):
            state = shard_state(run.kind, shard, label)
        else:
            state = ShardState(label, "not started", what="units" if run.kind == "sweep" else "runs")
        if in_queue is not None:
            slurm_state, reason, node = in_queue
            if slurm_state == "PENDING":
                state.state, state.note = "pending", f"job {job}_{k} queued ({reason})"
            elif state.state != "done":
                state.state = "running"
                state.note = f"job {job}_{k} {slurm_state.lower()} on {node}"
        elif state.state in ("failed", "not started") and job:
            state.state = "failed"
            state.note = log_reason(folder, k, job)
        states.append(state)
    merge_job = str(last.get("merge_job") or "")
    shards_complete = all(shard_complete(run.kind, run.shard(k)) for k in range(1, run.tasks + 1))
    if merge_complete(run):
        merge = ShardState("merge", "done", what="", note=f"{run.merged}/report.html")
    elif merge_job in queued:
        slurm_state, reason, node = queued[merge_job]
        merge = ShardState("merge", slurm_state.lower(), what="",
                           note=f"job {merge_job} " + (f"waiting ({reason})" if slurm_state == "PENDING" else
                                                        f"on {node}"))
    elif merge_job and (shards_complete or os.path.lexists(folder / "logs" / f"merge.{merge_job}.out")):
        merge = ShardState("merge", "failed", what="", note=log_reason(folder, None, merge_job))
    elif merge_job:
        merge = ShardState("merge", "cancelled", what="",
                           note="not run: a shard failed, so its dependency could never be met")
    else:
        merge = ShardState("merge", "not submitted", what="")
    for shard_or_merge in states + [merge]:
        out += shard_or_merge.lines()
    counts = {st: sum(s.state == st for s in states) for st in ("done", "running", "pending", "failed", "not started")}
    out.append("  " + ", ".join(f"{n} {st}" for st, n in counts.items() if n))
    if counts["failed"] or merge.state in ("failed", "cancelled"):
        resubmit = f"./run_all.sh {run.kind} --slurm --resume {shown}"
        if queued:  # a resubmission waits for the run's jobs (submit refuses while they are queued)
            jobs = " ".join(sorted({j.split("_")[0] for j in queued}))
            out.append(f"  resubmit what is missing once jobs {jobs} have left the queue: {resubmit}")
        else:
            out.append(f"  resubmit what is missing: {resubmit}")
    return out


def folder_status(folder: Path, shown: str) -> list[str]:
    from alloclab.slurm import is_run_folder
    if is_run_folder(folder):
        return slurm_status(folder, shown)
    kind = folder_kind(folder)
    if kind is None:
        raise UsageError(f"'{shown}' is not a run folder (no slurm.json, plan.json or programs/plan.json in it; "
                         "valid: a folder made by sweep run, programs run or a --slurm submission)")
    progress = sweep_progress if kind == "sweep" else programs_progress
    shard = progress(folder)[4]
    state = shard_state(kind, folder, f"shard {shard}" if shard != "1/1" else "run")
    if state.state == "failed":
        state.state = "stopped"
        state.note = f"stopped before its end: ./run_all.sh {kind} --resume {shown} completes it"
    head = f"{shown}: {kind} run by hand" + (f", shard {shard}" if shard != "1/1" else "")
    return [head] + state.lines()


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="status", description=__doc__)
    parser.add_argument("dirs", metavar="DIR", nargs="+", help="run folders")
    args = parser.parse_args(argv)
    blocks = []
    try:
        for text in args.dirs:
            folder = Path(text)
            if not text.strip() or not folder.is_dir():
                raise UsageError(f"'{text}' is not a folder (valid: run folders made by sweep run, programs run or "
                                 "a --slurm submission)")
            blocks.append(folder_status(folder.absolute(), text))
    except (UsageError, ResultsError) as e:
        fail(str(e))
    print("\n\n".join("\n".join(b) for b in blocks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
