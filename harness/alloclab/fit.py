"""Whether a failed run "did not fit": it ran out of the memory of an allocator that never frees.

Shared by the programs runner (a program's run) and the sweep (a driver process whose malloc
adapter measures a preloaded malloc). A malloc whose free does nothing (alloclab_bump: the
registry's supports_free is false) holds every byte a program ever allocated, up to its budget
(ALLOCLAB_BUMP_LIMIT); past it malloc returns NULL with ENOMEM
and the program fails the way it fails on any out-of-memory: a message and a non-zero exit
(lua's "not enough memory", sqlite's "out of memory", g++'s "virtual memory exhausted", Python's
MemoryError), an abort on an uncaught std::bad_alloc (rocksdb, lld), or the kernel's
out-of-memory killer (SIGKILL) when the budget is above what the machine has free. Such a run is
a result about the allocator ("its peak memory is the program's whole allocation history"), not
a crash: it is recorded as a failed run whose reason starts with DID_NOT_FIT, and the report
and the claims show "did not fit" rather than a number.

Only allocators that do not free are judged so: for any other, the same failure is the crash
it looks like. A timeout, a wrong answer or a preload that did not take effect is never "did
not fit".
"""

from __future__ import annotations

import re
import signal

# How a failed run's reason starts when it ran out of the memory of an allocator that never frees.
DID_NOT_FIT = "did not fit"
# What programs print when malloc returns NULL, and what a malloc may print when it runs out of
# its budget ("memory budget"), matched anywhere in the tail of the run's stderr and stdout. A
# program that crashes on a NULL without a word (a SIGSEGV) is not recognised: its run stays the
# crash it looks like.
OUT_OF_MEMORY = re.compile(
    r"out of memory|not enough memory|cannot allocate memory|memory exhausted|memory budget|bad_alloc"
    r"|MemoryError|VMerror|\bENOMEM\b|failed to allocate|allocation failed|memory allocation fail", re.IGNORECASE)


def out_of_memory_reason(allocator: str, frees: bool, returncode: int | None, timed_out: bool,
                         client_failed: bool, output: str, failure: str) -> str | None:
    """The run's reason as "did not fit: ..." when an allocator that never frees ran out of
    memory; None when the failure is something else (or the allocator frees).
    `output`: the tail of the run's stderr (and stdout, where programs print errors too);
    `failure`: the reason the runner gave (exit status and last line of stderr);
    `client_failed`: a server's client failed, after which the runner kills the server itself
    (so its SIGKILL says nothing about memory)."""
    if frees or timed_out or returncode is None or returncode == 0:
        return None
    said = OUT_OF_MEMORY.search(output) is not None
    killed = returncode == -signal.SIGKILL and not client_failed
    if not (said or killed):
        return None
    how = failure if said else "killed by SIGKILL, the signal of the kernel's out-of-memory killer"
    return f"{DID_NOT_FIT}: out of memory under {allocator}'s budget (it never frees; {how})"
