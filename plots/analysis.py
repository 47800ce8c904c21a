"""The numbers the charts and the report show, computed from a results.Run (no drawing here).

Rules kept by every figure and table:
  - a case's value is the MEDIAN over its repetitions with status "ok"; the spread is min..max;
  - skipped and failed cases are never drawn (no zeros): they are named instead;
  - a case that failed in some repetitions is drawn from the others and marked with a dagger.
"""

from __future__ import annotations

import statistics
import sys
from typing import Any

from alloclab import ranking, stats
from alloclab.registry import fixed_threads_workload
from alloclab.results import Case, Run

NOISE_CV = 0.05
DAGGER = "\u2020"
Key = tuple[str, str, int]


def median_metric(cases: dict[Key, Case], workload: str, allocator: str, threads: int,
                  metric: str = "items_per_second") -> float | None:
    case = cases.get((workload, allocator, threads))
    s = stats.summarise(case.values(metric)) if case else None
    return s.median if s else None


def throughput_series(cases: dict[Key, Case], workload: str, allocators: list[str],
                      threads: list[int]) -> tuple[dict[str, dict[str, list[float]]], dict[str, str], list[str]]:
    """Per allocator: thread counts with data and the median/min/max/n there; the allocators
    with no successful repetition (-> their state); those drawn from partial data."""
    series: dict[str, dict[str, list[float]]] = {}
    missing: dict[str, str] = {}
    partial: list[str] = []
    for a in allocators:
        pts: dict[str, list[float]] = {"threads": [], "median": [], "min": [], "max": [], "n": []}
        states, whys = [], []
        for t in threads:
            case = cases.get((workload, a, t))
            if case is None:
                continue
            states.append(case.state)
            whys.append(case.why_missing)
            s = stats.summarise(case.values("items_per_second"))
            if s is None:
                continue
            for key, value in (("threads", t), ("median", s.median), ("min", s.min), ("max", s.max), ("n", s.n)):
                pts[key].append(value)
        if pts["threads"]:
            series[a] = pts
            if any(st != "ok" for st in states):
                partial.append(a)
        elif states:
            # "did not fit" only when every thread count ran out of a never-freeing malloc's budget.
            missing[a] = whys[0] if len(set(whys)) == 1 else "failed" if "failed" in states else "skipped"
    return series, missing, partial


def efficiency(tp: dict[int, float], threads: list[int], hw: int | None) -> dict[int, float | None]:
    """Scaling efficiency T(n) / (min(n, hw) / n0 * T(n0)) with n0 the lowest thread count.

    With n0 = 1 and n <= hw this is T(n) / (n * T(1)); past the hardware threads the ideal stays
    at hw * T(1), since more threads than hardware threads cannot add throughput."""
    base_t = min(threads)
    base = tp.get(base_t)
    out: dict[int, float | None] = {}
    for t in threads:
        value = tp.get(t)
        if base is None or value is None:
            out[t] = None
            continue
        out[t] = value / (base * (min(t, hw) if hw else t) / base_t)
    return out


def relative_summary(run: Run, baseline: str = "malloc", threads: int | None = None) -> dict[str, Any]:
    """Throughput of every allocator relative to baseline per workload (alloclab.ranking's ratio
    and its ranking.LEVEL interval: through the reference case of each process where ranking.cell_paired),
    plus the geometric mean over the workloads and its interval. A workload with a thread count
    of its own (a trace) is read at that count.

    -> {"threads", "baseline", "workloads", "allocators", "threads_of": {workload: int},
        "ratio": {alloc: {workload: float | None}}, "interval": {alloc: {workload: [low, high] | None}},
        "tie": {alloc: {workload: bool}}, "state": {alloc: {workload: str}},
        "geomean": {alloc: float | None}, "geomean_interval": {alloc: [low, high] | None},
        "geomean_tie": {alloc: bool}, "geomean_n": {alloc: int}}.
    state is ok / partial / skipped / failed / missing / no-baseline. tie: the interval includes 1
    (the baseline itself is no tie: it is the baseline)."""
    cases = run.cases()
    threads = max(run.thread_counts()) if threads is None else threads
    workloads, allocators = run.workloads(), run.allocators()
    threads_of = {w: run.threads_of(w, threads) for w in workloads}
    ratio: dict[str, dict[str, float | None]] = {}
    interval: dict[str, dict[str, list[float] | None]] = {}
    tie: dict[str, dict[str, bool]] = {}
    state: dict[str, dict[str, str]] = {}
    geo: dict[str, float | None] = {}
    geo_interval: dict[str, list[float] | None] = {}
    geo_tie: dict[str, bool] = {}
    geo_n: dict[str, int] = {}
    paired = {w: ranking.cell_paired(cases, w, threads_of[w]) for w in workloads}
    for a in allocators:
        ratio[a], interval[a], tie[a], state[a] = {}, {}, {}, {}
        found: list[ranking.Comparison] = []
        for w in workloads:
            t = threads_of[w]
            case = cases.get((w, a, t))
            c = ranking.compare(case, cases.get((w, baseline, t)), paired[w])
            has_value = bool(case and case.values("items_per_second"))
            state[a][w] = ("missing" if case is None else case.state if not has_value
                           else "no-baseline" if c is None else case.state)
            if c is None:
                ratio[a][w], interval[a][w], tie[a][w] = None, None, False
                continue
            if a == baseline:
                c = ranking.Comparison(1.0, 1.0, 1.0, "tie", c.paired)
            ratio[a][w], interval[a][w] = c.ratio, [c.low, c.high]
            tie[a][w] = a != baseline and c.call == "tie"
            found.append(c)
        g = ranking.geometric_mean_comparison(found)
        geo[a], geo_n[a] = (g.ratio if g else None), len(found)
        geo_interval[a] = [g.low, g.high] if g else None
        geo_tie[a] = bool(g and a != baseline and g.call == "tie")
    return {"threads": threads, "baseline": baseline, "workloads": workloads, "allocators": allocators,
            "threads_of": threads_of, "ratio": ratio, "interval": interval, "tie": tie, "state": state,
            "geomean": geo, "geomean_interval": geo_interval, "geomean_tie": geo_tie, "geomean_n": geo_n}


def relative_runs(run_a: Run, run_b: Run, metric: str = "items_per_second") -> dict[str, Any]:
    """Median of B / median of A per (workload, allocator, threads) present in both with data.

    -> {"threads", "workloads", "allocators", "ratio": {(w, a, t): float | None},
        "state": {(w, a, t): "ok" | "only in A" | "only in B" | "skipped in run 1, ..."}}"""
    ca, cb = run_a.cases(), run_b.cases()
    keys = sorted(set(ca) | set(cb))
    ratio: dict[Key, float | None] = {}
    state: dict[Key, str] = {}
    for k in keys:
        a, b = ca.get(k), cb.get(k)
        if a is None or b is None:
            ratio[k], state[k] = None, "only in B" if a is None else "only in A"
            continue
        sa, sb = stats.summarise(a.values(metric)), stats.summarise(b.values(metric))
        if sa and sb and sa.median > 0:
            ratio[k], state[k] = sb.median / sa.median, "ok"
            continue
        ratio[k] = None
        bad = [(n, c.state) for n, c in (("run 1", a), ("run 2", b)) if c.state not in ("ok", "partial")]
        same = len(bad) == 2 and bad[0][1] == bad[1][1]
        state[k] = bad[0][1] if same else ", ".join(f"{st} in {n}" for n, st in bad)
    first = run_a.workloads()
    workloads = first + [w for w in run_b.workloads() if w not in first]
    return {"threads": sorted({k[2] for k in keys}), "workloads": workloads,
            "allocators": run_a.registry.order({k[1] for k in keys}), "ratio": ratio, "state": state}


def summary_table(run: Run, threads: int, noise_cv: float = NOISE_CV) -> dict[str, Any]:
    """Per workload x allocator at one thread count: median ns/op and items/s over the ok
    repetitions, the state, whether it is noisy, the ranking.LEVEL interval of its throughput and the
    precision its comparisons have (alloclab.ranking); and per workload the fastest allocator
    with those the data cannot separate from it (references excluded). A workload with a
    thread count of its own (a trace) is read at that count (threads_of).

    -> {"threads", "workloads", "allocators", "threads_of": {w: int}, "cells": {w: {a: cell | None}},
        "winner": {w: a | None}, "tied": {w: [a, ...]}}
       cell = {"ns_per_op", "items_per_second", "n", "cv", "noisy", "state", "why_missing",
               "interval": (geomean, low, high) items/s or None, "precision": float or None,
               "paired": bool}"""
    cases = run.cases()
    workloads, allocators = run.workloads(), run.allocators()
    threads_of = {w: run.threads_of(w, threads) for w in workloads}
    cells: dict[str, dict[str, dict[str, Any] | None]] = {}
    winner: dict[str, str | None] = {}
    tied: dict[str, list[str]] = {}
    measured = [a for a in allocators if run.registry.kind_of(a) != "reference"]
    for w in workloads:
        cells[w] = {}
        paired = ranking.cell_paired(cases, w, threads_of[w])
        for a in allocators:
            case = cases.get((w, a, threads_of[w]))
            if case is None:
                cells[w][a] = None
                continue
            tp = stats.summarise(case.values("items_per_second"))
            ns = stats.summarise(case.values("ns_per_op"))
            own = ranking.sample(case, paired)
            cells[w][a] = {"state": case.state, "why_missing": case.why_missing, "ns_per_op": ns.median if ns else None,
                           "items_per_second": tp.median if tp else None, "n": tp.n if tp else 0,
                           "cv": tp.cv if tp else None, "noisy": bool(tp and tp.cv is not None and tp.cv > noise_cv),
                           "interval": ranking.throughput_interval(case), "precision": ranking.precision(case, paired),
                           "paired": bool(own and own.paired)}
        group = ranking.best_group(cases, w, threads_of[w], measured)
        winner[w] = group.best if group else None
        tied[w] = list(group.tied) if group else []
    return {"threads": threads, "workloads": workloads, "allocators": allocators, "threads_of": threads_of,
            "cells": cells, "winner": winner, "tied": tied}


def noisy_cases(run: Run, threshold: float = NOISE_CV) -> tuple[list[dict[str, Any]], int]:
    """Cases whose throughput over repetitions has a coefficient of variation above threshold
    (sample standard deviation / mean; cases with fewer than 2 ok repetitions cannot be judged).
    -> ([{"workload", "allocator", "threads", "cv", "n", "median", "min", "max"}], judged count)"""
    out: list[dict[str, Any]] = []
    judged = 0
    for (w, a, t), case in run.cases().items():
        s = stats.summarise(case.values("items_per_second"))
        if not s or s.cv is None:
            continue
        judged += 1
        if s.cv > threshold:
            out.append({"workload": w, "allocator": a, "threads": t, "cv": s.cv, "n": s.n,
                        "median": s.median, "min": s.min, "max": s.max})
    out.sort(key=lambda c: (-c["cv"], c["workload"], c["allocator"], c["threads"]))
    return out, judged


DRIFT = 0.15  # a process whose reference case ran this far from its usual figure is flagged
MIN_PROBE_GROUP = 3  # processes of one workload, thread count and malloc needed to judge one of them


def reference_drift(run: Run, limit: float = DRIFT) -> dict[str, Any] | None:
    """The calibration probe: the reference case's throughput in every process of the run (the
    rows' ref_items_per_second), per workload, thread count and malloc (a preloaded peer's
    process runs the reference under that peer's malloc, a steady difference that is no change
    of the machine's state). A process whose reference ran more than `limit` off the median of
    its group (of MIN_PROBE_GROUP processes or more) found the machine in another state than the
    others. None when the run has no reference column.

    Also the variance at the process level (Kalibera & Jones): the median over cases of the
    standard deviation of log throughput across processes, raw and divided by the reference,
    and the cells (workload, threads) compared through the reference (ranking.cell_paired).

    -> {"processes": int, "cv_median": float, "flagged": [{"unit", "workload", "threads",
        "deviation"}] (largest first), "cv": {(workload, threads, malloc): float}, "sd_raw": float | None,
        "sd_paired": float | None, "paired_cells": int, "cells": int}"""
    per_case: dict[tuple[str, int, str], dict[str, float]] = {}
    for r in run.rows:
        # Normal floats only: a subnormal figure (no measurement gives one) would break the spread.
        if r.ok and r.ref_items_per_second and r.ref_items_per_second >= sys.float_info.min and r.unit:
            per_case.setdefault((r.workload, r.threads, r.active_malloc), {})[r.unit] = r.ref_items_per_second
    if not per_case:
        return None
    cv: dict[tuple[str, int, str], float] = {}
    flagged: list[dict[str, Any]] = []
    units: set[str] = set()
    for (w, t, malloc), by_unit in per_case.items():
        values = list(by_unit.values())
        units |= set(by_unit)
        s = stats.summarise(values)
        # Below 3 processes a group has no usual figure to be off: the median of two is their mean.
        if s is None or s.cv is None or s.n < MIN_PROBE_GROUP:
            continue
        cv[(w, t, malloc)] = s.cv
        for unit, v in by_unit.items():
            deviation = v / s.median - 1
            if abs(deviation) > limit:
                flagged.append({"unit": unit, "workload": w, "threads": t, "deviation": deviation})
    flagged.sort(key=lambda f: (-abs(f["deviation"]), f["unit"]))
    values = sorted(cv.values())
    cases = run.cases()
    sd_raw, sd_paired = [], []
    for case in cases.values():
        paired, plain = ranking.sample(case), ranking.sample(case, paired=False)
        if paired and plain and paired.paired and paired.n >= 2 and any(abs(x) > 1e-12 for x in paired.logs):
            sd_raw.append(statistics.stdev(plain.logs))
            sd_paired.append(statistics.stdev(paired.logs))
    cells = sorted({(w, t) for w, _, t in cases})
    return {"processes": len(units), "cv_median": values[len(values) // 2] if values else 0.0, "flagged": flagged,
            "cv": cv, "sd_raw": statistics.median(sd_raw) if sd_raw else None,
            "sd_paired": statistics.median(sd_paired) if sd_paired else None,
            "paired_cells": sum(ranking.cell_paired(cases, w, t) for w, t in cells), "cells": len(cells)}


def problems(run: Run) -> list[dict[str, Any]]:
    """Failed and skipped rows grouped by workload/allocator/status/reason.
    -> [{"status", "workload", "allocator", "reason", "threads", "repetitions",
         "total_repetitions", "units"}], failed first."""
    groups: dict[tuple[str, str, str, str], dict[str, set[Any]]] = {}
    reps_per_case: dict[Key, set[int]] = {}
    for r in run.rows:
        reps_per_case.setdefault(r.key, set()).add(r.repetition)
        if r.ok:
            continue
        reason = r.reason.strip().rstrip(":").strip() or "no reason recorded"
        g = groups.setdefault((r.status, r.workload, r.allocator, reason),
                              {"threads": set(), "repetitions": set(), "units": set()})
        g["threads"].add(r.threads)
        g["repetitions"].add(r.repetition)
        if r.unit:
            g["units"].add(r.unit)
    order = {w: i for i, w in enumerate(run.workloads())}
    alloc_order = {a: i for i, a in enumerate(run.allocators())}
    out: list[dict[str, Any]] = []
    for (status, w, a, reason), g in groups.items():
        total = max(len(reps_per_case.get((w, a, t), ())) for t in g["threads"])
        out.append({"status": status, "workload": w, "allocator": a, "reason": reason,
                    "threads": sorted(g["threads"]), "repetitions": sorted(g["repetitions"]),
                    "total_repetitions": total, "units": sorted(g["units"])})
    out.sort(key=lambda p: (p["status"] != "failed", p["reason"], order.get(p["workload"], 99),
                            alloc_order.get(p["allocator"], 99)))
    return out


def problem_line(p: dict[str, Any]) -> str:
    """'workload/allocator: reason, threads 1,2,4' (+ which repetitions when not all)."""
    line = f"{p['workload']}/{p['allocator']}: {p['reason']}, threads {','.join(str(t) for t in p['threads'])}"
    if len(p["repetitions"]) < p["total_repetitions"]:
        reps = ",".join(str(r) for r in p["repetitions"])
        line += f" (repetition{'s' if len(p['repetitions']) > 1 else ''} {reps} of {p['total_repetitions']})"
    return line


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def caveats(run: Run, noisy: list[dict[str, Any]], judged: int) -> list[str]:
    facts, out = run.facts, []
    if _truthy(facts.get("git_dirty")):
        out.append(f"The working tree had uncommitted changes (commit {str(facts.get('git_commit'))[:10]}+dirty): "
                   "the code measured is not exactly any commit.")
    # The measured code's own build type is `build_type`; `library_build_type` is Google
    # Benchmark's (Debian ships it as a debug build), which only touches its loop bookkeeping.
    own = str(facts.get("build_type") or "").lower()
    if own and own not in ("release", "relwithdebinfo"):
        out.append(f"The driver and allocators were built as `{facts.get('build_type')}`: their numbers are not "
                   "those of an optimised build.")
    gov = str(facts.get("cpu_governor") or "").lower()
    if gov and gov != "performance":
        out.append(f"CPU frequency governor: `{facts.get('cpu_governor')}` (not `performance`): clock speed may "
                   "have varied during the run.")
    threads, hw = run.thread_counts(), run.hardware_threads()
    if hw and max(threads) > hw:
        above = [t for t in threads if t > hw]
        over, many = ",".join(map(str, above)), len(above) > 1
        out.append(f"Thread count{'s' if many else ''} {over} exceed{'' if many else 's'} the {hw} hardware threads: "
                   f"cases at {over} threads are oversubscribed.")
    for w in run.workloads():
        if fixed_threads_workload(w) and hw:
            recorded = run.threads_of(w, 0)
            if recorded > hw:
                out.append(f"{w} replays its {recorded} recorded threads on {hw} hardware threads: oversubscribed.")
    if judged and noisy:
        out.append(f"{len(noisy)} of {judged} cases are noisy (throughput CV > {NOISE_CV:.0%} over repetitions); "
                   "see the last section. Differences smaller than their spread are not findings.")
    drift = reference_drift(run)
    if drift and drift["flagged"]:
        out.append(f"In {len({f['unit'] for f in drift['flagged']})} of {drift['processes']} processes the reference "
                   f"case ran more than {DRIFT:.0%} off its usual throughput: the machine changed state during the "
                   "run (see \"Machine state\"). Where dividing by the reference of their own process narrows the "
                   "spread (in a cell whose processes all ran under one malloc), comparisons do so, which cancels "
                   "such a change where it hit the whole process alike; elsewhere the intervals carry it.")
    if not run.registry.allocators:
        out.append("The run folder has no registry.json (a run made before it existed) and no driver is built to "
                   "ask: allocators are drawn in fallback colours and order, and no reference is known to leave "
                   "out of the winners.")
    return out
