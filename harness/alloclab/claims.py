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
Exit 0; with --strict, 1 when any claim is NOT REPRODUCED; 2 for a malformed claims file
(one line naming the claim and the field; nothing is run).
"""

from __future__ import annotations

import argparse
import math
import re
import os
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

import numpy as np
from scipy import stats as sps

from alloclab import results, stats
from alloclab.cli import Parser, UsageError, positive, seconds
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


def _check_program_claim(c: dict[str, Any], bad: Any, names: ProgramNames) -> Claim:
    if "program" in c and "programs" in c:
        raise bad("programs", "give program (one) or programs (a list, or \"all\"), not both")
    chosen = [c["program"]] if "program" in c else c["programs"]
    if chosen == "all":
        chosen = list(names.programs)
    key = "program" if "program" in c else "programs"
    if not isinstance(chosen, list) or not chosen or not all(isinstance(x, str) for x in chosen):
        raise bad(key, "a program name (program), or a list of names or \"all\" (programs)")
    chosen = list(dict.fromkeys(chosen))
    for x in chosen:
        if x not in names.programs:
            raise bad(key, f"unknown program {x[:80]!r} (valid: {', '.join(names.programs)})")
    relation = c["relation"]
    if relation not in PROGRAM_RELATIONS:
        raise bad("relation", f"'{relation}' is not one of {', '.join(PROGRAM_RELATIONS)} (a program claim)")
    if c["metric"] not in PROGRAM_METRICS:
        raise bad("metric", f"'{c['metric']}' is not one of {', '.join(PROGRAM_METRICS)} (a program claim)")
    if c["metric"] == "requests_per_s" and names.servers and (clients := [x for x in chosen if x not in names.servers]):
        raise bad("metric", f"'requests_per_s' is measured on servers only ({', '.join(names.servers)}), "
                  f"not on {', '.join(clients)}")
    if relation == "fastest" and c["metric"] not in FASTEST_METRICS:
        raise bad("metric", f"'{c['metric']}' is not a speed: 'fastest' ranks {', '.join(FASTEST_METRICS)}")
    if relation in ("greater", "less") and len(chosen) != 1:
        raise bad("relation", f"'{relation}' compares one program's runs; over several use ratio_at_least/ratio_at_most")
    used = {"id", "sentence", "source", "metric", "relation", "note", "threads", key, *PROGRAM_RELATIONS[relation]}
    for k in c:
        if k not in used:
            raise bad(k, f"not used by a program claim with relation '{relation}' (it reads {', '.join(sorted(used))})")
    for k in PROGRAM_RELATIONS[relation]:
        if k not in c:
            raise bad(k, f"required by relation '{relation}'")
    for k in ("a", "b"):
        if k in c and c[k] not in names.allocators:
            raise bad(k, f"unknown allocator '{str(c[k])[:80]}' (valid for programs: {', '.join(names.allocators)})")
    if "bound" in c and (not isinstance(c["bound"], (int, float)) or isinstance(c["bound"], bool)
                         or not math.isfinite(c["bound"]) or c["bound"] <= 0):
        raise bad("bound", "not a positive finite number")
    if "tolerance" in c and (not isinstance(c["tolerance"], (int, float)) or isinstance(c["tolerance"], bool)
                             or not 0 <= c["tolerance"] < 1):
        raise bad("tolerance", "a fraction from 0 to below 1 (0.15 = within 15 %)")
    if c.get("a") == c.get("b"):
        raise bad("b", f"'{c['b']}' is a too: a program claim compares two allocators")
    threads = c.get("threads", 1)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise bad("threads", "not a positive whole number")
    if threads != 1 and not any(x in names.threaded for x in chosen):
        raise bad("threads", f"only threaded programs run at several thread counts ({', '.join(names.threaded)})")
    if "note" in c and not isinstance(c["note"], str):
        raise bad("note", "not a string")
    return Claim(id=c["id"], sentence=c["sentence"], source=c["source"], metric=c["metric"], relation=relation,
                 workloads=(), a=c["a"], b=c.get("b"), threads=threads, threads_b=threads, bound=c.get("bound"),
                 tolerance=c.get("tolerance"), note=c.get("note", ""), programs=tuple(dict.fromkeys(chosen)))


def _check_claim(path: str, index: int, c: Any, seen: set[str], allocators: Sequence[str],
                 workloads: Sequence[str], programs: ProgramNames = ProgramNames()) -> Claim:
    if not isinstance(c, dict):
        raise ClaimsError(f"{path}: claim #{index} is not a table (write each claim as [[claim]] with fields)")
    name = c.get("id", f"#{index}")

    def bad(field_name: str, why: str) -> ClaimsError:
        return ClaimsError(f"{path}: claim '{name}', field '{field_name}': {why}")

    for key in c:
        if key not in CLAIM_FIELDS:
            raise bad(key, f"unknown field (valid: {', '.join(sorted(CLAIM_FIELDS))})")
    for key in ("sentence", "source", "note"):
        if isinstance(c.get(key), str) and len(c[key]) > 2000:
            raise bad(key, "longer than 2000 characters")
    for key in ("id", "sentence", "source", "metric", "relation"):
        if not isinstance(c.get(key), str) or not c[key].strip():
            raise bad(key, "missing or not a non-empty string")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}", c["id"]):
        raise ClaimsError(f"{path}: claim #{index}, field 'id': {c['id'][:80]!r} is not an id (letters, digits, "
                          "_ . + -, at most 100)")
    if name in seen:
        raise bad("id", "used by an earlier claim")
    seen.add(name)
    if "program" in c or "programs" in c:
        return _check_program_claim(c, bad, programs)
    relation = c["relation"]
    if relation not in RELATIONS:
        raise bad("relation", f"'{relation}' is not one of {', '.join(RELATIONS)}")
    if c["metric"] not in METRICS:
        raise bad("metric", f"'{c['metric']}' is not one of {', '.join(METRICS)}")
    growth = relation.startswith("growth")
    if growth:
        ws = c.get("workloads")
        if not isinstance(ws, list) or len(ws) < 2:
            raise bad("workloads", "a growth claim needs a list of at least two workloads (one per size)")
        sizes = c.get("sizes")
        if not isinstance(sizes, list) or len(sizes) != len(ws) or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in sizes):
            raise bad("sizes", "one positive size per workload")
    else:
        ws = [c.get("workload")]
        if not isinstance(ws[0], str):
            raise bad("workload", "missing or not a string")
    files: list[tuple[str, str]] = []
    for i, w in enumerate(ws):
        kind = parametric_kind(w) if isinstance(w, str) else None
        if kind is not None:
            # A workload of a file: its cases are named after the file's stem, and a trace's
            # thread count is the trace's own (read from the results, not from the claim).
            given = Path(w.split(":", 1)[1]).expanduser()
            if not str(given) or not w.split(":", 1)[1]:
                raise bad("workloads" if growth else "workload", f"'{w}' names no file (valid: {kind}:PATH, PATH "
                          "relative to the claims file's folder)")
            if not NAME.fullmatch(given.stem):
                raise bad("workloads" if growth else "workload", f"the stem of '{w[:200]}' is not a name (letters, "
                          "digits, _ . + -, at most 64): its cases could not be named")
            case = f"{kind}:{given.stem}"
            files.append((case, f"{kind}:{os.path.abspath(Path(path).parent / given)}"))
            ws[i] = case
            if kind == "trace" and ("threads" in c or "threads_b" in c):
                raise bad("threads" if "threads" in c else "threads_b",
                          "a trace replays at its own recorded thread count; leave the threads out")
            continue
        if w not in workloads:
            raise bad("workloads" if growth else "workload", f"unknown workload '{w}' (valid: {', '.join(workloads)}, "
                      "or trace:FILE, empirical:FILE)")
    for key in RELATIONS[relation]:
        if key not in c:
            raise bad(key, f"required by relation '{relation}'")
    used = {"id", "sentence", "source", "metric", "relation", "note", "threads", *RELATIONS[relation],
            "workloads" if growth else "workload"} | ({"threads_b"} if "b" in RELATIONS[relation] else set())
    for key in c:
        if key not in used:
            raise bad(key, f"not used by relation '{relation}' (it reads {', '.join(sorted(used))})")
    for key in ("a", "b"):
        if key in c and c[key] not in allocators:
            raise bad(key, f"unknown allocator '{c[key]}' (valid: {', '.join(allocators)})")
    for key in ("bound", "tolerance", "exponent"):
        if key in c and (not isinstance(c[key], (int, float)) or isinstance(c[key], bool) or not math.isfinite(c[key])):
            raise bad(key, "not a finite number")
    if "bound" in c and c["bound"] <= 0:
        raise bad("bound", "must be positive (a ratio, a time, a size or a count)")
    if "tolerance" in c and not 0 <= c["tolerance"] < 1:
        raise bad("tolerance", "a fraction from 0 to below 1 (0.15 = within 15 %)")
    if growth and len(set(c["sizes"])) < 2:
        raise bad("sizes", "at least two different sizes are needed to fit a growth")
    for key in ("threads", "threads_b"):  # the driver's ceiling is checked when the cases run
        if key in c and (not isinstance(c[key], int) or isinstance(c[key], bool) or c[key] < 1):
            raise bad(key, "not a positive whole number")
    if "note" in c and not isinstance(c["note"], str):
        raise bad("note", "not a string")
    threads = c.get("threads", 1)
    return Claim(id=name, sentence=c["sentence"], source=c["source"], metric=c["metric"], relation=relation,
                 workloads=tuple(ws), a=c["a"], b=c.get("b"), threads=threads, threads_b=c.get("threads_b", threads),
                 bound=c.get("bound"), tolerance=c.get("tolerance"), sizes=tuple(c.get("sizes", ())),
                 exponent=c.get("exponent"), note=c.get("note", ""), files=tuple(files))


def load_claims_file(path: str, allocators: Sequence[str], workloads: Sequence[str],
                     programs: ProgramNames = ProgramNames()) -> ClaimsFile:
    """Parses and validates; ClaimsError naming the claim and the field."""
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except OSError as e:
        raise ClaimsError(f"{path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ClaimsError(f"{path}: TOML syntax: {e}") from None
    except UnicodeDecodeError:
        raise ClaimsError(f"{path}: not a TOML file (not UTF-8 text)") from None
    for key in ("title", "output"):
        if key in doc and not isinstance(doc[key], str):
            raise ClaimsError(f"{path}: '{key}' is not a string")
    if "output" in doc and not re.fullmatch(r"[A-Za-z0-9_]{1,64}", doc["output"]):
        raise ClaimsError(f"{path}: 'output' is not a name of ASCII letters, digits and _")
    if doc.get("output") in RESERVED_OUTPUTS:
        raise ClaimsError(f"{path}: 'output' \"{doc['output']}\" would replace a file of the run folder "
                          f"(not one of {', '.join(sorted(RESERVED_OUTPUTS))})")
    entries = doc.get("claim")
    if not isinstance(entries, list) or not entries:
        raise ClaimsError(f"{path}: no [[claim]] tables")
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
                   "--min-time", str(args.min_time)] + (["--out", args.out] if args.out else []) + (
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
    subprocess.run(command, check=True)
    rows = results.renumber_repetitions(results.rows_from_driver_json(results.read_json(out), 0, UNPAIRED_UNIT))
    results.write_csv(folder / "results.csv", rows)
    results.write_atomically(folder / "command.txt", " ".join(command) + "\n")
    results.write_json(folder / "registry.json", registry.to_json())
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="claims", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", default=str(ROOT / "harness" / "claims.toml"),
                        help="claims file (default: harness/claims.toml)")
    parser.add_argument("--from", dest="from_dir", metavar="DIR", help="use this results folder instead of running")
    parser.add_argument("--one-run", action="store_true", dest="one_run",
                        help="run every case in one driver process, repetitions interleaved (no preloaded peers)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any claim is NOT REPRODUCED")
    parser.add_argument("--repetitions", type=int, default=MIN_REPETITIONS,
                        help=f"repetitions per case (at least {MIN_REPETITIONS})")
    parser.add_argument("--min-time", type=float, default=0.03, dest="min_time", help="seconds per case")
    parser.add_argument("--out", help="results folder to create (default: results/<UTC time>-<host>)")
    parser.add_argument("--binary", default=str(DEFAULT_BINARY),
                        help="the driver (default: build/release/harness/alloclab)")
    parser.add_argument("--program-scale", type=float, default=PROGRAM_SCALE, dest="program_scale",
                        help=f"input size of the programs the claims run (default {PROGRAM_SCALE:g}: about 1-5 s a run)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    def fail(message: str, code: int = 2) -> int:
        print(f"claims: {message}", file=sys.stderr)
        return code

    if args.from_dir and args.one_run:
        return fail("--from DIR and --one-run exclude each other (one reuses results, the other runs)")
    if args.repetitions < MIN_REPETITIONS and not args.tiny:
        return fail(f"--repetitions {args.repetitions}: at least {MIN_REPETITIONS} are needed for the statistics")
    if not 0 < args.program_scale <= MAX_SCALE:
        return fail(f"bad --program-scale {args.program_scale} (valid: a number above 0, up to {MAX_SCALE:g})")
    try:
        positive("--repetitions", args.repetitions, 10_000)
        seconds("--min-time", args.min_time, 3600)
    except UsageError as e:
        return fail(str(e))
    if args.out and Path(args.out).exists():
        return fail(f"output folder '{args.out}' exists already (choose a new one, or --from DIR to judge a run)")
    driver_built = os.access(args.binary, os.X_OK)
    prun: ProgramsRun | None = None
    try:
        if args.from_dir:
            swept = (Path(args.from_dir) / "results.csv").exists() or not has_programs(Path(args.from_dir))
            run = results.read_run(args.from_dir, need_facts=False) if swept else results.Run(Path(args.from_dir), ())
            registry = ask_driver(args.binary) if driver_built else run.registry
            allocators = registry.allocator_names() or sorted({r.allocator for r in run.rows})
            workloads = registry.workload_names() or sorted({r.workload for r in run.rows})
            names = program_names(registry)
            if has_programs(Path(args.from_dir)):
                prun = read_programs(args.from_dir)
                names = ProgramNames(names.programs, names.threaded,
                                     tuple(dict.fromkeys(names.allocators + tuple(prun.allocators()))), names.servers)
            file = load_claims_file(args.file, allocators, workloads, names)
            folder = Path(args.from_dir)
            targets = [folder / f"{file.output}.{ext}" for ext in ("md", "json")]
            if not os.access(folder, os.W_OK) or any(t.exists() and not t.is_file() for t in targets):
                return fail(f"cannot write {targets[0]} and {targets[1].name} into '{folder}'")
        else:
            if not driver_built:
                return fail(f"driver '{args.binary}' not found (build it: cmake --build --preset release)")
            registry = ask_driver(args.binary)
            file = load_claims_file(args.file, registry.allocator_names(), registry.workload_names(),
                                    program_names(registry))
            sweep_claims = [c for c in file.claims if not c.programs]
            if sweep_claims:
                ask_driver(args.binary, ",".join(map(str, needed_cases(file.claims)[1])))  # thread counts it runs
                folder = run_once(file.claims, args, registry) if args.one_run else run_cases(file.claims, args)
            if len(sweep_claims) < len(file.claims):
                folder = run_programs(file.claims, args, folder if sweep_claims else None)
        run = results.read_run(folder, need_facts=False) if (folder / "results.csv").exists() \
            else results.Run(folder=folder, rows=())
        prun = read_programs(folder) if has_programs(folder) else None
    except (ClaimsError, ResultsError, RegistryError) as e:
        return fail(str(e))
    except subprocess.CalledProcessError as e:
        step = "programs run" if "alloclab.programs" in e.cmd else "sweep"
        return fail(f"the {step} failed (exit {e.returncode})", 2 if e.returncode == 2 else 1)

    verdicts = [judge(c, run.rows, prun) for c in file.claims]
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
