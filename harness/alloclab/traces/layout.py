"""Where a recording's files go: the recorder writes one `<pid>.trace` per process into a
scratch folder (ALLOCLAB_TRACE_DIR); this module scans them and moves each to its final name
beside the others, with a rename (the scratch folder is made beside the destination, so every
file appears whole or not at all).

Layout, for a destination STEM.trace (STEM: the name without its .trace suffix):
  STEM.trace          the process the layout keeps as the recording's main file: the root (the
                      command itself, `trace OUT -- CMD`) or the process with the most events
                      (`programs --record`, where g++'s work is in its child cc1plus)
  STEM-<pid>.trace    every other process: children that exec'd (cc1plus, as, a shell's
                      commands), children of fork() without exec (their metadata names the
                      parent and the stamp of the fork); STEM-<pid>-2.trace, -3, ... should
                      one pid leave several files (liballoclab_trace.so leaves one: a process
                      that execs without forking starts its file again, so it holds the last
                      program the pid ran)
A file the scan cannot read (a process killed before its header was written) is moved all the
same and listed as unreadable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alloclab.traces.scan import TraceError, TraceFacts, scan

SUFFIX = ".trace"
RECORDER_FILE = re.compile(r"([0-9]{1,10})(?:\.[0-9A-Za-z_.-]*)?\.trace")


@dataclass(frozen=True)
class Process:
    """One process's file in a recording."""
    source: Path                   # where the recorder wrote it
    pid: int                       # from the metadata, else from the file name
    facts: TraceFacts | None       # None: unreadable
    problem: str = ""              # why unreadable
    destination: Path | None = None

    @property
    def events(self) -> int:
        return self.facts.events if self.facts else 0

    @property
    def program(self) -> str:
        return self.facts.program_name if self.facts else "?"

    def to_json(self, relative_to: Path | None = None) -> dict[str, Any]:
        where = self.destination or self.source
        name = os.path.relpath(where, relative_to) if relative_to is not None else str(where)
        body = self.facts.to_json() if self.facts else {"pid": self.pid, "unreadable": self.problem}
        return {"file": name, **body}


def stem_of(destination: Path) -> str:
    name = destination.name
    return name[:-len(SUFFIX)] if name.endswith(SUFFIX) and len(name) > len(SUFFIX) else name


def read_folder(folder: Path) -> list[Process]:
    """Every trace the recorder wrote into `folder`, in the order the processes started."""
    out = []
    for entry in sorted(folder.iterdir()):
        match = RECORDER_FILE.fullmatch(entry.name)
        if match is None or not entry.is_file():
            continue  # the recorder's own temporaries start with '.'; nothing else is a trace
        try:
            facts: TraceFacts | None = scan(entry)
            problem = ""
        except TraceError as e:
            facts, problem = None, str(e).split(": ", 1)[-1]
        pid = facts.pid if facts is not None and facts.pid is not None else int(match.group(1))
        out.append(Process(entry, pid, facts, problem))
    out.sort(key=lambda p: (p.facts.started_unix_ns if p.facts else 0, p.pid, p.source.name))
    return out


def root_of(processes: list[Process], pid: int | None = None) -> Process | None:
    """The recording's root: the process with `pid` (the last started of its files, should it
    have several: the program the command became), or, without a pid, the one whose parent is
    not in the recording (the top of the tree)."""
    if pid is not None:
        mine = [p for p in processes if p.pid == pid]
        return mine[-1] if mine else None
    pids = {p.pid for p in processes}
    tops = [p for p in processes if p.facts is None or p.facts.parent_pid not in pids]
    return tops[0] if tops else None


def busiest(processes: list[Process]) -> Process | None:
    """The process with the most events (the first started among equals)."""
    if not processes:
        return None
    return max(processes, key=lambda p: p.events)


def assign(processes: list[Process], destination: Path, main: Process | None) -> list[Process]:
    """Final names: `main` gets destination, every other STEM-<pid>.trace (-2, -3 ... when a
    pid repeats). The processes come back in start order with their destination set."""
    folder, stem = destination.parent, stem_of(destination)
    taken: set[Path] = {destination} if main is not None else set()
    out = []
    for p in processes:
        if p is main:
            out.append(Process(p.source, p.pid, p.facts, p.problem, destination))
            continue
        target, k = folder / f"{stem}-{p.pid}{SUFFIX}", 1
        while target in taken:
            k += 1
            target = folder / f"{stem}-{p.pid}-{k}{SUFFIX}"
        taken.add(target)
        out.append(Process(p.source, p.pid, p.facts, p.problem, target))
    return out


def move(processes: list[Process]) -> None:
    """Renames each file to its destination (the scratch folder is on the same file system)."""
    for p in processes:
        assert p.destination is not None
        os.chmod(p.source, 0o666 & ~_umask())  # the recorder may create its files private
        os.replace(p.source, p.destination)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _fmt_bytes_per_event(p: Process) -> str:
    value = p.facts.bytes_per_event if p.facts else None
    return f"{value:.2f}" if value is not None else "-"


def table(processes: list[Process], main: Process | None, relative_to: Path | None = None) -> str:
    """The recording as a text table: file, pid, parent, program, events, bytes/event, threads,
    truncated; the main file marked with *."""
    header = ("   file", "pid", "parent", "program", "events", "bytes/event", "threads", "truncated")
    rows = []
    for p in sorted(processes, key=lambda p: p is not main):  # the main file first, then in start order
        where = p.destination or p.source
        name = os.path.relpath(where, relative_to) if relative_to is not None else str(where)
        f = p.facts
        state = "unreadable: " + p.problem if f is None else ("yes" + (" (torn last chunk)" if f.torn_tail else "")
                                                              if f.truncated else "no")
        rows.append(((" * " if p is main else "   ") + name, str(p.pid),
                     str(f.parent_pid) if f and f.parent_pid is not None else "-",
                     p.program + (" (fork)" if f and f.forked else ""), f"{p.events:,}",
                     _fmt_bytes_per_event(p), str(f.threads) if f else "-", state))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = {1, 2, 4, 5, 6}
    lines = []
    for r in [header, *rows]:
        cells = [c.rjust(w) if i in numeric and r is not header else c.ljust(w) for i, (c, w) in
                 enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
