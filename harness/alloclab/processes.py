"""Processes that die with whoever started them, and one sweep per folder.

A benchmark measured beside an orphan of an earlier, killed run measures the orphan too: two
drivers competing for the cores corrupt the numbers without a trace. So every process a tool
starts asks the kernel for a signal when its parent dies (PR_SET_PDEATHSIG, which reaches a
process even when the parent was killed with SIGKILL), a tool started by run_all.sh does the
same for itself, and a run folder is locked (flock) by the tool that writes it. The lock's
descriptor is inherited by the tool's children, so the lock is held until the last of them
has exited: a new run on the folder is refused while an orphan still measures there.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import signal
import time
from pathlib import Path

from alloclab.cli import UsageError

PR_SET_PDEATHSIG = 1
LOCK_NAME = ".lock"


def _ask_for_signal_on_parent_death(sig: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


def die_with_parent_sigkill() -> None:
    """preexec_fn for a child that holds no state worth saving (the driver): SIGKILL when the
    tool that started it dies. Runs between fork and exec, so async-signal-safe calls only."""
    _ask_for_signal_on_parent_death(signal.SIGKILL)


def die_with_parent_sigterm() -> None:
    """preexec_fn for a child that cleans up its own children on SIGTERM (alloclab_launch,
    which kills its process group)."""
    _ask_for_signal_on_parent_death(signal.SIGTERM)


def die_with_launcher() -> None:
    """Called first by a tool: when run_all.sh started it (ALLOCLAB_PARENT_PID), it dies with
    run_all.sh, SIGTERM so its own `finally` blocks and children's death signals run."""
    expected = os.environ.get("ALLOCLAB_PARENT_PID")
    if not expected or not expected.isdigit():
        return
    if int(expected) == os.getpid():  # run_all.sh exec'd the tool: it is the launcher
        return
    # The parent: run_all.sh, or a tool it started (claims starts the sweep), which dies with it
    # in turn; a chain of such deaths reaches every tool.
    _ask_for_signal_on_parent_death(signal.SIGTERM)
    try:
        os.kill(int(expected), 0)
    except ProcessLookupError:  # the launcher died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)
    except PermissionError:
        pass


class FolderLock:
    """An exclusive flock on FOLDER/.lock, held for the tool's life and its children's.

    subprocess closes every descriptor it is not told to keep: start each child with
    `pass_fds=lock.pass_fds` so it holds the lock too.

    `acquire()` raises UsageError (one line, exit 2) when another process holds it: another
    run, or the orphaned driver of a killed one. The descriptor is inheritable (children keep
    the lock); the file itself is left in place (removing it would race with a waiting
    locker) and named with a dot, so it is not a result."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.fd = -1

    def acquire(self, grace: float = 0.0) -> "FolderLock":
        """The lock; for `grace` seconds a holder is waited for, as one that is dying (the tree
        of a run killed just now gets its signal from the kernel, not at once) lets go."""
        deadline = time.monotonic() + grace
        while True:
            try:
                return self._try_acquire()
            except UsageError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _try_acquire(self) -> "FolderLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise UsageError(f"cannot lock {self.path}: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                holder = holders(self.path)
                who = f" (process {', '.join(map(str, holder))})" if holder else ""
                raise UsageError(f"{self.path.parent} is in use by another run{who}: wait for it to "
                                 f"finish or kill it (valid: a folder no running sweep writes to)") from None
            raise UsageError(f"cannot lock {self.path}: {e.strerror}") from None
        os.set_inheritable(fd, True)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self.fd,) if self.fd >= 0 else ()

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def in_use(folder: Path) -> list[int] | None:
    """The processes that hold FOLDER/.lock (a run still writing there), or None when no one
    does. Creates nothing: a folder without the lock file is not in use."""
    path = Path(folder) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return holders(path)
        return None
    finally:
        os.close(fd)
    return None


def holders(lock_path: Path) -> list[int]:
    """Processes that have lock_path open (from /proc; best effort, for the message only)."""
    try:
        target = os.stat(lock_path)
    except OSError:
        return []
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                st = os.stat(f"/proc/{entry}/fd/{fd}")
                if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                    found.append(int(entry))
                    break
        except OSError:
            continue
    return sorted(found)
