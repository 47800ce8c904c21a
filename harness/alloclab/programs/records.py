"""The programs suite on disk: programs.csv, programs/plan.json and programs/raw/.

In a results folder (alone, or beside a sweep's results.csv):
  programs.csv                one row per program x allocator x threads x repetition (COLUMNS)
  programs/plan.json          what was run: programs (with the Debian package versions),
                              allocators (with their libraries), scale, seed, threads, repetitions
  programs/raw/<unit>.json    one run: the row's fields, RSS over time, the probe's report,
                              the command, the tail of stderr
  programs/inputs/<program>/  the generated inputs (deterministic from scale and seed)
Columns are documented in results/README.md. Files are written atomically (results.write_*).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from alloclab import results
from alloclab.fit import DID_NOT_FIT
from alloclab.registry import KINDS, NAME, AllocatorInfo, Registry, RegistryError
from alloclab.results import ResultsError

PLAN_SCHEMA = 1
# Limits of a plan: the command line's and a plan.json's alike. Inputs are generated in memory:
# scale 50 is the largest that fits the reference machine's 24 GiB with room (sqlite's rows).
MAX_SCALE = 50.0
MAX_REPETITIONS = 1000
METRICS = ("wall_s", "user_s", "sys_s", "peak_rss_bytes", "minor_faults", "major_faults", "requests_per_s")
COLUMNS = ("program", "allocator", "threads", "repetition", "status", "reason", *METRICS, "unit")
# metric -> (label, unit, higher is better)
METRIC_INFO = {
    "wall_s": ("wall time", "s", False),
    "cpu_s": ("CPU time (user + system)", "s", False),
    "peak_rss_bytes": ("peak RSS", "bytes", False),
    "requests_per_s": ("requests per second", "1/s", True),
}


@dataclass(frozen=True)
class ProgramRow:
    program: str
    allocator: str
    threads: int
    repetition: int
    status: str = "ok"
    reason: str = ""
    wall_s: float | None = None
    user_s: float | None = None
    sys_s: float | None = None
    peak_rss_bytes: float | None = None
    minor_faults: float | None = None
    major_faults: float | None = None
    requests_per_s: float | None = None
    unit: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.program, self.allocator, self.threads)

    @property
    def did_not_fit(self) -> bool:
        """A failed run that ran out of an allocator's memory budget (alloclab.fit), not a crash."""
        return not self.ok and self.reason.startswith(DID_NOT_FIT + ":")

    def metric(self, name: str) -> float | None:
        if name == "cpu_s":
            return None if self.user_s is None or self.sys_s is None else self.user_s + self.sys_s
        if name not in METRICS:
            raise KeyError(name)
        value: float | None = getattr(self, name)
        return value

    def csv_fields(self) -> dict[str, str]:
        return {c: "" if getattr(self, c) is None else str(getattr(self, c)) for c in COLUMNS}


assert tuple(f.name for f in fields(ProgramRow)) == COLUMNS


def unit_name(repetition: int, program: str, allocator: str, threads: int) -> str:
    return f"r{repetition:02d}__{program}__{allocator}__t{threads}"


def row_from_raw(doc: Any, where: str) -> ProgramRow:
    """A raw run record's row, checked as a programs.csv row is (ResultsError naming `where`)."""
    if not isinstance(doc, dict) or not all(c in doc for c in COLUMNS):
        raise ResultsError(f"{where}: not a program run record (an object with {', '.join(COLUMNS[:5])}, ...)")
    texts = {}
    for c in COLUMNS:
        v = doc[c]
        if v is not None and not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise ResultsError(f"{where}: {c} is {type(v).__name__}, not text or a number")
        texts[c] = "" if v is None else str(v)
    return _row(where, texts)


def write_csv(path: Path, rows: list[ProgramRow]) -> None:
    results.write_csv(path, rows, COLUMNS)


def _row(where: str, record: dict[str, str]) -> ProgramRow:
    for key in ("program", "allocator"):
        if not NAME.fullmatch(record[key]):
            raise ResultsError(f"{where}: {key} {record[key][:80]!r} is not a name (letters, digits, _ . + -, at most 64)")
    threads = results.parse_count(where, "threads", record["threads"], results.MAX_THREADS)
    repetition = results.parse_count(where, "repetition", record["repetition"], 10 ** 6)
    if threads < 1:
        raise ResultsError(f"{where}: threads {threads} is not positive")
    if record["status"] not in ("ok", "failed"):
        raise ResultsError(f"{where}: status {record['status']!r} is not one of ok, failed")
    metrics = {m: results.parse_number(where, m, record[m]) for m in METRICS}
    if record["status"] == "ok" and not metrics["wall_s"]:
        raise ResultsError(f"{where}: status ok but wall_s is {record['wall_s'] or 'empty'!r}")
    # The unit names the raw file the charts open: only the name the run would have given it.
    expected = unit_name(repetition, record["program"], record["allocator"], threads)
    if record["unit"] != expected:
        raise ResultsError(f"{where}: unit {record['unit'][:80]!r} is not {expected!r}, the run's name")
    return ProgramRow(record["program"], record["allocator"], threads, repetition, record["status"],
                      record["reason"][:results.MAX_TEXT], unit=record["unit"], **metrics)


def read_csv(path: Path) -> list[ProgramRow]:
    return [_row(where, record) for where, record in results.read_records(path, COLUMNS, "programs.csv")]


@dataclass(frozen=True)
class ProgramInfo:
    name: str
    description: str = ""
    origin: str = ""
    not_tested: str = ""
    threaded: bool = False
    server: bool = False
    packages: dict[str, str] | None = None  # Debian package -> version


@dataclass(frozen=True)
class Plan:
    programs: tuple[ProgramInfo, ...]
    allocators: tuple[AllocatorInfo, ...]
    threads: tuple[int, ...]
    scale: float
    seed: int
    repetitions: int
    timeout: float

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict
        return {"schema": PLAN_SCHEMA, "programs": [asdict(p) for p in self.programs],
                "allocators": [asdict(a) for a in self.allocators], "threads": list(self.threads),
                "scale": self.scale, "seed": self.seed, "repetitions": self.repetitions, "timeout": self.timeout}

    @staticmethod
    def from_json(doc: Any, where: str) -> Plan:
        try:
            if not isinstance(doc, dict) or doc.get("schema") != PLAN_SCHEMA:
                raise ValueError(f'expected an object with "schema": {PLAN_SCHEMA}')
            programs = tuple(ProgramInfo(**p) for p in doc["programs"])
            allocators = tuple(AllocatorInfo(**a) for a in doc["allocators"])
            entries: tuple[ProgramInfo | AllocatorInfo, ...] = (*programs, *allocators)
            for entry in entries:
                for f in fields(entry):
                    value = getattr(entry, f.name)
                    wanted = {"bool": bool, "str": str}.get(str(f.type))
                    if wanted is not None and not isinstance(value, wanted) or \
                            isinstance(value, str) and len(value) > results.MAX_TEXT:
                        raise ValueError(f"{entry.name!r} has a bad {f.name}: {str(value)[:80]!r}")
                if isinstance(entry, ProgramInfo) and entry.packages is not None and not (
                        isinstance(entry.packages, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                                 for k, v in entry.packages.items())):
                    raise ValueError(f"{entry.name!r}: packages is not an object of package -> version")
            for name in [p.name for p in programs] + [a.name for a in allocators]:
                if not isinstance(name, str) or not NAME.fullmatch(name):
                    raise ValueError(f"{str(name)[:80]!r} is not a name")
            if any(a.kind not in KINDS for a in allocators):
                raise ValueError(f"an allocator's kind is not one of {', '.join(KINDS)}")
            threads = tuple(doc["threads"])
            if not threads or not all(type(t) is int and 0 < t <= results.MAX_THREADS for t in threads):
                raise ValueError("threads is not a list of positive counts")
            for key in ("scale", "timeout"):
                if type(doc[key]) not in (int, float):
                    raise ValueError(f"{key} is not a number")
            scale, timeout = float(doc["scale"]), float(doc["timeout"])
            seed, repetitions = doc["seed"], doc["repetitions"]
            if not (0 < scale <= MAX_SCALE and 0 < timeout <= 86400):
                raise ValueError(f"scale must be above 0 and at most {MAX_SCALE:g}, timeout from 0 to 86400 s")
            if type(seed) is not int or type(repetitions) is not int or not 1 <= repetitions <= MAX_REPETITIONS \
                    or not 0 <= seed <= 2 ** 31 - 1:
                raise ValueError(f"seed and repetitions must be whole numbers (repetitions 1 to {MAX_REPETITIONS})")
            for kind, names in (("program", [p.name for p in programs]), ("allocator", [a.name for a in allocators])):
                if not names:
                    raise ValueError(f"no {kind}s")
                if len(set(names)) < len(names):
                    raise ValueError(f"a {kind} is listed twice")
        except (KeyError, TypeError, ValueError) as e:
            raise ResultsError(f"{where}: not a programs plan ({e})") from None
        return Plan(programs, allocators, threads, scale, seed, repetitions, timeout)

    def registry(self, known: Registry | None = None) -> Registry:
        """The run's allocators; after `known`'s (the driver's), so that each allocator keeps
        the colour it has in the sweep's charts whichever were chosen for this run."""
        if known is None:
            return Registry(self.allocators)
        return Registry(tuple(a for a in known.allocators) +
                        tuple(a for a in self.allocators if known.allocator(a.name) is None))

    def program(self, name: str) -> ProgramInfo | None:
        return next((p for p in self.programs if p.name == name), None)

    def allocator(self, name: str) -> AllocatorInfo | None:
        return next((a for a in self.allocators if a.name == name), None)

    def outside(self, row: ProgramRow) -> str | None:
        """Why a row cannot belong to this plan (a program, allocator, thread count or
        repetition it did not run), or None."""
        program = self.program(row.program)
        if program is None:
            return f"program '{row.program}' is not in the plan ({', '.join(p.name for p in self.programs)})"
        allocator = self.allocator(row.allocator)
        if allocator is None:
            return f"allocator '{row.allocator}' is not in the plan ({', '.join(a.name for a in self.allocators)})"
        if row.did_not_fit and allocator.supports_free:
            never = [a.name for a in self.allocators if not a.supports_free]
            return (f"reason '{DID_NOT_FIT}' for '{row.allocator}', which frees (only an allocator that never frees "
                    f"runs out as '{DID_NOT_FIT}': {', '.join(never) or 'none in this plan'})")
        if row.threads not in (self.threads if program.threaded else (1,)):
            return f"{row.program} did not run at {row.threads} threads in this plan"
        if not 1 <= row.repetition <= self.repetitions:
            return f"repetition {row.repetition} is outside the plan's 1..{self.repetitions}"
        return None


@dataclass(frozen=True)
class ProgramsRun:
    """The programs part of a results folder, as read_programs reads it."""
    folder: Path
    rows: tuple[ProgramRow, ...]
    plan: Plan

    @cached_property
    def registry(self) -> Registry:
        """Names and kinds for drawing: the folder's registry.json (a sweep beside the programs)
        or the built driver's, then the plan's own allocators (glibc, a user's --preload)."""
        path = self.folder / "registry.json"
        try:
            known = Registry.from_json(results.read_json(path), str(path)) if path.exists() \
                else results.legacy_registry()
        except (ResultsError, RegistryError):
            known = Registry()
        return self.plan.registry(known)

    @cached_property
    def cases(self) -> dict[tuple[str, str, int], list[ProgramRow]]:
        out: dict[tuple[str, str, int], list[ProgramRow]] = {}
        for r in self.rows:
            out.setdefault(r.key, []).append(r)
        return out

    def values(self, program: str, allocator: str, threads: int, metric: str) -> list[float]:
        vals = [r.metric(metric) for r in self.cases.get((program, allocator, threads), []) if r.ok]
        return [v for v in vals if v is not None and math.isfinite(v)]

    def by_repetition(self, program: str, allocator: str, threads: int, metric: str) -> dict[int, float]:
        out = {}
        for r in self.cases.get((program, allocator, threads), []):
            v = r.metric(metric) if r.ok else None
            if v is not None and math.isfinite(v):
                out[r.repetition] = v
        return out

    def did_not_fit(self, program: str, allocator: str, threads: int) -> int:
        """How many runs of the case ran out of the allocator's memory budget (alloclab.fit)."""
        return sum(r.did_not_fit for r in self.cases.get((program, allocator, threads), []))

    def programs(self) -> list[str]:
        present = {r.program for r in self.rows}
        return [p.name for p in self.plan.programs if p.name in present] + \
            sorted(present - {p.name for p in self.plan.programs})

    def allocators(self) -> list[str]:
        present = {r.allocator for r in self.rows}
        return [a.name for a in self.plan.allocators if a.name in present] + \
            sorted(present - {a.name for a in self.plan.allocators})

    def thread_counts(self, program: str) -> list[int]:
        return sorted({r.threads for r in self.rows if r.program == program})

    def timeline(self, row: ProgramRow) -> list[tuple[float, float]]:
        """RSS over time of one run (seconds, bytes), from its raw record; [] if unreadable."""
        try:
            doc = results.read_json(self.folder / "programs" / "raw" / f"{row.unit}.json")
            points = doc.get("timeline", []) if isinstance(doc, dict) else []
            return [(float(t), float(v)) for t, v in points
                    if math.isfinite(float(t)) and math.isfinite(float(v)) and t >= 0 and v >= 0]
        except (ResultsError, TypeError, ValueError, OverflowError):
            return []


def check_record(path: Path, plan: Plan) -> ProgramRow:
    """One raw record, checked: its fields, its file name (the run's unit) and its place in the plan."""
    row = row_from_raw(results.read_json(path), str(path))
    if path.name != f"{row.unit}.json":
        raise ResultsError(f"{path}: holds the run {row.unit!r}, not the one its name says")
    why = plan.outside(row)
    if why is not None:
        raise ResultsError(f"{path}: {why}")
    return row


def has_programs(folder: Path) -> bool:
    return (Path(folder) / "programs.csv").is_file()


def read_programs(folder: str | Path) -> ProgramsRun:
    folder = Path(folder)
    plan_path = folder / "programs" / "plan.json"
    if not plan_path.is_file():
        raise ResultsError(f"{plan_path}: missing (programs.csv without the plan it was run from)")
    plan = Plan.from_json(results.read_json(plan_path), str(plan_path))
    csv_path = folder / "programs.csv"
    rows = read_csv(csv_path)
    seen: set[str] = set()
    for i, row in enumerate(rows, start=2):
        why = plan.outside(row) or (f"the run {row.unit} appears twice" if row.unit in seen else None)
        if why is not None:
            raise ResultsError(f"{csv_path}, row {i}: {why}")
        seen.add(row.unit)
    return ProgramsRun(folder, tuple(rows), plan)
