"""Charts of the real-programs suite (programs.csv, programs/plan.json, programs/raw/), drawn from
a records.ProgramsRun. Every figure's numbers come from alloclab.programs.summary (ratios to the
baseline with their 95 % intervals, geometric means) or from the raw records' RSS timelines;
nothing here computes a ratio of its own.

Each chart function writes <stem>.png (dpi 150), <stem>.svg and <stem>.json (the numbers drawn)
into a folder and returns a charts.Chart, or None when there is nothing to draw. Stems start
with "programs_" so they never collide with the sweep's charts in the same folder.

  summary_chart     per allocator, the geometric mean over every case of relative wall time and
                    relative peak RSS, with intervals
  overview_chart    every case x allocator ratio of one metric, as a heat map
  relative_chart    one case (program, threads): wall time, peak RSS (and a server's requests per
                    second) relative to the baseline, one bar per allocator
  memory_chart      one case: RSS over time, one line per allocator (its median-time repetition)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alloclab import results
from alloclab.fit import DID_NOT_FIT
from alloclab.programs import summary
from alloclab.programs.records import METRIC_INFO, ProgramRow, ProgramsRun
from alloclab.programs.summary import Relative
from plots import style
from plots.charts import MIB, RATIO_CMAP, Chart, _legend_outside, _lighter, _plain_axes, finish, stem_of
from plots.report import _sig

# matplotlib after plots.charts, which has set the Agg backend and the paper fonts
from matplotlib import colors as mcolors
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

PANELS = ("wall_s", "peak_rss_bytes")  # the relative charts' panels; requests_per_s joins for servers
SHORT = {"wall_s": "wall time", "peak_rss_bytes": "peak RSS", "requests_per_s": "requests/s", "cpu_s": "CPU time"}
TIE_HATCH = "////"
# A ratio axis turns logarithmic when its values span more than this factor.
LOG_SPAN = 4.0


# ----------------------------------------------------------------------------- what the run holds

def case_label(run: ProgramsRun, program: str, threads: int) -> str:
    """'sqlite' for a single-threaded program, 'redis (8 threads)' for a threaded one."""
    info = run.plan.program(program)
    if (info is not None and info.threaded) or len(run.thread_counts(program)) > 1:
        return f"{program} ({threads} thread{'s' if threads != 1 else ''})"
    return program


def has_metric(run: ProgramsRun, metric: str, program: str | None = None, threads: int | None = None) -> bool:
    return any(r.ok and r.metric(metric) is not None for r in run.rows
               if (program is None or r.program == program) and (threads is None or r.threads == threads))


def why_none(run: ProgramsRun, program: str, allocator: str, threads: int, metric: str, baseline: str) -> str:
    """Why summary.relative gave no ratio for this case: a word for a chart's empty slot."""
    rows = run.cases.get((program, allocator, threads), [])
    if not rows:
        return "not run"
    if not run.values(program, allocator, threads, metric):
        if run.did_not_fit(program, allocator, threads):
            return DID_NOT_FIT
        return "failed" if any(not r.ok for r in rows) else "no data"
    if not run.values(program, baseline, threads, metric):
        return f"no {baseline}"
    return f"< {summary.MIN_PASSES} passes"


def failures(run: ProgramsRun, program: str | None = None, threads: int | None = None) -> list[ProgramRow]:
    return [r for r in run.rows if not r.ok and (program is None or r.program == program)
            and (threads is None or r.threads == threads)]


def failed_note(run: ProgramsRun, rows: list[ProgramRow], width: int = 70) -> str:
    """'Failed runs, left out: jemalloc 1 of 3 (r2: exit 139 ...); ...' for one case's chart."""
    if not rows:
        return ""
    parts = []
    for a in run.allocators():
        mine = sorted((r for r in rows if r.allocator == a), key=lambda r: r.repetition)
        if not mine:
            continue
        total = len(run.cases.get(mine[0].key, []))
        reason = _clip(mine[0].reason or "no reason recorded", width)
        parts.append(f"{a} {len(mine)} of {total} (r{mine[0].repetition}: {reason})")
    return "Failed runs, left out: " + "; ".join(parts) + "."


def failed_cases_note(run: ProgramsRun, rows: list[ProgramRow]) -> str:
    """'Failed runs, left out: python 15 of 15; lua/tcmalloc 1 of 3 (reasons in the report).'"""
    if not rows:
        return ""
    parts = []
    for program, threads in summary.cases(run):
        mine = [r for r in rows if r.program == program and r.threads == threads]
        if not mine:
            continue
        total = sum(len(run.cases.get((program, a, threads), [])) for a in run.allocators())
        who = sorted({r.allocator for r in mine}, key=run.allocators().index)
        everyone = len(who) == len([a for a in run.allocators() if (program, a, threads) in run.cases])
        parts.append(f"{case_label(run, program, threads)}"
                     + ("" if everyone else f" ({', '.join(who)})") + f": {len(mine)} of {total} runs")
    return "Failed runs, left out: " + "; ".join(parts) + " (reasons in the report)."


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "\u2026"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _finish(fig: Figure, out_dir: Path, title: str, stem: str, data: dict[str, Any], notes: Sequence[str],
            facts: dict[str, Any]) -> Chart:
    """charts.finish, and the numbers drawn as <stem>.json beside the images."""
    chart = finish(fig, out_dir, title, stem, data, notes, style.footer_text(facts))
    results.write_json(out_dir / f"{stem}.json", _json_safe({"title": title, **data}))
    return chart


def _rel_dict(r: Relative | None) -> dict[str, Any] | None:
    return None if r is None else {"value": r.value, "low": r.low, "high": r.high, "n": r.n, "verdict": r.verdict}


# ----------------------------------------------------------------------------- bars of ratios around 1

def _ratio_axis(ax: Axes, lows: list[float], highs: list[float]) -> tuple[float, float]:
    """x limits around 1 and every interval, linear unless the values span more than LOG_SPAN."""
    lo, hi = min([1.0] + lows), max([1.0] + highs)
    if lo > 0 and hi / lo > LOG_SPAN:
        ax.set_xscale("log")
        lo, hi = lo / 1.25, hi * 2.2  # room on the right for the labels
        ticks = [2.0 ** k for k in range(-10, 11) if lo <= 2.0 ** k <= hi]
        ax.xaxis.set_major_locator(ticker.FixedLocator(ticks))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(
            lambda t, _: f"1/{round(1 / t):d}" if t < 1 else f"{t:g}"))
        ax.xaxis.set_minor_locator(ticker.NullLocator())
    else:
        span = hi - lo
        lo, hi = max(0.0, lo - span * 0.12 - 0.02), hi + span * 0.42 + 0.05  # labels sit right of the whiskers
        ax.xaxis.set_major_locator(ticker.MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax.set_xlim(lo, hi)
    return lo, hi


def _ratio_bars(ax: Axes, styles: style.Styles, names: list[str], values: dict[str, Relative | None],
                empty: dict[str, str], xlabel: str, title: str, counts: dict[str, str] | None = None) -> None:
    """One horizontal bar per allocator from 1 to its ratio, whiskers at the 95 % interval; a
    tie (the interval includes 1) hatched and labelled 'tie'; an allocator with no ratio says why.
    Each bar's value is written right of its whisker."""
    drawn = {a: r for a, r in values.items() if r is not None}
    lo, hi = _ratio_axis(ax, [r.low for r in drawn.values()], [r.high for r in drawn.values()])
    log = ax.get_xscale() == "log"
    ax.axvline(1.0, color="#444444", lw=0.9, ls=(0, (4, 2)), zorder=2)
    for y, a in enumerate(names):
        r = values.get(a)
        if r is None:
            ax.text(1.0, y, empty.get(a, "no data"), ha="center", va="center", fontsize=6.5, color="#666666",
                    style="italic", zorder=5, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.8})
            continue
        colour = styles.colour(a)
        if r.verdict == "tie":
            look: dict[str, Any] = {"facecolor": _lighter(colour, 0.6), "edgecolor": colour, "hatch": TIE_HATCH,
                                    "linewidth": 0.6}
        else:
            look = styles.bar(a)
            if look.get("edgecolor") == "none":
                look = dict(look, edgecolor=colour, linewidth=0.6)
        ax.barh(y, r.value - 1.0, left=1.0, height=0.64, zorder=3, **look)
        ax.errorbar([r.value], [y], xerr=[[r.value - r.low], [r.high - r.value]], fmt="none", ecolor="#222222",
                    elinewidth=0.8, capsize=2.2, capthick=0.8, zorder=4)
        text = f"{r.value:.2f}" + (" tie" if r.verdict == "tie" else "") + (f" {counts[a]}" if counts and counts.get(a) else "")
        right = max(r.high, 1.0)
        at = right * 1.04 if log else right + (hi - lo) * 0.02
        ax.text(at, y, text, ha="left", va="center", fontsize=6.5, color="#222222", zorder=5,
                style="italic" if r.verdict == "tie" else "normal")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names)
    ax.set_ylim(len(names) - 0.45, -0.55)
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=8.5)


def _bar_figure(names: list[str], panels: int) -> tuple[Figure, list[Axes]]:
    """Panels side by side, sharing the allocators on the y axis (labelled on the first)."""
    fig = Figure(figsize=(7.2, 1.9 + 0.27 * max(len(names), 3)))
    axes = list(fig.subplots(1, panels, sharey=True, squeeze=False)[0])
    for ax in axes[1:]:
        ax.tick_params(axis="y", labelleft=False)
    return fig, axes


def _direction(metric: str) -> str:
    return "higher is better" if METRIC_INFO[metric][2] else "lower is better"


TIE_NOTE = ("Bars start at the dashed line, 1 = {baseline}; whiskers: 95 % bootstrap interval of the median of the per-pass "
            "ratios (each repetition ran every allocator back to back, so each run is divided by {baseline}'s "
            "run of the same pass). Hatched, labelled \u201ctie\u201d: the interval includes 1, so these runs "
            "cannot tell the allocator from {baseline}.")


# ----------------------------------------------------------------------------- one case

def relative_chart(run: ProgramsRun, out_dir: Path, program: str, threads: int, facts: dict[str, Any],
                   baseline: str = summary.BASELINE) -> Chart | None:
    """Wall time and peak RSS (and requests per second, for a server) relative to the baseline."""
    styles = style.Styles(run.registry)
    names = [a for a in run.allocators() if a != baseline]
    metrics = list(PANELS) + (["requests_per_s"] if has_metric(run, "requests_per_s", program, threads) else [])
    rel = {m: {a: summary.relative(run, program, a, threads, m, baseline) for a in names} for m in metrics}
    if not names or not any(r is not None for per in rel.values() for r in per.values()):
        return None
    label = case_label(run, program, threads)
    title = f"{label}: relative to {baseline}"
    fig, axes = _bar_figure(names, len(metrics))
    empty = {m: {a: why_none(run, program, a, threads, m, baseline) for a in names if rel[m][a] is None}
             for m in metrics}
    for ax, m in zip(axes, metrics):
        _ratio_bars(ax, styles, names, rel[m], empty[m], f"{SHORT[m]} / {baseline}",
                    f"{METRIC_INFO[m][0]}\n({_direction(m)})")
    fig.suptitle(title)
    base = {m: run.values(program, baseline, threads, m) for m in metrics}
    medians = {m: statistics.median(v) for m, v in base.items() if v}
    shown = []
    if "wall_s" in medians:
        shown.append(f"{_sig(medians['wall_s'])} s")
    if "peak_rss_bytes" in medians:
        shown.append(f"peak RSS {medians['peak_rss_bytes'] / MIB:.1f} MiB")
    if "requests_per_s" in medians:
        shown.append(f"{medians['requests_per_s']:,.0f} requests/s")
    notes = [TIE_NOTE.format(baseline=baseline),
             f"{baseline} (median of {len(base['wall_s'])} runs): {', '.join(shown)}." if shown else
             f"No successful {baseline} run: no ratio.",
             failed_note(run, failures(run, program, threads))]
    data = {"program": program, "threads": threads, "baseline": baseline, "allocators": names, "metrics": metrics,
            "relative": {m: {a: _rel_dict(r) for a, r in rel[m].items()} for m in metrics},
            "not_shown": empty, "baseline_median": medians,
            "failed": [{"allocator": r.allocator, "repetition": r.repetition, "reason": r.reason}
                       for r in failures(run, program, threads)]}
    return _finish(fig, out_dir, title, stem_of("programs_relative", program, f"t{threads}"), data, notes, facts)


def median_repetition(run: ProgramsRun, program: str, allocator: str, threads: int) -> ProgramRow | None:
    """The successful run whose wall time is the median of the case's (for an even count, the
    lower of the two middle ones), or None."""
    rows = sorted((r for r in run.cases.get((program, allocator, threads), [])
                   if r.ok and r.wall_s is not None and math.isfinite(r.wall_s)),
                  key=lambda r: (r.wall_s or 0.0, r.repetition))
    return rows[(len(rows) - 1) // 2] if rows else None


def memory_chart(run: ProgramsRun, out_dir: Path, program: str, threads: int, facts: dict[str, Any]) -> Chart | None:
    """RSS over time, every allocator on one axis: each line the allocator's median-time run."""
    styles = style.Styles(run.registry)
    lines: dict[str, dict[str, Any]] = {}
    missing: dict[str, str] = {}
    for a in run.allocators():
        row = median_repetition(run, program, a, threads)
        if row is None:
            if (program, a, threads) in run.cases:
                missing[a] = DID_NOT_FIT if run.did_not_fit(program, a, threads) else "failed"
            continue
        points = run.timeline(row)
        if len(points) < 2:
            missing[a] = "no RSS samples recorded"
            continue
        ok = len([r for r in run.cases[(program, a, threads)] if r.ok])
        lines[a] = {"repetition": row.repetition, "of": ok, "wall_s": row.wall_s,
                    "peak_rss_mib": (row.peak_rss_bytes or 0.0) / MIB,
                    "seconds": [t for t, _ in points], "rss_mib": [v / MIB for _, v in points]}
    if not lines:
        return None
    label = case_label(run, program, threads)
    title = f"{label}: resident memory over time"
    fig = Figure(figsize=style.WIDE)
    ax = fig.add_subplot()
    peaks = [max(s["rss_mib"]) for s in lines.values()]
    log = min(peaks) > 0 and max(peaks) / min(peaks) > 10.0
    for i, (a, s) in enumerate(lines.items()):
        kw = styles.line(a)
        kw["label"] = f"{a} (r{s['repetition']})"
        step = max(1, len(s["seconds"]) // 6)  # a few markers per line, staggered so they do not pile up
        ax.plot(s["seconds"], s["rss_mib"], markevery=(i % step, step), zorder=3, **kw)
    ax.set_xlim(left=0)
    if log:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        ax.set_ylim(0, max(peaks) * 1.08)
    ax.set_xlabel("time since the program started (s)")
    ax.set_ylabel("resident set size (MiB)" + (", log scale" if log else ""))
    ax.set_title(title)
    _legend_outside(ax, title="allocator (repetition)")
    reps = max(s["of"] for s in lines.values())
    notes = [f"Each line: RSS of the program and its children, sampled while it ran, in the repetition whose "
             f"wall time is the median of the allocator's successful repetitions (of up to {reps}; the lower "
             "middle one for an even count). A line ends when its run ended.",
             ("Not shown: " + "; ".join(f"{a} ({why})" for a, why in missing.items()) + ".") if missing else "",
             failed_note(run, failures(run, program, threads))]
    data = {"program": program, "threads": threads, "series": lines, "not_shown": missing}
    return _finish(fig, out_dir, title, stem_of("programs_memory", program, f"t{threads}"), data, notes, facts)


# ----------------------------------------------------------------------------- across programs

def summary_chart(run: ProgramsRun, out_dir: Path, facts: dict[str, Any],
                  baseline: str = summary.BASELINE) -> Chart | None:
    """Per allocator, the geometric mean over the cases of relative wall time and peak RSS."""
    styles = style.Styles(run.registry)
    names = [a for a in run.allocators() if a != baseline]
    geo = {m: {a: summary.geomean(run, a, m, baseline) for a in names} for m in PANELS}
    if not names or not any(r is not None for per in geo.values() for r in per.values()):
        return None
    # The cases a ratio can come from: those where the baseline has enough successful passes.
    usable = [(p, t) for p, t in summary.cases(run) if len(run.values(p, baseline, t, "wall_s")) >= summary.MIN_PASSES]
    unusable = [(p, t) for p, t in summary.cases(run) if (p, t) not in usable]
    title = f"All programs: geometric mean relative to {baseline}"
    fig, axes = _bar_figure(names, len(PANELS))
    for ax, m in zip(axes, PANELS):
        counts = {a: f"({r.n}/{len(usable)})" for a, r in geo[m].items() if r is not None and r.n < len(usable)}
        _ratio_bars(ax, styles, names, geo[m], {a: "no case" for a in names},
                    f"{SHORT[m]} / {baseline}, geometric mean", f"{METRIC_INFO[m][0]}\n({_direction(m)})", counts)
    fig.suptitle(title)
    partial = any(r is not None and r.n < len(usable) for per in geo.values() for r in per.values())
    notes = [f"Bar: geometric mean over the {len(usable)} case{'s' if len(usable) != 1 else ''} with "
             f"{baseline} data ("
             + ", ".join(case_label(run, p, t) for p, t in usable) + ") of each case's median per-pass ratio to "
             f"{baseline}; whiskers: 95 % bootstrap interval (cases resampled apart, each one's passes with "
             "replacement). Hatched, labelled \u201ctie\u201d: the interval includes 1."
             + (" (k/n): only k of the n cases had at least "
                f"{summary.MIN_PASSES} successful passes of the allocator." if partial else "")
             + (" Not in the means (fewer than "
                f"{summary.MIN_PASSES} successful {baseline} runs): "
                + ", ".join(case_label(run, p, t) for p, t in unusable) + "." if unusable else ""),
             failed_cases_note(run, failures(run))]
    data = {"baseline": baseline, "cases": [[p, t] for p, t in usable],
            "cases_without_baseline": [[p, t] for p, t in unusable], "allocators": names,
            "geomean": {m: {a: _rel_dict(r) for a, r in geo[m].items()} for m in PANELS}}
    return _finish(fig, out_dir, title, stem_of("programs_summary_vs", baseline), data, notes, facts)


def overview_chart(run: ProgramsRun, out_dir: Path, facts: dict[str, Any], metric: str = "wall_s",
                   baseline: str = summary.BASELINE) -> Chart | None:
    """Every case x allocator ratio of one metric as a heat map (blue: better than the
    baseline), ties in grey italics, and a geometric-mean column."""
    names = [a for a in run.allocators() if a != baseline]
    cases = summary.cases(run)
    better_high = METRIC_INFO[metric][2]
    grid = {a: {c: summary.relative(run, c[0], a, c[1], metric, baseline) for c in cases} for a in names}
    geo = {a: summary.geomean(run, a, metric, baseline) for a in names}
    finite = [r.value for a in names for r in list(grid[a].values()) + [geo[a]] if r is not None and r.value > 0]
    if not finite:
        return None
    limit = max(1.25, min(8.0, max(max(finite), 1 / min(finite)) * 1.05))
    norm = mcolors.LogNorm(vmin=1 / limit, vmax=limit)
    cmap = RATIO_CMAP if better_high else RATIO_CMAP.reversed()
    columns: list[Any] = list(cases) + ["geomean"]
    labels = [case_label(run, p, t) for p, t in cases] + ["geometric\nmean"]
    name = METRIC_INFO[metric][0]
    title = f"{name[:1].upper()}{name[1:]} relative to {baseline}, every program"
    fig = Figure(figsize=(min(7.2, 3.2 + 0.85 * len(columns)), max(2.4, 1.5 + 0.3 * len(names))))
    ax = fig.add_subplot()
    xs = [j + (0.25 if c == "geomean" else 0.0) for j, c in enumerate(columns)]
    for i, a in enumerate(names):
        for x, c in zip(xs, columns):
            r = geo[a] if c == "geomean" else grid[a][c]
            if r is None or r.value <= 0:
                why = "\u2014" if c == "geomean" else why_none(run, c[0], a, c[1], metric, baseline)
                ax.add_patch(Rectangle((x, i), 1, 1, facecolor="white", edgecolor="#BBBBBB", linewidth=0.5,
                                       hatch="/////"))
                ax.text(x + 0.5, i + 0.5, why, ha="center", va="center", fontsize=5.8, color="#555555",
                        style="italic", bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})
                continue
            tie = r.verdict == "tie"
            face = (0.93, 0.93, 0.93, 1.0) if tie else cmap(norm(min(max(r.value, 1 / limit), limit)))
            ax.add_patch(Rectangle((x, i), 1, 1, facecolor=face, edgecolor="white", linewidth=0.8))
            lum = 0.299 * face[0] + 0.587 * face[1] + 0.114 * face[2]
            ax.text(x + 0.5, i + 0.5, f"{r.value:.2f}" + ("\ntie" if tie else ""), ha="center", va="center",
                    fontsize=6.5, linespacing=1.0, color="white" if lum < 0.45 else "black",
                    style="italic" if tie else "normal")
    ax.set_xlim(0, len(columns) + 0.25)
    ax.set_ylim(len(names), 0)
    ax.set_xticks([x + 0.5 for x in xs])
    ax.set_xticklabels(labels, rotation=30, ha="left", rotation_mode="anchor")
    ax.xaxis.tick_top()
    ax.set_yticks([i + 0.5 for i in range(len(names))])
    ax.set_yticklabels(names)
    _plain_axes(ax)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.05, pad=0.03, aspect=20)
    steps = (1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0, 8.0) if limit > 3 else \
        (0.5, 0.8, 1.0, 1.25, 2.0) if limit > 1.6 else (0.8, 0.9, 1.0, 1.1, 1.25)
    ticks = [t for t in steps if 1 / limit <= t <= limit]
    bar.set_ticks(ticks)
    bar.set_ticklabels([f"1/{round(1 / t)}" if t <= 0.25 else f"{t:g}" for t in ticks])
    bar.ax.minorticks_off()
    bar.ax.axhline(1.0, color="black", lw=1.0)
    bar.set_label(f"{SHORT[metric]} / {baseline} (log scale)", fontsize=7)
    bar.ax.tick_params(labelsize=7)
    ax.set_title(title, pad=16)
    notes = [f"Cell: median over passes of the allocator's {METRIC_INFO[metric][0]} / {baseline}'s in the same "
             f"pass; blue: {'more' if better_high else 'less'} than {baseline} ({_direction(metric)}), red: "
             f"{'less' if better_high else 'more'}. Grey, \u201ctie\u201d: the 95 % interval includes 1. "
             "Geometric mean: over the cases with a ratio. Hatched: no ratio (the reason in the cell)."]
    data = {"metric": metric, "baseline": baseline, "cases": [[p, t] for p, t in cases], "allocators": names,
            "relative": {a: {f"{p}/t{t}": _rel_dict(grid[a][(p, t)]) for p, t in cases} for a in names},
            "geomean": {a: _rel_dict(geo[a]) for a in names}}
    return _finish(fig, out_dir, title, stem_of("programs_overview", metric, "vs", baseline), data, notes, facts)


def draw_all(run: ProgramsRun, out_dir: Path, baseline: str = summary.BASELINE,
             facts: dict[str, Any] | None = None) -> list[Chart]:
    """Every chart of the programs into out_dir, in the report's order: across programs first,
    then per case its ratios and its memory over time. Without the baseline among the
    allocators, only the memory charts."""
    facts = facts or {}
    charts: list[Chart | None] = []
    if baseline in run.allocators():
        charts += [summary_chart(run, out_dir, facts, baseline),
                   overview_chart(run, out_dir, facts, "wall_s", baseline),
                   overview_chart(run, out_dir, facts, "peak_rss_bytes", baseline)]
    for program, threads in summary.cases(run):
        if baseline in run.allocators():
            charts.append(relative_chart(run, out_dir, program, threads, facts, baseline))
        charts.append(memory_chart(run, out_dir, program, threads, facts))
    return [c for c in charts if c is not None]
