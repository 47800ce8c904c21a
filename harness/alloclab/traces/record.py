"""Records one program's allocations: `python3 -m alloclab.traces record OUT -- CMD [ARG...]`
(`./run_all.sh trace OUT -- CMD...` builds the recorder and runs this).

CMD runs with liballoclab_trace.so first in LD_PRELOAD (before any preload already there, whose
malloc the recorder then calls underneath) and ALLOCLAB_TRACE_DIR set to a fresh scratch
folder beside OUT, in which every process that loads the recorder writes `<pid>.trace`. CMD
gets this process's stdin, stdout and stderr and stays in its process group, so it reads the
terminal and gets Ctrl-C as it would without the recorder. When CMD ends, the files are moved
into place (alloclab.traces.layout): CMD's own process -> OUT, every other process ->
OUT's stem + `-<pid>.trace`, and a table of the processes goes to stderr (stdout is the
program's).

Nothing is left running: this process is made the child subreaper of everything CMD starts,
so a descendant that outlives CMD (detached, daemonised) is still found; it gets --linger
seconds to finish writing its trace, then SIGTERM, then SIGKILL (its trace is then truncated,
and the table says so). Interrupted (Ctrl-C, SIGTERM, SIGHUP): the signal reaches CMD, what is
left is killed, the scratch folder removed, nothing written, exit 128 + the signal.

OUT must be new: a recording is never mixed with an earlier one's files. OUT itself, and any
file named like this recording's others (OUT's stem + `-<pid>.trace` or `-<pid>-<k>.trace`),
already there is refused with one line naming it (valid: a new OUT, or remove the earlier
recording's files first). OUT's folder must exist and be writable; relative paths are the
caller's (run_all.sh runs this in its caller's folder). CMD is looked up on PATH (or is a path
to an executable file); one that is not found is refused before anything runs.
If this process is killed (even with SIGKILL), CMD gets SIGKILL from the kernel.

Exit status: CMD's (128 + N when signal N killed it); 1 when CMD succeeded but no process
wrote a trace (a static or set-user-ID program ignores LD_PRELOAD); 2 bad input: one line,
nothing written.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from alloclab.cli import UsageError, number
from alloclab.processes import die_with_parent_sigkill
from alloclab.preload import shared_library
from alloclab.programs import launch
from alloclab.registry import ROOT
from alloclab.traces import layout

DEFAULT_LIBRARY = ROOT / "build" / "release" / "harness" / "liballoclab_trace.so"
PR_SET_CHILD_SUBREAPER = 36
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
USAGE = "trace OUT.trace -- CMD [ARG...]"


@dataclass(frozen=True)
class Request:
    out: Path
    command: list[str]
    library: Path
    linger: float


HELP = (f"usage: {USAGE} [--library SO] [--linger SECONDS]; OUT new (no earlier OUT or OUT's "
        "stem-<pid>.trace beside it); python3 -m alloclab.traces --help explains")
LINGER = number(0, 3600, "seconds")


def parse(argv: list[str]) -> Request:
    """OUT, the options before `--`, the command after it: UsageError on anything wrong."""
    split = argv.index("--") if "--" in argv else len(argv)
    head, command = argv[:split], argv[split + 1:]
    library, linger = DEFAULT_LIBRARY, 10.0
    positional: list[str] = []
    given: set[str] = set()
    i = 0
    while i < len(head):
        arg = head[i]
        if arg in ("-h", "--help"):
            raise HelpWanted()
        if arg in ("--library", "--linger"):
            if arg in given:
                raise UsageError(f"{arg} given twice (valid: each option once; {USAGE})")
            given.add(arg)
            if i + 1 >= len(head):
                raise UsageError(f"{arg} needs a value (valid: {arg} {'FILE' if arg == '--library' else 'SECONDS'}; "
                                 f"{USAGE})")
            value = head[i + 1]
            if arg == "--library":
                if not value.strip():
                    raise UsageError(f"bad --library '{value}' (valid: liballoclab_trace.so of a build)")
                library = Path(value)
            else:
                try:
                    linger = LINGER(value)
                except argparse.ArgumentTypeError:
                    raise UsageError(f"bad --linger '{value[:80]}' (valid: seconds from 0 to 3600)") from None
            i += 2
            continue
        if arg.startswith("-") and arg != "-" and not positional:
            raise UsageError(f"unknown option {arg!r} (valid: --library FILE, --linger SECONDS; {USAGE})")
        positional.append(arg)
        i += 1
    if split == len(argv):
        raise UsageError(f"no command: give it after '--' (valid: {USAGE})")
    if len(positional) != 1:
        raise UsageError(f"give one OUT file before '--', not {len(positional)} (valid: {USAGE})")
    out = check_out(positional[0])
    if not command:
        raise UsageError(f"no command after '--' (valid: {USAGE})")
    check_command(command[0])
    why = shared_library(library) if library.exists() else "does not exist"
    if why is not None:
        raise UsageError(f"the recorder '{library}' {why} (valid: liballoclab_trace.so; build it: cmake --build "
                         "--preset release --target alloclab_trace)")
    return Request(out, command, library.resolve(), linger)


class HelpWanted(Exception):
    """-h or --help among the options: the help is printed, nothing run."""


def earlier_files(out: Path) -> list[Path]:
    """What an earlier recording to `out` left: OUT itself and its STEM-<pid>[-k].trace siblings."""
    stem = layout.stem_of(out)
    sibling = re.compile(re.escape(stem) + r"-[0-9]{1,10}(?:-[0-9]{1,6})?" + re.escape(layout.SUFFIX))
    found = [out] if os.path.lexists(out) else []
    try:
        found += sorted(out.parent / n for n in os.listdir(out.parent) if sibling.fullmatch(n))
    except OSError:
        pass
    return found


def check_out(text: str) -> Path:
    if not text.strip():
        raise UsageError(f"bad OUT '{text}' (valid: the trace file to write, e.g. prog.trace)")
    out = Path(os.path.abspath(text))
    if out.is_dir():
        raise UsageError(f"OUT '{text}' is a folder (valid: a file name, e.g. {text.rstrip('/')}/prog.trace)")
    if os.path.lexists(out) and not out.is_file():
        raise UsageError(f"OUT '{text}' exists and is not a regular file (valid: a new file name, e.g. prog.trace)")
    if not out.parent.is_dir():
        raise UsageError(f"OUT '{text}': the folder {out.parent} does not exist (valid: a file in an existing folder)")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise UsageError(f"OUT '{text}': cannot write in {out.parent} (permission denied) (valid: a file in a "
                         "writable folder)")
    earlier = earlier_files(out)
    if earlier:
        names = ", ".join(p.name for p in earlier[:5]) + (f" and {len(earlier) - 5} more" if len(earlier) > 5 else "")
        raise UsageError(f"OUT '{text}': an earlier recording is there ({names}) (valid: a new OUT, or remove "
                         f"the earlier recording's files first: {layout.stem_of(out)}.trace and "
                         f"{layout.stem_of(out)}-<pid>.trace)")
    return out


def check_command(name: str) -> None:
    if not name:
        raise UsageError("bad command '' after '--' (valid: a program on PATH or the path of an executable file)")
    if "/" in name:
        path = Path(name)
        if not path.exists():
            raise UsageError(f"command '{name}' does not exist (valid: a program on PATH or the path of an "
                             "executable file)")
        if path.is_dir() or not os.access(path, os.X_OK):
            raise UsageError(f"command '{name}' is not an executable file (valid: a program on PATH or the path "
                             "of an executable file)")
    elif shutil.which(name) is None:
        raise UsageError(f"command '{name}' not found on PATH (valid: a program on PATH or the path of an "
                         "executable file)")


# ----------------------------------------------------------------------------- the process tree

def _descendants() -> list[int]:
    """Every live process below this one."""
    return [p for p in launch.descendants(os.getpid()) if p != os.getpid()]


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _signal_all(sig: int) -> None:
    for pid in _descendants():
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _reap() -> None:
    """Reaps every exited descendant this process inherited as their subreaper."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _terminal_sends_to_us() -> bool:
    """Whether a Ctrl-C at the terminal reaches CMD without us: CMD shares our process group,
    which is the terminal's foreground group."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


@dataclass
class Outcome:
    status: int = 0                 # CMD's exit status, 128 + N for signal N
    interrupted: int = 0            # the signal that interrupted the recording, or 0
    killed: list[int] = field(default_factory=list)  # descendants killed after CMD ended
    root_pid: int = 0


def run(command: list[str], env: dict[str, str], linger: float) -> Outcome:
    """Runs CMD to its end and every descendant to its end or --linger, forwarding signals."""
    outcome = Outcome()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    from_terminal = _terminal_sends_to_us()

    def forward(sig: int, _frame: FrameType | None) -> None:
        first = not outcome.interrupted
        outcome.interrupted = outcome.interrupted or sig
        # A Ctrl-C at the terminal already reached CMD's group; anything else is passed on once.
        if not (from_terminal and sig in (signal.SIGINT, signal.SIGQUIT)) or not first:
            _signal_all(sig)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        try:
            # CMD stays in this process group (the terminal's Ctrl-C reaches it) and dies with
            # this process, even when it is killed with SIGKILL.
            process = subprocess.Popen(command, env=env, preexec_fn=die_with_parent_sigkill)
        except OSError as e:  # found and executable, yet the kernel would not run it
            raise UsageError(f"command '{command[0]}' cannot be run: {e.strerror} (valid: an executable the "
                             "kernel can run)") from None
        outcome.root_pid = process.pid
        deadline: float | None = None
        while process.poll() is None:
            if outcome.interrupted and deadline is None:
                deadline = time.monotonic() + 3.0  # what ignores the signal is killed after 3 s
            if deadline is not None and time.monotonic() > deadline:
                _signal_all(signal.SIGKILL)
            try:
                process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        code = process.returncode
        outcome.status = 128 - code if code < 0 else code
        if not outcome.interrupted:
            outcome.killed = _linger(linger, lambda: bool(outcome.interrupted))
        if outcome.interrupted:
            _signal_all(signal.SIGKILL)
        _wait_all()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return outcome


def _linger(seconds: float, interrupted: Callable[[], bool]) -> list[int]:
    """Waits for CMD's remaining descendants; what is still running after `seconds` gets
    SIGTERM, then SIGKILL a second later. -> the pids that had to be signalled."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if interrupted():
            return []
        _reap()
        if not any(_running(p) for p in _descendants()):
            return []
        time.sleep(0.02)
    left = [p for p in _descendants() if _running(p)]
    if left:
        _signal_all(signal.SIGTERM)
        end = time.monotonic() + 1.0
        while time.monotonic() < end and any(_running(p) for p in _descendants()):
            _reap()
            time.sleep(0.02)
        _signal_all(signal.SIGKILL)
    return left


def _wait_all() -> None:
    """Reaps every descendant (all of them signalled or gone by now)."""
    end = time.monotonic() + 10.0
    while time.monotonic() < end:
        _reap()
        if not _descendants():
            return
        time.sleep(0.01)


# ----------------------------------------------------------------------------- the command

def record_environment(library: Path, folder: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a recorded process runs in: the recorder first in LD_PRELOAD."""
    env = dict(os.environ if base is None else base)
    earlier = env.get("LD_PRELOAD", "").strip()
    env["LD_PRELOAD"] = f"{library} {earlier}" if earlier else str(library)
    env["ALLOCLAB_TRACE_DIR"] = str(folder)
    return env


def say(text: str) -> None:
    print(f"trace: {text}", file=sys.stderr, flush=True)


def report(processes: list[layout.Process], main: layout.Process | None, folder: Path, root_pid: int) -> None:
    total = sum(p.events for p in processes)
    say(f"{len(processes)} process{'es' if len(processes) != 1 else ''} recorded, {total:,} events, into {folder}/ "
        "(* the command's own process):")
    print(layout.table(processes, main, folder), file=sys.stderr)
    top = layout.busiest(processes)
    if main is None:
        say(f"the command itself (pid {root_pid}) wrote no trace (it did not load the recorder, or it died "
            "before its first allocation); its children's are above")
    if top is not None and top.destination is not None:
        say(f"most events: {top.destination} ({top.program}, pid {top.pid}, {top.events:,} events)")
        say(f"inspect: ./run_all.sh trace info {top.destination}; replay: ./run_all.sh sweep --workloads "
            f"trace:{top.destination}")


def main(argv: list[str]) -> int:
    try:
        request = parse(argv)
    except HelpWanted:
        print(__doc__)
        return 0
    except UsageError as e:
        say(str(e))
        return 2
    scratch = Path(tempfile.mkdtemp(prefix=f".{request.out.name}.", suffix=".tmp", dir=request.out.parent))
    try:
        try:
            outcome = run(request.command, record_environment(request.library, scratch), request.linger)
        except UsageError as e:
            say(str(e))
            return 2
        if outcome.interrupted:
            say(f"interrupted by {signal.Signals(outcome.interrupted).name}: the program and everything it "
                "started were stopped; nothing written")
            return 128 + outcome.interrupted
        processes = layout.read_folder(scratch)
        if not processes:
            say(f"no process wrote a trace: '{request.command[0]}' did not load {request.library.name} "
                "(a static or set-user-ID program ignores LD_PRELOAD); nothing written")
            return outcome.status or 1
        main_process = layout.root_of(processes, outcome.root_pid)
        placed = layout.assign(processes, request.out, main_process)
        layout.move(placed)
        report(placed, next((p for p in placed if p.destination == request.out), None) if main_process else None,
               request.out.parent, outcome.root_pid)
        if outcome.killed:
            say(f"{len(outcome.killed)} process{'es' if len(outcome.killed) != 1 else ''} still ran "
                f"{request.linger:g} s after the command ended and {'were' if len(outcome.killed) != 1 else 'was'} "
                f"stopped (pid {', '.join(map(str, outcome.killed))}): {'their traces are' if len(outcome.killed) != 1 else 'its trace is'} truncated")
        return outcome.status
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
