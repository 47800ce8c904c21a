"""What a real program of the suite is: its inputs, its command, its output check.

Glossary
  program   a real piece of software from a Debian package, run as its own process
  input     files a program reads, generated here from (scale, seed) or written for the
            project (programs/scripts/): never downloaded
  run       one process of one program under one allocator at one thread count
  check     what makes a run count: its output compared with an answer the generator
            knows (a checksum, a count, a solver's verdict). A run that fails its check is a
            failed run with the reason, never a fast one.

A program is measured as one process (the "measured process"): the runner preloads the
allocator into it and only into it, samples its RSS (and its children's) and takes its rusage
from wait4. A server program also names a client (`drive`), which runs outside the measured
process, under the system allocator, and reports requests per second.

Invariants
  prepare(inputs, scale, seed) is deterministic: the same (scale, seed) writes the same bytes.
  check(...) is None  <=>  the run's output is the answer prepare() predicted.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Invocation:
    """Where a run happens: the prepared inputs, an empty work folder, the thread count, and
    for servers a free loopback port."""
    inputs: Path
    work: Path
    threads: int
    port: int = 0


@dataclass(frozen=True)
class Drive:
    """What a server's client reported: its output (for the check) and its throughput."""
    output: str
    requests_per_s: float | None = None


class Program(ABC):
    """One program of the suite. Subclasses set the class attributes and the methods."""
    name: str = ""            # the suite's name for it (a NAME: letters, digits, _ . + -)
    description: str = ""     # one line: what it is, what it stresses
    origin: str = ""          # where the program and the workload idea come from
    not_tested: str = ""      # what it does not test
    packages: tuple[str, ...] = ()     # Debian packages it needs (installed by run_all.sh)
    executables: tuple[str, ...] = ()  # commands that must exist (on PATH or absolute)
    threaded: bool = False    # several threads allocate at once: run at every --threads count
    server: bool = False      # has a client (drive) and listens on the port of its Invocation

    @abstractmethod
    def prepare(self, inputs: Path, scale: float, seed: int) -> None:
        """Writes this program's inputs into the empty folder `inputs`. Runs once per run
        folder, before any measured run, in the runner's own process. `scale` 1 is the
        default size (about 1-5 s per run on a 2-core machine); runs take about `scale` times
        as long; tests use small scales such as 0.05."""

    @abstractmethod
    def command(self, run: Invocation) -> list[str]:
        """The measured process's command line (cwd is run.work)."""

    def drive(self, run: Invocation, deadline: float) -> Drive:
        """Servers only: wait (until time.monotonic() deadline) for the measured process to
        listen on 127.0.0.1:run.port, load it with the client, then make it exit normally
        (so that wait4 gives its rusage). Raise RuntimeError with a reason on failure."""
        raise NotImplementedError

    @abstractmethod
    def check(self, run: Invocation, stdout: str, drive: Drive | None) -> str | None:
        """None when the output is the expected answer; else one line saying what is wrong
        (e.g. "checksum 1a2b, expected 3c4d")."""

    def missing(self) -> list[str]:
        """The executables not found on this machine."""
        return [e for e in self.executables if shutil.which(e) is None]
