"""Charts of one results folder (and comparisons of several), drawn from a results.Run.

Every chart function writes <stem>.png (dpi 150) and <stem>.svg into a folder and returns a
Chart (title, stem, data), or None when there is nothing to draw; data holds the numbers drawn
(computed by plots.analysis), so tests can check them against the CSV.
"""

from __future__ import annotations

import math
import re
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from alloclab import ranking, results, stats
from alloclab.registry import fixed_threads_workload
from alloclab.results import Run
from plots import analysis, style
from plots.analysis import DAGGER

style.apply()
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib import ticker  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

MIB = 1024.0 * 1024.0
# Paul Tol's diverging red-blue, for ratios around 1.
RATIO_CMAP = mcolors.LinearSegmentedColormap.from_list(
    "tol_burd", ["#B2182B", "#D6604D", "#F4A582", "#FDDBC7", "#F7F7F7", "#D1E5F0", "#92C5DE", "#4393C3", "#2166AC"])
# A ratio the data cannot tell from 1: a grey darker than the scale's own 1 (#F7F7F7).
TIE_FACE = (0.84, 0.84, 0.84, 1.0)


class Chart(NamedTuple):
    title: str
    stem: str
    data: dict[str, Any]


# ----------------------------------------------------------------------------- the steps every chart takes

def stem_of(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "_".join(str(p) for p in parts))


def save(fig: Figure, out_dir: Path, stem: str) -> None:
    """Writes out_dir/stem.png and .svg, each through a temporary name and a rename."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for ext in ("png", "svg"):
        with tempfile.NamedTemporaryFile(prefix=f".{stem}.", suffix=f".{ext}.tmp", dir=out_dir, delete=False) as f:
            temp = Path(f.name)
        try:
            fig.savefig(temp, format=ext, dpi=style.DPI, bbox_inches="tight", pad_inches=0.06,
                        metadata={"Date": None} if ext == "svg" else None)
            results.publish(temp, out_dir / f"{stem}.{ext}")
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width=width, break_on_hyphens=False))


def finish(fig: Figure, out_dir: Path, title: str, stem: str, data: dict[str, Any], notes: Sequence[str],
           footer: str) -> Chart:
    """The notes and the footer under the figure, the layout, the files: -> the Chart."""
    text = _wrap(" ".join(n for n in notes if n), int(fig.get_size_inches()[0] * 19))
    text = f"{text}\n{footer}" if text else footer
    fig.text(0.005, 0.005, text, ha="left", va="bottom", fontsize=style.FOOTER_SIZE, color=style.FOOTER_COLOUR)
    bottom = min(0.45, ((text.count("\n") + 1) * 0.11 + 0.03) / fig.get_size_inches()[1])
    fig.tight_layout(rect=(0, bottom, 1, 1))
    save(fig, out_dir, stem)
    return Chart(title, stem, data)


def _not_shown_note(missing: dict[str, str], order: Callable[[Any], list[str]]) -> str:
    """missing: {allocator: state}. -> 'Not shown (no successful repetition) — skipped: a, b; failed: c.'"""
    parts = []
    for state in ("skipped", "failed", "missing"):
        names = [a for a in order(missing) if missing[a] == state]
        if names:
            parts.append(f"{state}: {', '.join(names)}")
    return ("Not shown (no successful repetition) \u2014 " + "; ".join(parts) + ".") if parts else ""


def _log_y(ax: Axes, lo: float, hi: float) -> None:
    """Log y axis labelled 1, 2, 5 x 10^k in plain numbers (20M, 500k) when the range is narrow."""
    ax.set_yscale("log")
    decades = math.log10(hi / lo) if lo > 0 and hi > 0 else 99
    subs = (1.0, 2.0, 5.0) if decades <= 3.5 else (1.0,)
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(ticker.EngFormatter(sep=""))
    ax.yaxis.set_minor_locator(ticker.LogLocator(base=10, subs=[k for k in range(1, 10) if k not in subs]))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _thread_axis(ax: Axes, threads: list[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(ticker.FixedLocator(threads))
    ax.xaxis.set_major_formatter(ticker.StrMethodFormatter("{x:g}"))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlim(min(threads) / 1.25, max(threads) * 1.25)
    ax.set_xlabel("threads")


def _shade_oversubscribed(ax: Axes, threads: list[int], hw: int | None) -> None:
    """Grey band over the thread counts above the machine's hardware threads, labelled at the top."""
    if hw is None or max(threads) <= hw:
        return
    above, below = [t for t in threads if t > hw], [t for t in threads if t <= hw]
    start = math.sqrt(max(below) * min(above)) if below else min(threads) / 1.25
    end = max(threads) * 1.25
    ax.axvspan(start, end, color="#EEEEEE", zorder=0, lw=0)
    ax.text(math.sqrt(start * end), 0.985, f"oversubscribed\n(> {hw} hardware threads)", ha="center", va="top",
            fontsize=7, color="#555555", transform=ax.get_xaxis_transform(), zorder=1)


def _legend_outside(ax: Axes, **kwargs: Any) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, handlelength=2.6, borderaxespad=0.0,
              **kwargs)


def _plain_axes(ax: Axes) -> None:
    ax.tick_params(length=0)
    ax.grid(False)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)


def _fmt_ratio(r: float) -> str:
    return f"{r:.0f}" if r >= 100 else f"{r:.1f}" if r >= 10 else f"{r:.2f}"


def _lighter(colour: str, amount: float) -> tuple[float, float, float]:
    r, g, b = mcolors.to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


# ----------------------------------------------------------------------------- throughput and scaling

def _draw_throughput(ax: Axes, styles: style.Styles, series: dict[str, dict[str, list[float]]],
                     partial: list[str], threads: list[int]) -> None:
    n = len(series)
    for i, (a, pts) in enumerate(series.items()):
        shift = 2 ** ((i - (n - 1) / 2) * 0.007) if n > 1 else 1.0  # dodge: whiskers side by side
        med = pts["median"]
        yerr = [[m - lo for m, lo in zip(med, pts["min"])], [hi - m for m, hi in zip(med, pts["max"])]]
        kw = styles.line(a)
        if a in partial:
            kw["label"] = f"{a} {DAGGER}"
        ax.errorbar([t * shift for t in pts["threads"]], med, yerr=yerr, elinewidth=0.8, capthick=0.8,
                    zorder=3 if styles.is_reference(a) else 4, **kw)
    _log_y(ax, min(min(p["min"]) for p in series.values()), max(max(p["max"]) for p in series.values()))
    _thread_axis(ax, threads)


def throughput_chart(run: Run, out_dir: Path, workload: str) -> Chart | None:
    threads, hw, styles = run.thread_counts(), run.hardware_threads(), style.Styles(run.registry)
    series, missing, partial = analysis.throughput_series(run.cases(), workload, run.allocators(), threads)
    if not series:
        return None
    title = f"{workload}: throughput vs threads"
    fig = Figure(figsize=style.WIDE)
    ax = fig.add_subplot()
    _draw_throughput(ax, styles, series, partial, threads)
    if hw is not None and max(threads) > hw:  # headroom for the band's label above the highest whisker
        ax.set_ylim(top=max(max(p["max"]) for p in series.values()) * 2.4)
    _shade_oversubscribed(ax, threads, hw)
    ax.set_ylabel("throughput (operations per second)")
    ax.set_title(title)
    _legend_outside(ax)
    reps = max(max(p["n"]) for p in series.values())
    shown = [f"{styles.in_words(a)}: {a} ({info.description})" for a in run.registry.allocator_names("reference")
             if a in series and (info := run.registry.allocator(a)) is not None]
    notes = [f"Points: median of up to {int(reps)} repetitions; bars: min\u2013max."
             + (" References: " + "; ".join(shown) + "." if shown else ""),
             f"{DAGGER} some repetitions or thread counts failed or were skipped; drawn from the successful ones."
             if partial else "", _not_shown_note(missing, run.registry.order)]
    data = {"workload": workload, "threads": threads, "series": series, "not_shown": missing, "partial": partial}
    return finish(fig, out_dir, title, stem_of("throughput", workload), data, notes, style.footer_text(run.facts))


def efficiency_chart(run: Run, out_dir: Path, workload: str) -> Chart | None:
    threads, hw, styles = run.thread_counts(), run.hardware_threads(), style.Styles(run.registry)
    series, missing, partial = analysis.throughput_series(run.cases(), workload, run.allocators(), threads)
    if len(threads) < 2 or not series:
        return None
    eff: dict[str, dict[str, list[Any]]] = {}
    for a, pts in series.items():
        e = analysis.efficiency(dict(zip((int(t) for t in pts["threads"]), pts["median"])), threads, hw)
        ts = [t for t in threads if e[t] is not None]
        if len(ts) >= 2:
            eff[a] = {"threads": ts, "efficiency": [e[t] for t in ts]}
    if not eff:
        return None
    title = f"{workload}: scaling efficiency"
    fig = Figure(figsize=style.WIDE)
    ax = fig.add_subplot()
    _shade_oversubscribed(ax, threads, hw)
    ax.axhline(1.0, color="#999999", lw=1.0, zorder=1)
    ax.text(0.005, 1.0, "ideal", transform=ax.get_yaxis_transform(), ha="left", va="bottom", fontsize=7,
            color="#666666")
    for a, s in eff.items():
        kw = styles.line(a)
        if a in partial:
            kw["label"] = f"{a} {DAGGER}"
        ax.plot(s["threads"], s["efficiency"], zorder=3, **kw)
    _thread_axis(ax, threads)
    ax.set_ylim(0, max(1.3, max(max(s["efficiency"]) for s in eff.values()) * 1.25))
    base_t = min(threads)
    one = "T(1)" if base_t == 1 else f"T({base_t})/{base_t}"
    ax.set_ylabel(f"efficiency  T(n) / (min(n, {hw}) \u00b7 {one})" if hw else f"efficiency  T(n) / (n \u00b7 {one})")
    ax.set_title(title)
    _legend_outside(ax)
    notes = [f"Efficiency 1 = perfect scaling. Ideal throughput is n \u00b7 {one} up to the hardware threads"
             + (f" ({hw}); past them it stays at {hw} \u00b7 {one} (shaded region)." if hw else ".")
             + " From median throughputs.", _not_shown_note(missing, run.registry.order)]
    data = {"workload": workload, "threads": threads, "hardware_threads": hw, "series": eff, "not_shown": missing}
    return finish(fig, out_dir, title, stem_of("efficiency", workload), data, notes, style.footer_text(run.facts))


# ----------------------------------------------------------------------------- trace replays

def trace_speed_chart(run: Run, out_dir: Path, workload: str) -> Chart | None:
    """A trace's replay at its own thread count: events per second of each allocator, a bar
    each (median, min-max whiskers), the references' bars (null: the replay's own cost) among
    them in their own style."""
    cases, styles = run.cases(), style.Styles(run.registry)
    threads = run.threads_of(workload, max(run.thread_counts()))
    series: dict[str, dict[str, float]] = {}
    missing: dict[str, str] = {}
    partial: list[str] = []
    for a in run.allocators():
        case = cases.get((workload, a, threads))
        if case is None:
            continue
        s = stats.summarise(case.values("items_per_second"))
        if s is None:
            missing[a] = case.why_missing
            continue
        series[a] = {"median": s.median, "min": s.min, "max": s.max, "n": s.n}
        if case.state != "ok":
            partial.append(a)
    if not series:
        return None
    names = list(series)
    title = f"{workload}: replay speed, {threads} thread{'s' if threads != 1 else ''} (the trace's)"
    fig = Figure(figsize=(7.2, 1.2 + 0.22 * len(names)))
    ax = fig.add_subplot()
    ys = list(range(len(names)))
    for y, a in zip(ys, names):
        v = series[a]
        ax.barh(y, v["median"], height=0.72, zorder=3, **styles.bar(a))
        ax.plot([v["min"], v["max"]], [y, y], color="#333333", lw=0.6, zorder=4)
    lo = min(v["min"] for v in series.values())
    hi = max(v["max"] for v in series.values())
    ax.set_xscale("log")
    decades = math.log10(hi / lo) if lo > 0 else 99
    subs = (1.0, 2.0, 5.0) if decades <= 3.5 else (1.0,)
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(ticker.EngFormatter(sep=""))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlim(lo / 2 if lo > 0 else None, hi * 1.6)
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{a} {DAGGER}" if a in partial else a for a in names])
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("events per second (log scale; more is faster)")
    ax.set_title(title)
    null = [a for a in names if run.registry.kind_of(a) == "reference"]
    notes = [f"Bars: median of up to {int(max(v['n'] for v in series.values()))} repetitions; whiskers: min–max. "
             "One event is one call of the recorded program into its allocator, replayed in process."
             + (f" References ({', '.join(null)}): the replay's own cost without a real allocator; an allocator's "
                "time beyond it is its own." if null else ""),
             f"{DAGGER} some repetitions failed or were skipped." if partial else "",
             _not_shown_note(missing, run.registry.order)]
    data = {"workload": workload, "threads": threads, "series": series, "not_shown": missing, "partial": partial}
    return finish(fig, out_dir, title, stem_of("trace_speed", workload), data, notes, style.footer_text(run.facts))


def _added_rss(case: Any, metric: str) -> list[float]:
    """Per ok repetition: the metric (an RSS) less the RSS when the case began, in MiB; the
    RSS itself where the start was not recorded."""
    out = []
    for r in case.ok_rows:
        value, start = r.metric(metric), r.rss_at_start_bytes
        if value is not None:
            out.append((value - (start or 0.0)) / MIB)
    return out


def trace_rss_chart(run: Run, out_dir: Path, workload: str) -> Chart | None:
    """Resident memory the replay of a trace added (RSS less the RSS when the case began) at
    each tenth of its events, the median over repetitions per allocator, against the trace's
    ideal: its peak of live requested bytes."""
    cases, styles = run.cases(), style.Styles(run.registry)
    threads = run.threads_of(workload, max(run.thread_counts()))
    progress = [10 * k for k in range(1, 11)]
    series: dict[str, list[float]] = {}
    for a in run.allocators():
        case = cases.get((workload, a, threads))
        if case is None:
            continue
        medians = [stats.summarise(_added_rss(case, m)) for m in results.RSS_DECILES]
        if all(m is not None for m in medians):
            series[a] = [m.median for m in medians if m is not None]
    if not series:
        return None
    ideal_values = [v for a in series for v in cases[(workload, a, threads)].values("bytes_requested_at_peak")]
    ideal = stats.summarise(ideal_values)
    title = f"{workload}: memory over the replay, {threads} thread{'s' if threads != 1 else ''}"
    fig = Figure(figsize=style.WIDE)
    ax = fig.add_subplot()
    for a, values in series.items():
        ax.plot(progress, values, zorder=3 if styles.is_reference(a) else 4, **styles.line(a))
    if ideal is not None:
        ax.axhline(ideal.median / MIB, color="#444444", lw=1.0, linestyle=(0, (1, 1.5)), zorder=2)
        ax.text(0.005, ideal.median / MIB, "peak live requested (the ideal)", transform=ax.get_yaxis_transform(),
                ha="left", va="bottom", fontsize=7, color="#444444")
    ax.set_xlim(5, 105)
    ax.xaxis.set_major_locator(ticker.FixedLocator(progress))
    ax.xaxis.set_major_formatter(ticker.StrMethodFormatter("{x:.0f} %"))
    top = max([max(v) for v in series.values()] + [ideal.median / MIB if ideal else 0.0])
    ax.set_ylim(min(0.0, min(min(v) for v in series.values()) * 1.15), top * 1.15 if top > 0 else 1.0)
    ax.set_xlabel("events replayed")
    ax.set_ylabel("resident memory added (MiB)")
    ax.set_title(title)
    _legend_outside(ax)
    notes = ["Lines: median over repetitions of the resident memory the replay had added (RSS less the RSS when the "
             "case began, which holds the loaded trace) when each tenth of the trace's events had been replayed. "
             "Dotted: the most requested bytes the recorded program had live at once, the ideal; above it are the "
             "allocator's overhead and fragmentation and the replay's own object table. A reference that hands out "
             "memory prepared before the case began adds none."]
    data = {"workload": workload, "threads": threads, "progress": progress, "median_mib": series,
            "ideal_mib": ideal.median / MIB if ideal else None}
    return finish(fig, out_dir, title, stem_of("trace_rss", workload), data, notes, style.footer_text(run.facts))


# ----------------------------------------------------------------------------- latency and memory

PERCENTILES = [("latency_p50_ns", "p50"), ("latency_p99_ns", "p99"), ("latency_p999_ns", "p99.9")]


def latency_chart(run: Run, out_dir: Path, workload: str, threads: int | None = None) -> Chart | None:
    cases, styles = run.cases(), style.Styles(run.registry)
    threads = min(run.thread_counts()) if threads is None else threads
    series: dict[str, dict[str, dict[str, float]]] = {}
    missing: dict[str, str] = {}
    threads = run.threads_of(workload, threads)
    for a in run.allocators():
        case = cases.get((workload, a, threads))
        if case is None:
            continue
        entry = {}
        for metric, label in PERCENTILES:
            s = stats.summarise(case.values(metric))
            if s is not None:
                entry[label] = {"median": s.median, "min": s.min, "max": s.max}
        if len(entry) == len(PERCENTILES):
            series[a] = entry
        else:
            missing[a] = case.why_missing if case.state in ("skipped", "failed") else "failed"
    if not series:
        return None
    title = f"{workload}: allocation latency percentiles, {threads} thread{'s' if threads != 1 else ''}"
    names = list(series)
    fig = Figure(figsize=(7.2, 3.6))
    ax = fig.add_subplot()
    width, fills, hatches = 0.27, [0.0, 0.45, 1.0], [None, "////", "xxxx"]
    for i, a in enumerate(names):
        base = styles.colour(a)
        for j, (_, label) in enumerate(PERCENTILES):
            v, x = series[a][label], i + (j - 1) * width
            ax.bar(x, v["median"], width=width, color=_lighter(base, fills[j]), edgecolor=base,
                   linewidth=0.6, hatch=hatches[j], zorder=3)
            ax.plot([x, x], [v["min"], v["max"]], color="#333333", lw=0.6, zorder=4)
    # A latency at or below the timer floor reads 0 ns, which a log axis cannot show: the axis
    # starts below the smallest positive value (such bars stay empty).
    positive = [x for e in series.values() for v in e.values() for x in (v["min"], v["max"]) if x > 0]
    lo, hi = min(positive, default=1.0), max(positive, default=10.0)
    _log_y(ax, lo, hi)
    ax.set_ylim(lo / 2, hi * 1.6)  # a floor below the smallest value, so its bar has a height
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=40, ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("latency of one allocate() (ns)")
    ax.set_title(title)
    grey = "#666666"
    handles: list[Any] = [Patch(facecolor=_lighter(grey, f), edgecolor=grey, hatch=h, label=lab)
                          for f, h, (_, lab) in zip(fills, hatches, PERCENTILES)]
    handles.append(Line2D([], [], color="#333333", lw=0.6, label="min\u2013max"))
    _legend_outside(ax, handles=handles, title="percentile")
    notes = ["Bars: median over repetitions of each percentile; whiskers: min\u2013max. Timed in a separate "
             "untimed pass, one allocate() per sample, the timer's floor subtracted (resolution about 10 ns).",
             _not_shown_note(missing, run.registry.order)]
    data = {"workload": workload, "threads": threads, "series": series, "not_shown": missing}
    return finish(fig, out_dir, title, stem_of("latency", workload, f"t{threads}"), data, notes,
                  style.footer_text(run.facts))


def overhead_chart(run: Run, out_dir: Path, threads: int | None = None) -> Chart | None:
    cases, styles = run.cases(), style.Styles(run.registry)
    threads = max(run.thread_counts()) if threads is None else threads
    workloads = run.workloads()
    reporting = [a for a in run.allocators() if any(r.allocator == a and r.overhead_ratio is not None for r in run.rows)]
    if not reporting:
        return None
    at = {w: run.threads_of(w, threads) for w in workloads}  # a trace: its own thread count
    values = {a: {w: stats.summarise(cases[(w, a, at[w])].values("overhead_ratio")) if (w, a, at[w]) in cases
                  else None for w in workloads} for a in reporting}
    title = f"Memory overhead (reserved / requested at peak), {threads} threads"
    fig = Figure(figsize=(7.2, 3.4))
    ax = fig.add_subplot()
    n = len(reporting)
    width = min(0.8 / n, 0.22)
    top = max((v.max for a in reporting for v in values[a].values() if v), default=1.0)
    for i, a in enumerate(reporting):
        for k, w in enumerate(workloads):
            x, v = k + (i - (n - 1) / 2) * width, values[a][w]
            if v is None:
                case = cases.get((w, a, at[w]))
                ax.text(x, 0.03 * top, case.state if case else "not run", rotation=90, ha="center",
                        va="bottom", fontsize=6, color="#777777", style="italic")
                continue
            bars = ax.bar(x, v.median, width=width * 0.92, zorder=3, **styles.bar(a))
            ax.bar_label(bars, fmt="%.2f", rotation=90, padding=1.5, fontsize=5.5, color="#333333")
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels([w if at[w] == threads else f"{w} ({at[w]} t)" for w in workloads], rotation=30, ha="right",
                       rotation_mode="anchor")
    ax.grid(axis="x", visible=False)
    ax.set_ylim(0, top * 1.22)
    ax.set_ylabel("bytes reserved / bytes requested")
    ax.set_xlabel("workload")
    ax.set_title(title)
    _legend_outside(ax, handles=[Patch(label=a, **styles.bar(a)) for a in reporting])
    others = [a for a in run.allocators() if a not in reporting]
    notes = ["Median over repetitions; 1.00 = no overhead. Only allocators that count requested and "
             "reserved bytes report it" + (f"; not reported by: {', '.join(others)}." if others else ".")
             + (" A trace (\"(N t)\") at its own thread count; requested: its peak of live bytes."
                if any(at[w] != threads for w in workloads) else "")]
    data = {"threads": threads, "workloads": workloads, "allocators": reporting,
            "median": {a: {w: (v.median if v else None) for w, v in values[a].items()} for a in reporting}}
    return finish(fig, out_dir, title, stem_of("memory_overhead", f"t{threads}"), data, notes,
                  style.footer_text(run.facts))


def rss_chart(run: Run, out_dir: Path, threads: int | None = None) -> Chart | None:
    cases, styles = run.cases(), style.Styles(run.registry)
    threads = max(run.thread_counts()) if threads is None else threads
    workloads, allocators = run.workloads(), run.allocators()
    peak: dict[str, dict[str, Any]] = {w: {} for w in workloads}
    start: dict[str, dict[str, Any]] = {w: {} for w in workloads}
    at = {w: run.threads_of(w, threads) for w in workloads}  # a trace: its own thread count
    for w in workloads:
        for a in allocators:
            case = cases.get((w, a, at[w]))
            s = stats.summarise(case.values("peak_rss_bytes")) if case else None
            peak[w][a] = {"median": s.median / MIB, "min": s.min / MIB, "max": s.max / MIB} if s else None
            s0 = stats.summarise(case.values("rss_at_start_bytes")) if case else None
            start[w][a] = s0.median / MIB if s0 else None
    if not any(peak[w][a] for w in workloads for a in allocators):
        return None
    title = f"Peak resident memory per case, {threads} threads"
    fig = Figure(figsize=(7.2, 1.3 + 0.16 * len(allocators)))
    axes = fig.subplots(1, len(workloads), sharey=True, squeeze=False)[0]
    ys = list(range(len(allocators)))
    right = max(p["max"] for w in workloads for p in peak[w].values() if p) * 1.08
    for ax, w in zip(axes, workloads):
        for y, a in zip(ys, allocators):
            p = peak[w][a]
            if p is None:
                case = cases.get((w, a, at[w]))
                ax.text(0.02 * right, y, case.state if case else "not run", va="center", ha="left",
                        fontsize=6, color="#777777", style="italic")
                continue
            ax.barh(y, p["median"], height=0.72, zorder=3, **styles.bar(a))
            ax.plot([p["min"], p["max"]], [y, y], color="#333333", lw=0.6, zorder=4)
            if start[w][a] is not None:
                ax.plot([start[w][a]] * 2, [y - 0.36, y + 0.36], color="#000000", lw=1.0, zorder=5)
        ax.set_title(w if at[w] == threads else f"{w}\n({at[w]} threads)", fontsize=8.5)
        ax.set_xlim(0, right)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(3, integer=True))
        ax.grid(axis="y", visible=False)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel("MiB")
    axes[0].set_yticks(ys)
    axes[0].set_yticklabels(allocators)
    axes[0].invert_yaxis()
    fig.suptitle(title)
    notes = ["Bars: median peak RSS of the case alone (the kernel's peak mark is reset before each case); "
             "whiskers: min\u2013max; black tick: RSS when the case started (the process's own footprint)."]
    data = {"threads": threads, "workloads": workloads, "allocators": allocators,
            "median_mib": {w: {a: (peak[w][a]["median"] if peak[w][a] else None) for a in allocators}
                           for w in workloads}}
    return finish(fig, out_dir, title, stem_of("memory_peak_rss", f"t{threads}"), data, notes,
                  style.footer_text(run.facts))


# ----------------------------------------------------------------------------- ratio heatmaps

def _heatmap(fig: Figure, rows: list[str], columns: list[str], value: Callable[[str, str], float | None],
             label: Callable[[str, str, float | None], str], empty: Callable[[str, str], str], limit: float,
             ticks: list[float], tick_text: Callable[[float], str], bar_label: str,
             row_names: list[str] | None = None, bold_row: str | None = None,
             tie: Callable[[str, str], bool] | None = None) -> Axes:
    """Rows x columns of ratios on a diverging log colour scale, the last column ("geomean")
    set apart; a cell with no value is hatched and says why; a tie (`tie`: the data cannot
    tell it from 1) is light grey, its text in italics, whatever its value."""
    norm = mcolors.LogNorm(vmin=1 / limit, vmax=limit)
    ax = fig.add_subplot()
    xs = [j + (0.25 if c == "geomean" else 0.0) for j, c in enumerate(columns)]
    for i, r in enumerate(rows):
        for x, c in zip(xs, columns):
            v = value(r, c)
            if v:
                tied = tie is not None and tie(r, c)
                face = TIE_FACE if tied else RATIO_CMAP(norm(min(max(v, 1 / limit), limit)))
                ax.add_patch(Rectangle((x, i), 1, 1, facecolor=face, edgecolor="white", linewidth=0.8))
                lum = 0.299 * face[0] + 0.587 * face[1] + 0.114 * face[2]
                ax.text(x + 0.5, i + 0.5, label(r, c, v), ha="center", va="center", fontsize=6.0,
                        color="white" if lum < 0.45 else "black", fontweight="bold" if r == bold_row else "normal",
                        style="italic" if tied else "normal", linespacing=1.05)
            else:
                ax.add_patch(Rectangle((x, i), 1, 1, facecolor="white", edgecolor="#BBBBBB", linewidth=0.5,
                                       hatch="/////"))
                ax.text(x + 0.5, i + 0.5, empty(r, c), ha="center", va="center", fontsize=5.5, color="#555555",
                        style="italic", bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})
    ax.set_xlim(0, len(columns) + 0.25)
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([x + 0.5 for x in xs])
    # Workload names are long and many: slanted so neighbours never overlap.
    ax.set_xticklabels(columns, rotation=35, ha="left", rotation_mode="anchor")
    ax.xaxis.tick_top()
    ax.set_yticks([i + 0.5 for i in range(len(rows))])
    ax.set_yticklabels(row_names or rows)
    _plain_axes(ax)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=RATIO_CMAP), ax=ax, fraction=0.05, pad=0.03, aspect=25)
    shown = [t for t in ticks if 1 / limit <= t <= limit]
    bar.set_ticks(shown)
    bar.set_ticklabels([tick_text(t) for t in shown])
    bar.ax.minorticks_off()
    bar.ax.axhline(1.0, color="black", lw=1.0)
    bar.set_label(bar_label)
    bar.ax.tick_params(labelsize=7)
    return ax


def _limit(values: list[float], low: float, high: float) -> float:
    return max(low, min(high, max(max(values), 1 / min(values))))


def summary_chart(run: Run, out_dir: Path, baseline: str = "malloc", threads: int | None = None) -> Chart | None:
    rel = analysis.relative_summary(run, baseline, threads)
    threads, workloads, allocators = rel["threads"], rel["workloads"], rel["allocators"]
    if not any(v for a in allocators for v in rel["ratio"][a].values()):
        return None
    # One colour scale for every thread count, so the charts of one run can be compared.
    finite = [v for t in run.thread_counts() for per in analysis.relative_summary(run, baseline, t)["ratio"].values()
              for v in per.values() if v]
    columns = workloads + ["geomean"]
    incomplete = any(rel["geomean"][a] and rel["geomean_n"][a] < len(workloads) for a in allocators)
    partial = any(s == "partial" for a in allocators for s in rel["state"][a].values())

    def value(a: str, c: str) -> float | None:
        v: float | None = rel["geomean"][a] if c == "geomean" else rel["ratio"][a][c]
        return v

    def tied(a: str, c: str) -> bool:
        return bool(rel["geomean_tie"][a] if c == "geomean" else rel["tie"][a][c])

    def label(a: str, c: str, v: float | None) -> str:
        text = _fmt_ratio(v or 0)
        if c != "geomean" and rel["state"][a][c] == "partial":
            text += DAGGER
        if a == baseline:
            return text
        bounds = rel["geomean_interval"][a] if c == "geomean" else rel["interval"][a][c]
        second = "tie" if tied(a, c) else f"{_fmt_ratio(bounds[0])}\u2013{_fmt_ratio(bounds[1])}" if bounds else ""
        if c == "geomean" and rel["geomean_n"][a] < len(workloads):
            second += f" ({rel['geomean_n'][a]}/{len(workloads)})"
        return f"{text}\n{second}".strip()

    def empty(a: str, c: str) -> str:
        st = "none" if c == "geomean" else rel["state"][a][c]
        return {"no-baseline": f"no {baseline}", "missing": "not run", "none": "\u2014"}.get(st, st)

    title = f"Throughput relative to {baseline}, {threads} thread{'s' if threads != 1 else ''}"
    fig = Figure(figsize=(min(8.4, 3.1 + 0.95 * len(columns)), 1.4 + 0.34 * len(allocators)))
    ax = _heatmap(fig, allocators, columns, value, label, empty, _limit(finite, 2.0, 64.0),
                  [2.0 ** k for k in range(-6, 7)], lambda t: f"1/{int(round(1 / t))}" if t < 1 else f"{int(t)}",
                  f"\u00d7 {baseline} throughput (log scale; > 1 faster)",
                  [f"{a} (baseline)" if a == baseline else a for a in allocators], bold_row=baseline, tie=tied)
    refs = [i for i, a in enumerate(allocators) if run.registry.kind_of(a) == "reference"]
    if refs and min(refs) > 0:
        ax.axhline(min(refs), color="#222222", lw=0.8)
    ax.set_title(title, pad=18)
    cases = run.cases()
    paired = [w for w in workloads if ranking.cell_paired(cases, w, rel["threads_of"][w])]
    notes = [f"Cell: throughput / {baseline} throughput, same workload and thread count (geometric means over the "
             "repetitions" + (f"; in {', '.join(paired)}, each divided by the reference case of its own process, "
                              "which narrows the spread there" if paired else "")
             + f"), and below it the {ranking.LEVEL} interval of that ratio (Welch t interval over the processes). Grey, "
             "\u201ctie\u201d: the interval includes 1, the data cannot tell the allocator from the baseline. "
             "geomean: geometric mean over the workloads with data, its interval from theirs"
             + (" (k/n: only k of n workloads had data)." if incomplete else ".")
             + " Hatched: no successful repetition (skipped or failed; see the report)."
             + (f" {DAGGER}: some repetitions failed." if partial else "")
             + (" Below the line: references." if refs else "")
             + ("".join(f" {w}: at its own {t} thread{'s' if t != 1 else ''}." for w, t in rel["threads_of"].items()
                        if t != threads))]
    return finish(fig, out_dir, title, stem_of("summary_vs", baseline, f"t{threads}"), dict(rel), notes,
                  style.footer_text(run.facts))


def compare_relative_chart(run_a: Run, run_b: Run, out_dir: Path, index: int = 2) -> Chart | None:
    """Heatmap of median throughput of run `index` / run 1, per allocator and workload at the
    highest thread count both runs have, with a geomean column."""
    rel = analysis.relative_runs(run_a, run_b)
    common = sorted(set(run_a.thread_counts()) & set(run_b.thread_counts()))
    if not common:
        return None
    threads = max(common)
    workloads, allocators = rel["workloads"], rel["allocators"]
    grid = {a: {w: rel["ratio"].get((w, a, threads)) for w in workloads} for a in allocators}
    geo = {a: stats.geometric_mean([v for v in grid[a].values() if v]) for a in allocators}
    finite = [v for a in allocators for v in list(grid[a].values()) + [geo[a]] if v]
    if not finite:
        return None
    columns = workloads + ["geomean"]
    title = f"Run {index} vs run 1: throughput ratio at {threads} thread{'s' if threads != 1 else ''}"
    fig = Figure(figsize=(min(7.2, 3.1 + 0.8 * len(columns)), 1.5 + 0.24 * len(allocators)))
    ax = _heatmap(fig, allocators, columns, lambda a, c: geo[a] if c == "geomean" else grid[a][c],
                  lambda a, c, v: _fmt_ratio(v or 0),
                  lambda a, c: "\u2014" if c == "geomean" else (rel["state"].get((c, a, threads)) or "not run"),
                  _limit(finite, 1.5, 16.0), [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1 / 1.5, 1, 1.5, 2, 4, 8, 16],
                  lambda t: f"{t:.2g}", f"run {index} / run 1 (log scale; > 1: run {index} faster)")
    ax.set_title(title, pad=18)
    notes = [f"Cell: median throughput of run {index} / median of run 1, same case. Hatched: no data in one of the runs."]
    footer = (f"run 1 ({run_a.name}): {style.footer_text(run_a.facts)}\n"
              f"run {index} ({run_b.name}): {style.footer_text(run_b.facts)}")
    data = {"threads": threads, "ratio": grid, "geomean": geo, "relative": rel}
    return finish(fig, out_dir, title, stem_of("compare_relative", f"run{index}", f"t{threads}"), data, notes, footer)


def compare_throughput_chart(runs: list[tuple[str, Run]], out_dir: Path, workload: str) -> Chart | None:
    """runs: [(label, run)]. One panel per folder, side by side, same y scale."""
    registry = runs[0][1].registry.merged(*(run.registry for _, run in runs[1:]))
    styles = style.Styles(registry)
    allocators = registry.order({r.allocator for _, run in runs for r in run.rows})
    panels: list[dict[str, Any]] = []
    for label, run in runs:
        # A trace: the thread count of its own, in each run.
        threads = sorted({r.threads for r in run.rows if r.workload == workload}) \
            if fixed_threads_workload(workload) else run.thread_counts()
        series, missing, partial = analysis.throughput_series(run.cases(), workload, allocators, threads)
        panels.append({"label": label, "threads": threads or run.thread_counts(), "series": series,
                       "not_shown": missing, "partial": partial})
    if not any(p["series"] for p in panels):
        return None
    title = f"{workload}: throughput vs threads, per run"
    fig = Figure(figsize=(min(3.2 * len(runs) + 1.6, 12.0), 3.8))
    axes = fig.subplots(1, len(runs), sharey=True, squeeze=False)[0]
    for ax, p in zip(axes, panels):
        if p["series"]:
            _draw_throughput(ax, styles, p["series"], p["partial"], p["threads"])
        else:
            ax.text(0.5, 0.5, "no successful case", transform=ax.transAxes, ha="center", color="#777777")
        ax.set_title("\n".join(textwrap.wrap(p["label"], 52)), fontsize=7.5)
    axes[0].set_ylabel("throughput (operations per second)")
    drawn = [a for a in allocators if any(a in p["series"] for p in panels)]
    handles = [Line2D([], [], **{k: v for k, v in styles.line(a).items() if k != "label"}) for a in drawn]
    axes[-1].legend(handles, drawn, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False,
                    handlelength=2.6, borderaxespad=0.0)
    fig.suptitle(title)
    gone = registry.order({a for p in panels for a in p["not_shown"]})
    notes = ["Points: median over repetitions; bars: min\u2013max; the panels share the y axis.",
             ("Not shown where no repetition succeeded: " + ", ".join(gone) + ".") if gone else ""]
    footer = "\n".join(f"run {i + 1}: {style.footer_text(run.facts)}" for i, (_, run) in enumerate(runs))
    return finish(fig, out_dir, title, stem_of("compare_throughput", workload), {"workload": workload, "panels": panels},
                  notes, footer)


def draw_all(run: Run, out_dir: Path, baseline: str = "malloc") -> list[Chart]:
    """Every chart of one run into out_dir, in the report's order."""
    threads, workloads = run.thread_counts(), run.workloads()
    charts: list[Chart | None] = []
    if any(r.allocator == baseline for r in run.rows):
        charts += [summary_chart(run, out_dir, baseline, t) for t in sorted({min(threads), max(threads)})]
    # A trace runs at one thread count of its own: bars and RSS over the replay, not lines over threads.
    fixed = [w for w in workloads if fixed_threads_workload(w)]
    charts += [throughput_chart(run, out_dir, w) for w in workloads if w not in fixed]
    charts += [c for w in fixed for c in (trace_speed_chart(run, out_dir, w), trace_rss_chart(run, out_dir, w))]
    charts += [efficiency_chart(run, out_dir, w) for w in workloads if w not in fixed]
    charts += [latency_chart(run, out_dir, w, min(threads)) for w in workloads]
    charts += [overhead_chart(run, out_dir, max(threads)), rss_chart(run, out_dir, max(threads))]
    return [c for c in charts if c is not None]
