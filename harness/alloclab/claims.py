"""alloclab claims: check what allocator papers and READMEs promise, with statistics.

  python3 -m alloclab.claims [FILE] [--from DIR | --one-run] [--strict] [--repetitions N] [--min-time S]

FILE (default harness/claims.toml) lists claims; each names the sentence checked, its source,
the workload(s), the allocators, the thread counts, a metric and the expected relation. Without
--from, exactly the cases the claims need run through the sweep (interleaved, >= 9
repetitions); with --from DIR, an existing results folder is used; with --one-run, every case
runs in a single `alloclab` process (repetitions randomly interleaved), so that machine noise
hits them alike — how harness/targets.toml, the project's own performance targets, is checked.
Every claim gets the measured value, a 95 % confidence interval and a verdict. In a sweep's
folder, a ratio of two cases is the median of the per-pass ratios (A and B of one repetition
ran in the same pass; the pairs are resampled together), so drift of the machine between
passes cancels; a --one-run, whose repetitions Google Benchmark shuffles all together, gives
the ratio of the medians.

  REPRODUCED       the interval lies on the claimed side of the bound (or the test is significant)
  NOT REPRODUCED   the interval lies on the other side (or the opposite is significant)
  INCONCLUSIVE     the interval straddles the bound, or too few repetitions

The table is printed and written to DIR/claims.md and DIR/claims.json (the report shows them);
a file may set a top-level `output = "NAME"` to write DIR/NAME.* instead, and `title`.
Exit 0; with --strict, 1 when any claim is NOT REPRODUCED; 2 for bad input, one line naming
the value and what is valid, before anything is run or written: a claims file that is not UTF-8
TOML (the line), any field of any claim (the claim and the field), an option (a number that is
not one, --out empty, existing or without a parent), --from a folder that is not a run or whose
files lie (the file and the line).
"""

from __future__ import annotations

import argparse
import math
import re
import os
import shutil
import stat
import statistics
import subprocess
import sys
import tempfile
import tomllib
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from alloclab import results
from alloclab.cli import Parser, UsageError, integer, number
from alloclab.document import Bullets, Document, Heading, Paragraph, render_markdown, render_text
from alloclab.registry import (DEFAULT_BINARY, NAME, ROOT, Registry, RegistryError, ask_driver, fixed_threads_workload,
                               parametric_kind)
from alloclab.programs.records import MAX_SCALE, ProgramsRun, has_programs, read_programs
from alloclab.results import ResultRow, ResultsError
from alloclab.verdicts import verdict_table

MIN_REPETITIONS = 9

# metric -> (results.csv column, or "p999/p50" for latency_p999_ns / latency_p50_ns; higher is better)
METRICS = {
    "throughput": ("items_per_second", True),
    "ns_per_op": ("ns_per_op", False),
    "latency_p50": ("latency_p50_ns", False),
    "latency_p99": ("latency_p99_ns", False),
    "latency_p999": ("latency_p999_ns", False),
    "latency_tail_ratio": ("p999/p50", False),
    "overhead_ratio": ("overhead_ratio", False),
    "peak_rss": ("peak_rss_bytes", False),
    "destroy_time": ("destroy_ns_per_tree", False),
}
# relation -> the fields it needs besides workload/metric
RELATIONS = {
    "ratio_at_least": ("a", "b", "bound"),    # metric(A) / metric(B) >= bound
    "ratio_at_most": ("a", "b", "bound"),     # metric(A) / metric(B) <= bound
    "within": ("a", "b", "tolerance"),        # |metric(A) / metric(B) - 1| <= tolerance
    "greater": ("a", "b"),                    # metric(A) > metric(B)   (Mann-Whitney U)
    "less": ("a", "b"),                       # metric(A) < metric(B)   (Mann-Whitney U)
    "at_most": ("a", "bound"),                # metric(A) <= bound
    "at_least": ("a", "bound"),               # metric(A) >= bound
    "growth_at_most": ("a", "sizes", "exponent"),   # metric grows no faster than N^exponent
    "growth_at_least": ("a", "sizes", "exponent"),  # metric grows at least as fast as N^exponent
}
CLAIM_FIELDS = {"id", "sentence", "source", "workload", "workloads", "metric", "relation", "a", "b",
                "threads", "threads_b", "bound", "tolerance", "sizes", "exponent", "note", "program", "programs"}
# Claims about real programs (`program = NAME` or `programs = [NAMES] | "all"`): metric -> (the
# programs.csv column, or cpu_s for user + system; higher is better). Over several programs the
# ratio is the geometric mean of each program's per-pass ratio.
PROGRAM_METRICS = {
    "time": ("wall_s", False),
    "cpu_time": ("cpu_s", False),
    "peak_rss": ("peak_rss_bytes", False),
    "requests_per_s": ("requests_per_s", True),
}
# relation -> the fields it needs; `fastest` is judged on programs only: on every program, no
# other allocator of the run is significantly better than A on the metric (evaluate_fastest).
PROGRAM_RELATIONS: dict[str, tuple[str, ...]] = {
    **{r: RELATIONS[r] for r in ("ratio_at_least", "ratio_at_most", "within", "greater", "less")},
    "fastest": ("a",)}
# The speed metrics `fastest` reads (its name says what it ranks).
FASTEST_METRICS = ("time", "cpu_time", "requests_per_s")
PROGRAM_SCALE = 1.0
VERDICTS = results.VERDICTS
# Files of a run folder a claims file's `output` must not replace.
RESERVED_OUTPUTS = {"results", "machine", "command", "registry", "report", "compare", "run", "programs", "plan"}

# Rows of a --one-run: Google Benchmark's random interleaving shuffles all repetitions of all
# cases into one order, so the k-th repetition of A and of B did not run in one round.
UNPAIRED_UNIT = "one-run"


class ClaimsError(Exception):
    pass


@dataclass(frozen=True)
class Claim:
    id: str
    sentence: str
    source: str
    metric: str
    relation: str
    workloads: tuple[str, ...]
    a: str
    b: str | None = None
    threads: int = 1
    threads_b: int = 1
    bound: float | None = None
    tolerance: float | None = None
    sizes: tuple[float, ...] = ()
    exponent: float | None = None
    note: str = ""
    programs: tuple[str, ...] = ()  # a claim about real programs (then no workloads)
    # Workloads of a file (trace:PATH, empirical:PATH): case name (trace:<stem>) -> the driver's
    # argument (trace:/absolute/path, the path relative to the claims file's folder).
    files: tuple[tuple[str, str], ...] = ()

    def argument(self, workload: str) -> str:
        """What the sweep's --workloads is given for one of this claim's workloads."""
        return dict(self.files).get(workload, workload)


@dataclass(frozen=True)
class ClaimsFile:
    claims: tuple[Claim, ...]
    title: str = "Claims checked"
    output: str = "claims"


@dataclass(frozen=True)
class Verdict:
    id: str
    relation: str
    verdict: str
    paired: bool | None = None  # a ratio from pairs of the same repetition
    n: int = 0
    value: float | None = None
    low: float | None = None
    high: float | None = None
    p: float | None = None
    measured: str = "-"
    interval: str = "-"
    expected: str = "-"
    detail: str = ""
    left_out: str = ""  # programs left out of the judgement, and why (an allocator did not fit)


# --- the claims file ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ProgramNames:
    """What program claims may name: the suite's programs (threaded ones marked) and allocators."""
    programs: tuple[str, ...] = ()
    threaded: tuple[str, ...] = ()
    allocators: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()  # the programs with a client, the only ones with requests_per_s


def program_names(registry: Registry) -> ProgramNames:
    from alloclab.preload import SYSTEM
    from alloclab.programs.suite import PROGRAMS
    return ProgramNames(tuple(p.name for p in PROGRAMS), tuple(p.name for p in PROGRAMS if p.threaded),
                        (SYSTEM, *registry.allocator_names("preloaded")), tuple(p.name for p in PROGRAMS if p.server))


# The driver's ceiling on a thread count (harness/src/thread_spec.hpp max_threads): a claim
# cannot ask for a case the driver would refuse to run.
MAX_THREADS = 1024
# Bounds and sizes beyond these are typing errors, not claims (and no axis can show them).
MAX_BOUND = 1e15
MAX_EXPONENT = 10.0
MAX_TEXT = 2000
MAX_FILE_BYTES = 1 << 20
TOP_LEVEL = ("title", "output", "claim")
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")


def _shown(value: Any) -> str:
    """A value of the file as the message quotes it (short, one line)."""
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else repr(value)
    text = " ".join(str(text).split())
    return f"'{text[:80]}{'...' if len(text) > 80 else ''}'"


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_text(c: dict[str, Any], bad: Any) -> None:
    for key in ("id", "sentence", "source", "metric", "relation"):
        if key not in c:
            raise bad(key, "missing", "every claim has id, sentence, source, metric and relation")
        if not isinstance(c[key], str) or not c[key].strip():
            raise bad(key, f"{_shown(c[key])} is not a non-empty string", "text in quotes")
    for key in ("sentence", "source", "note"):
        if key in c and not isinstance(c[key], str):
            raise bad(key, f"{_shown(c[key])} is not a string", "text in quotes")
        if isinstance(c.get(key), str) and len(c[key]) > MAX_TEXT:
            raise bad(key, f"{len(c[key])} characters long", f"at most {MAX_TEXT} characters")


def _check_threads(c: dict[str, Any], bad: Any, keys: Sequence[str]) -> None:
    for key in keys:
        if key in c and (not _count(c[key]) or not 1 <= c[key] <= MAX_THREADS):
            raise bad(key, f"{_shown(c[key])} is not a positive whole number of threads up to the driver's ceiling",
                      f"a whole number from 1 to {MAX_THREADS}")


def _check_bound_and_tolerance(c: dict[str, Any], bad: Any) -> None:
    if "bound" in c:
        b, valid = c["bound"], f"a number above 0, up to {MAX_BOUND:g}"
        if not _number(b):
            raise bad("bound", f"{_shown(b)} is not a finite number", valid)
        if b <= 0:
            raise bad("bound", f"{_shown(b)} must be positive (a ratio, a time, a size or a count)", valid)
        if b > MAX_BOUND:
            raise bad("bound", f"{_shown(b)} is too large", valid)
    if "tolerance" in c and (not _number(c["tolerance"]) or not 0 <= c["tolerance"] < 1):
        why = "is not a finite number" if not _number(c["tolerance"]) else "is not a fraction from 0 to below 1"
        raise bad("tolerance", f"{_shown(c['tolerance'])} {why}", "a fraction from 0 to below 1 (0.15 = within 15 %)")


def _check_program_claim(c: dict[str, Any], bad: Any, names: ProgramNames) -> Claim:
    if "program" in c and "programs" in c:
        raise bad("programs", "given with program", "program (one) or programs (a list, or \"all\"), not both")
    key = "program" if "program" in c else "programs"
    valid_programs = f"{', '.join(names.programs)}" + (", or \"all\"" if key == "programs" else "")
    chosen = c[key]
    if key == "program" and not isinstance(chosen, str):
        raise bad(key, f"{_shown(chosen)} is not a program's name", valid_programs)
    chosen = [chosen] if key == "program" else chosen
    if chosen == "all":
        chosen = list(names.programs)
    if not isinstance(chosen, list) or not chosen or not all(isinstance(x, str) for x in chosen):
        raise bad(key, f"{_shown(c[key])} is not a non-empty list of program names or \"all\"", valid_programs)
    for i, x in enumerate(chosen):
        if x not in names.programs:
            raise bad(key, f"unknown program {x[:80]!r}", valid_programs)
        if x in chosen[:i]:
            raise bad(key, f"program {x[:80]!r} named twice", f"{valid_programs}; each program once")
    relation, metric = c["relation"], c["metric"]
    if relation not in PROGRAM_RELATIONS:
        raise bad("relation", f"'{relation[:80]}' is not one of {', '.join(PROGRAM_RELATIONS)} (a program claim)",
                  ", ".join(PROGRAM_RELATIONS))
    if metric not in PROGRAM_METRICS:
        raise bad("metric", f"'{metric[:80]}' is not one of {', '.join(PROGRAM_METRICS)} (a program claim)",
                  ", ".join(PROGRAM_METRICS))
    if metric == "requests_per_s" and names.servers and (clients := [x for x in chosen if x not in names.servers]):
        raise bad("metric", f"'requests_per_s' is measured on servers only ({', '.join(names.servers)}), "
                  f"not on {', '.join(clients)}", f"{', '.join(m for m in PROGRAM_METRICS if m != metric)} there")
    if relation == "fastest" and metric not in FASTEST_METRICS:
        raise bad("metric", f"'{metric}' is not a speed: 'fastest' ranks {', '.join(FASTEST_METRICS)}",
                  ", ".join(FASTEST_METRICS))
    if relation in ("greater", "less") and len(chosen) != 1:
        raise bad("relation", f"'{relation}' compares one program's runs; over several use ratio_at_least/ratio_at_most",
                  "ratio_at_least, ratio_at_most or within over several programs")
    used = {"id", "sentence", "source", "metric", "relation", "note", "threads", key, *PROGRAM_RELATIONS[relation]}
    for k in c:
        if k not in used:
            raise bad(k, f"not used by a program claim with relation '{relation}'", ", ".join(sorted(used)))
    for k in PROGRAM_RELATIONS[relation]:
        if k not in c:
            raise bad(k, f"missing: required by relation '{relation}'", f"{', '.join(PROGRAM_RELATIONS[relation])} "
                      f"with '{relation}'")
    for k in ("a", "b"):
        if k in c and (not isinstance(c[k], str) or c[k] not in names.allocators):
            raise bad(k, f"unknown allocator {_shown(c[k])}", f"for programs: {', '.join(names.allocators)}")
    _check_bound_and_tolerance(c, bad)
    if "b" in c and c["a"] == c["b"]:
        raise bad("b", f"'{c['b']}' is a too: a program claim compares two allocators",
                  f"an allocator other than '{c['a']}'")
    _check_threads(c, bad, ("threads",))
    threads = c.get("threads", 1)
    if threads != 1 and not any(x in names.threaded for x in chosen):
        raise bad("threads", f"{threads}: only threaded programs run at several thread counts",
                  f"1, or a threaded program: {', '.join(names.threaded) or 'none'}")
    return Claim(id=c["id"], sentence=c["sentence"], source=c["source"], metric=metric, relation=relation,
                 workloads=(), a=c["a"], b=c.get("b"), threads=threads, threads_b=threads, bound=c.get("bound"),
                 tolerance=c.get("tolerance"), note=c.get("note", ""), programs=tuple(chosen))


def _check_claim(path: str, index: int, c: Any, seen: set[str], allocators: Sequence[str],
                 workloads: Sequence[str], programs: ProgramNames = ProgramNames()) -> Claim:
    if not isinstance(c, dict):
        raise ClaimsError(f"{path}: claim #{index} is {_shown(c)}, not a table (valid: each claim a [[claim]] "
                          "table of fields)")
    given = c.get("id")
    name: str = given if isinstance(given, str) and ID.fullmatch(given) else f"#{index}"

    def bad(field_name: str, why: str, valid: str) -> ClaimsError:
        return ClaimsError(f"{path}: claim '{name}', field '{field_name}': {why} (valid: {valid})")

    for key in c:
        if key not in CLAIM_FIELDS:
            raise bad(key, "unknown field", ", ".join(sorted(CLAIM_FIELDS)))
    _check_text(c, bad)
    if not ID.fullmatch(c["id"]):
        raise bad("id", f"{_shown(c['id'])} is not an id", "letters, digits, _ . + -, at most 100, first a letter or digit")
    if name in seen:
        raise bad("id", "used by an earlier claim", "an id used once in the file")
    seen.add(name)
    if "program" in c or "programs" in c:
        return _check_program_claim(c, bad, programs)
    relation = c["relation"]
    if relation not in RELATIONS:
        raise bad("relation", f"'{relation[:80]}' is not one of {', '.join(RELATIONS)}", ", ".join(RELATIONS))
    if c["metric"] not in METRICS:
        raise bad("metric", f"'{c['metric'][:80]}' is not one of {', '.join(METRICS)}", ", ".join(METRICS))
    growth = relation.startswith("growth")
    wkey = "workloads" if growth else "workload"
    valid_workloads = f"{', '.join(workloads)}, or trace:FILE, empirical:FILE"
    if growth:
        if "workloads" not in c:
            raise bad("workloads", f"missing: a growth claim needs a list of at least two workloads (one per size)",
                      f"a list of two or more of {valid_workloads}")
        ws = c["workloads"]
        if not isinstance(ws, list) or len(ws) < 2 or not all(isinstance(w, str) for w in ws):
            raise bad("workloads", f"{_shown(ws)}: a growth claim needs a list of at least two workloads (one per size)",
                      f"a list of two or more of {valid_workloads}")
        ws = list(ws)
        if "sizes" not in c:
            raise bad("sizes", "missing: one positive size per workload", f"a list of {len(ws)} different numbers above 0")
        sizes = c["sizes"]
        if not isinstance(sizes, list) or len(sizes) != len(ws) or not all(
                _number(x) and 0 < x <= MAX_BOUND for x in sizes):
            raise bad("sizes", f"{_shown(sizes)}: one positive size per workload ({len(ws)} workloads)",
                      f"a list of {len(ws)} different numbers above 0, up to {MAX_BOUND:g}")
        if len(set(sizes)) < 2:
            raise bad("sizes", f"{_shown(sizes)}: at least two different sizes are needed to fit a growth",
                      f"{len(ws)} different sizes")
        twice = [x for i, x in enumerate(sizes) if x in sizes[:i]]
        if twice:
            raise bad("sizes", f"size {twice[0]:g} given twice", f"{len(ws)} different sizes, one per workload")
    else:
        if "workload" not in c:
            raise bad("workload", "missing", f"one of {valid_workloads}")
        if not isinstance(c["workload"], str):
            raise bad("workload", f"{_shown(c['workload'])} is not a workload's name", f"one of {valid_workloads}")
        ws = [c["workload"]]
    files: list[tuple[str, str]] = []
    for i, w in enumerate(ws):
        kind = parametric_kind(w)
        if kind is not None:
            # A workload of a file: its cases are named after the file's stem, and a trace's
            # thread count is the trace's own (read from the results, not from the claim).
            argument = w.split(":", 1)[1]
            given = Path(argument).expanduser()
            if not argument.strip():
                raise bad(wkey, f"'{w}' names no file", f"{kind}:PATH, PATH relative to the claims file's folder")
            if not NAME.fullmatch(given.stem):
                raise bad(wkey, f"the stem of '{w[:200]}' is not a name: its cases could not be named",
                          "a file whose name before the extension is letters, digits, _ . + -, at most 64")
            case = f"{kind}:{given.stem}"
            files.append((case, f"{kind}:{os.path.abspath(Path(path).parent / given)}"))
            ws[i] = case
            if kind == "trace" and ("threads" in c or "threads_b" in c):
                raise bad("threads" if "threads" in c else "threads_b",
                          "a trace replays at its own recorded thread count", "no threads on a trace's claim")
        elif w not in workloads:
            raise bad(wkey, f"unknown workload '{w[:80]}'", valid_workloads)
        if ws[i] in ws[:i]:
            raise bad(wkey, f"workload '{ws[i][:80]}' named twice", "each workload once, one per size")
    for key in RELATIONS[relation]:
        if key not in c:
            raise bad(key, f"missing: required by relation '{relation}'",
                      f"{', '.join(RELATIONS[relation])} with '{relation}'")
    used = {"id", "sentence", "source", "metric", "relation", "note", "threads", *RELATIONS[relation], wkey} | (
        {"threads_b"} if "b" in RELATIONS[relation] else set())
    for key in c:
        if key not in used:
            raise bad(key, f"not used by relation '{relation}'", f"the fields it reads: {', '.join(sorted(used))}")
    for key in ("a", "b"):
        if key in c and (not isinstance(c[key], str) or c[key] not in allocators):
            raise bad(key, f"unknown allocator {_shown(c[key])}", ", ".join(allocators))
    if "exponent" in c and (not _number(c["exponent"]) or abs(c["exponent"]) > MAX_EXPONENT):
        raise bad("exponent", f"{_shown(c['exponent'])} is not a finite number"
                  if not _number(c["exponent"]) else f"{_shown(c['exponent'])} is out of range",
                  f"a number from {-MAX_EXPONENT:g} to {MAX_EXPONENT:g} (0: constant, 1: linear)")
    _check_bound_and_tolerance(c, bad)
    _check_threads(c, bad, ("threads", "threads_b"))
    threads = c.get("threads", 1)
    threads_b = c.get("threads_b", threads)
    if "b" in c and c["a"] == c["b"] and threads == threads_b:
        raise bad("b", f"'{c['b']}' is a too, at the same thread count: the claim compares a case with itself",
                  f"an allocator other than '{c['a']}', or threads_b other than {threads}")
    return Claim(id=name, sentence=c["sentence"], source=c["source"], metric=c["metric"], relation=relation,
                 workloads=tuple(ws), a=c["a"], b=c.get("b"), threads=threads, threads_b=threads_b,
                 bound=c.get("bound"), tolerance=c.get("tolerance"), sizes=tuple(c.get("sizes", ())),
                 exponent=c.get("exponent"), note=c.get("note", ""), files=tuple(files))


def read_claims_text(path: str) -> dict[str, Any]:
    """The file's TOML, or ClaimsError naming the file, the line and what is valid."""
    valid = "a UTF-8 TOML file of [[claim]] tables, as harness/claims.toml"
    if not path:
        raise ClaimsError(f"no claims file named: '' (valid: {valid})")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # before open(): a pipe would block it
            raise ClaimsError(f"{path}: not a regular file (valid: {valid})")
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ClaimsError(f"{path}: {e.strerror} (valid: {valid})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ClaimsError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB (valid: {valid})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ClaimsError(f"{path}, line {line}: not a TOML file (not UTF-8 text: byte 0x{raw[e.start]:02x}) "
                          f"(valid: {valid})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ClaimsError(f"{path}: TOML syntax: {e} (valid: {valid})") from None


def load_claims_file(path: str, allocators: Sequence[str], workloads: Sequence[str],
                     programs: ProgramNames = ProgramNames()) -> ClaimsFile:
    """Parses and validates; ClaimsError naming the claim and the field, and what is valid."""
    doc = read_claims_text(path)
    for key in doc:
        if key not in TOP_LEVEL:
            raise ClaimsError(f"{path}: unknown top-level key '{key[:80]}' (valid: {', '.join(TOP_LEVEL)}; "
                              "a claim's fields go under [[claim]])")
    if "title" in doc and (not isinstance(doc["title"], str) or not doc["title"].strip()
                           or "\n" in doc["title"] or len(doc["title"]) > 200):
        raise ClaimsError(f"{path}: 'title' {_shown(doc['title'])} is not one line of text "
                          "(valid: a string of 1 to 200 characters, no line break)")
    if "output" in doc:
        output = doc["output"]
        if not isinstance(output, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,64}", output):
            raise ClaimsError(f"{path}: 'output' {_shown(output)} is not a name of ASCII letters, digits and _ "
                              "(valid: 1 to 64 of A-Z a-z 0-9 _)")
        if output in RESERVED_OUTPUTS:
            raise ClaimsError(f"{path}: 'output' \"{output}\" would replace a file of the run folder "
                              f"(valid: a name not one of {', '.join(sorted(RESERVED_OUTPUTS))})")
    entries = doc.get("claim")
    if not isinstance(entries, list) or not entries:
        raise ClaimsError(f"{path}: no [[claim]] tables (valid: one [[claim]] table per claim, at least one)")
    seen: set[str] = set()
    claims = tuple(_check_claim(path, i, c, seen, allocators, workloads, programs)
                   for i, c in enumerate(entries, start=1))
    return ClaimsFile(claims, doc.get("title", "Claims checked"), doc.get("output", "claims"))


def load_claims(path: str, allocators: Sequence[str], workloads: Sequence[str],
                programs: ProgramNames = ProgramNames()) -> list[Claim]:
    return list(load_claims_file(path, allocators, workloads, programs).claims)


def needed_cases(claims: Sequence[Claim]) -> tuple[list[tuple[str, str]], list[int]]:
    """(workload, allocator) units and thread counts the claims read."""
    units, threads = set(), set()
    for c in claims:
        if c.programs:
            continue
        for w in c.workloads:
            units.add((w, c.a))
            if c.b is not None:
                units.add((w, c.b))
        threads.update({c.threads, c.threads_b})
    return sorted(units), sorted(threads)


# --- statistics ---------------------------------------------------------------------------------

def value_of(row: ResultRow, metric: str) -> float | None:
    column = METRICS[metric][0]
    if column == "p999/p50":
        p50, p999 = row.latency_p50_ns, row.latency_p999_ns
        return p999 / p50 if p50 and p999 is not None else None
    return row.metric(column)


def case_threads(rows: Sequence[ResultRow], workload: str, threads: int) -> int:
    """The thread count a claim's case is read at: its own, except a trace's, which is the
    trace's recorded count (the one its rows have)."""
    if not fixed_threads_workload(workload):
        return threads
    counts = sorted({r.threads for r in rows if r.workload == workload})
    return counts[-1] if counts and threads not in counts else threads


def _case_rows(rows: Sequence[ResultRow], workload: str, allocator: str, threads: int) -> list[ResultRow]:
    threads = case_threads(rows, workload, threads)
    return [r for r in rows if r.ok and r.key == (workload, allocator, threads)]


def samples(rows: Sequence[ResultRow], workload: str, allocator: str, threads: int, metric: str) -> list[float]:
    """The metric's values over the ok repetitions of one case."""
    values = (value_of(r, metric) for r in _case_rows(rows, workload, allocator, threads))
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def paired_samples(rows: Sequence[ResultRow], workload: str, a: str, threads_a: int, b: str, threads_b: int,
                   metric: str) -> tuple[list[float], list[float]] | None:
    """The metric of A and of B as pairs measured in the same pass of a sweep (rows with the
    same repetition number), or None where there are no such pairs: rows of a --one-run, a
    repetition missing on one side or present twice, a value that is not positive."""
    def by_repetition(allocator: str, threads: int) -> dict[int, float] | None:
        out: dict[int, float] = {}
        for r in _case_rows(rows, workload, allocator, threads):
            value = value_of(r, metric)
            if r.unit == UNPAIRED_UNIT or r.repetition in out or value is None or not value > 0:
                return None
            out[r.repetition] = value
        return out
    va, vb = by_repetition(a, threads_a), by_repetition(b, threads_b)
    if not va or not vb or va.keys() != vb.keys():
        return None
    keys = sorted(va)
    return [va[k] for k in keys], [vb[k] for k in keys]


def interval_verdict(low: float, high: float, holds_above: bool, bound: float) -> str:
    """REPRODUCED when the interval is wholly on the claimed side of bound."""
    if holds_above:
        return "REPRODUCED" if low >= bound else "NOT REPRODUCED" if high < bound else "INCONCLUSIVE"
    return "REPRODUCED" if high <= bound else "NOT REPRODUCED" if low > bound else "INCONCLUSIVE"


def _growth(claim: Claim, rows: Sequence[ResultRow]) -> Verdict:
    from alloclab import stats  # numpy and scipy load when a claim is judged, not for a refusal
    series = [samples(rows, w, claim.a, claim.threads, claim.metric) for w in claim.workloads]
    n = min(len(s) for s in series)
    if n < 3:
        return Verdict(claim.id, claim.relation, "INCONCLUSIVE", n=n, detail=f"only {n} repetitions at some size")
    if any(min(s) <= 0 for s in series):
        return Verdict(claim.id, claim.relation, "INCONCLUSIVE", n=n, detail="a non-positive value: no logarithm to fit")
    value, low, high = stats.growth_interval(series, claim.sizes)
    k = float(claim.exponent or 0)
    at_least = claim.relation == "growth_at_least"
    return Verdict(claim.id, claim.relation, interval_verdict(low, high, at_least, k), n=n, value=value, low=low,
                   high=high, measured=f"exponent {value:.3f}", interval=f"[{low:.3f}, {high:.3f}]",
                   expected=f"{'>=' if at_least else '<='} {claim.exponent}")


def evaluate(claim: Claim, rows: Sequence[ResultRow]) -> Verdict:
    from alloclab import stats  # numpy and scipy load when a claim is judged, not for a refusal
    if claim.relation.startswith("growth"):
        return _growth(claim, rows)
    w = claim.workloads[0]
    a = samples(rows, w, claim.a, claim.threads, claim.metric)
    b = samples(rows, w, claim.b, claim.threads_b, claim.metric) if claim.b is not None else None
    n = min(len(a), len(b)) if b is not None else len(a)
    if n < 3:
        return Verdict(claim.id, claim.relation, "INCONCLUSIVE", n=n, detail=f"only {n} repetitions measured")
    if claim.relation in ("at_most", "at_least") or b is None:
        value, low, high = stats.median_interval(a)
        at_least = claim.relation == "at_least"
        return Verdict(claim.id, claim.relation, interval_verdict(low, high, at_least, float(claim.bound or 0)),
                       n=n, value=value, low=low, high=high, measured=f"{value:.4g}",
                       interval=f"[{low:.4g}, {high:.4g}]", expected=f"{'>=' if at_least else '<='} {claim.bound}")
    if statistics.median(a) == 0 or statistics.median(b) == 0:
        return Verdict(claim.id, claim.relation, "INCONCLUSIVE", n=n, detail="a median of 0: no ratio")
    # The ratio reads "how many times better A is than B" (> 1: A better): lower-is-better
    # metrics compare through the inverse ratio, so a bound reads the way the sentence does.
    higher_better = METRICS[claim.metric][1]
    pairs = paired_samples(rows, w, claim.a, claim.threads, claim.b or "", claim.threads_b, claim.metric)
    if pairs is not None:
        better, worse = pairs if higher_better else pairs[::-1]
        value, low, high = stats.paired_ratio_interval(better, worse)
    else:
        better, worse = (a, b) if higher_better else (b, a)
        value, low, high = stats.ratio_interval(better, worse)
    measured: dict[str, Any] = {"value": value, "low": low, "high": high, "measured": f"{value:.3g}x",
                "interval": f"[{low:.3g}, {high:.3g}]", "paired": pairs is not None}
    if claim.relation in ("ratio_at_least", "ratio_at_most"):
        at_least = claim.relation == "ratio_at_least"
        verdict = interval_verdict(low, high, at_least, float(claim.bound or 0))
        return Verdict(claim.id, claim.relation, verdict, n=n, expected=f"{'>=' if at_least else '<='} {claim.bound}x",
                       **measured)
    if claim.relation == "within":
        t = float(claim.tolerance or 0)
        verdict = ("REPRODUCED" if 1 - t <= low and high <= 1 + t
                   else "NOT REPRODUCED" if high < 1 - t or low > 1 + t else "INCONCLUSIVE")
        return Verdict(claim.id, claim.relation, verdict, n=n, expected=f"1 +/- {claim.tolerance}", **measured)
    # greater / less: on the metric itself; A "greater" means a larger metric value.
    alternative = claim.relation
    p = stats.mann_whitney_p(a, b, alternative)
    p_opposite = stats.mann_whitney_p(a, b, "less" if alternative == "greater" else "greater")
    alpha = 1 - stats.CONFIDENCE
    verdict = "REPRODUCED" if p < alpha else "NOT REPRODUCED" if p_opposite < alpha else "INCONCLUSIVE"
    return Verdict(claim.id, claim.relation, verdict, n=n, p=p, detail=f"Mann-Whitney U one-sided p = {p:.3g}",
                   expected=f"{claim.a} {'>' if alternative == 'greater' else '<'} {claim.b} ({claim.metric})",
                   **measured)


def _program_threads(run: ProgramsRun, claim: Claim, program: str) -> int:
    """The thread count a claim reads on a program: its `threads` on a threaded one, else 1."""
    info = run.plan.program(program)
    return claim.threads if info is not None and info.threaded else 1


def _did_not_fit(run: ProgramsRun, claim: Claim, allocators: Sequence[str]) -> tuple[list[str], str]:
    """The claim's programs where a run of one of `allocators` did not fit in its memory budget
    (alloclab.fit: an allocator that never frees ran out), which a judgement leaves out (a run
    that did not fit has no time), and the words that name them."""
    unfit: dict[str, list[str]] = {}
    for program in claim.programs:
        t = _program_threads(run, claim, program)
        who = [x for x in allocators if x and run.did_not_fit(program, x, t)]
        if who:
            unfit[program] = who
    if not unfit:
        return [], ""
    names = ", ".join(f"{p} ({', '.join(who)})" for p, who in unfit.items())
    return list(unfit), f"left out, did not fit in memory: {names}"


def evaluate_program(claim: Claim, run: ProgramsRun | None) -> Verdict:
    """A claim about real programs: A against B per pass; over several programs the geometric
    mean of the per-program ratios (stats.geomean_ratio_interval). A program where A or B did
    not fit in its memory budget is left out and named (Verdict.left_out)."""
    if run is None:
        return Verdict(claim.id, claim.relation, "INCONCLUSIVE", detail="the folder holds no programs run")
    if claim.relation == "fastest":
        return evaluate_fastest(claim, run)
    unfit, left_out = _did_not_fit(run, claim, (claim.a, claim.b or ""))
    kept = [p for p in claim.programs if p not in unfit]
    if not kept:
        return Verdict(claim.id, claim.relation, "INCONCLUSIVE", left_out=left_out,
                       detail="no program of the claim left to judge: every one did not fit")
    return replace(_evaluate_program_ratio(claim, run, kept), left_out=left_out)


def _evaluate_program_ratio(claim: Claim, run: ProgramsRun, programs: Sequence[str]) -> Verdict:
    from alloclab import stats  # numpy and scipy load when a claim is judged, not for a refusal
    column, higher_better = PROGRAM_METRICS[claim.metric]
    cases = []
    for program in programs:
        t_case = _program_threads(run, claim, program)
        va = run.by_repetition(program, claim.a, t_case, column)
        vb = run.by_repetition(program, claim.b or "", t_case, column)
        shared = sorted(r for r in set(va) & set(vb) if va[r] > 0 and vb[r] > 0)
        cases.append(([va[r] for r in shared], [vb[r] for r in shared]))
    n = min(len(a) for a, _ in cases)
    if n < 3:
        return Verdict(claim.id, claim.relation, "INCONCLUSIVE", n=n,
                       detail=f"only {n} passes with both allocators ok on some program")
    if claim.relation in ("greater", "less"):
        a, b = cases[0]
        p = stats.mann_whitney_p(a, b, claim.relation)
        p_opposite = stats.mann_whitney_p(a, b, "less" if claim.relation == "greater" else "greater")
        alpha = 1 - stats.CONFIDENCE
        verdict = "REPRODUCED" if p < alpha else "NOT REPRODUCED" if p_opposite < alpha else "INCONCLUSIVE"
        return Verdict(claim.id, claim.relation, verdict, n=n, p=p, measured=f"p = {p:.3g}",
                       detail=f"Mann-Whitney U one-sided p = {p:.3g}",
                       expected=f"{claim.a} {'>' if claim.relation == 'greater' else '<'} {claim.b} ({claim.metric})")
    # "How many times better A is than B": lower-is-better metrics through B / A.
    oriented = [(a, b) if higher_better else (b, a) for a, b in cases]
    if len(oriented) == 1:
        value, low, high = stats.paired_ratio_interval(*oriented[0])
    else:
        value, low, high = stats.geomean_ratio_interval(oriented)
    measured: dict[str, Any] = {"value": value, "low": low, "high": high, "paired": True,
                                "measured": f"{value:.3g}x" + (" (geomean)" if len(oriented) > 1 else ""),
                                "interval": f"[{low:.3g}, {high:.3g}]"}
    if claim.relation == "within":
        t = float(claim.tolerance or 0)
        verdict = ("REPRODUCED" if 1 - t <= low and high <= 1 + t
                   else "NOT REPRODUCED" if high < 1 - t or low > 1 + t else "INCONCLUSIVE")
        return Verdict(claim.id, claim.relation, verdict, n=n, expected=f"1 +/- {claim.tolerance}", **measured)
    at_least = claim.relation == "ratio_at_least"
    return Verdict(claim.id, claim.relation, interval_verdict(low, high, at_least, float(claim.bound or 0)), n=n,
                   expected=f"{'>=' if at_least else '<='} {claim.bound}x", **measured)


@dataclass(frozen=True)
class Duel:
    """A against one rival on one program: how many times better A is (> 1: A better), per pass."""
    program: str
    rival: str
    value: float
    low: float
    high: float
    n: int

    def text(self) -> str:
        return f"{self.rival} {self.value:.3g} [{self.low:.3g}, {self.high:.3g}]"


def evaluate_fastest(claim: Claim, run: ProgramsRun) -> Verdict:
    """`fastest`: on each of the claim's programs where A fits in memory, no other allocator of
    the run is significantly better than A on the metric. Each rival is compared with A per pass
    (stats.paired_ratio_interval of "how many times better A is"): an interval wholly below 1 is
    a rival significantly better (NOT REPRODUCED); one that includes 1 a tie, counted and named,
    not held against A. REPRODUCED needs every rival with successful runs compared on every such
    program; a rival with no successful run there (it crashed, or did not fit) is out of the race.
    Programs where A did not fit are left out and named; none left: INCONCLUSIVE."""
    from alloclab import stats  # numpy and scipy load when a claim is judged, not for a refusal
    column, higher_better = PROGRAM_METRICS[claim.metric]
    rivals = [x for x in run.allocators() if x != claim.a]
    unfit, left_out = _did_not_fit(run, claim, (claim.a,))
    kept = [p for p in claim.programs if p not in unfit]
    if not rivals or not kept:
        why = "no other allocator in the run" if not rivals else f"{claim.a} did not fit on any program of the claim"
        return Verdict(claim.id, claim.relation, "INCONCLUSIVE", detail=why, left_out=left_out)
    duels: list[Duel] = []
    unjudged: list[str] = []  # (program: rival) pairs with too few passes to compare; programs A never ran
    for program in kept:
        t = _program_threads(run, claim, program)
        mine = run.by_repetition(program, claim.a, t, column)
        if not mine:  # not run, or every run failed: the program is not judged (as a ratio claim's)
            info = run.plan.program(program)
            unjudged.append(f"{program}: {claim.a} has no successful run"
                            + (f" at {t} threads" if info is not None and info.threaded else ""))
            continue
        for rival in rivals:
            theirs = run.by_repetition(program, rival, t, column)
            if not theirs:
                continue  # no successful run: it cannot be faster
            shared = sorted(r for r in set(mine) & set(theirs) if mine[r] > 0 and theirs[r] > 0)
            if len(shared) < 3:
                unjudged.append(f"{program}: {rival} (only {len(shared)} passes with both ok, 3 needed)")
                continue
            a, b = [mine[r] for r in shared], [theirs[r] for r in shared]
            value, low, high = stats.paired_ratio_interval(*((a, b) if higher_better else (b, a)))
            duels.append(Duel(program, rival, value, low, high, len(shared)))
    if not duels:
        return Verdict(claim.id, claim.relation, "INCONCLUSIVE", left_out=left_out,
                       detail="no rival compared: " + ("; ".join(unjudged) if unjudged else
                                                       "no other allocator has a successful run there"))
    beaten = [d for d in duels if d.high < 1]
    ties = [d for d in duels if d.low <= 1 <= d.high]
    judged = sorted({d.program for d in duels}, key=kept.index)
    outright = [p for p in judged if not any(d.program == p and d.low <= 1 for d in duels)]
    verdict = "NOT REPRODUCED" if beaten else "INCONCLUSIVE" if unjudged else "REPRODUCED"
    closest = min(duels, key=lambda d: (d.value, d.high))
    def per_program(duels: list[Duel]) -> str:
        named = {p: [d.text() for d in duels if d.program == p] for p in judged}
        return f"{len({d.program for d in duels})}: " + "; ".join(f"{p} ({', '.join(t)})" for p, t in named.items() if t)

    parts = [f"ahead of every other allocator on {len(outright)} of {len(judged)} programs"]
    if beaten:
        parts.append("beaten on " + per_program(beaten))
    if ties:
        parts.append("tied on " + per_program(ties))
    if unjudged:
        parts.append("not compared: " + "; ".join(unjudged))
    return Verdict(claim.id, claim.relation, verdict, n=min(d.n for d in duels), value=closest.value,
                   low=closest.low, high=closest.high, paired=True,
                   measured=f"{closest.value:.3g}x (closest: {closest.rival} on {closest.program})",
                   interval=f"[{closest.low:.3g}, {closest.high:.3g}]",
                   expected=f"no other allocator better ({claim.metric}; a tie allowed)",
                   detail="; ".join(parts) + ". Ratios: how many times better "
                   f"{claim.a} is than the rival, per pass, [95 % interval]", left_out=left_out)


def judge(claim: Claim, rows: Sequence[ResultRow], programs: ProgramsRun | None = None) -> Verdict:
    """evaluate(), but statistics that numpy or scipy warn about as numerically unsound (a
    degenerate sample, a fit of equal sizes) judge nothing: INCONCLUSIVE."""
    import numpy as np
    from scipy import stats as sps
    with warnings.catch_warnings():
        for category in (RuntimeWarning, np.RankWarning, sps.DegenerateDataWarning):
            warnings.simplefilter("error", category)
        try:
            return evaluate_program(claim, programs) if claim.programs else evaluate(claim, rows)
        except (Warning, ArithmeticError, ValueError) as e:
            return Verdict(claim.id, claim.relation, "INCONCLUSIVE", detail=f"the statistics could not be computed: {e}")


# --- output: one table model for the terminal, claims.md and the report ------------------------

EXPLANATION = ("Ratios read \"how many times better A is than B\" on the claim's metric (throughput: higher; "
               "times, latency, memory: lower). Intervals: {confidence} % percentile bootstrap over repetitions "
               "(scipy.stats.bootstrap). A ratio is the median of the per-pass ratios A/B when both were measured in "
               "the same passes of a sweep (a slow spell of the machine cancels), otherwise (a one-run, its "
               "repetitions shuffled together) the ratio of the medians. \"greater\"/\"less\" claims use a one-sided "
               "Mann-Whitney U test. \"fastest\" (programs): on every program, no other allocator's per-pass ratio "
               "to A lies wholly on A's losing side (ties, an interval including 1, are named, not held against A). "
               "A program where an allocator of the claim did not fit in its memory budget (a malloc that never "
               "frees) is left out and named.")


def claims_document(file: ClaimsFile, checked: Sequence[dict[str, Any]], source_file: str) -> Document:
    from alloclab import stats  # numpy and scipy load when a claim is judged, not for a refusal
    try:
        shown = os.path.relpath(source_file, ROOT)
    except ValueError:
        shown = source_file
    bullets = tuple(f"**{c['id']}** ({c['verdict']}): \"{c['sentence']}\" — {c['source']}."
                    + (f" {c['note']}" if c.get("note") else "") for c in checked)
    return Document(file.title, blocks=(
        Paragraph(f"From `{shown}`. " + EXPLANATION.format(confidence=int(stats.CONFIDENCE * 100))),
        verdict_table(checked, with_sentence=False), Heading("The claims"), Bullets(bullets)))


def checked_entries(claims: Sequence[Claim], verdicts: Sequence[Verdict]) -> list[dict[str, Any]]:
    out = []
    for c, v in zip(claims, verdicts):
        entry = {"id": c.id, "sentence": c.sentence, "source": c.source, "metric": c.metric,
                 "relation": c.relation, "note": c.note}
        entry.update({k: val for k, val in asdict(v).items() if val is not None and val != ""})
        out.append(entry)
    return out


# --- running the cases --------------------------------------------------------------------------

def run_cases(claims: Sequence[Claim], args: argparse.Namespace) -> Path:
    """Runs exactly the needed units through the sweep; returns the results folder."""
    units, threads = needed_cases(claims)
    with tempfile.TemporaryDirectory(prefix="alloclab-claims-") as scratch:
        units_file, folder_file = Path(scratch) / "units.json", Path(scratch) / "folder"
        results.write_json(units_file, [list(u) for u in units])
        arguments = {w: arg for c in claims for w, arg in c.files}
        command = [sys.executable, "-m", "alloclab.sweep", "run", "--units", str(units_file),
                   "--folder-file", str(folder_file), "--binary", args.binary,
                   "--allocators", ",".join(sorted({a for _, a in units})),
                   "--workloads", ",".join(sorted({arguments.get(w, w) for w, _ in units})),
                   "--threads", ",".join(map(str, threads)), "--repetitions", str(args.repetitions),
                   "--min-time", str(args.min_time),
                   # The verdicts pair A and B by pass (paired_ratio_interval), not through a
                   # reference case, which would double the run for nothing they read.
                   "--reference", "none"] + (["--out", args.out] if args.out else []) + (
                   ["--tiny"] if args.tiny else [])
        subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "harness")})
        return Path(folder_file.read_text().strip())


def run_programs(claims: Sequence[Claim], args: argparse.Namespace, folder: Path | None) -> Path:
    """Runs the programs x allocators the program claims read (into `folder`, a sweep's
    folder, or a new one); returns the folder."""
    programs = sorted({p for c in claims for p in c.programs})
    # `fastest` compares A with every allocator the suite has.
    allocators = ["all"] if any(c.relation == "fastest" for c in claims) else \
        sorted({x for c in claims if c.programs for x in (c.a, c.b) if x})
    threads = sorted({1} | {c.threads for c in claims if c.programs})
    with tempfile.TemporaryDirectory(prefix="alloclab-claims-") as scratch:
        folder_file = Path(scratch) / "folder"
        target = ["--out", str(folder)] if folder is not None else (["--out", args.out] if args.out else [])
        command = [sys.executable, "-m", "alloclab.programs", "run", "--folder-file", str(folder_file),
                   "--binary", args.binary, "--programs", ",".join(programs), "--allocators", ",".join(allocators),
                   "--threads", ",".join(map(str, threads)), "--repetitions", str(args.repetitions),
                   "--scale", str(args.program_scale)] + target
        subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": f"{ROOT / 'harness'}:{ROOT}"})
        return Path(folder_file.read_text().strip())


def _literal(name: str) -> str:
    """A name as a Google Benchmark filter matches it literally (POSIX extended syntax: of a
    name's characters only . and + are special)."""
    return re.sub(r"([.+])", r"[\1]", name)


def run_once(claims: Sequence[Claim], args: argparse.Namespace, registry: Registry) -> Path:
    """Runs exactly the needed cases in ONE driver process; returns the results folder."""
    units, threads = needed_cases(claims)
    preloaded = sorted({a for _, a in units if registry.kind_of(a) == "preloaded"})
    if any(c.programs for c in claims):
        raise ClaimsError("--one-run cannot run programs (each runs as a process of its own); drop --one-run")
    if preloaded:
        raise ClaimsError(f"--one-run cannot measure preloaded peers ({', '.join(preloaded)}): "
                          "they need a process of their own; drop --one-run")
    folder = Path(args.out) if args.out else ROOT / "results" / results.new_run_name("-one-run")
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except OSError as e:
        raise ClaimsError(f"cannot create output folder '{folder}': {e.strerror}") from None
    by_workload: dict[str, set[str]] = {}
    for w, a in units:
        by_workload.setdefault(w, set()).add(a)
    arguments = {w: arg for c in claims for w, arg in c.files}
    # Google Benchmark matches its own names: workload/allocator/repeats:N/real_time/threads:T
    # (a trace's T is its own: any).
    counts = "(" + "|".join(map(str, threads)) + ")"
    pattern = "^(" + "|".join(f"{_literal(w)}/({'|'.join(sorted(a))})/(.*/)?threads:"
                              + ("[0-9]+" if fixed_threads_workload(w) else counts)
                              for w, a in sorted(by_workload.items())) + ")$"
    out = folder / "run.json"
    command = [args.binary, "--allocators", ",".join(sorted({a for _, a in units})),
               "--workloads", ",".join(sorted(arguments.get(w, w) for w in by_workload)),
               "--threads", ",".join(map(str, threads)),
               "--repetitions", str(args.repetitions), "--min-time", str(args.min_time),
               "--benchmark_filter=" + pattern, "--benchmark_enable_random_interleaving=true", "--out", str(out)]
    if args.tiny:
        command.append("--tiny")
    print("claims: " + " ".join(command), flush=True)
    try:
        subprocess.run(command, check=True)
        rows = results.renumber_repetitions(results.rows_from_driver_json(results.read_json(out), 0, UNPAIRED_UNIT))
        results.write_csv(folder / "results.csv", rows)
        results.write_atomically(folder / "command.txt", " ".join(command) + "\n")
        results.write_json(folder / "registry.json", registry.to_json())
    except BaseException:  # a run that did not finish leaves no folder that looks like a result
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def missing_cases(claim: Claim, rows: Sequence[ResultRow], programs: ProgramsRun | None) -> list[str]:
    """The cases a claim reads that a folder holds no row of (any status), named
    WORKLOAD/ALLOCATOR/threads:N (PROGRAM/ALLOCATOR/threads:N for a program claim)."""
    out: list[str] = []
    if claim.programs:
        if programs is None:
            return ["a programs run (programs.csv)"]
        allocators = (claim.a,) if claim.relation == "fastest" else (claim.a, claim.b or "")
        for p in claim.programs:
            t = _program_threads(programs, claim, p)
            out += [f"{p}/{x}/threads:{t}" for x in allocators if (p, x, t) not in programs.cases]
        return out
    keys = {r.key for r in rows}
    sides = [(claim.a, claim.threads)] + ([(claim.b, claim.threads_b)] if claim.b is not None else [])
    for w in claim.workloads:
        for x, t in sides:
            if fixed_threads_workload(w) and not any(r.workload == w for r in rows):
                out.append(f"{w}/{x} (at the trace's threads)")
            elif (w, x, case_threads(rows, w, t)) not in keys:
                out.append(f"{w}/{x}/threads:{case_threads(rows, w, t)}")
    return list(dict.fromkeys(out))


def unmeasured(claim: Claim, missing: Sequence[str], folder: Path) -> Verdict:
    """The verdict of a claim whose cases the folder lacks: not judged, the cases named."""
    shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
    return Verdict(claim.id, claim.relation, "INCONCLUSIVE", detail=f"not measured in {folder}: {shown}")


def check_out(out: str | None) -> None:
    """--out: a new folder whose parent exists (nothing has run yet)."""
    if out is None:
        return
    valid = "a new folder in an existing, writable one"
    if not out.strip():
        raise UsageError(f"bad --out '{out}' (valid: {valid})")
    path = Path(out)
    if path.exists() or path.is_symlink():
        raise UsageError(f"bad --out '{out}': it exists already (valid: {valid}; or --from DIR to judge a run)")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"bad --out '{out}': its parent '{parent}' is not a folder (valid: {valid})")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"bad --out '{out}': its parent '{parent}' is not writable (valid: {valid})")


def check_from(from_dir: str) -> Path:
    """--from: a folder a sweep, a programs run or claims wrote (its files are read later)."""
    valid = "a results folder holding results.csv or programs.csv, as sweep or programs write it"
    if not from_dir.strip():
        raise UsageError(f"bad --from '{from_dir}' (valid: {valid})")
    folder = Path(from_dir)
    if not folder.exists():
        raise UsageError(f"bad --from '{from_dir}': no such folder (valid: {valid})")
    if not folder.is_dir():
        raise UsageError(f"bad --from '{from_dir}': not a folder (valid: {valid})")
    if not (folder / "results.csv").exists() and not has_programs(folder):
        raise UsageError(f"bad --from '{from_dir}': no results.csv or programs.csv in it (valid: {valid})")
    return folder


def check_files(claims: Sequence[Claim], path: str) -> None:
    """The trace and distribution files the claims would run (not needed with --from)."""
    for c in claims:
        for case, argument in c.files:
            file = argument.split(":", 1)[1]
            if not os.path.isfile(file):
                raise ClaimsError(f"{path}: claim '{c.id}', field 'workload{'s' if len(c.workloads) > 1 else ''}': "
                                  f"{case}: no such file '{file}' (valid: a trace or distribution file, its path "
                                  "relative to the claims file's folder)")


FROM_DOC = """
--from DIR judges the claims on DIR's results and runs nothing (--repetitions, --min-time,
--program-scale and --out, which shape a run, are refused with it). A claim whose cases DIR does
not hold (no row at all for WORKLOAD/ALLOCATOR/threads:N, or PROGRAM/ALLOCATOR/threads:N) is not
judged: INCONCLUSIVE, and its line names every missing case. When DIR holds the cases of no claim
of FILE at all (the wrong folder, or the wrong file), nothing is written: exit 2, one line naming
the first claim and the case it lacks. A case DIR holds whose repetitions all failed or were
skipped is a measurement, judged as such (INCONCLUSIVE, too few repetitions). A DIR whose rows ran
on several machines (sweep merge --allow-mixed-machines) is refused, exit 2: a verdict is of one
machine's numbers, never of several pooled.
"""


def result_error(e: Exception) -> str:
    """A results file's fault, with where the valid format is said when the message does not."""
    text = " ".join(str(e).split())
    return text if "valid:" in text else f"{text} (valid: the files a sweep or programs run writes, " \
        "described in results/README.md)"


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="claims", description=__doc__ + FROM_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", default=str(ROOT / "harness" / "claims.toml"),
                        help="claims file (default: harness/claims.toml)")
    parser.add_argument("--from", dest="from_dir", metavar="DIR", help="use this results folder instead of running")
    parser.add_argument("--one-run", action="store_true", dest="one_run",
                        help="run every case in one driver process, repetitions interleaved (no preloaded peers)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any claim is NOT REPRODUCED")
    parser.add_argument("--repetitions", type=integer(1, 10_000, "a count of repetitions"), default=None,
                        help=f"repetitions per case (default and least {MIN_REPETITIONS}, at most 10000)")
    parser.add_argument("--min-time", type=number(0, 3600, "seconds", open_low=True), default=None, dest="min_time",
                        help="seconds per case (default 0.03; above 0, up to 3600)")
    parser.add_argument("--out", help="results folder to create (default: results/<UTC time>-<host>); "
                        "its parent must exist")
    parser.add_argument("--binary", default=str(DEFAULT_BINARY),
                        help="the driver (default: build/release/harness/alloclab)")
    parser.add_argument("--program-scale", type=number(0, MAX_SCALE, "a scale", open_low=True), default=None,
                        dest="program_scale",
                        help=f"input size of the programs the claims run (default {PROGRAM_SCALE:g}: about 1-5 s a run; "
                        f"above 0, up to {MAX_SCALE:g})")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    def fail(message: str, code: int = 2) -> int:
        print(f"claims: {' '.join(message.split())}", file=sys.stderr)
        return code

    try:
        if args.from_dir is not None:
            if args.one_run:
                raise UsageError("--from DIR and --one-run exclude each other (valid: --from DIR to judge a run, "
                                 "or --one-run to make one)")
            for flag, value in (("--repetitions", args.repetitions), ("--min-time", args.min_time),
                                ("--program-scale", args.program_scale), ("--out", args.out)):
                if value is not None:
                    raise UsageError(f"{flag} shapes a run, and --from DIR runs nothing (valid: {flag} without "
                                     "--from, or --from DIR without it)")
            check_from(args.from_dir)
        if args.repetitions is not None and args.repetitions < MIN_REPETITIONS and not args.tiny:
            raise UsageError(f"bad --repetitions {args.repetitions}: too few for the statistics "
                             f"(valid: from {MIN_REPETITIONS} to 10000)")
        check_out(args.out)
    except UsageError as e:
        return fail(str(e))
    args.repetitions = args.repetitions if args.repetitions is not None else MIN_REPETITIONS
    args.min_time = args.min_time if args.min_time is not None else 0.03
    args.program_scale = args.program_scale if args.program_scale is not None else PROGRAM_SCALE
    driver_built = os.access(args.binary, os.X_OK) and os.path.isfile(args.binary)
    prun: ProgramsRun | None = None
    try:
        if args.from_dir is not None:
            folder = Path(args.from_dir)
            swept = (folder / "results.csv").exists()
            run = results.read_run(folder, need_facts=False) if swept else results.Run(folder, ())
            machines = run.machines()
            if len(machines) > 1:  # a verdict on rows of several machines would pool them
                return fail(f"--from '{args.from_dir}': {folder} holds the results of {len(machines)} machines "
                            f"({'; '.join(m[:80] for m in machines[:3])}{'; ...' if len(machines) > 3 else ''}), and "
                            "a verdict pools no machines (valid: a folder of one machine, e.g. a merge without "
                            "--allow-mixed-machines)")
            registry = ask_driver(args.binary) if driver_built else run.registry
            allocators = registry.allocator_names() or sorted({r.allocator for r in run.rows})
            workloads = registry.workload_names() or sorted({r.workload for r in run.rows})
            names = program_names(registry)
            if has_programs(folder):
                prun = read_programs(folder)
                names = ProgramNames(names.programs, names.threaded,
                                     tuple(dict.fromkeys(names.allocators + tuple(prun.allocators()))), names.servers)
            file = load_claims_file(args.file, allocators, workloads, names)
            targets = [folder / f"{file.output}.{ext}" for ext in ("md", "json")]
            if not os.access(folder, os.W_OK) or any(t.exists() and not t.is_file() for t in targets):
                return fail(f"cannot write {targets[0]} and {targets[1].name} into '{folder}' "
                            "(valid: a folder this user can write, without folders of those names)")
            missing = {c.id: missing_cases(c, run.rows, prun) for c in file.claims}
            if all(missing.values()):
                first = file.claims[0]
                return fail(f"no claim of {args.file} can be judged on {folder}: claim '{first.id}' needs "
                            f"{missing[first.id][0]}, which {folder} does not hold (valid: a folder where the claims' "
                            "cases were measured; without --from, claims measures them)")
        else:
            if not driver_built:
                return fail(f"driver '{args.binary}' not found (valid: the alloclab driver; build it: "
                            "cmake --build --preset release)")
            registry = ask_driver(args.binary)
            file = load_claims_file(args.file, registry.allocator_names(), registry.workload_names(),
                                    program_names(registry))
            check_files(file.claims, args.file)
            sweep_claims = [c for c in file.claims if not c.programs]
            if sweep_claims:
                ask_driver(args.binary, ",".join(map(str, needed_cases(file.claims)[1])))  # thread counts it runs
                folder = run_once(file.claims, args, registry) if args.one_run else run_cases(file.claims, args)
            if len(sweep_claims) < len(file.claims):
                folder = run_programs(file.claims, args, folder if sweep_claims else None)
            run = results.read_run(folder, need_facts=False) if (folder / "results.csv").exists() \
                else results.Run(folder=folder, rows=())
            prun = read_programs(folder) if has_programs(folder) else None
            missing = {c.id: missing_cases(c, run.rows, prun) for c in file.claims}
    except (ClaimsError, RegistryError) as e:
        return fail(str(e))
    except ResultsError as e:
        return fail(result_error(e))
    except subprocess.CalledProcessError as e:
        step = "programs run" if "alloclab.programs" in e.cmd else "sweep"
        return fail(f"the {step} failed (exit {e.returncode})", 2 if e.returncode == 2 else 1)

    verdicts = [unmeasured(c, missing[c.id], folder) if missing[c.id] else judge(c, run.rows, prun)
                for c in file.claims]
    checked = checked_entries(file.claims, verdicts)
    print(render_text(verdict_table(checked, with_sentence=False)))
    for v in verdicts:  # what the table cannot hold: why not decided, ties, programs left out
        why = v.detail if v.verdict == "INCONCLUSIVE" or v.relation == "fastest" else ""
        said = [x for x in (why, v.left_out) if x]
        if said:
            print(f"  {v.id}: {'; '.join(said)}")
    try:
        results.write_atomically(folder / f"{file.output}.md", render_markdown(claims_document(file, checked, args.file)))
        results.write_json(folder / f"{file.output}.json", checked)
    except (OSError, ResultsError) as e:
        return fail(f"cannot write the verdicts into '{folder}': {getattr(e, 'strerror', None) or e}")
    if os.environ.get("CLAIMS_FOLDER_FILE"):  # run_all.sh redraws the report with the verdicts
        results.write_atomically(os.environ["CLAIMS_FOLDER_FILE"], f"{folder}\n")
    counts = {v: sum(r.verdict == v for r in verdicts) for v in VERDICTS}
    print(f"claims: {counts['REPRODUCED']} reproduced, {counts['NOT REPRODUCED']} not reproduced, "
          f"{counts['INCONCLUSIVE']} inconclusive -> {folder / (file.output + '.md')}")
    return 1 if args.strict and counts["NOT REPRODUCED"] else 0


if __name__ == "__main__":
    sys.exit(main())
