"""Small helpers shared by the suite's programs: sizes from a scale, safe reads of outputs,
one-line mismatch reasons, and an environment without the preloaded allocator (for checks
that run what the measured process built)."""

from __future__ import annotations

import math
import os
import subprocess
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
REASON_CHARS = 200


def sized(base: float, scale: float, least: int = 1) -> int:
    """`base` at scale 1, proportional to scale, never below `least` (any scale > 0 works)."""
    value = base * scale
    return max(least, int(round(value))) if math.isfinite(value) else least


def short(text: str, chars: int = REASON_CHARS) -> str:
    """One printable line of at most `chars` characters."""
    line = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))
    return line if len(line) <= chars else line[:chars - 3] + "..."


def differs(what: str, expected: object, got: object) -> str:
    """The reason for a check that failed: 'WHAT: expected E, got G', truncated. Two lines
    of as many words show only the words that differ (so truncation never hides them)."""
    want, have = str(expected).split(), str(got).split()
    if len(want) == len(have) > 1 and len(f"{expected}{got}") > REASON_CHARS // 2:
        pairs = [(w, h) for w, h in zip(want, have) if w != h]
        if pairs:
            expected, got = " ".join(w for w, _ in pairs), " ".join(h for _, h in pairs)
    half = (REASON_CHARS - len(what)) // 2 - 12
    return short(f"{what}: expected {short(str(expected), max(half, 20))}, "
                 f"got {short(str(got), max(half, 20))}")


def read_text(path: Path, limit: int = 1 << 26) -> str | None:
    """A file's text (undecodable bytes replaced), or None when it can't be read."""
    try:
        with path.open("rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def clean_env() -> dict[str, str]:
    """This process's environment without LD_PRELOAD: checks run built programs under the
    system allocator."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


# Helpers (compilers in prepare, a server's client) die with the runner: a killed suite
# leaves nothing running. setpriv is util-linux's, on every Debian system.
DIE_WITH_RUNNER = ["setpriv", "--pdeathsig", "KILL", "--"]


def run_quiet(argv: list[str], cwd: Path, timeout: float) -> tuple[int, str, str]:
    """Runs a helper of a check without the preloaded allocator: (exit status, stdout,
    stderr); a failure to start or a timeout reads as status -1 with the reason in stderr."""
    try:
        p = subprocess.run(DIE_WITH_RUNNER + argv, cwd=cwd, env=clean_env(), capture_output=True, text=True,
                           errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as e:
        return -1, "", f"{argv[0]}: {e}"
    return p.returncode, p.stdout, p.stderr
