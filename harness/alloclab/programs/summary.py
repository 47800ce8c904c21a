"""What the programs suite found, as numbers (the report, the charts, the claims and the
runner's closing table all read these; none of them computes its own).

Relative figures are to a baseline allocator (glibc unless told), per pass: the runs of one
repetition visited every allocator back to back, so each has a partner in the baseline's run
of the same pass, and the ratio is the median of those per-pass ratios with a bootstrap 95 %
interval (stats.paired_ratio_interval). Across programs, the geometric mean of the per-case
ratios (stats.geomean_ratio_interval); a case is a program at one thread count.

Invariant: a ratio's interval straddling 1 means the data cannot tell the allocator from
the baseline on that case, and the report says "tie". A case whose runs of an allocator ran out
of its memory budget (alloclab.fit: an allocator that never frees) has no ratio for it
and says "did not fit"; the geometric mean is over the cases where it fit.
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass

from alloclab import stats
from alloclab.fit import DID_NOT_FIT
from alloclab.programs.records import ProgramsRun

BASELINE = "glibc"
MIN_PASSES = 3  # as the claims: below it a bootstrap interval is the range of 2 ratios


@dataclass(frozen=True)
class Relative:
    value: float
    low: float
    high: float
    n: int  # passes compared

    @property
    def verdict(self) -> str:
        """'lower' / 'higher' than the baseline when the interval excludes 1, else 'tie'."""
        if self.high < 1:
            return "lower"
        if self.low > 1:
            return "higher"
        return "tie"


def _paired(run: ProgramsRun, program: str, allocator: str, threads: int, metric: str,
            baseline: str) -> tuple[list[float], list[float]]:
    a = run.by_repetition(program, allocator, threads, metric)
    b = run.by_repetition(program, baseline, threads, metric)
    shared = [r for r in sorted(set(a) & set(b)) if a[r] > 0 and b[r] > 0]  # a ratio needs both sides
    return [a[r] for r in shared], [b[r] for r in shared]


def _interval(compute: object, *args: object) -> tuple[float, float, float] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a degenerate bootstrap (all passes equal) gives NaN: handled below
        try:
            point, low, high = compute(*args)  # type: ignore[operator]
        except ValueError:
            return None
    if not math.isfinite(point):
        return None
    if not (math.isfinite(low) and math.isfinite(high)):
        low = high = point
    return point, low, high


def relative(run: ProgramsRun, program: str, allocator: str, threads: int, metric: str,
             baseline: str = BASELINE) -> Relative | None:
    """metric(allocator) / metric(baseline) on one case, or None (too few passes)."""
    a, b = _paired(run, program, allocator, threads, metric, baseline)
    if len(a) < MIN_PASSES:
        return None
    got = _interval(stats.paired_ratio_interval, a, b)
    return None if got is None else Relative(*got, n=len(a))


def cases(run: ProgramsRun) -> list[tuple[str, int]]:
    """Every (program, threads) of the run, in plan order."""
    return [(p, t) for p in run.programs() for t in run.thread_counts(p)]


def geomean(run: ProgramsRun, allocator: str, metric: str, baseline: str = BASELINE) -> Relative | None:
    """The geometric mean over every case both allocators completed, or None. A case where a
    run of either did not fit in its memory budget is left out (the programs it fits)."""
    pairs = []
    for program, threads in cases(run):
        if run.did_not_fit(program, allocator, threads) or run.did_not_fit(program, baseline, threads):
            continue
        a, b = _paired(run, program, allocator, threads, metric, baseline)
        if len(a) >= MIN_PASSES:
            pairs.append((a, b))
    if not pairs:
        return None
    got = _interval(stats.geomean_ratio_interval, pairs)
    return None if got is None else Relative(*got, n=len(pairs))


def format_relative(r: Relative | None) -> str:
    if r is None:
        return "-"
    return f"{r.value:.3f} [{r.low:.3f}, {r.high:.3f}]"


def cell_text(run: ProgramsRun, program: str, allocator: str, threads: int, r: Relative | None) -> str:
    """A ratio with its interval, "did not fit" where the allocator ran out of its memory on
    every run with no ratio left, and the runs left out: "(k failed)", "(k did not fit)"."""
    rows = run.cases.get((program, allocator, threads), [])
    unfit = run.did_not_fit(program, allocator, threads)
    failed = sum(1 for x in rows if not x.ok) - unfit
    text = DID_NOT_FIT if r is None and unfit else format_relative(r)
    left_out = ([f"{unfit} did not fit"] if unfit and r is not None else []) + ([f"{failed} failed"] if failed else [])
    return text + (f" ({', '.join(left_out)})" if left_out else "")


def unfit_cases(run: ProgramsRun, allocator: str) -> list[tuple[str, int]]:
    """The cases where some run of the allocator ran out of its memory budget."""
    return [(p, t) for p, t in cases(run) if run.did_not_fit(p, allocator, t)]


def table(run: ProgramsRun, metric: str = "wall_s", baseline: str = BASELINE) -> tuple[list[str], list[list[str]]]:
    """The summary table: one row per case and a geometric-mean row; a column per allocator
    (baseline first, as medians), the others as ratios to it with their intervals."""
    allocators = [a for a in run.allocators() if a != baseline]
    header = ["program", "threads", f"{baseline} median"] + allocators
    rows = []
    for program, threads in cases(run):
        base = run.values(program, baseline, threads, metric)
        median = f"{statistics.median(base):.3g}" if base else "failed"
        cells = [cell_text(run, program, a, threads, relative(run, program, a, threads, metric, baseline))
                 for a in allocators]
        rows.append([program, str(threads), median] + cells)
    means = []
    for a in allocators:
        unfit = len(unfit_cases(run, a))
        means.append(format_relative(geomean(run, a, metric, baseline))
                     + (f" ({unfit} case{'s' if unfit != 1 else ''} did not fit)" if unfit else ""))
    rows.append(["geometric mean", "", ""] + means)
    return header, rows


def worst(run: ProgramsRun, allocator: str, metric: str, baseline: str = BASELINE,
          higher_is_better: bool = False) -> tuple[str, int, Relative] | None:
    """The case where the allocator does worst against the baseline (the highest ratio, or the
    lowest for a higher-is-better metric), among the cases with a ratio: "within 1.25 x glibc
    on every program" holds when this one does. None: no case has a ratio."""
    found = [(p, t, r) for p, t in cases(run)
             if (r := relative(run, p, allocator, t, metric, baseline)) is not None]
    if not found:
        return None
    return (min if higher_is_better else max)(found, key=lambda x: x[2].value)


@dataclass(frozen=True)
class Fastest:
    """One case's best allocator on a metric (the best median) and the others measured against
    it: each one's ratio to it per pass with its interval (a tie: the interval includes 1)."""
    allocator: str
    median: float
    others: tuple[tuple[str, Relative], ...]
    unfit: tuple[str, ...]  # allocators that did not fit on this case (no figure)

    def tied(self) -> list[tuple[str, Relative]]:
        """The allocators these runs cannot tell from the best one, with their ratios to it."""
        return [(a, r) for a, r in self.others if r.verdict == "tie"]


def fastest(run: ProgramsRun, program: str, threads: int, metric: str = "wall_s",
            higher_is_better: bool = False) -> Fastest | None:
    """The case's best allocator and everyone's ratio to it; None when no allocator has
    MIN_PASSES successful runs (allocators with fewer are left out)."""
    medians = {a: statistics.median(v) for a in run.allocators()
               if len(v := run.values(program, a, threads, metric)) >= MIN_PASSES}
    if not medians:
        return None
    best = (max if higher_is_better else min)(medians, key=lambda a: medians[a])
    others = tuple((a, r) for a in medians if a != best
                   and (r := relative(run, program, a, threads, metric, best)) is not None)
    unfit = tuple(a for a in run.allocators() if run.did_not_fit(program, a, threads))
    return Fastest(best, medians[best], others, unfit)
