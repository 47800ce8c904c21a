"""Running one measured process: its rusage from wait4, its RSS over time, a hard timeout.

The process is started by alloclab_launch (harness/src/rusage_launcher.c), which forks it,
preloads the allocator into it alone and reports its wait4 rusage: forked straight from
Python, its peak RSS would start at the runner's own. The launcher starts in a session of its own, so the whole tree (g++ and its cc1plus,
a server and anything it forks) is killed together on a timeout or when the run ends, and it
gets SIGTERM if the runner dies (PR_SET_PDEATHSIG), on which it SIGKILLs its process group, so a
killed suite leaves nothing behind.
A sampler thread reads /proc/PID/statm of the process and of every descendant (found through
/proc/PID/task/TID/children) every `interval` seconds: the RSS-over-time series is the sum
over the tree, while wait4's ru_maxrss is the largest single process of it.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alloclab.processes import die_with_parent_sigterm
from alloclab.programs.catalog import Drive

PAGE = os.sysconf("SC_PAGE_SIZE")
MAX_OUTPUT = 16 << 20  # the last bytes of stdout kept for the check (the checks read answers at the end)


# SIGTERM, not SIGKILL: alloclab_launch catches it and kills its whole process group, so a
# compiler that g++ started (a grandchild) goes too.
_die_with_parent = die_with_parent_sigterm


def descendants(pid: int) -> list[int]:
    """pid and every live descendant (children lists of every thread, recursively)."""
    out: list[int] = []
    todo = [pid]
    while todo and len(out) < 100_000:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return out


def tree_rss(pid: int) -> int:
    """RSS of pid's descendants (the launcher itself not counted)."""
    total = 0
    for p in descendants(pid)[1:]:
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            continue  # exited between the listing and the read
    return total


@dataclass
class Outcome:
    """What one run of a measured process gave."""
    returncode: int | None = None     # negative: killed by that signal
    timed_out: bool = False
    wall_s: float = 0.0
    user_s: float = 0.0
    sys_s: float = 0.0
    peak_rss_bytes: int = 0
    minor_faults: int = 0
    major_faults: int = 0
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (seconds, RSS bytes of the tree)
    stdout: str = ""
    stderr: str = ""
    drive: Drive | None = None
    drive_error: str = ""


class Sampler(threading.Thread):
    def __init__(self, pid: int, started: float, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.started, self.interval = pid, started, interval
        self.stop = threading.Event()
        self.timeline: list[tuple[float, int]] = []

    def run(self) -> None:
        while not self.stop.is_set():
            rss = tree_rss(self.pid)
            if rss:
                self.timeline.append((round(time.monotonic() - self.started, 4), rss))
            self.stop.wait(self.interval)


def _kill_tree(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_until(pid: int, deadline: float) -> bool:
    """True once pid has exited (not reaped), False at the deadline."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        fd = -1
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if fd >= 0:
                if select.select([fd], [], [], min(left, 1.0))[0]:
                    return True
            else:
                try:
                    if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                        return True
                except ChildProcessError:
                    return True
                time.sleep(min(left, 0.005))
    finally:
        if fd >= 0:
            os.close(fd)


def _tail(path: Path, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _report(path: Path) -> list[int] | None:
    """alloclab_launch's line: wall_ns utime_us stime_us maxrss_kib minflt majflt wait_status."""
    try:
        fields = [int(x) for x in path.read_text().split()]
    except (OSError, ValueError):
        return None
    return fields if len(fields) == 7 else None


def launch(launcher: Path, command: list[str], cwd: Path, env: dict[str, str], preload: str, timeout: float,
           drive: Callable[[float], Drive] | None = None, interval: float = 0.01,
           pass_fds: tuple[int, ...] = ()) -> Outcome:
    """Runs `command` under `preload` (LD_PRELOAD's value) to its end, or `timeout` seconds;
    `drive(deadline)` loads a server. `pass_fds`: descriptors the tree keeps (the run folder's
    lock, so that an orphan, should one survive, still holds the folder)."""
    out = Outcome()
    stdout_path, stderr_path, report = cwd / ".stdout", cwd / ".stderr", cwd / ".rusage"
    env = {k: v for k, v in env.items() if k != "LD_PRELOAD"} | {"ALLOCLAB_LAUNCH_PRELOAD": preload}
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        started = time.monotonic()
        deadline = started + timeout
        process = subprocess.Popen([str(launcher), str(report), *command], cwd=cwd, env=env,
                                   stdin=subprocess.DEVNULL, stdout=stdout,
                                   stderr=stderr, start_new_session=True, preexec_fn=_die_with_parent,
                                   pass_fds=pass_fds)
    sampler = Sampler(process.pid, started, interval)
    sampler.start()
    try:
        if drive is not None:
            try:
                out.drive = drive(deadline)
            except Exception as e:  # the client's failure is the run's reason, whatever it was
                out.drive_error = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
                deadline = min(deadline, time.monotonic() + 5)
        exited = _wait_until(process.pid, deadline)
        if not exited and not out.drive_error:  # a server left up by a failed client is not a hang
            out.timed_out = True
        _kill_tree(process.pid)  # on a timeout the program; after an exit, anything it left
        _, status, _ = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        sampler.stop.set()
        sampler.join()
        if process.returncode is None:
            _kill_tree(process.pid)
            process.wait()
    measured = _report(report)
    if measured is None:  # killed before the program ended: the launcher's view only
        out.returncode = process.returncode
        out.wall_s = time.monotonic() - started
    else:
        wall_ns, user_us, sys_us, maxrss_kib, minflt, majflt, wait_status = measured
        out.returncode = os.waitstatus_to_exitcode(wait_status)
        out.wall_s, out.user_s, out.sys_s = wall_ns / 1e9, user_us / 1e6, sys_us / 1e6
        out.peak_rss_bytes, out.minor_faults, out.major_faults = maxrss_kib * 1024, minflt, majflt
    out.timeline = sampler.timeline
    out.stdout = _tail(stdout_path, MAX_OUTPUT)
    out.stderr = _tail(stderr_path, 4000)
    return out
