"""Allocators that replace malloc in a whole process: Debian's peers and any library a user
names (`--preload LABEL=/path/to/lib.so`), for the in-process sweep and the programs suite.

A preload counts only when it took effect: the programs runner checks every process of a
run through liballoclab_probe.so (which reports the file that defines the process's malloc),
the sweep through the driver's --expect-malloc. `check_takes_effect` runs the same probe once
before anything is written, so a library that ld.so ignores ("cannot be preloaded") or that
defines no malloc is refused with one line, not measured as glibc under another name.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alloclab.cli import UsageError
from alloclab.registry import DEFAULT_BINARY, NAME, ROOT, AllocatorInfo

LIB_DIRS = (Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/lib/aarch64-linux-gnu"), Path("/usr/lib"))
DEFAULT_PROBE = ROOT / "build" / "release" / "harness" / "liballoclab_probe.so"
SYSTEM = "glibc"  # the programs suite's name for the system allocator (no preload)
ELF_MAGIC = b"\x7fELF"
ET_DYN = 3


@dataclass(frozen=True)
class Preload:
    """One allocator a process can run under. library None: the system allocator."""
    name: str
    kind: str                 # registry kind: "peer" for the system allocator, else "preloaded"
    description: str
    library: Path | None
    frees: bool = True        # False: free() does nothing (registry supports_free; see alloclab.fit)
    install_hint: str = ""    # how to get the library when it is missing (for the user's one line)

    def info(self) -> AllocatorInfo:
        """As the registry lists it (registry.json, styles, the sweep's plan)."""
        if self.library is None:
            return AllocatorInfo(self.name, self.kind, self.description)
        return AllocatorInfo(self.name, self.kind, self.description, supports_free=self.frees, measured_as="malloc",
                             library=str(self.library), expect_in_path=self.library.name)

    def ld_preload(self, probe: Path | None = None) -> str:
        """LD_PRELOAD's value: the allocator first (its malloc wins), then the probe."""
        return " ".join(str(p) for p in (self.library, probe) if p is not None)

    def owns(self, malloc_file: str) -> bool:
        """Whether a process whose malloc is defined in `malloc_file` runs this allocator."""
        if self.library is None or self.name == SYSTEM:
            return Path(malloc_file).name.startswith("libc.so")
        return os.path.realpath(malloc_file) == os.path.realpath(self.library)


def system_allocator() -> Preload:
    """glibc's malloc, made to win: some Debian programs link another allocator (redis-server
    links libjemalloc), so the baseline preloads libc.so.6 itself, which puts glibc's malloc
    first in every process's lookup order. For the other programs it changes nothing."""
    libc = next((d / "libc.so.6" for d in LIB_DIRS if (d / "libc.so.6").exists()), None)
    return Preload(SYSTEM, "peer", "the system allocator, glibc's malloc (ptmalloc2), libc.so.6 preloaded "
                   "so that it wins over an allocator a program links", libc)


def build_library_dirs(driver: Path | None) -> list[Path]:
    """Where a library built with alloclab is (registry library_from "build"): the allocators/
    folder of the driver's own build tree (the driver is <build>/harness/alloclab), then the
    release build's, for a driver run from elsewhere (a wrapper script, a copy)."""
    dirs = [Path(driver).resolve().parent.parent / "allocators"] if driver is not None else []
    release = DEFAULT_BINARY.parent.parent / "allocators"
    return dirs + ([release] if release not in dirs else [])


def installed_library(info: AllocatorInfo, driver: Path | None = None) -> Path | None:
    """Where a registry peer's library is: its absolute path (a user's), the build tree of
    `driver` (one built with alloclab), or the system's folders (a Debian package's); None
    when it is not there."""
    if not info.library:
        return None
    given = Path(info.library)
    if given.is_absolute():
        return given if given.exists() else None
    folders = build_library_dirs(driver) if info.library_from == "build" else list(LIB_DIRS)
    return next((d / given for d in folders if (d / given).is_file()), None)


def registry_preload(info: AllocatorInfo, driver: Path | None = None) -> Preload:
    """A registry's preloaded peer as a Preload: its library where installed_library finds it,
    else where it would be (so that the user is told which file is missing and how to get it)."""
    built = info.library_from == "build"
    library = installed_library(info, driver) or \
        (build_library_dirs(driver)[0] if built else LIB_DIRS[0]) / info.library
    hint = "built with alloclab: cmake --build --preset release" if built else \
        "its Debian package; ./run_all.sh installs it"
    return Preload(info.name, info.kind, info.description, library, frees=info.supports_free, install_hint=hint)


def shared_library(path: Path) -> str | None:
    """None when `path` is an ELF shared object; else why not."""
    try:
        with open(path, "rb") as f:
            header = f.read(18)
    except IsADirectoryError:
        return "is a folder"
    except OSError as e:
        return e.strerror or "cannot be read"
    if len(header) < 18 or header[:4] != ELF_MAGIC:
        return "is not an ELF file"
    e_type = int.from_bytes(header[16:18], "little" if header[5] == 1 else "big")
    if e_type != ET_DYN:
        return "is an ELF file but not a shared library"
    return None


def parse_preload(text: str, taken: set[str]) -> Preload:
    """One --preload LABEL=/path/to/lib.so: the label a new name, the path a shared library."""
    label, sep, path_text = text.partition("=")
    if not sep or not label or not path_text:
        raise UsageError(f"bad --preload '{text[:200]}' (valid: LABEL=/path/to/lib.so, e.g. mine=./libmine.so)")
    if not NAME.fullmatch(label) or not label[0].isalnum() or label == "all":
        raise UsageError(f"bad --preload label {label[:80]!r} (valid: a name of letters, digits, _ . + - that "
                         "starts with a letter or digit, at most 64, not 'all')")
    if label in taken:
        raise UsageError(f"--preload label '{label}' is taken (taken: {', '.join(sorted(taken))}; valid: "
                         "another label, each label once)")
    if any(c.isspace() or c == ":" for c in path_text):
        raise UsageError(f"--preload {label}: {path_text[:200]!r} holds a space or a ':', which LD_PRELOAD "
                         "cannot carry (it separates libraries there) (valid: a path without them; link or copy "
                         "the library to a plain path)")
    path = Path(path_text).expanduser()
    if not path.exists():
        raise UsageError(f"--preload {label}: '{path_text[:200]}' does not exist (valid: the path of a shared "
                         "library, *.so)")
    why = shared_library(path)
    if why is not None:
        raise UsageError(f"--preload {label}: '{path_text[:200]}' {why} (valid: the path of a shared library, *.so)")
    return Preload(label, "preloaded", f"user library {path.resolve().name}, preloaded", path.resolve())


def parse_preloads(texts: list[str], taken: set[str]) -> list[Preload]:
    out: list[Preload] = []
    for text in texts:
        p = parse_preload(text, taken | {q.name for q in out})
        out.append(p)
    return out


def read_probe(path: Path) -> list[tuple[int, str, str]]:
    """The probe's lines: (pid, file defining malloc, executable)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    lines = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0].isdigit():
            lines.append((int(parts[0]), parts[1], parts[2]))
    return lines


def probe_verdict(allocator: Preload, lines: list[tuple[int, str, str]]) -> str | None:
    """None when every probed process ran `allocator`; else one line saying which did not."""
    if not lines:
        return (f"no process reported its malloc (LD_PRELOAD={allocator.ld_preload() or '(none)'}): "
                "the probe did not load, so the allocator cannot be verified")
    for pid, malloc_file, exe in lines:
        if not allocator.owns(malloc_file):
            expected = allocator.library or "glibc's libc.so.6"
            return f"{Path(exe).name} (pid {pid}) calls the malloc of {malloc_file}, not {expected}: the preload did not take effect"
    return None


def check_takes_effect(allocator: Preload, probe: Path) -> None:
    """Runs /bin/true under the allocator and the probe: UsageError unless its malloc is the allocator's."""
    if not probe.exists():
        raise UsageError(f"the malloc probe '{probe}' is not built (valid: liballoclab_probe.so of a build; "
                         "cmake --build --preset release)")
    with tempfile.TemporaryDirectory(prefix="alloclab-probe-") as folder:
        report = Path(folder) / "probe.txt"
        env = {**os.environ, "LD_PRELOAD": allocator.ld_preload(probe), "ALLOCLAB_PROBE_FILE": str(report)}
        done = subprocess.run(["/bin/true"], env=env, capture_output=True, text=True, timeout=60)
        verdict = probe_verdict(allocator, read_probe(report))
    if verdict is not None or done.returncode != 0:
        said = (done.stderr.strip().splitlines() or [""])[-1]
        raise UsageError(f"allocator '{allocator.name}' does not take effect: "
                         f"{said.strip() or verdict or f'exit {done.returncode}'} (valid: a library that "
                         "defines malloc, free, calloc and realloc and can be preloaded)")


def check_starts(allocator: Preload) -> None:
    """Runs /bin/true with the allocator preloaded: UsageError, with what it said, when the
    process cannot start (a malloc shim refusing its environment, e.g. a bad
    ALLOCLAB_BUMP_LIMIT, exits 2 before main) — said once, not in every unit's failure."""
    env = {**os.environ, "LD_PRELOAD": allocator.ld_preload()}
    done = subprocess.run(["/bin/true"], env=env, capture_output=True, text=True, timeout=60)
    said = (done.stderr.strip().splitlines() or [""])[-1].strip()
    if done.returncode != 0 or said.startswith("ERROR: ld.so"):
        raise UsageError(f"allocator '{allocator.name}' cannot start a process: {said or f'exit {done.returncode}'}")
