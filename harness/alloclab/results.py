"""Results on disk and in memory: the run folder, its rows, cases and facts.

A run folder (results/<UTC time>-<host>/) holds:
  raw/<unit>.json         the driver's JSON of one process (Google Benchmark format)
  raw/<unit>.failed.json  a unit that crashed, hung or exited non-zero: why, stderr, command
  results.csv             one row per case x repetition (COLUMNS below), merged from raw/; a merge
                          across machines (sweep merge --allow-mixed-machines) adds a last column,
                          machine: the node each row ran on (columns_for)
  machine.json            machine and build facts, the command, the profile
  command.txt             the exact command that made the run
  registry.json           the driver's `--list --json`: names, kinds, requirements
  plan.json               the sweep's plan (alloclab.sweep): what --resume and merge go by
Files are written to a temporary name and renamed, so a reader sees a whole file or none.
`read_run` is the one reader every tool uses: it validates every field and raises
ResultsError naming the file, the line and the fault.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import re
import stat
import json
import math
import os
import socket
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from alloclab.fit import DID_NOT_FIT
from alloclab.registry import (DEFAULT_BINARY, NAME, WORKLOAD_NAME, Registry, RegistryError, ask_driver,
                               fixed_threads_workload)

STATUSES = ("ok", "skipped", "failed")
MAX_THREADS = 1 << 20
# A measured value above this is a broken file, not a measurement (and no axis can draw it).
MAX_VALUE = 1e30
MAX_TEXT = 2000
# Measured columns, in results.csv order. Documented in results/README.md.
METRICS = (
    "ns_per_op", "items_per_second", "bytes_per_second",
    "latency_p50_ns", "latency_p99_ns", "latency_p999_ns", "latency_max_ns",
    "peak_rss_bytes", "rss_at_start_bytes", "page_faults",
    "overhead_ratio", "bytes_requested_at_peak", "bytes_reserved_at_peak",
    "destroy_ns_per_tree",
    # Trace replays only (workload trace:<stem>): resident memory at each tenth of the replay.
    "rss_at_10pct", "rss_at_20pct", "rss_at_30pct", "rss_at_40pct", "rss_at_50pct",
    "rss_at_60pct", "rss_at_70pct", "rss_at_80pct", "rss_at_90pct", "rss_at_100pct",
    # The sweep's reference case in the same process (same workload and thread count): what
    # pairs comparisons across processes (alloclab.ranking).
    "ref_items_per_second",
)
RSS_DECILES = tuple(f"rss_at_{k}0pct" for k in range(1, 11))
COLUMNS = ("workload", "allocator", "threads", "repetition", "status", "reason",
           *METRICS, "active_malloc", "unit")
# Columns added after results.csv first had readers: a file made before them is read without them.
OPTIONAL_COLUMNS = RSS_DECILES + ("ref_items_per_second",)
# The node a row ran on, written only by a merge across machines (columns_for): a folder of one
# machine has no such column, so its files stay as they were.
MACHINE_COLUMN = "machine"
# machine.json's facts about one node (the first record's, in a merge across machines): a run of
# one machine of such a folder (Run.for_machine) takes them from that machine's entry, or drops them.
NODE_FACTS = ("host_name", "num_cpus", "hardware_threads", "mhz_per_cpu", "caches", "cpu_model", "cpu_governor",
              "kernel", "aslr")
# Characters a machine's label may not hold: it is a key the rows are grouped by and a title.
_UNPRINTABLE = frozenset(("Cc", "Cf", "Zl", "Zp"))
EXHAUSTED = re.compile(r"exhausted at event [0-9]+ of [0-9]+")
# A trace replay's counters under the names the other workloads' columns already have, where the
# driver does not give those: one event is one operation; reserved / requested at the peak, and
# its requested side (the trace's ideal, the same for every allocator).
ALIASES = {"ns_per_op": "ns_per_event", "items_per_second": "events_per_second",
           "overhead_ratio": "fragmentation_ratio", "bytes_requested_at_peak": "peak_live_requested_bytes"}


class ResultsError(Exception):
    """A results folder or file that cannot be read: the message names the file and the fault."""


@dataclass(frozen=True)
class ResultRow:
    """One case x repetition: a row of results.csv."""
    workload: str
    allocator: str
    threads: int
    repetition: int = 1
    status: str = "ok"
    reason: str = ""
    unit: str = ""
    active_malloc: str = ""
    ns_per_op: float | None = None
    items_per_second: float | None = None
    bytes_per_second: float | None = None
    latency_p50_ns: float | None = None
    latency_p99_ns: float | None = None
    latency_p999_ns: float | None = None
    latency_max_ns: float | None = None
    peak_rss_bytes: float | None = None
    rss_at_start_bytes: float | None = None
    page_faults: float | None = None
    overhead_ratio: float | None = None
    bytes_requested_at_peak: float | None = None
    bytes_reserved_at_peak: float | None = None
    destroy_ns_per_tree: float | None = None
    rss_at_10pct: float | None = None
    rss_at_20pct: float | None = None
    rss_at_30pct: float | None = None
    rss_at_40pct: float | None = None
    rss_at_50pct: float | None = None
    rss_at_60pct: float | None = None
    rss_at_70pct: float | None = None
    rss_at_80pct: float | None = None
    rss_at_90pct: float | None = None
    rss_at_100pct: float | None = None
    ref_items_per_second: float | None = None
    machine: str = ""  # the node it ran on, in a merge across machines; "" in a folder of one machine

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.workload, self.allocator, self.threads)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def metric(self, name: str) -> float | None:
        if name not in METRICS:
            raise KeyError(name)
        value: float | None = getattr(self, name)
        return value

    def csv_fields(self) -> dict[str, str]:
        """The row under COLUMNS, and its machine when it names one (a header without the
        machine column then refuses it: write_csv needs columns_for(rows))."""
        out = {c: "" if getattr(self, c) is None else str(getattr(self, c)) for c in COLUMNS}
        if self.machine:
            out[MACHINE_COLUMN] = self.machine
        return out


assert tuple(f.name for f in fields(ResultRow)) == \
    COLUMNS[:4] + ("status", "reason", "unit", "active_malloc") + METRICS + (MACHINE_COLUMN,)


def columns_for(rows: Iterable[ResultRow]) -> tuple[str, ...]:
    """results.csv's header for these rows: COLUMNS, and the machine column after them when some
    row names its machine (a merge across machines; nobody else writes it)."""
    return COLUMNS + (MACHINE_COLUMN,) if any(r.machine for r in rows) else COLUMNS


@dataclass(frozen=True)
class Case:
    """Every row of one workload/allocator/threads, over its repetitions."""
    workload: str
    allocator: str
    threads: int
    rows: tuple[ResultRow, ...]

    @property
    def ok_rows(self) -> list[ResultRow]:
        return [r for r in self.rows if r.ok]

    def values(self, metric: str) -> list[float]:
        """The metric over the ok repetitions (finite values only)."""
        out = []
        for r in self.ok_rows:
            v = r.metric(metric)
            if v is not None and math.isfinite(v):
                out.append(v)
        return out

    @property
    def state(self) -> str:
        """ok | partial (some repetitions failed or were skipped) | skipped | failed."""
        statuses = {r.status for r in self.rows}
        if statuses == {"ok"}:
            return "ok"
        if "ok" in statuses:
            return "partial"
        return "failed" if "failed" in statuses else "skipped"

    @property
    def why_missing(self) -> str:
        """What a chart or table shows for a case with no ok repetition: "did not fit" when every
        failure ran out of a never-freeing malloc's budget, else its state (failed, skipped)."""
        failed = [r for r in self.rows if r.status == "failed"]
        if failed and all(r.reason.startswith(DID_NOT_FIT + ":") for r in failed):
            return DID_NOT_FIT
        return "failed" if failed else "skipped"


def group_cases(rows: Iterable[ResultRow]) -> dict[tuple[str, str, int], Case]:
    """{(workload, allocator, threads): Case}, in the order the rows first name them."""
    grouped: dict[tuple[str, str, int], list[ResultRow]] = {}
    for r in rows:
        grouped.setdefault(r.key, []).append(r)
    return {k: Case(*k, rows=tuple(v)) for k, v in grouped.items()}


@dataclass(frozen=True)
class Run:
    """A results folder as read by read_run: rows, machine facts, command, registry."""
    folder: Path
    rows: tuple[ResultRow, ...]
    facts: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    registry: Registry = field(default_factory=Registry)
    claims: tuple[dict[str, Any], ...] = ()  # claims.json: the verdicts checked on this run

    @property
    def name(self) -> str:
        return self.folder.resolve().name

    @cached_property
    def _cases(self) -> dict[tuple[str, str, int], Case]:
        return group_cases(self.rows)

    def cases(self) -> dict[tuple[str, str, int], Case]:
        """The rows grouped by case, once per run (every chart and table asks). A run of several
        machines has none: its medians would pool them (group for_machine(label) instead)."""
        machines = self.machines()
        if len(machines) > 1:
            raise ValueError(f"{self.folder}: its rows ran on {len(machines)} machines; cases of one machine come "
                             "from for_machine(label), never pooled")
        return self._cases

    def threads_of(self, workload: str, threads: int) -> int:
        """The thread count at which `workload` is read where the run's tables and charts read
        `threads`: that count, except for a workload with a thread count of its own (a trace
        replays at its recorded threads), read at its own."""
        if not fixed_threads_workload(workload):
            return threads
        counts = sorted({r.threads for r in self.rows if r.workload == workload})
        return threads if not counts or threads in counts else counts[-1]

    def workloads(self) -> list[str]:
        """Workloads in the sweep's order (machine.json), then any others in row order."""
        present = list(dict.fromkeys(r.workload for r in self.rows))
        listed = [w for w in self.facts.get("workloads") or self.registry.workload_names() if w in present]
        return listed + [w for w in present if w not in listed]

    def allocators(self) -> list[str]:
        """Allocators in the registry's drawing order."""
        return self.registry.order({r.allocator for r in self.rows})

    def thread_counts(self) -> list[int]:
        """The run's thread counts: those of its workloads that run at the counts of the run,
        not a trace's own (unless the run holds nothing but traces)."""
        swept = {r.threads for r in self.rows if not fixed_threads_workload(r.workload)}
        return sorted(swept or {r.threads for r in self.rows})

    def hardware_threads(self) -> int | None:
        return hardware_threads(self.facts)

    def machines(self) -> list[str]:
        """The machines the rows name (a merge across machines), in the order rows first name
        them; [] for a folder of one machine."""
        return list(dict.fromkeys(r.machine for r in self.rows if r.machine))

    def for_machine(self, label: str) -> Run:
        """The rows of one machine as a run of their own: the same folder, command, registry and
        claims; facts that say the machine (facts["machine"]) and describe that node as
        machine.json's "machines" does, without the one node's facts the merge kept at the top."""
        if label not in self.machines():
            raise KeyError(f"{label!r}: no row of {self.folder} ran there (valid: {', '.join(self.machines())})")
        node = (self.facts.get("machines") or {}).get(label) or {}
        facts = {k: v for k, v in self.facts.items() if k not in NODE_FACTS and k != "machines"}
        facts["machine"] = label
        for key, fact in (("host", "host_name"), ("cpu_model", "cpu_model"), ("kernel", "kernel")):
            if node.get(key):
                facts[fact] = node[key]
        if node.get("cpus"):
            facts["num_cpus"] = facts["hardware_threads"] = node["cpus"]
        return Run(folder=self.folder, rows=tuple(r for r in self.rows if r.machine == label), facts=facts,
                   command=self.command, registry=self.registry, claims=self.claims)


def hardware_threads(facts: dict[str, Any]) -> int | None:
    """Hardware threads of the machine (machine.json's hardware_threads, else num_cpus), or None."""
    for key in ("hardware_threads", "num_cpus"):
        value = facts.get(key)
        if value not in (None, ""):
            try:
                n = int(str(value).strip())
            except ValueError:
                continue
            if n > 0:
                return n
    return None


# ----------------------------------------------------------------------------- writing

def new_run_name(suffix: str = "") -> str:
    """A run folder's name: <UTC time>-<short host name><suffix>, as results/ lists them."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{socket.gethostname().split('.')[0]}{suffix}"


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def publish(temp: str | Path, path: str | Path) -> None:
    """Renames a finished temporary file over path, with the mode a plain open() would give
    (mkstemp makes files readable by their owner only)."""
    os.chmod(temp, 0o666 & ~_umask())
    os.replace(temp, path)


def write_atomically(path: str | Path, text: str) -> None:
    """Writes text to path through a temporary file in the same folder and a rename."""
    path = Path(path)
    if path.is_dir():
        raise ResultsError(f"{path}: is a folder, not a file that can be written")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        publish(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, value: Any) -> None:
    write_atomically(path, json.dumps(value, indent=2) + "\n")


def write_csv(path: str | Path, rows: Iterable[Any], columns: Sequence[str] = COLUMNS) -> None:
    """Rows (anything with csv_fields()) under a header of `columns`, written atomically. A row
    with a field the header lacks (a machine, without columns_for) is refused, not dropped."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        record = row.csv_fields()
        extra = [c for c in record if c not in columns]
        if extra:
            raise ResultsError(f"{path}: a row has {extra[0]} {record[extra[0]][:80]!r}, which the columns lack "
                               "(valid: the columns of columns_for(rows))")
        writer.writerow(record)
    write_atomically(path, buffer.getvalue())


# ----------------------------------------------------------------------------- reading

def regular_file(path: str | Path) -> None:
    """Refuses what is not a plain file (a folder, a device, a pipe) before it is read."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise ResultsError(f"{path}: {e.strerror}") from None
    if not stat.S_ISREG(mode):
        raise ResultsError(f"{path}: not a regular file")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(path: str | Path) -> Any:
    """A JSON file, strictly: no NaN or Infinity, text that is UTF-8 throughout."""
    regular_file(path)
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f, parse_constant=_no_constant)
        json.dumps(doc, ensure_ascii=False).encode("utf-8")  # lone surrogates from \ud800 escapes
        return doc
    except OSError as e:
        raise ResultsError(f"{path}: {e.strerror}") from None
    except RecursionError:
        raise ResultsError(f"{path}: not valid JSON (nested too deeply)") from None
    except (ValueError, UnicodeError) as e:
        raise ResultsError(f"{path}: not valid JSON ({e})") from None


def parse_number(where: str, name: str, text: str) -> float | None:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ResultsError(f"{where}: {name} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or value > MAX_VALUE:
        raise ResultsError(f"{where}: {name} {text!r} is not a finite non-negative number (up to {MAX_VALUE:g})")
    return value


def parse_count(where: str, name: str, text: str, limit: int) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", text.strip()) or int(text) > limit:
        raise ResultsError(f"{where}: {name} {text!r} is not a whole number from 0 to {limit}")
    return int(text)


def check_machine(where: str, label: str) -> str:
    """A machine's label as a row or machine.json names it: printable text, no surrounding
    blanks, at most MAX_TEXT characters (it is what the rows are grouped by)."""
    valid = f"valid: a node's label such as 'node07 (CPU model, 40 CPUs)': printable, up to {MAX_TEXT} characters"
    bad = next((c for c in label if unicodedata.category(c) in _UNPRINTABLE), None)
    if bad is not None:
        raise ResultsError(f"{where}: machine {label[:80]!r} holds the control character {bad!r} ({valid})")
    if len(label) > MAX_TEXT:
        raise ResultsError(f"{where}: machine {label[:80]!r}... is {len(label)} characters long ({valid})")
    if label != label.strip():
        raise ResultsError(f"{where}: machine {label[:80]!r} starts or ends with blanks ({valid})")
    return label


def _row(where: str, record: dict[str, str]) -> ResultRow:
    if not record["workload"].strip() or not record["allocator"].strip():
        raise ResultsError(f"{where}: empty workload or allocator")
    for key, pattern in (("workload", WORKLOAD_NAME), ("allocator", NAME)):
        if not pattern.fullmatch(record[key]):
            raise ResultsError(f"{where}: {key} {record[key][:80]!r} is not a name (letters, digits, _ . + -, "
                               "at most 64" + (", after trace: or empirical:)" if key == "workload" else ")"))
    threads = parse_count(where, "threads", record["threads"], MAX_THREADS)
    if threads < 1:
        raise ResultsError(f"{where}: threads {threads} is not positive")
    repetition_text = record["repetition"].strip()
    repetition = parse_count(where, "repetition", repetition_text, 10 ** 6) if repetition_text else 1
    status = record["status"]
    if status not in STATUSES:
        raise ResultsError(f"{where}: status {status!r} is not one of {', '.join(STATUSES)}")
    metrics = {m: parse_number(where, m, record.get(m, "")) for m in METRICS}
    if status == "ok":
        for m in ("items_per_second", "ns_per_op"):
            if not metrics[m]:
                raise ResultsError(f"{where}: status ok but {m} is {record[m] or 'empty'!r}")
    return ResultRow(workload=record["workload"], allocator=record["allocator"], threads=threads,
                     repetition=repetition, status=status, reason=record["reason"][:MAX_TEXT],
                     unit=record["unit"], active_malloc=record["active_malloc"],
                     machine=check_machine(where, record.get(MACHINE_COLUMN, "")), **metrics)


def read_records(path: str | Path, columns: Sequence[str], kind: str = "results.csv") -> list[tuple[str, dict[str, str]]]:
    """The rows of a CSV file with (at least) `columns`, as (where, {column: text}); ResultsError
    on a file that is not text, not CSV, or lacks a column."""
    regular_file(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise ResultsError(f"{path}: {e.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark from a spreadsheet is not a fault
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ResultsError(f"{path}, line {line}: not UTF-8 text (byte {e.start}: "
                           f"0x{raw[e.start]:02x}; valid: a UTF-8 CSV file)") from None
    if "\0" in text:
        raise ResultsError(f"{path}: not a CSV file (it holds NUL bytes)")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise ResultsError(f"{path}: not a valid CSV ({e})") from None
    if not records or not any(records[0]):
        raise ResultsError(f"{path}: empty file, expected a header with the columns {', '.join(columns[:6])}, ...")
    header = records[0]
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise ResultsError(f"{path}: column {twice[0]!r} appears more than once in the header")
    missing = [c for c in columns if c not in header]
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise ResultsError(f"{path}: not a {kind}: missing column{'s' if len(missing) > 1 else ''} {shown}")
    if len(records) < 2:
        raise ResultsError(f"{path}: no rows below the header")
    out = []
    for line, record in enumerate(records[1:], start=2):
        if not record:
            continue
        if len(record) != len(header):
            raise ResultsError(f"{path}, line {line}: {len(record)} fields, the header has {len(header)}")
        out.append((f"{path}, line {line}", dict(zip(header, record))))
    return out


def read_csv(path: str | Path) -> list[ResultRow]:
    """Every row of a results.csv, each field checked; ResultsError on the first fault."""
    required = [c for c in COLUMNS if c not in OPTIONAL_COLUMNS]
    records = read_records(path, required)
    rows = [_row(where, record) for where, record in records]
    # The column names every row's machine or none's: a row without one would be pooled with a machine.
    named = next((r.machine for r in rows if r.machine), "")
    unnamed = next((where for (where, _), r in zip(records, rows) if not r.machine), None)
    if named and unnamed is not None:
        raise ResultsError(f"{unnamed}: machine is empty, but other rows name theirs ({named[:80]!r}) (valid: every "
                           "row's machine in a merge across machines, or no machine column)")
    return rows


def _plain(value: Any, depth: int = 0) -> bool:
    """A fact the report can show: text, a number, a flag, or lists and objects of those."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, str):
        return len(value) <= MAX_TEXT
    if isinstance(value, (int, float)):
        return math.isfinite(value) and abs(value) < 1e15
    if depth < 2 and isinstance(value, list):
        return all(_plain(v, depth + 1) for v in value)
    if depth < 2 and isinstance(value, dict):
        return all(_plain(v, depth + 1) for v in value.values())
    return False


def _read_facts(path: Path) -> dict[str, Any]:
    facts = read_json(path)
    if not isinstance(facts, dict):
        raise ResultsError(f"{path}: expected a JSON object, found {type(facts).__name__}")
    for key, value in facts.items():
        if not _plain(value):
            raise ResultsError(f"{path}: '{key}' is not plain text, a number or a short list of them")
    for key in ("hardware_threads", "num_cpus"):
        value = facts.get(key)
        if value not in (None, ""):
            text = str(value).strip()
            if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,7}", text) or int(text) == 0:
                raise ResultsError(f"{path}: {key} {value!r} is not a positive whole number")
    for key in ("workloads", "allocators", "threads"):
        value = facts.get(key)
        if value is not None and (not isinstance(value, list) or
                                  not all(isinstance(v, int if key == "threads" else str) for v in value)):
            raise ResultsError(f"{path}: '{key}' is not a list of {'counts' if key == 'threads' else 'names'}")
    machines = facts.get("machines")
    if machines is not None:
        if not isinstance(machines, dict) or not all(isinstance(n, dict) for n in machines.values()):
            raise ResultsError(f"{path}: 'machines' is not an object of node labels to {{host, cpu_model, cpus, "
                               "kernel}} objects")
        for label, node in machines.items():
            check_machine(f"{path}, 'machines'", label)
            cpus = node.get("cpus", 0)
            if not all(isinstance(node.get(k, ""), str) for k in ("host", "cpu_model", "kernel")) \
                    or type(cpus) is not int or cpus < 0:
                raise ResultsError(f"{path}: machine {label[:80]!r} is not a node's host, cpu_model, cpus and kernel "
                                   "(valid: text, text, a count and text)")
    caches = facts.get("caches")
    if caches is not None and (not isinstance(caches, list) or not all(
            isinstance(c, dict) and all(isinstance(c.get(k, 0), int) and not isinstance(c.get(k, 0), bool)
                                        for k in ("level", "size", "num_sharing"))
            and isinstance(c.get("type", ""), str) for c in caches)):
        raise ResultsError(f"{path}: 'caches' is not a list of {{level, type, size, num_sharing}} objects")
    return facts


VERDICTS = ("REPRODUCED", "NOT REPRODUCED", "INCONCLUSIVE")


def read_claims(path: Path) -> tuple[dict[str, Any], ...]:
    """claims.json as the claims tool writes it: a list of objects with an id and a verdict."""
    doc = read_json(path)
    if not isinstance(doc, list) or not all(isinstance(c, dict) for c in doc):
        raise ResultsError(f"{path}: expected a list of checked claims (objects)")
    for c in doc:
        if not isinstance(c.get("id"), str) or c.get("verdict") not in VERDICTS:
            raise ResultsError(f"{path}: a claim without an id or with a verdict not one of {', '.join(VERDICTS)}")
        if not all(_plain(v, 2) for v in c.values()):
            raise ResultsError(f"{path}: claim '{c['id'][:80]}' holds a value that is not text or a number")
    return tuple(doc)


def legacy_registry() -> Registry:
    """For a folder made before runs recorded registry.json: the built driver's registry (the
    names have not changed), or an empty one (the report then says it lacks kinds)."""
    if os.access(DEFAULT_BINARY, os.X_OK):
        try:
            return ask_driver(DEFAULT_BINARY)
        except RegistryError:
            pass
    return Registry()


def read_run(folder: str | Path, need_facts: bool = True) -> Run:
    """A results folder, every file checked: ResultsError naming the file and the fault."""
    folder = Path(folder)
    if not folder.exists():
        raise ResultsError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ResultsError(f"{folder}: not a folder")
    csv_path = folder / "results.csv"
    if not csv_path.exists():
        raise ResultsError(f"{csv_path}: missing (not a results folder?)")
    rows = read_csv(csv_path)  # a folder or a pipe of that name: not a regular file
    first: dict[tuple[str, str, int, int], int] = {}  # a repetition of a case given twice: a file that lies
    for n, r in enumerate(rows, start=1):
        if first.setdefault((*r.key, r.repetition), n) != n:
            raise ResultsError(f"{csv_path}, row {n}: {r.workload}/{r.allocator}/threads:{r.threads} repetition "
                               f"{r.repetition} is row {first[(*r.key, r.repetition)]} again (valid: each "
                               "repetition of a case once)")
    machine = folder / "machine.json"
    facts = _read_facts(machine) if need_facts or machine.exists() else {}
    nodes = facts.get("machines")
    if isinstance(nodes, dict):  # the rows' machines are nodes machine.json describes
        for n, r in enumerate(rows, start=1):
            if r.machine and r.machine not in nodes:
                raise ResultsError(f"{csv_path}, row {n}: machine {r.machine[:80]!r} is not one of {machine}'s "
                                   f"machines (valid: {', '.join(repr(k[:80]) for k in list(nodes)[:4])})")
    command_path = folder / "command.txt"
    if command_path.exists():
        regular_file(command_path)
        try:
            command = command_path.read_text(encoding="utf-8").strip() or "(not recorded)"
        except (OSError, UnicodeDecodeError) as e:
            raise ResultsError(f"{command_path}: {getattr(e, 'strerror', None) or e}") from None
    else:
        command = str(facts.get("command") or "(not recorded)")
    registry_path = folder / "registry.json"
    try:
        registry = Registry.from_json(read_json(registry_path), str(registry_path)) if registry_path.exists() \
            else legacy_registry()
    except RegistryError as e:
        raise ResultsError(str(e)) from None
    claims_path = folder / "claims.json"
    claims = read_claims(claims_path) if claims_path.exists() else ()
    return Run(folder=folder, rows=tuple(rows), facts=facts, command=command[:100_000], registry=registry,
               claims=claims)


# ----------------------------------------------------------------------------- the driver's JSON

def split_name(name: str) -> tuple[str, str, int] | None:
    """'small/malloc/threads:2' -> ('small', 'malloc', 2); None for other names."""
    parts = name.split("/")
    if len(parts) != 3 or not parts[2].startswith("threads:"):
        return None
    try:
        return parts[0], parts[1], int(parts[2][len("threads:"):])
    except ValueError:
        return None


# The driver's context key naming the reference case a sweep adds to each process
# (alloclab --reference NAME).
REFERENCE_CONTEXT = "paired_reference"


def rows_from_driver_json(doc: dict[str, Any], repetition: int, unit: str) -> list[ResultRow]:
    """One row per benchmark of a driver JSON (aggregates skipped: the CSV holds repetitions).
    In a sweep's process with a reference case (context paired_reference, a unit of another
    allocator), the reference's rows are not rows of their own: each row gets the reference's
    throughput at its thread count as ref_items_per_second. A unit of the reference itself is
    its own reference."""
    rows = _driver_rows(doc, repetition, unit)
    reference = str(doc.get("context", {}).get(REFERENCE_CONTEXT, ""))
    if not reference:
        return rows
    own = [r for r in rows if r.allocator != reference]
    refs = {r.threads: r.items_per_second for r in rows if r.allocator == reference and r.ok}
    kept = own or [r for r in rows if r.allocator == reference]
    return [replace(r, ref_items_per_second=refs.get(r.threads)) if r.ok else r for r in kept]


def _driver_rows(doc: dict[str, Any], repetition: int, unit: str) -> list[ResultRow]:
    rows = []
    active = str(doc.get("context", {}).get("active_malloc", ""))
    for b in doc.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        parsed = split_name(b.get("name", ""))
        if parsed is None:
            continue
        base = ResultRow(*parsed, repetition=repetition, unit=unit, active_malloc=active)
        if b.get("error_occurred"):
            message = str(b.get("error_message", ""))
            skipped = message.startswith("skipped: ")
            reason = message[len("skipped: "):] if skipped else message
            # A trace replay whose fixed-capacity allocator ran out: a skip with that reason
            # (the allocator cannot hold the program), not a crash.
            skipped = skipped or EXHAUSTED.fullmatch(reason) is not None
            rows.append(replace(base, status="skipped" if skipped else "failed", reason=reason))
        else:
            values = {m: float(b[m]) for m in METRICS if m in b}
            values |= {m: float(b[alias]) for m, alias in ALIASES.items() if m not in values and alias in b}
            rows.append(replace(base, **values))
    return rows


# A sweep's raw/ folder: one record per unit (one driver process), named after the unit.
UNIT_NAME = re.compile(r"r([0-9]{2,6})__[A-Za-z0-9_.+:-]+")
RAW_KINDS = {".failed.json": "failed", ".skipped.json": "skipped", ".json": "result"}


@dataclass(frozen=True)
class UnitFile:
    """One record of raw/, read and checked: the driver's result of a unit (kind "result"), or
    the sweep's record of a unit that failed or was skipped; its rows as results.csv holds them."""
    path: Path
    unit: str
    kind: str
    repetition: int
    rows: tuple[ResultRow, ...]
    context: dict[str, Any]


def unit_file_name(name: str) -> tuple[str, str] | None:
    """'r01__small__malloc.failed.json' -> ('r01__small__malloc', 'failed'); None for a name
    that is no unit's record (temporary files start with a dot)."""
    if name.startswith("."):
        return None
    for suffix, kind in RAW_KINDS.items():
        if name.endswith(suffix):
            unit = name[:-len(suffix)]
            return (unit, kind) if UNIT_NAME.fullmatch(unit) else None
    return None


def read_unit_file(path: str | Path) -> UnitFile:
    """A record of raw/, strictly: a driver result must hold at least one case of alloclab's
    (workload/allocator/threads:N), a failure or skip record every field the sweep writes, and
    every row must be one results.csv can hold. ResultsError names the file and the fault."""
    path = Path(path)
    named = unit_file_name(path.name)
    if named is None:
        raise ResultsError(f"{path}: not a unit's record (valid: rNN__WORKLOAD__ALLOCATOR[.failed|.skipped].json)")
    unit, kind = named
    what = {"result": "driver result", "failed": "failure record", "skipped": "skip record"}[kind]
    match = UNIT_NAME.fullmatch(unit)
    assert match is not None
    repetition = int(match.group(1))
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise ResultsError(f"{path}: not a {what} (expected a JSON object, found {type(doc).__name__})")
    context = doc.get("context", {})
    if not isinstance(context, dict):
        raise ResultsError(f"{path}: not a {what} (its context is not an object)")
    try:
        if kind == "result":
            benchmarks = doc.get("benchmarks")
            if not isinstance(benchmarks, list) or not benchmarks or not all(isinstance(b, dict) for b in benchmarks):
                raise ResultsError(f"{path}: not a {what}: it holds no benchmarks (an interrupted run?)")
            rows = rows_from_driver_json(doc, repetition, unit)
            if not rows:
                raise ResultsError(f"{path}: not a {what}: no case named WORKLOAD/ALLOCATOR/threads:N in it")
        else:
            threads = doc.get("threads")
            fields_ok = (doc.get("unit") == unit and doc.get("status") == kind and isinstance(doc.get("why"), str)
                         and isinstance(doc.get("workload"), str) and isinstance(doc.get("allocator"), str)
                         and isinstance(doc.get("stderr", ""), str) and isinstance(threads, list) and threads
                         and all(type(t) is int and 1 <= t <= MAX_THREADS for t in threads))
            if not fields_ok:
                raise ResultsError(f"{path}: not a {what} of unit {unit} (expected unit, status {kind}, workload, "
                                   "allocator, why and threads)")
            last = (str(doc.get("stderr", "")).strip().splitlines() or [""])[-1]
            reason = f"{doc['why']}: {last}" if kind == "failed" else str(doc["why"])
            rows = [ResultRow(doc["workload"], doc["allocator"], t, repetition=repetition, status=kind, unit=unit,
                              reason=reason) for t in threads or ()]
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as e:
        raise ResultsError(f"{path}: not a {what} ({e})") from None
    # Every row as results.csv will hold it, checked as read_csv checks it.
    checked = tuple(_row(str(path), r.csv_fields()) for r in rows)
    return UnitFile(path, unit, kind, repetition, checked, context)


def renumber_repetitions(rows: Sequence[ResultRow]) -> list[ResultRow]:
    """Rows of one process with repetitions: each case's k-th row becomes repetition k
    (from 0), in the order the driver reported them."""
    seen: dict[tuple[str, str, int], int] = {}
    out = []
    for r in rows:
        k = seen.get(r.key, 0)
        seen[r.key] = k + 1
        out.append(replace(r, repetition=k))
    return out
