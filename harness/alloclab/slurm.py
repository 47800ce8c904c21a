"""alloclab slurm: a sweep or a programs run as a SLURM job array, and its merge.

  python3 -m alloclab.slurm submit sweep|programs [--slurm-tasks N] [--slurm-args "ARGS"]
                                   [--out RUN | --results DIR] [--allow-mixed-machines] [OPTION...]
  python3 -m alloclab.slurm submit sweep|programs --resume RUN     resubmit what RUN is missing
  python3 -m alloclab.slurm task RUN     one array task: its shard (run by the batch script)
  python3 -m alloclab.slurm merge RUN    the merge job: the shards into RUN/merged, charts, report

(`./run_all.sh sweep --slurm ...` and `./run_all.sh programs --slurm ...` call submit.)

A run folder RUN holds:
  slurm.json           what was submitted: the tool, its options, the tasks, every submission's job ids
  shard.sbatch         the array's batch script (one task per shard: `sbatch shard.sbatch` resubmits it)
  merge.sbatch         the merge job's (submitted with --dependency=afterok on the array)
  logs/                each task's and each merge's output (shard-K.JOB.out, merge.JOB.out)
  shards/K/            shard K of N: a sweep (or programs) folder of its own, made by `run --shard K/N`
  merged/              the merged folder, with its charts and report, once every shard succeeded

Every option is checked before anything is submitted or written: the tool's own options by the
tool (`run --check`), the SLURM options by `sbatch --test-only`. Array tasks run `--exclusive`
by default (a benchmark sharing a node measures its neighbours; `--slurm-args --oversubscribe`
or any sbatch option overrides it). A task whose shard folder exists resumes it (`run --resume`),
so a failed or cancelled task loses only the unit it was running, and `submit --resume RUN`
submits again only the shards that are not complete, then a new merge job.
Each shard records its node (plan.json and machine.json: host, CPU model, CPUs, kernel); the
merge refuses shards from different CPU models or CPU counts unless the run was submitted with
--allow-mixed-machines. `./run_all.sh status RUN` shows where a run stands.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from alloclab import results
from alloclab.cli import Parser, UsageError, create_new_folder, integer, one_line
from alloclab.processes import die_with_launcher

ROOT = Path(__file__).resolve().parents[2]
RUN_FILE = "slurm.json"
SCHEMA = 1
KINDS = {"sweep": "alloclab.sweep", "programs": "alloclab.programs"}
DEFAULT_TASKS = 8
MAX_TASKS = 10_000
# Options of the tools that submit decides itself (a shard's folder and part, the run folder).
OWN_OPTIONS = ("--out", "--results", "--resume", "--shard", "--folder-file", "--check", "--record")
# A sweep's adaptive repetitions need the whole sweep in one process (sweep run refuses them with --shard).
ADAPTIVE_OPTIONS = ("--precision", "--max-repetitions", "--budget")
# sbatch's options that the run sets itself, long and short (getopt also takes a long option's
# unique prefix, and a short option's value attached: -o1).
RUN_SLURM_OPTIONS = {"--array": "-a", "--output": "-o", "--error": "-e", "--dependency": "-d"}
# What an #SBATCH line cannot carry (sbatch reads quotes there, but no escapes).
UNSAFE_IN_SCRIPT = re.compile(r"[\"'\\\x00-\x1f\x7f]")
# Set by run_all.sh for the tools it starts; a batch job is no child of the shell that submitted it.
LAUNCHER_VARIABLES = ("ALLOCLAB_PARENT_PID", "ALLOCLAB_CALLER_DIR")


def fail(message: str) -> NoReturn:
    print(one_line(f"slurm: {message}"), file=sys.stderr)
    sys.exit(2)


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- the run folder

@dataclass
class SlurmRun:
    """RUN/slurm.json: what was submitted."""
    folder: Path
    kind: str
    tasks: int
    options: list[str]
    slurm_args: list[str]
    allow_mixed_machines: bool
    python: str
    submissions: list[dict[str, Any]]

    def shard(self, k: int) -> Path:
        return self.folder / "shards" / str(k)

    @property
    def merged(self) -> Path:
        return self.folder / "merged"

    def job_ids(self) -> list[str]:
        return [str(s[key]) for s in self.submissions for key in ("array_job", "merge_job") if s.get(key)]

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "tool": "alloclab.slurm", "kind": self.kind, "tasks": self.tasks,
                "options": self.options, "slurm_args": self.slurm_args,
                "allow_mixed_machines": self.allow_mixed_machines, "python": self.python,
                "repository": str(ROOT), "submissions": self.submissions}

    def save(self) -> None:
        results.write_json(self.folder / RUN_FILE, self.to_json())


def is_run_folder(folder: Path) -> bool:
    return (folder / RUN_FILE).is_file()


def read_run(folder: Path, shown: str) -> SlurmRun:
    """RUN/slurm.json, every field checked: UsageError (one line) otherwise."""
    path = folder / RUN_FILE
    bad = f"'{shown}' is not a SLURM run folder ({path} is not what submit writes; valid: a folder made by " \
          "`./run_all.sh sweep --slurm` or `programs --slurm`)"
    if not path.is_file():
        raise UsageError(f"'{shown}' is not a SLURM run folder (no {RUN_FILE} in it; valid: a folder made by "
                         "`./run_all.sh sweep --slurm` or `programs --slurm`)")
    try:
        doc = results.read_json(path)
    except results.ResultsError:
        raise UsageError(bad) from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or doc.get("tool") != "alloclab.slurm":
        raise UsageError(bad)
    kind, tasks, options = doc.get("kind"), doc.get("tasks"), doc.get("options")
    slurm_args, submissions, python = doc.get("slurm_args"), doc.get("submissions"), doc.get("python")
    if not isinstance(kind, str) or kind not in KINDS or type(tasks) is not int or not 1 <= tasks <= MAX_TASKS or \
            not isinstance(options, list) or not all(isinstance(o, str) for o in options) or \
            not isinstance(slurm_args, list) or not all(isinstance(o, str) for o in slurm_args) or \
            not isinstance(submissions, list) or not all(isinstance(s, dict) for s in submissions) or \
            not isinstance(python, str) or not isinstance(doc.get("allow_mixed_machines"), bool) or \
            not all(valid_submission(s, tasks) for s in submissions):
        raise UsageError(bad)
    return SlurmRun(folder, kind, tasks, options, slurm_args, doc["allow_mixed_machines"], python, submissions)


def valid_submission(record: dict[str, Any], tasks: int) -> bool:
    """One entry of slurm.json's submissions, as submit_jobs writes it."""
    shards, array, merge = record.get("shards"), record.get("array_job"), record.get("merge_job")
    return isinstance(shards, list) and all(type(k) is int and 1 <= k <= tasks for k in shards) and \
        all(job is None or (isinstance(job, str) and re.fullmatch(r"[0-9]+", job) is not None)
            for job in (array, merge))


def shard_complete(kind: str, shard: Path) -> bool:
    """Whether a shard's run finished: its tool writes its table last (results.csv of a sweep,
    programs.csv of a programs run), once every unit has a record."""
    if kind == "sweep":
        return (shard / "plan.json").is_file() and (shard / "results.csv").is_file()
    return (shard / "programs" / "plan.json").is_file() and (shard / "programs.csv").is_file()


def merge_complete(run: SlurmRun) -> bool:
    """The merge job's work is done: the merged folder and its report (drawn last)."""
    return (run.merged / "report.html").is_file()


def shard_started(kind: str, shard: Path) -> bool:
    return (shard / ("plan.json" if kind == "sweep" else "programs/plan.json")).is_file()


# ----------------------------------------------------------------------------- SLURM's commands

def slurm_command(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise UsageError(f"no SLURM here: '{name}' is not on PATH (valid: a machine with SLURM's client commands, "
                         "e.g. a cluster's login node; without --slurm the run goes on this machine)")
    return path


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}


def sbatch(args: list[str], script: Path, what: str) -> str:
    """Submits (or with --test-only, checks) a batch script; -> the job id. UsageError with
    sbatch's own words when it refuses."""
    command = [slurm_command("sbatch"), *args, str(script)]
    done = subprocess.run(command, capture_output=True, text=True, errors="replace", env=clean_environment(),
                          timeout=120)
    said = " ".join((done.stderr.strip() or done.stdout.strip()).split())
    if done.returncode != 0:
        said = re.sub(r"^sbatch: (error: )?", "", said)[:300] or f"exit status {done.returncode}"
        raise UsageError(f"sbatch refused {what}: {said} (valid: options sbatch accepts on this cluster; "
                         "see `man sbatch`)")
    if "--test-only" in args:
        return ""
    job = done.stdout.strip().split(";")[0]
    if re.fullmatch(r"[0-9]+", job) is None:
        raise UsageError(f"sbatch gave no job id for {what} (it printed '{done.stdout.strip()[:120]}'; valid: "
                         "`sbatch --parsable` prints the job id, as SLURM's sbatch does)")
    return job


def cancel(jobs: list[str]) -> str:
    """scancel JOBS; -> '' when they are cancelled, else what stands in the way (for the user's
    one line, which then says to cancel them by hand)."""
    try:
        done = subprocess.run([slurm_command("scancel"), *jobs], capture_output=True, text=True, errors="replace",
                              env=clean_environment(), timeout=60)
    except (UsageError, OSError, subprocess.SubprocessError) as e:
        return str(e)
    if done.returncode != 0:
        return " ".join((done.stderr.strip() or f"exit status {done.returncode}").split())[:200]
    return ""


def queued_jobs(job_ids: list[str]) -> dict[str, tuple[str, str, str]]:
    """Jobs of `job_ids` still known to squeue: 'JOB' or 'JOB_TASK' -> (state, reason, node).
    {} when squeue is not here or does not answer (a finished job leaves the queue)."""
    if not job_ids or shutil.which("squeue") is None:
        return {}
    try:
        done = subprocess.run(["squeue", "--noheader", "--array", f"--jobs={','.join(job_ids)}",
                               "--format=%i|%T|%r|%N"], capture_output=True, text=True, errors="replace",
                              env=clean_environment(), timeout=60)
    except subprocess.TimeoutExpired:
        raise UsageError("squeue did not answer in 60 s (valid: a SLURM controller that answers; the run's folder "
                         "holds what its tasks wrote)") from None
    found: dict[str, tuple[str, str, str]] = {}
    for line in done.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 4:
            found[parts[0]] = (parts[1], parts[2], parts[3])
    return found


# ----------------------------------------------------------------------------- batch scripts

def sbatch_line(option: str) -> str:
    """An #SBATCH line; a value with spaces in double quotes (sbatch reads them there)."""
    if not re.search(r"\s", option):
        return f"#SBATCH {option}"
    name, eq, value = option.partition("=")
    if option.startswith("--") and eq:
        return f'#SBATCH {name}="{value}"'
    return f'#SBATCH {option[:2]}"{option[2:]}"'


def output_path(path: str) -> str:
    """A path for sbatch's --output, its % patterns (%j, %A, %a) still to come: a % of the path
    itself is written %%."""
    return path.replace("%", "%%")


def batch_script(run: SlurmRun, merge: bool) -> str:
    """A readable script: the SLURM options as #SBATCH lines (a user's after the defaults, so
    theirs win), then one command."""
    job = f"alloclab-{run.kind}" + ("-merge" if merge else "")
    lines = ["#!/bin/bash",
             f"# alloclab {run.kind} on SLURM: {'the merge of the shards' if merge else 'one array task per shard'}"
             f" of {run.folder}.",
             f"# Generated by alloclab.slurm submit on {utc_now()}; resubmit what is missing with",
             f"#   ./run_all.sh {run.kind} --slurm --resume {run.folder}",
             f"#SBATCH --job-name={job}"]
    if merge:
        lines += [sbatch_line(f"--output={output_path(str(run.folder))}/logs/merge.%j.out"), "#SBATCH --ntasks=1"]
    else:
        lines += [f"#SBATCH --array=1-{run.tasks}",
                  sbatch_line(f"--output={output_path(str(run.folder))}/logs/shard-%a.%A.out"),
                  "#SBATCH --exclusive", "#SBATCH --ntasks=1"]
    lines += [sbatch_line(a) for a in run.slurm_args]
    step = "merge" if merge else "task"
    lines += ["set -eu",
              "# A job is no child of the shell that submitted it: run_all.sh's variables do not apply.",
              "unset " + " ".join(LAUNCHER_VARIABLES),
              f"export PYTHONPATH={shlex.quote(f'{ROOT}/harness:{ROOT}')}",
              f"exec {shlex.quote(run.python)} -m alloclab.slurm {step} {shlex.quote(str(run.folder))}", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- submit

def split_options(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """submit's own options, and the rest: the tool's options, passed on unchanged."""
    own = {"--slurm-tasks": "tasks", "--slurm-args": "slurm_args", "--out": "out", "--results": "results",
           "--resume": "resume", "--folder-file": "folder_file"}
    ns = argparse.Namespace(tasks=None, slurm_args=None, out=None, results=None, resume=None, folder_file=None,
                            allow_mixed_machines=False)
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if arg in ("--slurm", "--allow-mixed-machines"):
            if arg == "--allow-mixed-machines":
                if ns.allow_mixed_machines:
                    raise UsageError("--allow-mixed-machines given twice (valid: each option once)")
                ns.allow_mixed_machines = True
            i += 1
            continue
        if name in own:
            if not eq:
                if i + 1 >= len(argv):
                    raise UsageError(f"{name} needs a value (valid: {name} VALUE)")
                value = argv[i + 1]
                i += 1
            if getattr(ns, own[name]) is not None:
                raise UsageError(f"{name} given twice (valid: each option once)")
            setattr(ns, own[name], value)
        elif name in ADAPTIVE_OPTIONS:
            raise UsageError(f"{name} is not for a SLURM run: --precision adapts one sweep's repetitions as it runs, "
                             "and each shard sees only its part (valid: ./run_all.sh sweep --precision P without "
                             "--slurm, or --repetitions N)")
        elif name in OWN_OPTIONS:
            raise UsageError(f"{name} is not for a SLURM run: the run decides each shard's folder and part itself "
                             "(valid: the tool's selection options; --out RUN or --results DIR for the run folder)")
        elif name.startswith("--") and len(name) > 2 and \
                any(o.startswith(name) for o in (*OWN_OPTIONS, *ADAPTIVE_OPTIONS, *own, "--allow-mixed-machines",
                                                "--slurm")):
            # argparse would read it as the option it abbreviates, which the run sets itself
            raise UsageError(f"{name} abbreviates an option of the run (valid: options spelled in full)")
        else:
            rest.append(arg)
        i += 1
    return ns, rest


def tool_check(kind: str, options: list[str], tasks: int | None) -> int:
    """The tool checks its options as a shard's would be (`run --check`); -> its units (passes
    of a programs run). Its one-line refusal is passed on."""
    # A shard writes its own folder (--out): the check gets one too, in the system's temporary
    # folder, so the default results folder's state does not decide (run_folder checks RUN's).
    with tempfile.TemporaryDirectory(prefix="alloclab-slurm-check-") as temp:
        command = [sys.executable, "-m", KINDS[kind], "run", *options, "--out", str(Path(temp) / "shard"), "--check"]
        done = subprocess.run(command, capture_output=True, text=True, errors="replace", env=os.environ.copy())
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or [f"{kind} run exited {done.returncode}"])[-1]
        print(message, file=sys.stderr)
        sys.exit(done.returncode if done.returncode == 2 else 1)
    m = re.search(r"the options are valid: ([0-9]+) (units?|pass(?:es)?)\b", done.stdout)
    if m is None:
        raise UsageError(f"{kind} run --check did not say how many units the run has")
    return int(m.group(1))


def parse_slurm_args(text: str) -> list[str]:
    try:
        args = shlex.split(text)
    except ValueError as e:
        raise UsageError(f"bad --slurm-args '{text[:120]}': {e} (valid: sbatch options, quoted as for a shell, "
                         "e.g. \"--partition=bench --time=2:00:00\")") from None
    for a in args:
        if not a.startswith("-") or a in ("-", "--"):
            raise UsageError(f"bad --slurm-args '{text[:120]}': '{a[:60]}' is not an sbatch option (valid: options "
                             "starting with -, a value joined by =, e.g. \"--partition=bench --time=2:00:00\")")
        if UNSAFE_IN_SCRIPT.search(a):
            raise UsageError(f"bad --slurm-args: '{a[:60]}' holds a quote, a backslash or a control character, which "
                             "an #SBATCH line of the batch script cannot carry (valid: sbatch options without them; "
                             "spaces are fine)")
        name = a.split("=")[0]
        owned = next((long for long, short in RUN_SLURM_OPTIONS.items()
                      if (name.startswith("--") and len(name) > 2 and long.startswith(name)) or
                      (not name.startswith("--") and a[:2] == short)), None)
        if owned is not None:
            raise UsageError(f"bad --slurm-args: '{a[:60]}' is {owned}, which the run sets itself (valid: other sbatch "
                             "options, spelled in full, e.g. --partition, --time, --account, --constraint)")
    return args


def submit_jobs(run: SlurmRun, shards: list[int], merge_only: bool = False) -> dict[str, Any]:
    """The array (only `shards`) and a merge job after it; -> the submission's record. A failed
    merge submission cancels the array, so nothing half-submitted is left."""
    record: dict[str, Any] = {"submitted_utc": utc_now(), "shards": shards}
    merge_args = ["--parsable"]
    if not merge_only:
        array = sbatch(["--parsable", f"--array={compact(shards)}"], run.folder / "shard.sbatch", "the array")
        record["array_job"] = array
        merge_args += [f"--dependency=afterok:{array}", "--kill-on-invalid-dep=yes"]
    try:
        record["merge_job"] = sbatch(merge_args, run.folder / "merge.sbatch", "the merge job")
    except BaseException as e:
        withdraw(record, e)
        raise
    return record


def withdraw(record: dict[str, Any], error: BaseException) -> None:
    """Cancels what a submission that failed half-way had submitted; when that fails too, the
    error (a UsageError, so one line) says which jobs are left and how to cancel them."""
    jobs = [str(record[k]) for k in ("array_job", "merge_job") if record.get(k)]
    if not jobs:
        return
    why = cancel(jobs)
    if why:
        first = str(error) if isinstance(error, UsageError) else f"the submission was interrupted ({type(error).__name__})"
        raise UsageError(f"{first}; jobs {' '.join(jobs)} it had submitted could not be cancelled ({why}) "
                         f"(valid: cancel them yourself: scancel {' '.join(jobs)})") from None


def compact(numbers: list[int]) -> str:
    """1,2,3,5 -> 1-3,5 (sbatch's --array syntax)."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in numbers[1:] + [-1]:
        if n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ",".join(parts)


def submit_new(kind: str, ns: argparse.Namespace, options: list[str]) -> int:
    slurm_command("sbatch")
    if ns.out is not None and ns.results is not None:
        raise UsageError("give --out RUN or --results DIR, not both (valid: --out, the run folder; or --results, "
                         "the folder of run folders)")
    slurm_args = parse_slurm_args(ns.slurm_args) if ns.slurm_args is not None else []
    tasks_wanted = None
    if ns.tasks is not None:
        try:
            tasks_wanted = integer(1, MAX_TASKS, "a count of array tasks")(ns.tasks)
        except argparse.ArgumentTypeError as e:
            raise UsageError(f"--slurm-tasks: {e}") from None
    units = tool_check(kind, options, tasks_wanted)
    if tasks_wanted is not None and tasks_wanted > units:
        raise UsageError(f"bad --slurm-tasks {tasks_wanted}: the run has {units} "
                         f"{'units' if kind == 'sweep' else 'passes'}, so some tasks would run nothing "
                         f"(valid: 1 to {units})")
    tasks = tasks_wanted or min(units, DEFAULT_TASKS)
    folder = run_folder(ns, kind)
    folder_file = None
    if ns.folder_file is not None:
        folder_file = Path(os.path.abspath(ns.folder_file))
        if not ns.folder_file or folder_file.is_dir() or not folder_file.parent.is_dir():
            raise UsageError(f"--folder-file '{ns.folder_file}' is not a file in an existing folder "
                             "(valid: the path of a new or a regular file)")
    run = SlurmRun(folder, kind, tasks, options, slurm_args, ns.allow_mixed_machines, sys.executable, [])
    # sbatch checks both scripts (and --slurm-args) before the folder exists (the scripts are
    # checked from the system's temporary folder: nothing beside the run folder is touched).
    with tempfile.TemporaryDirectory(prefix="alloclab-slurm-check-") as temp:
        for merge in (False, True):
            script = Path(temp) / "check.sbatch"
            script.write_text(batch_script(run, merge))
            sbatch(["--test-only"], script, f"--slurm-args '{' '.join(slurm_args)}'" if slurm_args else
                   "the batch script")
    folder = create_new_folder(folder, retry=ns.out is None)
    run.folder = folder
    try:
        (folder / "logs").mkdir()
        (folder / "shards").mkdir()
        for merge, name in ((False, "shard.sbatch"), (True, "merge.sbatch")):
            results.write_atomically(folder / name, batch_script(run, merge))
            os.chmod(folder / name, 0o755)
        run.save()
        record = submit_jobs(run, list(range(1, tasks + 1)))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    run.submissions.append(record)
    record_submission(run, record)
    print(f"slurm: submitted {kind} as job array {record['array_job']} ({tasks} tasks, one shard each) and merge job "
          f"{record['merge_job']} (runs once every task succeeded)")
    print(f"slurm: run folder {folder}\nslurm: progress: ./run_all.sh status {folder}\n"
          f"slurm: when done: {folder}/merged/report.html")
    if folder_file is not None:
        results.write_atomically(folder_file, f"{folder}\n")
    return 0


def run_folder(ns: argparse.Namespace, kind: str) -> Path:
    if ns.out is not None:
        if not ns.out.strip():
            raise UsageError("--out '' names no folder (valid: the path of a new folder)")
        folder = Path(os.path.abspath(ns.out))
        if os.path.lexists(folder):
            raise UsageError(f"--out '{ns.out}' exists already (valid: a new folder; --resume RUN resubmits a "
                             "run's missing shards)")
    else:
        base = Path(os.path.abspath(ns.results)) if ns.results is not None else ROOT / "results"
        if ns.results is not None and (not ns.results.strip() or not base.is_dir()):
            raise UsageError(f"--results '{ns.results}' is not a folder (valid: an existing folder of run folders)")
        base.mkdir(exist_ok=True)
        folder = base / results.new_run_name(f"-{kind}-slurm")
    if UNSAFE_IN_SCRIPT.search(str(folder)):
        raise UsageError(f"run folder '{folder}' holds a quote, a backslash or a control character, which the batch "
                         "script's #SBATCH lines cannot carry (valid: a path without them)")
    if not folder.parent.is_dir() or not os.access(folder.parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot create run folder '{folder}': {folder.parent} is not a writable folder "
                         "(valid: a new folder in a writable one)")
    return folder


def record_submission(run: SlurmRun, record: dict[str, Any]) -> None:
    """slurm.json with the new submission; jobs that cannot be recorded are cancelled (a run
    must know its jobs: status and --resume go by them)."""
    try:
        run.save()
    except BaseException as e:
        run.submissions.remove(record)
        withdraw(record, e)
        if isinstance(e, OSError):
            raise UsageError(f"cannot write {run.folder / RUN_FILE}: {e.strerror}; the jobs were cancelled (valid: a "
                             "run folder you can write)") from None
        raise


def submit_again(kind: str, ns: argparse.Namespace, options: list[str]) -> int:
    """--resume RUN: the shards that are not complete, then a merge; nothing while the run's
    jobs are queued or running."""
    for name in ("tasks", "slurm_args", "out", "results"):
        if getattr(ns, name) is not None:
            option = {"tasks": "--slurm-tasks", "slurm_args": "--slurm-args"}.get(name, f"--{name}")
            raise UsageError(f"{option} with --resume: a run keeps the options it was submitted with "
                             f"(valid: --resume RUN alone; edit {RUN_FILE}'s scripts to change SLURM options)")
    if options or ns.allow_mixed_machines:
        raise UsageError(f"'{(options or ['--allow-mixed-machines'])[0]}' with --resume: a run keeps the options it "
                         "was submitted with (valid: --resume RUN alone)")
    if not ns.resume.strip():
        raise UsageError("--resume '' names no folder (valid: a SLURM run folder)")
    folder = Path(os.path.abspath(ns.resume))
    run = read_run(folder, ns.resume)
    if run.kind != kind:
        raise UsageError(f"--resume '{ns.resume}' is a {run.kind} run, not a {kind} run (valid: "
                         f"./run_all.sh {run.kind} --slurm --resume {ns.resume})")
    slurm_command("sbatch")
    queued = queued_jobs(run.job_ids())
    if queued:
        ids = ", ".join(sorted(queued))
        raise UsageError(f"--resume '{ns.resume}': jobs of the run are still queued or running ({ids}) (valid: wait "
                         f"for them, or cancel them: scancel {' '.join(sorted({j.split('_')[0] for j in queued}))})")
    missing = [k for k in range(1, run.tasks + 1) if not shard_complete(kind, run.shard(k))]
    if not missing and merge_complete(run):
        print(f"slurm: nothing to resubmit: every shard is complete and merged ({run.merged})")
        return 0
    # The tasks write into shards/ and logs/, and submit into slurm.json: all checked first.
    for sub in (run.folder / "shards", run.folder / "logs"):
        if os.path.lexists(sub) and not sub.is_dir():
            raise UsageError(f"--resume '{ns.resume}': {sub} is not a folder (valid: a run folder as submit made it)")
    if not all(os.access(p, os.W_OK) for p in (run.folder, run.folder / RUN_FILE)):
        raise UsageError(f"--resume '{ns.resume}': the run folder cannot be written (valid: a run folder you can "
                         "write)")
    for sub in (run.folder / "shards", run.folder / "logs"):
        sub.mkdir(exist_ok=True)  # removed by hand: its shards run again from scratch
    record = submit_jobs(run, missing, merge_only=not missing)
    run.submissions.append(record)
    record_submission(run, record)
    what = f"job array {record['array_job']} (shards {compact(missing)}) and " if missing else ""
    print(f"slurm: resubmitted {what}merge job {record['merge_job']}\nslurm: progress: ./run_all.sh status {folder}")
    return 0


# ----------------------------------------------------------------------------- in the jobs

def command_task(folder: Path) -> int:
    """One array task: a new shard, or the resume of one a failed task left."""
    run = read_run(folder, str(folder))
    text = os.environ.get("SLURM_ARRAY_TASK_ID", "")
    if re.fullmatch(r"[0-9]{1,9}", text) is None or not 1 <= int(text) <= run.tasks:
        raise UsageError(f"SLURM_ARRAY_TASK_ID '{text}' is not a task of the run (valid: 1 to {run.tasks}, set by "
                         "SLURM in an array task)")
    k = int(text)
    shard = run.shard(k)
    module = KINDS[run.kind]
    if shard_started(run.kind, shard):
        argv = ["run", "--resume", str(shard)]
    else:
        if shard.exists():  # made, but killed before its plan: it holds no result
            shutil.rmtree(shard)
        argv = ["run", *run.options, "--shard", f"{k}/{run.tasks}", "--out", str(shard)]
    print(f"slurm: task {k}/{run.tasks} on {os.uname().nodename}: {module} {shlex.join(argv)}", flush=True)
    os.execv(run.python, [run.python, "-m", module, *argv])


def command_merge(folder: Path) -> int:
    """The merge job: every shard complete -> RUN/merged, then its charts and report."""
    run = read_run(folder, str(folder))
    missing = [k for k in range(1, run.tasks + 1) if not shard_complete(run.kind, run.shard(k))]
    if missing:
        raise UsageError(f"shards {compact(missing)} of {run.tasks} are not complete (valid: merge once every shard "
                         f"is; ./run_all.sh {run.kind} --slurm --resume {folder} runs them)")
    if merge_complete(run):
        print(f"slurm: {run.merged} is merged and drawn already: nothing to do")
        return 0
    shards = [str(run.shard(k)) for k in range(1, run.tasks + 1)]
    merge = [run.python, "-m", KINDS[run.kind], "merge", str(run.merged), *shards]
    if run.allow_mixed_machines and run.kind == "sweep":
        merge.append("--allow-mixed-machines")
    # A merge whose charts failed left a whole merged folder (merge renames it into place
    # complete): only the charts and report are drawn again.
    commands = [merge] if not run.merged.exists() else []
    for command in commands + [[run.python, "-m", "plots", str(run.merged)]]:
        print(f"slurm: {shlex.join(command)}", flush=True)
        done = subprocess.run(command)
        if done.returncode != 0:
            return done.returncode
    print(f"slurm: merged {run.tasks} shards -> {run.merged}/report.html")
    return 0


# ----------------------------------------------------------------------------- main

def unwind(signum: int, _frame: Any) -> None:
    """A SIGTERM or SIGHUP unwinds like an exception: temporary folders and a half-made run
    folder are removed, a half-made submission withdrawn."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    die_with_launcher()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, unwind)
    argv = sys.argv[1:] if argv is None else list(argv)
    valid = "valid: submit sweep|programs [OPTION...], task RUN, merge RUN"
    try:
        for arg in argv:
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                raise UsageError(f"'{arg[:120]}' is not UTF-8 (valid: options and paths in UTF-8: they are written "
                                 "into the batch scripts and slurm.json)") from None
        if not argv or argv[0] in ("-h", "--help"):
            print(__doc__)
            return 0
        command = argv[0]
        if command == "submit":
            if len(argv) < 2 or argv[1] not in KINDS:
                got = argv[1] if len(argv) > 1 else ""
                raise UsageError(f"submit: bad kind '{got}' (valid: sweep, programs)")
            if any(a in ("-h", "--help") for a in argv[2:]):
                print(__doc__)
                return 0
            ns, options = split_options(argv[2:])
            if ns.resume is not None:
                return submit_again(argv[1], ns, options)
            if ns.allow_mixed_machines and argv[1] != "sweep":
                raise UsageError("--allow-mixed-machines is for a sweep (valid: a programs run's shards run on one "
                                 "kind of machine)")
            return submit_new(argv[1], ns, options)
        if command in ("task", "merge"):
            parser = Parser(prog=f"slurm {command}")
            parser.add_argument("run", metavar="RUN")
            args = parser.parse_args(argv[1:])
            folder = Path(os.path.abspath(args.run))
            return command_task(folder) if command == "task" else command_merge(folder)
        raise UsageError(f"unknown command '{command[:60]}' ({valid})")
    except UsageError as e:
        fail(str(e))
    except subprocess.TimeoutExpired as e:
        fail(f"{e.cmd[0]} did not answer in {e.timeout:.0f} s (valid: a SLURM controller that answers)")


if __name__ == "__main__":
    sys.exit(main())
