"""What every surface test checks: bad input is refused with one line naming the value and the
valid choices, exit 2, and nothing created or changed.

Each tests/surface/test_<surface>.py drives one command (the driver, sweep, merge, programs,
plot, claims, trace, run_all.sh) with inputs from each class of bad input (numbers that are
not numbers, empty and duplicate selections, output paths, unknown options, files that lie)
through `SurfaceTest.refused`. Run one: PYTHONPATH=harness:. python3 -m unittest tests/surface/test_sweep.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import Iterable, Sequence

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BINARY = Path(os.environ.get("ALLOCLAB_BINARY", ROOT / "build" / "release" / "harness" / "alloclab"))
TOOLS_ENV = {"PYTHONPATH": f"{ROOT / 'harness'}:{ROOT}"}


def snapshot(roots: Iterable[Path]) -> dict[str, tuple[bool, int, int]]:
    """Every entry under the roots: (is a folder, size, mtime in ns), by path."""
    seen: dict[str, tuple[bool, int, int]] = {}
    for root in roots:
        root = Path(root)
        if not root.exists():
            seen[str(root)] = (False, -1, -1)
            continue
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                p = os.path.join(folder, name)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                seen[p] = (os.path.isdir(p), st.st_size, st.st_mtime_ns)
    return seen


def run_all_stubs(folder: Path) -> dict[str, str]:
    """Environment for run_all.sh in a test: PATH with a cmake that builds nothing (build/release
    is used as it is) and a dpkg-query that reports every package installed."""
    folder.mkdir(exist_ok=True)
    for name, body in (("cmake", "exit 0"), ("dpkg-query", "printf 'install ok installed'")):
        (folder / name).write_text(f"#!/bin/sh\n{body}\n")
        (folder / name).chmod(0o755)
    return {"PATH": f"{folder}:{os.environ['PATH']}"}


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """Live processes (not zombies) whose command line contains text."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmd and state != "Z" and int(entry) != os.getpid():
            found.append((int(entry), cmd.strip()))
    return found


class SurfaceTest(unittest.TestCase):
    """A temporary folder per test (self.tmp), the current folder of every command run."""

    maxDiff = None

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="alloclab-surface-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def run_command(self, argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
                    timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        # run_all.sh's own variables are not inherited: each test decides where its tools are called from.
        inherited = {k: v for k, v in os.environ.items() if k not in ("ALLOCLAB_CALLER_DIR", "ALLOCLAB_PARENT_PID")}
        full_env = {**inherited, **TOOLS_ENV, **(env or {})}
        return subprocess.run([str(a) for a in argv], cwd=cwd or self.tmp, env=full_env, capture_output=True,
                              text=True, errors="replace", timeout=timeout,
                              input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)

    def tool(self, module: str) -> list[str]:
        """The argv prefix of a Python tool run by module name (alloclab.sweep, plots, ...)."""
        return [PYTHON, "-m", module]

    def refused(self, argv: Sequence[str], *names: str, watch: Iterable[Path] = (), cwd: Path | None = None,
                env: dict[str, str] | None = None, timeout: float = 120, allow_stdout: bool = False,
                needs_choices: bool = True) -> str:
        """Runs argv; asserts exit 2, exactly one non-empty line on stderr that contains every one
        of names (the bad value, a field) and, unless needs_choices is False, "valid" (the choices),
        an empty stdout unless allow_stdout, and no entry created, removed or changed under
        self.tmp and every folder of watch. Returns the line."""
        roots = [self.tmp, *watch]
        before = snapshot(roots)
        done = self.run_command(argv, cwd=cwd, env=env, timeout=timeout)
        shown = f"\n  argv: {list(map(str, argv))}\n  stdout: {done.stdout[-2000:]!r}\n  stderr: {done.stderr[-2000:]!r}"
        self.assertEqual(done.returncode, 2, f"exit status {done.returncode}, not 2{shown}")
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, f"{len(lines)} lines on stderr, not one{shown}")
        line = lines[0]
        for name in names:
            self.assertIn(name, line, f"the message does not name {name!r}{shown}")
        if needs_choices:
            self.assertIn("valid", line, f"the message does not give the valid choices{shown}")
        if not allow_stdout:
            self.assertEqual(done.stdout.strip(), "", f"stdout is not empty{shown}")
        after = snapshot(roots)
        changed = sorted(set(before.items()) ^ set(after.items()))
        self.assertEqual(changed, [], f"files created, removed or changed{shown}")
        return line

    def no_process_left(self, marker: str, within: float = 10.0) -> None:
        """Asserts that, within `within` seconds, no live process mentions marker (a unique path)."""
        deadline = time.monotonic() + within
        while True:
            left = processes_mentioning(marker)
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(left, [], f"processes left running: {left}")
