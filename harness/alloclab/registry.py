"""What the driver knows, as `alloclab --list --json` prints it: the one source of truth for
allocator and workload names, kinds, traits and requirements, and for the thread-count grammar.

Parametric workloads (`--list --json` marks them `"parametric": true`, with the argument they
take) are named with a file: `trace:PATH` replays a recorded trace, `empirical:PATH` drives an
allocator from a distilled size table. Their cases are named after the file's stem,
`trace:<stem>/<allocator>/threads:<N>`; a trace's N is the trace's own thread count.

No tool keeps its own table of names: the sweep, the claims and the charts read a Registry,
either from the driver or from a run folder's registry.json (written by the sweep, so charts
of an old run keep the names and kinds it was made with).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = ROOT / "build" / "release" / "harness" / "alloclab"
# Kinds in drawing and listing order.
KINDS = ("library", "peer", "preloaded", "reference")
LIBRARY_FROM = ("", "system", "build")
NAME = re.compile(r"[A-Za-z0-9_.+-]{1,64}")
# The parametric workloads' kinds, and a case's workload name: a NAME, or KIND:STEM of a file.
PARAMETRIC = ("trace", "empirical")
WORKLOAD_NAME = re.compile(r"(?:(?:trace|empirical):)?[A-Za-z0-9_.+-]{1,64}")


class RegistryError(Exception):
    """The driver could not be asked, or said no: the message is one line for the user."""


@dataclass(frozen=True)
class AllocatorInfo:
    name: str
    kind: str
    description: str = ""
    thread_safe: bool = True
    supports_free: bool = True
    measured_as: str = ""      # preloaded peers: the driver adapter they are measured through
    library: str = ""          # preloaded peers: the shared object to preload (a file name, or a user's path)
    expect_in_path: str = ""   # preloaded peers: text the loaded library's path must contain
    # preloaded peers: where `library` is, when it is a file name (preload.installed_library):
    # "system" (or "", in registries from before the field) the system's library folders;
    # "build" built with alloclab, in the build tree's allocators/ folder beside the driver's.
    library_from: str = ""


@dataclass(frozen=True)
class WorkloadInfo:
    name: str
    description: str = ""
    operation: str = ""
    needs_shared_instance: bool = False
    needs_free: bool = False
    needs_cross_thread_free: bool = False
    # A parametric workload (`trace`, `empirical`): named KIND:FILE on a command line; `argument`
    # says what it takes ("FILE"). It is not one of the workloads "all" selects.
    parametric: bool = False
    argument: str = ""


def _typed(where: str, entry: Any, cls: type[Any], required: tuple[str, ...]) -> Any:
    if not isinstance(entry, dict):
        raise RegistryError(f"{where}: an entry is not an object")
    known = {f.name: f.type for f in fields(cls)}
    for key in required:
        if key not in entry:
            raise RegistryError(f"{where}: an entry has no '{key}'")
        pattern = WORKLOAD_NAME if cls is WorkloadInfo else NAME
        if not isinstance(entry[key], str) or not pattern.fullmatch(entry[key]):
            raise RegistryError(f"{where}: an entry's '{key}' is not a name (letters, digits, _ . + -, at most 64)")
    values = {k: v for k, v in entry.items() if k in known}
    for k, v in values.items():
        expected = known[k]
        if (expected == "bool" and not isinstance(v, bool)) or (expected == "str" and not isinstance(v, str)) or \
                (isinstance(v, str) and len(v) > 2000):
            raise RegistryError(f"{where}: '{entry.get('name')}' has a bad '{k}': {v!r}")
    return cls(**values)


@dataclass(frozen=True)
class Registry:
    allocators: tuple[AllocatorInfo, ...] = ()
    workloads: tuple[WorkloadInfo, ...] = ()
    threads: tuple[int, ...] = ()

    @staticmethod
    def from_json(doc: Any, where: str = "alloclab --list --json") -> Registry:
        if not isinstance(doc, dict) or type(doc.get("schema")) is not int or doc["schema"] != 1:
            raise RegistryError(f"{where}: not a registry (expected an object with \"schema\": 1)")
        for key in ("allocators", "workloads", "threads"):
            if not isinstance(doc.get(key, []), list):
                raise RegistryError(f"{where}: '{key}' is not a list")
        allocators = tuple(_typed(where, a, AllocatorInfo, ("name", "kind")) for a in doc.get("allocators", []))
        for a in allocators:
            if a.kind not in KINDS:
                raise RegistryError(f"{where}: allocator '{a.name}' has kind '{a.kind}' (valid: {', '.join(KINDS)})")
            if a.library_from not in LIBRARY_FROM or (a.library_from == "build" and "/" in a.library):
                raise RegistryError(f"{where}: allocator '{a.name}' has library_from '{a.library_from[:80]}' for "
                                    f"'{a.library[:200]}' (valid: system, or build with a file name)")
        workloads = tuple(_typed(where, w, WorkloadInfo, ("name",)) for w in doc.get("workloads", []))
        for kind, names in (("allocator", [a.name for a in allocators]), ("workload", [w.name for w in workloads])):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise RegistryError(f"{where}: {kind} '{twice[0]}' is listed more than once")
        threads = doc.get("threads", [])
        if not all(type(t) is int and t > 0 for t in threads):
            raise RegistryError(f"{where}: 'threads' is not a list of positive counts")
        return Registry(allocators, workloads, tuple(threads))

    def to_json(self) -> dict[str, Any]:
        return {"schema": 1, "allocators": [asdict(a) for a in self.allocators],
                "workloads": [asdict(w) for w in self.workloads]}

    def merged(self, *others: Registry) -> Registry:
        """This registry and what the others add (a comparison of runs made by different builds)."""
        allocators, workloads = list(self.allocators), list(self.workloads)
        for other in others:
            allocators += [a for a in other.allocators if self.allocator(a.name) is None
                           and a.name not in {x.name for x in allocators}]
            workloads += [w for w in other.workloads if w.name not in {x.name for x in workloads}]
        return Registry(tuple(allocators), tuple(workloads), self.threads)

    def allocator(self, name: str) -> AllocatorInfo | None:
        return next((a for a in self.allocators if a.name == name), None)

    def workload(self, name: str) -> WorkloadInfo | None:
        return next((w for w in self.workloads if w.name == name), None)

    def allocator_names(self, *kinds: str) -> list[str]:
        return [a.name for a in self.allocators if not kinds or a.kind in kinds]

    def workload_names(self) -> list[str]:
        """The workloads a selection can name by themselves ("all" among them): not the
        parametric kinds, which need a file."""
        return [w.name for w in self.workloads if not w.parametric]

    def parametric_names(self) -> list[str]:
        """The parametric kinds this driver runs (trace, empirical), each named KIND:FILE."""
        return [w.name for w in self.workloads if w.parametric]

    def kind_of(self, name: str) -> str:
        a = self.allocator(name)
        return a.kind if a else "other"

    def index_in_kind(self, name: str) -> int:
        """Position among the allocators of its kind, in registration order (-1: unknown)."""
        kind = self.kind_of(name)
        same = self.allocator_names(kind)
        return same.index(name) if name in same else -1

    def order(self, names: Any) -> list[str]:
        """Names by kind (KINDS order), then registration order; unknown names last, sorted."""
        wanted = set(names)
        known = [n for kind in KINDS for n in self.allocator_names(kind) if n in wanted]
        return known + sorted(wanted - set(known))


def parametric_kind(name: str) -> str | None:
    """'trace' for 'trace:...', 'empirical' for 'empirical:...', else None."""
    kind, sep, _ = name.partition(":")
    return kind if sep and kind in PARAMETRIC else None


def fixed_threads_workload(name: str) -> bool:
    """Whether a workload's cases run at one thread count of their own (a trace replays its
    recorded threads), not at the thread counts of the run."""
    return parametric_kind(name) == "trace"


def ask_driver(binary: str | Path = DEFAULT_BINARY, threads: str | None = None) -> Registry:
    """The driver's registry; with `threads`, its expansion by the driver's grammar
    (a bad spec: RegistryError with the driver's own one-line message)."""
    command = [str(binary), "--list", "--json"] + (["--threads", threads] if threads is not None else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except OSError as e:
        raise RegistryError(f"cannot run the driver '{binary}': {e.strerror} "
                            "(build it: cmake --build --preset release)") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        message = lines[-1] if lines else \
            f"'{binary} --list --json' exited {done.returncode} without a word: is it the alloclab driver?"
        raise RegistryError(message.removeprefix("alloclab: "))
    try:
        return Registry.from_json(json.loads(done.stdout))
    except json.JSONDecodeError as e:
        raise RegistryError(f"'{binary} --list --json' printed no JSON ({e}): an old build? "
                            "(cmake --build --preset release)") from None
