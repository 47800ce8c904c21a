"""What `programs run|merge` and `programs run --record` check before they write anything:
paths (the caller's, relative to the folder the tool was started in), thread counts, shards,
the kind of folder a path names, and whether a run still writes into a folder.

Every check raises UsageError (one line naming the value and the valid choices, exit 2) and
creates nothing: the tool creates its folder only after every check passed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from alloclab.cli import UsageError

MAX_THREADS = 1024  # the driver's ceiling (harness/src/thread_spec.cpp)
THREADS_VALID = (f"valid: a count like 4, a list like 1,2,8 (each once), or a doubling range like 1..64; "
                 f"each from 1 to {MAX_THREADS}")
_COUNT = re.compile(r"[0-9]{1,7}")


def caller_path(text: str) -> Path:
    """A path given on the command line, absolute: relative to the folder the tool runs in
    (run_all.sh runs the tools in its caller's folder). Symbolic links are kept."""
    return Path(os.path.abspath(Path(text).expanduser()))


def parse_threads(text: str) -> list[int]:
    """--threads, by the driver's grammar (a count, a comma list, a doubling range A..B), but
    strict: a count given twice is refused (the driver would silently drop it)."""
    def count(part: str) -> int:
        if not _COUNT.fullmatch(part) or not 1 <= int(part) <= MAX_THREADS:
            raise UsageError(f"bad --threads '{text[:80]}': '{part[:80]}' is not a count from 1 to {MAX_THREADS} "
                             f"({THREADS_VALID})")
        return int(part)
    if ".." in text:
        low_text, _, high_text = text.partition("..")
        low, high = count(low_text), count(high_text)
        if low > high:
            raise UsageError(f"bad --threads '{text[:80]}': the range runs backwards ({THREADS_VALID})")
        out, t = [], low
        while t < high:
            out.append(t)
            t *= 2
        return out + [high]
    out = []
    for part in text.split(","):
        value = count(part)
        if value in out:
            raise UsageError(f"bad --threads '{text[:80]}': {value} is given twice ({THREADS_VALID})")
        out.append(value)
    return sorted(out)


def parse_shard(text: str) -> tuple[int, int]:
    """--shard K/N: plain whole numbers, 1 <= K <= N (no 1_0, spaces or signs)."""
    match = re.fullmatch(r"([0-9]{1,6})/([0-9]{1,6})", text)
    if match is None or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(f"bad --shard '{text[:80]}' (valid: K/N with 1 <= K <= N, e.g. 2/4)")
    return int(match.group(1)), int(match.group(2))


def nonempty(flag: str, text: str | None, what: str) -> None:
    if text is not None and not text.strip():
        raise UsageError(f"bad {flag} '{text}' (valid: {what})")


def new_path(path: Path, what: str, valid: str) -> None:
    """`path` can be created: it does not exist and its parent is a writable folder."""
    if os.path.lexists(path):
        raise UsageError(f"{what} exists already (valid: {valid})")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"{what}: the folder {parent} does not exist (valid: {valid}, in an existing folder)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{what}: cannot write in {parent} (valid: {valid}, in a writable folder)")


def results_folder(text: str | None, default: Path) -> Path:
    """--results: an existing, writable folder of run folders (created only when it is the
    default, results/ of the repository, and its parent exists)."""
    nonempty("--results", text, "an existing folder of run folders")
    folder = caller_path(text) if text is not None else default
    shown = text if text is not None else str(default)
    if text is None and not os.path.lexists(folder) and folder.parent.is_dir():
        return folder  # results/ of the repository: made with the run folder
    if not folder.is_dir():
        raise UsageError(f"--results '{shown}' is not a folder (valid: an existing folder of run folders)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--results '{shown}' cannot be written (valid: a writable folder of run folders)")
    return folder


def folder_file(text: str | None) -> Path | None:
    """--folder-file: a new or regular file in an existing folder."""
    if text is None:
        return None
    path = caller_path(text) if text.strip() else Path("")
    if not text.strip() or path.is_dir() or (os.path.lexists(path) and not path.is_file()) \
            or not path.parent.is_dir() or not os.access(path.parent, os.W_OK | os.X_OK):
        raise UsageError(f"--folder-file '{text}' is not a file in an existing, writable folder "
                         "(valid: the path of a new or a regular file)")
    return path


def is_sweep_folder(folder: Path) -> bool:
    """A sweep's run folder (finished: results.csv; or under way: plan.json and raw/)."""
    return (folder / "results.csv").is_file() or ((folder / "plan.json").is_file() and (folder / "raw").is_dir())


def is_programs_folder(folder: Path) -> bool:
    return (folder / "programs" / "plan.json").is_file()


def machine_identity(doc: Any) -> tuple[str, int] | None:
    """(CPU model, CPU count) of a machine.json, or None when it says neither."""
    if not isinstance(doc, dict):
        return None
    model, cpus = doc.get("cpu_model"), doc.get("num_cpus")
    if not isinstance(model, str) or type(cpus) is not int:
        return None
    return model, cpus


