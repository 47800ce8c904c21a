"""What the programs suite found, as numbers (the report, the charts, the claims and the
runner's closing table all read these; none of them computes its own).

Relative figures are to a baseline allocator (glibc unless told), per pass: the runs of one
repetition visited every allocator back to back, so each has a partner in the baseline's run
of the same pass, and the ratio is the median of those per-pass ratios with a bootstrap 95 %
interval (stats.paired_ratio_interval). Across programs, the geometric mean of the per-case
ratios (stats.geomean_ratio_interval); a case is a program at one thread count.

Invariant: a ratio's interval straddling 1 means the data cannot tell the allocator from
the baseline on that case, and the report says "tie".
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass

from alloclab import stats
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
    """The geometric mean over every case both allocators completed, or None."""
    pairs = []
    for program, threads in cases(run):
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


def table(run: ProgramsRun, metric: str = "wall_s", baseline: str = BASELINE) -> tuple[list[str], list[list[str]]]:
    """The summary table: one row per case and a geometric-mean row; a column per allocator
    (baseline first, as medians), the others as ratios to it with their intervals."""
    allocators = [a for a in run.allocators() if a != baseline]
    header = ["program", "threads", f"{baseline} median"] + allocators
    rows = []
    for program, threads in cases(run):
        base = run.values(program, baseline, threads, metric)
        median = f"{statistics.median(base):.3g}" if base else "failed"
        cells = []
        for a in allocators:
            r = relative(run, program, a, threads, metric, baseline)
            failed = sum(1 for x in run.cases.get((program, a, threads), []) if not x.ok)
            cells.append(format_relative(r) + (f" ({failed} failed)" if failed else ""))
        rows.append([program, str(threads), median] + cells)
    rows.append(["geometric mean", "", ""] + [format_relative(geomean(run, a, metric, baseline)) for a in allocators])
    return header, rows
