"""alloclab repeatability: would a sweep's findings come out the same tomorrow?

  python3 -m alloclab.repeatability RUN1 RUN2 [--json FILE]
  ./run_all.sh repeatability [SWEEP OPTION...]   the sweep twice, back to back, then this

Two runs of the same selection on the same machine are compared pair by pair: every two
allocators at every workload and thread count both runs measured. Each run calls a pair by
alloclab.ranking's rule (the one the report uses: "a is faster" when the 99 % interval of the
ratio lies above 1, a tie when it includes 1). Printed:
  called       the share of pairs each run calls different (how much the runs can tell apart)
  contradicted pairs that one run calls different and the other calls different the other way
  reversed     pairs that one run calls different and whose ratio in the other run points the
               other way (a stricter count: a reversed tie counts too). The goal: <= 1 %
  discrepancy  |ratio in run 2 / ratio in run 1 - 1| over all pairs: median and 90th percentile
  best         cells whose fastest allocator (with those tied with it) agree
  median swaps pairs whose medians order the other way, called or not: what a table of medians
               with a star on the highest would show a reader

Exit 0 with the figures, 2 on a folder that is not a sweep's results.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alloclab import ranking, results
from alloclab.cli import Once, Parser, UsageError
from alloclab.results import ResultsError, Run

GOAL = 0.01  # reversed pairs, as a share of the pairs compared
# The confidence is chosen for the goal: equal pairs alone are called (and may reverse) at 1 - CONFIDENCE.
assert 1 - ranking.CONFIDENCE <= GOAL + 1e-12


def _medians(run: Run) -> dict[tuple[str, str, int], float]:
    out = {}
    for key, case in run.cases().items():
        values = case.values("items_per_second")
        if values:
            out[key] = float(np.median(values))
    return out


def compare_runs(first: Run, second: Run) -> dict[str, Any]:
    """The figures above, as numbers (shares are fractions of `pairs`); `judged`: the pairs with
    an interval in both runs (2 or more repetitions on each side)."""
    calls = [ranking.pair_calls(first), ranking.pair_calls(second)]
    common = sorted(set(calls[0]) & set(calls[1]))
    medians = [_medians(first), _medians(second)]
    called = [0, 0]
    same_way = contradicted = reversed_ = swaps = judged = 0
    discrepancy = []
    for key in common:
        c1, c2 = calls[0][key], calls[1][key]
        w, t, a, b = key
        m = [(med.get((w, a, t)), med.get((w, b, t))) for med in medians]
        order = [None if x is None or y is None or x == y else x > y for x, y in m]
        for i, c in enumerate((c1, c2)):
            called[i] += c.call != "tie"
        if c1.call != "tie" and c1.call == c2.call:
            same_way += 1
        if "tie" not in (c1.call, c2.call) and c1.call != c2.call:
            contradicted += 1
        if any(c.call != "tie" and other.ratio != 1 and (other.ratio > 1) != (c.call == "a")
               for c, other in ((c1, c2), (c2, c1))):
            reversed_ += 1
        if order[0] is not None and order[1] is not None and order[0] != order[1]:
            swaps += 1
        discrepancy.append(abs(c2.ratio / c1.ratio - 1))
        judged += math.isfinite(c1.high) and math.isfinite(c2.high)
    cells = sorted({(w, t) for w, t, _, _ in common})
    best_same = best_overlap = star_same = 0
    for w, t in cells:
        groups = []
        stars = []
        both = set(first.allocators()) & set(second.allocators())
        for run, med in ((first, medians[0]), (second, medians[1])):
            names = [a for a in run.allocators() if a in both and run.registry.kind_of(a) != "reference"]
            g = ranking.best_group(run.cases(), w, t, names)
            groups.append({g.best, *g.tied} if g else set())
            present = [(med[(w, a, t)], a) for a in names if (w, a, t) in med]
            stars.append(max(present)[1] if present else None)
        best_same += groups[0] == groups[1]
        best_overlap += bool(groups[0] & groups[1])
        star_same += stars[0] == stars[1]
    n = len(common)
    return {
        "runs": [str(first.folder), str(second.folder)], "pairs": n, "cells": len(cells),
        "called": [c / n if n else 0.0 for c in called], "called_same_way": same_way / n if n else 0.0,
        "contradicted": contradicted, "reversed": reversed_, "median_swaps": swaps,
        "discrepancy_median": float(np.median(discrepancy)) if discrepancy else math.nan,
        "discrepancy_p90": float(np.percentile(discrepancy, 90)) if discrepancy else math.nan,
        "best_same": best_same, "best_overlapping": best_overlap, "star_same": star_same,
        "paired": sum(calls[0][k].paired and calls[1][k].paired for k in common), "judged": judged, "goal": GOAL}


def _pct(part: float, whole: int) -> str:
    if not whole:
        return "-"
    return "<0.1%" if 0 < part / whole < 0.001 else f"{part / whole:.1%}"


def render(f: dict[str, Any]) -> str:
    n, cells = f["pairs"], f["cells"]
    met = n and f["reversed"] <= f["goal"] * n
    return "\n".join([
        f"repeatability: {f['runs'][0]} vs {f['runs'][1]}",
        f"  {n} allocator pairs measured in both runs, in {cells} cells (workload x threads); "
        f"{f['paired']} compared through the reference case of each process",
        f"  called different ({ranking.LEVEL} interval of the ratio excludes 1): run 1 {f['called'][0]:.1%}, "
        f"run 2 {f['called'][1]:.1%}; both, the same way: {f['called_same_way']:.1%}",
        f"  contradicted (the runs call a pair different, opposite ways): {f['contradicted']} ({_pct(f['contradicted'], n)})",
        f"  reversed (one run calls a pair different, the other's ratio points the other way): "
        f"{f['reversed']} ({_pct(f['reversed'], n)}); goal <= {f['goal']:.0%}: {'met' if met else 'NOT met'}",
        f"  ratio discrepancy |r2/r1 - 1|: median {f['discrepancy_median']:.1%}, 90th percentile "
        f"{f['discrepancy_p90']:.1%}",
        f"  fastest allocator (with those tied with it): the same in {f['best_same']} of {cells} cells, "
        f"overlapping in {f['best_overlapping']}",
        f"  medians alone: {f['median_swaps']} pairs ({_pct(f['median_swaps'], n)}) swap order; the highest median "
        f"is the same in {f['star_same']} of {cells} cells"])


VALID = "valid: a folder made by ./run_all.sh sweep"


def read(text: str) -> Run:
    folder = Path(text)
    csv_path = folder / "results.csv"
    if not folder.is_dir() or not os.path.lexists(csv_path):
        raise UsageError(f"'{text}' is not a sweep's results folder (no results.csv in it; {VALID})")
    if not csv_path.is_file():
        raise UsageError(f"'{text}': its results.csv is not a regular file ({VALID})")
    try:
        run = results.read_run(folder)
    except ResultsError as e:
        message = str(e)
        raise UsageError(message if "valid" in message else f"{message} ({VALID})") from None
    if run.machines():
        raise UsageError(f"'{text}' holds the runs of several machines (a merge --allow-mixed-machines): pairs are "
                         f"compared within one machine ({VALID}, on one machine)")
    return run


def check_comparable(first: Run, second: Run, texts: Sequence[str]) -> None:
    """Two distinct runs of one selection; refused otherwise (their agreement would prove nothing)."""
    if first.folder.resolve() == second.folder.resolve():
        raise UsageError(f"'{texts[0]}' and '{texts[1]}' are the same folder: a run agrees with itself (valid: two "
                         "runs, e.g. ./run_all.sh repeatability runs the sweep twice)")
    keys = [set(run.cases()) for run in (first, second)]
    if keys[0] != keys[1]:
        w, a, t = sorted(keys[0] ^ keys[1])[0]
        where = texts[0] if (w, a, t) in keys[0] else texts[1]
        raise UsageError(f"'{texts[0]}' and '{texts[1]}' are not runs of one selection: {w}/{a}/threads:{t} is only in "
                         f"'{where}' (valid: two sweeps with the same options)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = Parser(prog="repeatability", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", metavar="RUN1", help="a sweep's results folder")
    parser.add_argument("second", metavar="RUN2", help="a second sweep's results folder, same selection")
    parser.add_argument("--json", action=Once, metavar="FILE", help="also write the figures to FILE (JSON)")
    args = parser.parse_args(argv)
    try:
        runs = [read(args.first), read(args.second)]
        check_comparable(runs[0], runs[1], (args.first, args.second))
        figures = compare_runs(*runs)
        if not figures["pairs"]:
            raise UsageError(f"'{args.first}' and '{args.second}' share no pair of allocators measured at one workload "
                             "and thread count (valid: two sweeps of the same selection)")
        if not figures["judged"]:
            raise UsageError(f"'{args.first}' and '{args.second}' have fewer than 2 successful repetitions per case: no "
                             "interval, nothing called (valid: runs of --repetitions 2 or more)")
        if args.json is not None:
            target = Path(args.json)
            if not args.json or target.is_dir() or not target.parent.is_dir():
                raise UsageError(f"--json '{args.json[:200]}' cannot be written (valid: a file in an existing folder)")
            try:
                results.write_json(target, figures)
            except OSError as e:
                raise UsageError(f"--json '{args.json[:200]}': {e.strerror} (valid: a file in a writable folder)") \
                    from None
    except (UsageError, ResultsError) as e:
        print(f"repeatability: {e}", file=sys.stderr)
        return 2
    print(render(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
