"""The numbers the charts and the report show, computed from a results.Run (no drawing here).

Rules kept by every figure and table:
  - a case's value is the MEDIAN over its repetitions with status "ok"; the spread is min..max;
  - skipped and failed cases are never drawn (no zeros): they are named instead;
  - a case that failed in some repetitions is drawn from the others and marked with a dagger.
"""

from __future__ import annotations

from typing import Any

from alloclab import stats
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


def relative_summary(run: Run, baseline: str = "malloc", threads: int | None = None,
                     metric: str = "items_per_second") -> dict[str, Any]:
    """Throughput of every allocator relative to baseline per workload, plus the geometric mean.
    A workload with a thread count of its own (a trace) is read at that count.

    -> {"threads", "baseline", "workloads", "allocators", "threads_of": {workload: int},
        "ratio": {alloc: {workload: float | None}}, "state": {alloc: {workload: str}},
        "geomean": {alloc: float | None}, "geomean_n": {alloc: int}}.
    state is ok / partial / skipped / failed / missing / no-baseline."""
    cases = run.cases()
    threads = max(run.thread_counts()) if threads is None else threads
    workloads, allocators = run.workloads(), run.allocators()
    threads_of = {w: run.threads_of(w, threads) for w in workloads}
    ratio: dict[str, dict[str, float | None]] = {}
    state: dict[str, dict[str, str]] = {}
    geo: dict[str, float | None] = {}
    geo_n: dict[str, int] = {}
    for a in allocators:
        ratio[a], state[a] = {}, {}
        for w in workloads:
            t = threads_of[w]
            base = median_metric(cases, w, baseline, t, metric)
            case = cases.get((w, a, t))
            value = median_metric(cases, w, a, t, metric)
            state[a][w] = ("missing" if case is None else case.state if value is None
                           else "no-baseline" if base is None else case.state)
            ratio[a][w] = value / base if value and base else None
        found = [v for v in ratio[a].values() if v]
        geo[a], geo_n[a] = stats.geometric_mean(found), len(found)
    return {"threads": threads, "baseline": baseline, "workloads": workloads, "allocators": allocators,
            "threads_of": threads_of, "ratio": ratio, "state": state, "geomean": geo, "geomean_n": geo_n}


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
    repetitions, the state, whether it is noisy; and the winner per workload (highest median
    throughput, references excluded). A workload with a thread count of its own (a trace) is
    read at that count (threads_of).

    -> {"threads", "workloads", "allocators", "threads_of": {w: int}, "cells": {w: {a: cell | None}},
        "winner": {w: a | None}}
       cell = {"ns_per_op", "items_per_second", "n", "cv", "noisy", "state", "why_missing"}"""
    cases = run.cases()
    workloads, allocators = run.workloads(), run.allocators()
    threads_of = {w: run.threads_of(w, threads) for w in workloads}
    cells: dict[str, dict[str, dict[str, Any] | None]] = {}
    winner: dict[str, str | None] = {}
    for w in workloads:
        cells[w] = {}
        best: tuple[float, str] | None = None
        for a in allocators:
            case = cases.get((w, a, threads_of[w]))
            if case is None:
                cells[w][a] = None
                continue
            tp = stats.summarise(case.values("items_per_second"))
            ns = stats.summarise(case.values("ns_per_op"))
            cells[w][a] = {"state": case.state, "why_missing": case.why_missing, "ns_per_op": ns.median if ns else None,
                           "items_per_second": tp.median if tp else None, "n": tp.n if tp else 0,
                           "cv": tp.cv if tp else None, "noisy": bool(tp and tp.cv is not None and tp.cv > noise_cv)}
            if tp and run.registry.kind_of(a) != "reference" and (best is None or tp.median > best[0]):
                best = (tp.median, a)
        winner[w] = best[1] if best else None
    return {"threads": threads, "workloads": workloads, "allocators": allocators, "threads_of": threads_of,
            "cells": cells, "winner": winner}


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
    if not run.registry.allocators:
        out.append("The run folder has no registry.json (a run made before it existed) and no driver is built to "
                   "ask: allocators are drawn in fallback colours and order, and no reference is known to leave "
                   "out of the winners.")
    return out
