"""Which allocator is faster, and when the data cannot tell: the one rule the report, the charts
and `repeatability` apply to a sweep's cases.

Glossary
  process    one driver run (a sweep's unit); the machine's state (clock, cache and page
             placement) is drawn anew for each, and every case in it shares that draw.
  reference  the case the sweep runs in every process beside the unit's own (the column
             ref_items_per_second: the reference allocator on the same workload and thread
             count, in the same process). A case's per-process value divided by it cancels
             what the process's state did to both: comparisons across processes are paired
             through it.
  sample     a case's values, one per process: log(items_per_second / ref_items_per_second)
             when every ok repetition has its reference, else log(items_per_second).
  ratio      throughput of a over b: exp(mean(sample_a) - mean(sample_b)).

Intervals are Welch t intervals on those log values (Kalibera & Jones, ISMM 2013, rank
processes as the level whose variance dominates and use t intervals over them): a sweep has a
handful of processes per case (3 by default), and a percentile bootstrap of 3 values gives
their min..max, which covers the truth far less often than stated. With fewer than 2 processes
a case has no interval and ties with everything.

The confidence is alloclab.confidence's (99 %): a pair of equally fast allocators is called
different, one way or the other, in 1 % of runs, so equal pairs alone make two runs of one
sweep disagree on about 1 % of them at most (the goal `repeatability` checks); at 95 % they
would allow 5 %.

  cell_paired(...)      whether a workload and thread count is compared through the reference
  compare(a, b).call   "a" (a faster: the whole interval above 1), "b", or "tie"
  best_group(...)      the fastest case and every case tied with it
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from alloclab.confidence import CONFIDENCE as CONFIDENCE, LEVEL as LEVEL  # re-exported: ranking.LEVEL
from alloclab.results import Case, Run

Key = tuple[str, str, int]


@dataclass(frozen=True)
class Sample:
    """A case's log throughput per process, and whether it is divided by the reference."""
    logs: tuple[float, ...]
    paired: bool

    @property
    def n(self) -> int:
        return len(self.logs)


@dataclass(frozen=True)
class Comparison:
    ratio: float   # throughput of a / throughput of b
    low: float
    high: float
    call: str      # "a", "b" or "tie"
    paired: bool   # through the reference in every process
    se: float = math.inf  # standard error of log(ratio)
    df: float = 0.0       # its degrees of freedom (Welch-Satterthwaite)


def sample(case: Case | None, paired: bool = True) -> Sample | None:
    """The case's sample; divided by the reference when `paired` and every ok row has one."""
    if case is None:
        return None
    pairs = [(v, r.ref_items_per_second) for r in case.ok_rows
             if (v := r.items_per_second) is not None and math.isfinite(v) and v > 0]
    if not pairs:
        return None
    refs = [ref for _, ref in pairs if ref is not None and math.isfinite(ref) and ref > 0]
    if paired and len(refs) == len(pairs):
        # log(v) - log(ref), not log(v / ref): a quotient of extreme figures can round to 0.
        return Sample(tuple(math.log(v) - math.log(ref) for (v, _), ref in zip(pairs, refs)), True)
    return Sample(tuple(math.log(v) for v, _ in pairs), False)


def _t_interval(diff: float, se2: float, df: float, paired: bool) -> Comparison:
    if se2 <= 0:  # no spread at all: the difference is what it is
        call = "a" if diff > 0 else "b" if diff < 0 else "tie"
        return Comparison(math.exp(diff), math.exp(diff), math.exp(diff), call, paired, 0.0, math.inf)
    half = float(sps.t.ppf(0.5 + CONFIDENCE / 2, df)) * math.sqrt(se2)
    low, high = math.exp(diff - half), math.exp(diff + half)
    call = "a" if low > 1 else "b" if high < 1 else "tie"
    return Comparison(math.exp(diff), low, high, call, paired, math.sqrt(se2), df)


def compare_samples(a: Sample, b: Sample) -> Comparison:
    """a against b (Welch): both paired or both not (compare() chooses)."""
    x, y = np.asarray(a.logs), np.asarray(b.logs)
    diff = float(x.mean() - y.mean())
    paired = a.paired and b.paired
    if x.size < 2 or y.size < 2:
        return Comparison(math.exp(diff), 0.0, math.inf, "tie", paired)
    va, vb = float(x.var(ddof=1)) / x.size, float(y.var(ddof=1)) / y.size
    parts = [(va, x.size - 1), (vb, y.size - 1)]
    denominator = sum(v * v / d for v, d in parts if v)
    df = (va + vb) ** 2 / denominator if denominator else math.inf
    return _t_interval(diff, va + vb, df, paired)


def geometric_mean_comparison(comparisons: Sequence[Comparison]) -> Comparison | None:
    """The geometric mean of several ratios (one per workload), with the interval their
    standard errors give (independent cases; Welch-Satterthwaite degrees of freedom). A ratio
    without an interval leaves the mean without one (a tie)."""
    if not comparisons:
        return None
    k = len(comparisons)
    diff = sum(math.log(c.ratio) for c in comparisons) / k
    paired = all(c.paired for c in comparisons)
    if any(math.isinf(c.se) for c in comparisons):
        return Comparison(math.exp(diff), 0.0, math.inf, "tie", paired)
    se2 = sum(c.se ** 2 for c in comparisons) / k ** 2
    denominator = sum((c.se ** 2 / k ** 2) ** 2 / c.df for c in comparisons if c.se and math.isfinite(c.df))
    df = se2 ** 2 / denominator if denominator else math.inf
    return _t_interval(diff, se2, df, paired)


def cell_paired(cases: Mapping[Key, Case], workload: str, threads: int) -> bool:
    """Whether the cases of one workload and thread count are compared through the reference:
    every case with data has it in every process, and dividing by it narrows the spread over
    processes (the pooled variance of the log values, over the cases with 2 or more processes;
    the reference's own case, always 1, left out). Where the process's state hit the
    reference differently from the cases (it ran at another moment), dividing only adds its
    noise, and raw values compare better: Kalibera & Jones's advice to measure where the
    variance is before choosing how to spend it. The choice looks at spreads, never at which
    allocator is ahead. Never paired when the cell's processes ran under different mallocs
    (preloaded peers): the reference is not the same instrument there."""
    raw_ss = paired_ss = 0.0
    dof = 0
    mallocs: set[str] = set()
    for (w, _, t), case in cases.items():
        if w != workload or t != threads:
            continue
        s = sample(case)
        if s is None:
            continue
        if not s.paired:
            return False
        # The reference is one instrument only among processes with the same malloc: a preloaded
        # peer replaces the harness's own allocations and changes the reference's speed with
        # them (larson at 1 thread: twice as fast under tbbmalloc_proxy), so dividing by it would
        # bias every ratio across the two.
        mallocs |= {r.active_malloc for r in case.ok_rows}
        if len(mallocs) > 1:
            return False
        if s.n < 2 or all(r.ref_items_per_second == r.items_per_second for r in case.ok_rows):
            continue
        plain = sample(case, paired=False)
        assert plain is not None
        raw_ss += float(np.var(plain.logs, ddof=1)) * (s.n - 1)
        paired_ss += float(np.var(s.logs, ddof=1)) * (s.n - 1)
        dof += s.n - 1
    return dof > 0 and paired_ss < raw_ss


def compare(case_a: Case | None, case_b: Case | None, paired: bool = True) -> Comparison | None:
    """Two cases of one workload and thread count; with `paired` (cell_paired), through the
    reference when both have it, else on raw throughput. None when either has no ok value."""
    sa, sb = sample(case_a, paired), sample(case_b, paired)
    if sa is None or sb is None:
        return None
    if sa.paired != sb.paired:
        sa, sb = sample(case_a, paired=False), sample(case_b, paired=False)
        assert sa is not None and sb is not None
    return compare_samples(sa, sb)


def _half_width(x: np.ndarray) -> float:
    """Half-width of the CONFIDENCE t interval of the mean of x (2 or more values)."""
    return float(sps.t.ppf(0.5 + CONFIDENCE / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


def precision(case: Case | None, paired: bool = True) -> float | None:
    """Half-width of the case's own interval, relative (0.03 = +/-3 %), on the values its
    comparisons use (`paired`: cell_paired); None below 2 processes."""
    s = sample(case, paired)
    if s is None or s.n < 2:
        return None
    return math.exp(_half_width(np.asarray(s.logs))) - 1


def throughput_interval(case: Case | None) -> tuple[float, float, float] | None:
    """Geometric mean of the case's raw throughput and its t interval (absolute figures carry
    the process-to-process spread the reference removes from comparisons)."""
    s = sample(case, paired=False)
    if s is None:
        return None
    x = np.asarray(s.logs)
    centre = float(x.mean())
    if x.size < 2:
        return math.exp(centre), 0.0, math.inf
    half = _half_width(x)
    return math.exp(centre), math.exp(centre - half), math.exp(centre + half)


@dataclass(frozen=True)
class BestGroup:
    best: str                      # highest mean (paired) throughput
    tied: tuple[str, ...]          # allocators the data cannot separate from it (best excluded)
    comparisons: Mapping[str, Comparison]  # each other allocator against the best


def best_group(cases: Mapping[Key, Case], workload: str, threads: int, allocators: Sequence[str]) -> BestGroup | None:
    """The fastest of `allocators` at (workload, threads) and those tied with it."""
    paired = cell_paired(cases, workload, threads)
    samples = {a: s for a in allocators if (s := sample(cases.get((workload, a, threads)), paired)) is not None}
    if not samples:
        return None
    best = max(samples, key=lambda a: (float(np.mean(samples[a].logs)), -list(allocators).index(a)))
    comparisons = {a: compare_samples(samples[a], samples[best]) for a in samples if a != best}
    tied = tuple(a for a in allocators if a in comparisons and comparisons[a].call == "tie")
    return BestGroup(best, tied, comparisons)


def pair_calls(run: Run, allocators: Sequence[str] | None = None) -> dict[tuple[str, int, str, str], Comparison]:
    """Every pair of allocators (in registry order, a before b) at every workload and thread
    count where both have data: {(workload, threads, a, b): Comparison}."""
    cases = run.cases()
    names = list(allocators) if allocators is not None else run.allocators()
    out: dict[tuple[str, int, str, str], Comparison] = {}
    for w in run.workloads():
        for t in run.thread_counts():
            present = [a for a in names if (w, a, t) in cases]
            paired = cell_paired(cases, w, t)
            for i, a in enumerate(present):
                for b in present[i + 1:]:
                    c = compare(cases[(w, a, t)], cases[(w, b, t)], paired)
                    if c is not None:
                        out[(w, t, a, b)] = c
    return out
