"""Charts of one results folder (and comparisons of several), drawn from results.csv rows only.

Every chart function takes rows (results_io.read_csv) and facts (machine.json), writes
<stem>.png (dpi 150) and <stem>.svg into a folder, and returns (title, stem, data): data holds
the numbers drawn, so tests can check them against the CSV.

Rules kept by every chart:
  - a case's point is the MEDIAN over its repetitions with status "ok"; the spread is min..max;
  - skipped and failed cases are never drawn (no zeros): they are named in a note instead;
  - a case that failed in some repetitions is drawn from the others and marked with a dagger.
"""

import math
import os
import re
import statistics
import tempfile
import textwrap

import style

style.apply()
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib import ticker  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

DAGGER = "\u2020"
MIB = 1024.0 * 1024.0


# ----------------------------------------------------------------------------- data

class Case:
    """All rows of one workload/allocator/threads, over its repetitions."""

    def __init__(self, workload, allocator, threads):
        self.workload, self.allocator, self.threads = workload, allocator, threads
        self.rows = []

    @property
    def ok(self):
        return [r for r in self.rows if r["status"] == "ok"]

    def values(self, metric):
        return [r[metric] for r in self.ok if r.get(metric) is not None]

    @property
    def state(self):
        """ok | partial (some repetitions failed or skipped) | skipped | failed."""
        statuses = {r["status"] for r in self.rows}
        if statuses == {"ok"}:
            return "ok"
        if "ok" in statuses:
            return "partial"
        return "failed" if "failed" in statuses else "skipped"

    def reasons(self):
        return sorted({(r["status"], (r.get("reason") or "").strip().rstrip(":").strip())
                       for r in self.rows if r["status"] != "ok"})


def aggregate(rows):
    """{(workload, allocator, threads): Case}"""
    cases = {}
    for r in rows:
        key = (r["workload"], r["allocator"], r["threads"])
        if key not in cases:
            cases[key] = Case(*key)
        cases[key].rows.append(r)
    return cases


def summarise(values):
    """median, min, max, mean, cv (sample stdev / mean; None with fewer than 2), n."""
    if not values:
        return None
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean if len(values) > 1 and mean else None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "mean": mean, "cv": cv, "n": len(values)}


def workloads_of(rows, facts=None):
    present = []
    for r in rows:
        if r["workload"] not in present:
            present.append(r["workload"])
    listed = [w for w in (facts or {}).get("workloads") or [] if w in present]
    return listed + [w for w in present if w not in listed]


def allocators_of(rows):
    return style.order({r["allocator"] for r in rows})


def thread_counts(rows):
    return sorted({r["threads"] for r in rows})


def hardware_threads(facts):
    """Hardware threads of the machine (machine.json's hardware_threads, else num_cpus), or None."""
    for key in ("hardware_threads", "num_cpus"):
        value = (facts or {}).get(key)
        if value not in (None, ""):
            try:
                n = int(str(value).strip())
            except ValueError:
                continue
            if n > 0:
                return n
    return None


def stem_of(*parts):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "_".join(str(p) for p in parts))


def median_metric(cases, workload, allocator, threads, metric="items_per_second"):
    case = cases.get((workload, allocator, threads))
    if case is None:
        return None
    s = summarise(case.values(metric))
    return s["median"] if s else None


def relative_summary(rows, baseline="malloc", threads=None, metric="items_per_second", facts=None):
    """Throughput of every allocator relative to baseline per workload, plus the geometric mean.

    Returns {"threads", "baseline", "workloads", "allocators",
             "ratio": {alloc: {workload: float | None}}, "state": {alloc: {workload: str}},
             "geomean": {alloc: float | None}, "geomean_n": {alloc: int}}.
    state is ok / partial / skipped / failed / missing / no-baseline."""
    cases = aggregate(rows)
    if threads is None:
        threads = max(thread_counts(rows))
    workloads = workloads_of(rows, facts)
    allocators = allocators_of(rows)
    ratio, state, geo, geo_n = {}, {}, {}, {}
    for a in allocators:
        ratio[a], state[a] = {}, {}
        logs = []
        for w in workloads:
            base = median_metric(cases, w, baseline, threads, metric)
            case = cases.get((w, a, threads))
            value = median_metric(cases, w, a, threads, metric)
            if case is None:
                state[a][w] = "missing"
            elif value is None:
                state[a][w] = case.state
            elif base is None:
                state[a][w] = "no-baseline"
            else:
                state[a][w] = case.state
            if value is not None and base is not None and value > 0 and base > 0:
                ratio[a][w] = value / base
                logs.append(math.log(value / base))
            else:
                ratio[a][w] = None
        geo[a] = math.exp(statistics.fmean(logs)) if logs else None
        geo_n[a] = len(logs)
    return {"threads": threads, "baseline": baseline, "workloads": workloads, "allocators": allocators,
            "ratio": ratio, "state": state, "geomean": geo, "geomean_n": geo_n}


def efficiency(tp, threads, hw):
    """Scaling efficiency T(n) / (min(n, hw) / n0 * T(n0)) with n0 the lowest thread count.

    With n0 = 1 and n <= hw this is T(n) / (n * T(1)); past the hardware threads the ideal stays
    at hw * T(1), since more threads than hardware threads cannot add throughput."""
    out = {}
    base_t = min(threads)
    base = tp.get(base_t)
    for t in threads:
        if base is None or tp.get(t) is None:
            out[t] = None
            continue
        ideal_n = min(t, hw) if hw else t
        out[t] = tp[t] / (base * ideal_n / base_t)
    return out


# ----------------------------------------------------------------------------- output

def save(fig, out_dir, stem):
    """Writes out_dir/stem.png and .svg, each through a temporary name and a rename."""
    os.makedirs(out_dir, exist_ok=True)
    for ext in ("png", "svg"):
        final = os.path.join(out_dir, f"{stem}.{ext}")
        fd, temp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".{ext}.tmp", dir=out_dir)
        os.close(fd)
        try:
            metadata = {"Date": None} if ext == "svg" else None
            fig.savefig(temp, format=ext, dpi=style.DPI, bbox_inches="tight", pad_inches=0.06,
                        metadata=metadata)
            os.replace(temp, final)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise


def _wrap(text, width=150):
    return "\n".join(textwrap.wrap(text, width=width, break_on_hyphens=False))


def _footer_width(fig):
    """Characters of footer text that fit the figure's width."""
    return int(fig.get_size_inches()[0] * 19)


def _not_shown_note(missing):
    """missing: {allocator: state}. -> 'Not shown: skipped: a, b; failed: c.'"""
    if not missing:
        return ""
    parts = []
    for state in ("skipped", "failed", "missing"):
        names = [a for a in style.order(missing) if missing[a] == state]
        if names:
            parts.append(f"{state}: {', '.join(names)}")
    return "Not shown (no successful repetition) \u2014 " + "; ".join(parts) + "."


def _finish(fig, facts, notes, footer_lines_hint=0):
    notes = [n for n in notes if n]
    extra = _wrap(" ".join(notes), _footer_width(fig)) if notes else None
    style.add_footer(fig, facts, extra)
    lines = 1 + (extra.count("\n") + 1 if extra else 0)
    height = fig.get_size_inches()[1]
    bottom = min(0.4, (lines * 0.11 + 0.03) / height)
    fig.tight_layout(rect=(0, bottom, 1, 1))


def human(value):
    """1500 -> '1.5k', 2e6 -> '2M', 3e9 -> '3G', 20 -> '20'."""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def _log_y(ax, lo, hi):
    """Log y axis labelled 1, 2, 5 x 10^k in plain numbers (20M, 500k) when the range is narrow."""
    ax.set_yscale("log")
    decades = math.log10(hi / lo) if lo > 0 and hi > 0 else 99
    subs = (1.0, 2.0, 5.0) if decades <= 3.5 else (1.0,)
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: human(v)))
    ax.yaxis.set_minor_locator(ticker.LogLocator(base=10, subs=[k for k in range(1, 10) if k not in subs]))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _thread_axis(ax, threads):
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(ticker.FixedLocator(threads))
    ax.xaxis.set_major_formatter(ticker.FixedFormatter([str(t) for t in threads]))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    lo, hi = min(threads), max(threads)
    ax.set_xlim(lo / 1.25, hi * 1.25)
    ax.set_xlabel("threads")


def _shade_oversubscribed(ax, threads, hw):
    """Grey band over the thread counts above the machine's hardware threads, labelled at the top."""
    if hw is None or max(threads) <= hw:
        return
    above = [t for t in threads if t > hw]
    below = [t for t in threads if t <= hw]
    start = math.sqrt(max(below) * min(above)) if below else min(threads) / 1.25
    end = max(threads) * 1.25
    ax.axvspan(start, end, color="#EEEEEE", zorder=0, lw=0)
    ax.text(math.sqrt(start * end), 0.985, f"oversubscribed\n(> {hw} hardware threads)", ha="center", va="top",
            fontsize=7, color="#555555", transform=ax.get_xaxis_transform(), zorder=1)


def _legend_outside(ax, handles=None, labels=None, title=None):
    kwargs = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False,
              "handlelength": 2.6, "borderaxespad": 0.0, "title": title}
    if handles is not None:
        return ax.legend(handles, labels, **kwargs)
    return ax.legend(**kwargs)


def _throughput_series(cases, workload, allocators, threads):
    series, missing, partial = {}, {}, []
    for a in allocators:
        pts = {"threads": [], "median": [], "min": [], "max": [], "n": []}
        states = []
        for t in threads:
            case = cases.get((workload, a, t))
            if case is None:
                continue
            states.append(case.state)
            s = summarise(case.values("items_per_second"))
            if s is None:
                continue
            pts["threads"].append(t)
            for k in ("median", "min", "max", "n"):
                pts[k].append(s[k])
        if pts["threads"]:
            series[a] = pts
            if "partial" in states or any(st in ("failed", "skipped") for st in states):
                partial.append(a)
        elif states:
            missing[a] = "failed" if "failed" in states else "skipped"
    return series, missing, partial


def _draw_throughput(ax, series, partial, threads, dodge=True):
    names = list(series)
    n = len(names)
    for i, a in enumerate(names):
        pts = series[a]
        shift = 2 ** ((i - (n - 1) / 2) * 0.007) if dodge and n > 1 else 1.0
        xs = [t * shift for t in pts["threads"]]
        med = pts["median"]
        yerr = [[m - lo for m, lo in zip(med, pts["min"])], [hi - m for m, hi in zip(med, pts["max"])]]
        kw = style.line_style(a)
        if a in partial:
            kw["label"] = a + " " + DAGGER
        ax.errorbar(xs, med, yerr=yerr, elinewidth=0.8, capthick=0.8, zorder=3 if a in style.REFERENCES else 4,
                    **kw)
    lo = min(min(p["min"]) for p in series.values())
    hi = max(max(p["max"]) for p in series.values())
    _log_y(ax, lo, hi)
    _thread_axis(ax, threads)


def throughput_chart(rows, facts, out_dir, workload):
    cases = aggregate(rows)
    threads = thread_counts(rows)
    series, missing, partial = _throughput_series(cases, workload, allocators_of(rows), threads)
    title = f"{workload}: throughput vs threads"
    stem = stem_of("throughput", workload)
    data = {"workload": workload, "threads": threads, "series": series, "not_shown": missing,
            "partial": partial}
    if not series:
        return None
    fig = Figure(figsize=style.WIDE)
    ax = fig.add_subplot()
    _draw_throughput(ax, series, partial, threads)
    hw = hardware_threads(facts)
    if hw is not None and max(threads) > hw:
        # headroom for the band's label above the highest whisker
        top = max(max(p["max"]) for p in series.values())
        ax.set_ylim(top=top * 2.4)
    _shade_oversubscribed(ax, threads, hw)
    ax.set_ylabel("throughput (operations per second)")
    ax.set_title(title)
    _legend_outside(ax)
    reps = max(max(p["n"]) for p in series.values())
    refs = {"bump_limit": "dashed black: bump_limit (thread-private pointer bump, the speed of light)",
            "bump_cold": "dash-dot grey: bump_cold (the same bump over fresh pages)",
            "null": "dotted grey: null (the harness's own cost)"}
    shown = [text for name, text in refs.items() if name in series]
    notes = [f"Points: median of up to {reps} repetitions; bars: min\u2013max."
             + (" References: " + "; ".join(shown) + "." if shown else "")]
    if partial:
        notes.append(f"{DAGGER} some repetitions or thread counts failed or were skipped; "
                     "drawn from the successful ones.")
    notes.append(_not_shown_note(missing))
    _finish(fig, facts, notes)
    save(fig, out_dir, stem)
    return title, stem, data


def efficiency_chart(rows, facts, out_dir, workload):
    cases = aggregate(rows)
    threads = thread_counts(rows)
    hw = hardware_threads(facts)
    series, missing, partial = _throughput_series(cases, workload, allocators_of(rows), threads)
    title = f"{workload}: scaling efficiency"
    stem = stem_of("efficiency", workload)
    if len(threads) < 2 or not series:
        return None
    eff = {}
    for a, pts in series.items():
        tp = dict(zip(pts["threads"], pts["median"]))
        e = efficiency(tp, threads, hw)
        ts = [t for t in threads if e[t] is not None]
        if len(ts) >= 2:
            eff[a] = {"threads": ts, "efficiency": [e[t] for t in ts]}
    data = {"workload": workload, "threads": threads, "hardware_threads": hw, "series": eff,
            "not_shown": missing}
    if not eff:
        return None
    fig = Figure(figsize=style.WIDE)
    ax = fig.add_subplot()
    top = max(1.3, max(max(s["efficiency"]) for s in eff.values()) * 1.25)
    _shade_oversubscribed(ax, threads, hw)
    ax.axhline(1.0, color="#999999", lw=1.0, zorder=1)
    ax.text(0.005, 1.0, "ideal", transform=ax.get_yaxis_transform(), ha="left", va="bottom", fontsize=7,
            color="#666666")
    for a, s in eff.items():
        kw = style.line_style(a)
        if a in partial:
            kw["label"] = a + " " + DAGGER
        ax.plot(s["threads"], s["efficiency"], zorder=3, **kw)
    _thread_axis(ax, threads)
    ax.set_ylim(0, top)
    base_t = min(threads)
    one = "T(1)" if base_t == 1 else f"T({base_t})/{base_t}"
    ax.set_ylabel(f"efficiency  T(n) / (min(n, {hw}) \u00b7 {one})" if hw else f"efficiency  T(n) / (n \u00b7 {one})")
    ax.set_title(title)
    _legend_outside(ax)
    notes = [f"Efficiency 1 = perfect scaling. Ideal throughput is n \u00b7 {one} up to the hardware threads"
             + (f" ({hw}); past them it stays at {hw} \u00b7 {one} (shaded region)." if hw else ".")
             + " From median throughputs."]
    notes.append(_not_shown_note(missing))
    _finish(fig, facts, notes)
    save(fig, out_dir, stem)
    return title, stem, data


PERCENTILES = [("latency_p50_ns", "p50"), ("latency_p99_ns", "p99"), ("latency_p999_ns", "p99.9")]


def _lighter(colour, amount):
    r, g, b = mcolors.to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def latency_chart(rows, facts, out_dir, workload, threads=None):
    cases = aggregate(rows)
    if threads is None:
        threads = min(thread_counts(rows))
    series, missing = {}, {}
    for a in allocators_of(rows):
        case = cases.get((workload, a, threads))
        if case is None:
            continue
        entry = {}
        for metric, label in PERCENTILES:
            s = summarise(case.values(metric))
            if s is not None:
                entry[label] = {"median": s["median"], "min": s["min"], "max": s["max"]}
        if len(entry) == len(PERCENTILES):
            series[a] = entry
        else:
            missing[a] = case.state if case.state in ("skipped", "failed") else "failed"
    title = f"{workload}: allocation latency percentiles, {threads} thread{'s' if threads != 1 else ''}"
    stem = stem_of("latency", workload, f"t{threads}")
    data = {"workload": workload, "threads": threads, "series": series, "not_shown": missing}
    if not series:
        return None
    names = list(series)
    fig = Figure(figsize=(7.2, 3.6))
    ax = fig.add_subplot()
    width = 0.27
    fills = [0.0, 0.45, 1.0]
    hatches = [None, "////", "xxxx"]
    for i, a in enumerate(names):
        base = style.colour(a)
        for j, (_, label) in enumerate(PERCENTILES):
            v = series[a][label]
            x = i + (j - 1) * width
            ax.bar(x, v["median"], width=width, color=_lighter(base, fills[j]), edgecolor=base,
                   linewidth=0.6, hatch=hatches[j], zorder=3)
            ax.plot([x, x], [v["min"], v["max"]], color="#333333", lw=0.6, zorder=4)
    # A latency at or below the timer floor reads 0 ns, which a log axis cannot show: the axis
    # starts below the smallest positive value (such bars stay empty).
    positive = [x for e in series.values() for v in e.values() for x in (v["min"], v["max"]) if x > 0]
    lo = min(positive, default=1.0)
    hi = max(positive, default=10.0)
    _log_y(ax, lo, hi)
    # Bars need a floor below the smallest value, or a bar at the smallest value has no height.
    ax.set_ylim(lo / 2, hi * 1.6)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=40, ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("latency of one allocate() (ns)")
    ax.set_title(title)
    grey = "#666666"
    handles = [Patch(facecolor=_lighter(grey, f), edgecolor=grey, hatch=h, label=l)
               for f, h, (_, l) in zip(fills, hatches, PERCENTILES)]
    handles.append(Line2D([], [], color="#333333", lw=0.6, label="min\u2013max"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              title="percentile", borderaxespad=0.0)
    notes = ["Bars: median over repetitions of each percentile; whiskers: min\u2013max. Timed in a separate "
             "untimed pass, one allocate() per sample, the timer's floor subtracted (resolution about 10 ns).",
             _not_shown_note(missing)]
    _finish(fig, facts, notes)
    save(fig, out_dir, stem)
    return title, stem, data


def overhead_chart(rows, facts, out_dir, threads=None):
    cases = aggregate(rows)
    if threads is None:
        threads = max(thread_counts(rows))
    workloads = workloads_of(rows, facts)
    reporting = [a for a in allocators_of(rows)
                 if any(r["allocator"] == a and r.get("overhead_ratio") is not None for r in rows)]
    title = f"Memory overhead (reserved / requested at peak), {threads} threads"
    stem = stem_of("memory_overhead", f"t{threads}")
    values, states = {}, {}
    for a in reporting:
        values[a], states[a] = {}, {}
        for w in workloads:
            case = cases.get((w, a, threads))
            s = summarise(case.values("overhead_ratio")) if case else None
            values[a][w] = s
            states[a][w] = case.state if case else "missing"
    data = {"threads": threads, "workloads": workloads, "allocators": reporting,
            "median": {a: {w: (values[a][w]["median"] if values[a][w] else None) for w in workloads}
                       for a in reporting}}
    if not reporting:
        return None
    fig = Figure(figsize=(7.2, 3.4))
    ax = fig.add_subplot()
    n = len(reporting)
    width = min(0.8 / n, 0.22)
    top = max((v["max"] for a in reporting for v in values[a].values() if v), default=1.0)
    for i, a in enumerate(reporting):
        for k, w in enumerate(workloads):
            x = k + (i - (n - 1) / 2) * width
            v = values[a][w]
            if v is None:
                st = states[a][w]
                ax.text(x, 0.03 * top, st if st != "missing" else "not run", rotation=90, ha="center",
                        va="bottom", fontsize=6, color="#777777", style="italic")
                continue
            ax.bar(x, v["median"], width=width * 0.92, zorder=3, label=a if k == 0 else None,
                   **style.bar_style(a))
            ax.text(x, v["median"] + 0.015 * top, f"{v['median']:.2f}", rotation=90, ha="center",
                    va="bottom", fontsize=5.5, color="#333333")
    handles = [Patch(label=a, **style.bar_style(a)) for a in reporting]
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels(workloads, rotation=30, ha="right", rotation_mode="anchor")
    ax.grid(axis="x", visible=False)
    ax.set_ylim(0, top * 1.22)
    ax.set_ylabel("bytes reserved / bytes requested")
    ax.set_xlabel("workload")
    ax.set_title(title)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, borderaxespad=0.0)
    others = [a for a in allocators_of(rows) if a not in reporting]
    notes = ["Median over repetitions; 1.00 = no overhead. Only allocators that count requested and "
             "reserved bytes report it" + (f"; not reported by: {', '.join(others)}." if others else ".")]
    _finish(fig, facts, notes)
    save(fig, out_dir, stem)
    return title, stem, data


def rss_chart(rows, facts, out_dir, threads=None):
    cases = aggregate(rows)
    if threads is None:
        threads = max(thread_counts(rows))
    workloads = workloads_of(rows, facts)
    allocators = allocators_of(rows)
    title = f"Peak resident memory per case, {threads} threads"
    stem = stem_of("memory_peak_rss", f"t{threads}")
    peak, start, states = {}, {}, {}
    for w in workloads:
        peak[w], start[w], states[w] = {}, {}, {}
        for a in allocators:
            case = cases.get((w, a, threads))
            states[w][a] = case.state if case else "missing"
            s = summarise(case.values("peak_rss_bytes")) if case else None
            peak[w][a] = {k: s[k] / MIB for k in ("median", "min", "max")} if s else None
            s0 = summarise(case.values("rss_at_start_bytes")) if case else None
            start[w][a] = s0["median"] / MIB if s0 else None
    data = {"threads": threads, "workloads": workloads, "allocators": allocators,
            "median_mib": {w: {a: (peak[w][a]["median"] if peak[w][a] else None) for a in allocators}
                           for w in workloads}}
    if not any(peak[w][a] for w in workloads for a in allocators):
        return None
    height = 1.3 + 0.16 * len(allocators)
    fig = Figure(figsize=(7.2, height))
    axes = fig.subplots(1, len(workloads), sharey=True, squeeze=False)[0]
    ys = list(range(len(allocators)))
    right = max(p["max"] for w in workloads for p in peak[w].values() if p) * 1.08
    for ax, w in zip(axes, workloads):
        for y, a in zip(ys, allocators):
            p = peak[w][a]
            if p is None:
                st = states[w][a]
                ax.text(0.02 * right, y, st if st != "missing" else "not run", va="center", ha="left",
                        fontsize=6, color="#777777", style="italic")
                continue
            ax.barh(y, p["median"], height=0.72, zorder=3, **style.bar_style(a))
            ax.plot([p["min"], p["max"]], [y, y], color="#333333", lw=0.6, zorder=4)
            if start[w][a] is not None:
                ax.plot([start[w][a]] * 2, [y - 0.36, y + 0.36], color="#000000", lw=1.0, zorder=5)
        ax.set_title(w, fontsize=8.5)
        ax.set_xlim(0, right)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(3, integer=True))
        ax.grid(axis="y", visible=False)
        ax.tick_params(axis="y", length=0)
    axes[0].set_yticks(ys)
    axes[0].set_yticklabels(allocators)
    axes[0].invert_yaxis()
    for ax in axes:
        ax.set_xlabel("MiB")
    fig.suptitle(title)
    notes = ["Bars: median peak RSS of the case alone (the kernel's peak mark is reset before each case); "
             "whiskers: min\u2013max; black tick: RSS when the case started (the process's own footprint)."]
    _finish(fig, facts, notes)
    save(fig, out_dir, stem)
    return title, stem, data


def _fmt_ratio(r):
    if r >= 100:
        return f"{r:.0f}"
    if r >= 10:
        return f"{r:.1f}"
    return f"{r:.2f}"


def summary_chart(rows, facts, out_dir, baseline="malloc", threads=None):
    rel = relative_summary(rows, baseline, threads, facts=facts)
    threads = rel["threads"]
    workloads, allocators = rel["workloads"], rel["allocators"]
    title = f"Throughput relative to {baseline}, {threads} thread{'s' if threads != 1 else ''}"
    stem = stem_of("summary_vs", baseline, f"t{threads}")
    data = dict(rel)
    if not any(v for a in allocators for v in rel["ratio"][a].values()):
        return None
    cols = workloads + ["geomean"]
    # One colour scale for every thread count, so the charts of one run can be compared.
    finite = [v for t in thread_counts(rows)
              for per in relative_summary(rows, baseline, t, facts=facts)["ratio"].values()
              for v in per.values() if v]
    limit = max(2.0, min(64.0, max(max(finite), 1 / min(finite))))
    norm = mcolors.LogNorm(vmin=1 / limit, vmax=limit)
    cmap = mcolors.LinearSegmentedColormap.from_list(
        "tol_burd", ["#B2182B", "#D6604D", "#F4A582", "#FDDBC7", "#F7F7F7",
                     "#D1E5F0", "#92C5DE", "#4393C3", "#2166AC"])
    width = 1.9 + 0.8 * len(cols)
    height = 1.3 + 0.24 * len(allocators)
    fig = Figure(figsize=(min(7.2, width + 1.2), height))
    ax = fig.add_subplot()
    incomplete = False
    for i, a in enumerate(allocators):
        for j, c in enumerate(cols):
            x = j + (0.25 if c == "geomean" else 0.0)
            if c == "geomean":
                v = rel["geomean"][a]
                st = "ok" if v else "none"
                if v and rel["geomean_n"][a] < len(workloads):
                    incomplete = True
            else:
                v = rel["ratio"][a][c]
                st = rel["state"][a][c]
            if v:
                face = cmap(norm(min(max(v, 1 / limit), limit)))
                ax.add_patch(_rect(x, i, face))
                lum = 0.299 * face[0] + 0.587 * face[1] + 0.114 * face[2]
                text = _fmt_ratio(v)
                if c == "geomean" and rel["geomean_n"][a] < len(workloads):
                    text += f"\n({rel['geomean_n'][a]}/{len(workloads)})"
                elif st == "partial":
                    text += DAGGER
                ax.text(x + 0.5, i + 0.5, text, ha="center", va="center", fontsize=6.5,
                        color="white" if lum < 0.45 else "black",
                        fontweight="bold" if a == baseline else "normal")
            else:
                ax.add_patch(_rect(x, i, "white", hatch="/////", edge="#BBBBBB"))
                label = {"no-baseline": f"no {baseline}", "missing": "not run", "none": "\u2014"}.get(st, st)
                ax.text(x + 0.5, i + 0.5, label, ha="center", va="center", fontsize=5.5, color="#555555",
                        style="italic", bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})
    refs = [i for i, a in enumerate(allocators) if a in style.REFERENCES]
    if refs and min(refs) > 0:
        ax.axhline(min(refs), color="#222222", lw=0.8)
    ax.set_xlim(0, len(cols) + 0.25)
    ax.set_ylim(len(allocators), 0)
    ax.set_xticks([j + 0.5 + (0.25 if c == "geomean" else 0) for j, c in enumerate(cols)])
    # Workload names are long and many: slanted so neighbours never overlap.
    ax.set_xticklabels(cols, rotation=35, ha="left", rotation_mode="anchor")
    ax.xaxis.tick_top()
    ax.set_yticks([i + 0.5 for i in range(len(allocators))])
    ax.set_yticklabels([f"{a} (baseline)" if a == baseline else a for a in allocators])
    ax.tick_params(length=0)
    ax.grid(False)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, pad=18)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.05, pad=0.03, aspect=25)
    ticks = [t for t in (1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16, 32, 64)
             if 1 / limit <= t <= limit]
    bar.set_ticks(ticks)
    bar.set_ticklabels([f"1/{int(round(1 / t))}" if t < 1 else f"{int(t)}" for t in ticks])
    bar.ax.minorticks_off()
    bar.ax.axhline(1.0, color="black", lw=1.0)
    bar.set_label(f"\u00d7 {baseline} throughput (log scale; > 1 faster)")
    bar.ax.tick_params(labelsize=7)
    notes = [f"Cell: median throughput / median {baseline} throughput, same workload and thread count. "
             "geomean: geometric mean over the workloads with data"
             + (" (k/n: only k of n workloads had data)." if incomplete else ".")
             + " Hatched: no successful repetition (skipped or failed; see the report)."
             + (f" {DAGGER}: some repetitions failed." if any(s == "partial" for a in allocators
                                                              for s in rel["state"][a].values()) else "")
             + (" Below the line: references." if refs else "")]
    _finish(fig, facts, notes)
    save(fig, out_dir, stem)
    return title, stem, data


def _rect(x, y, face, hatch=None, edge="white"):
    return Rectangle((x, y), 1, 1, facecolor=face, edgecolor=edge, linewidth=0.8 if hatch is None else 0.5,
                     hatch=hatch)


def draw_all(rows, facts, out_dir, baseline="malloc"):
    """Every chart of one run into out_dir. -> [(title, stem, data)], in the report's order."""
    charts = []
    threads = thread_counts(rows)
    chosen = sorted({min(threads), max(threads)})
    workloads = workloads_of(rows, facts)
    if any(r["allocator"] == baseline for r in rows):
        for t in chosen:
            charts.append(summary_chart(rows, facts, out_dir, baseline, t))
    for w in workloads:
        charts.append(throughput_chart(rows, facts, out_dir, w))
    for w in workloads:
        charts.append(efficiency_chart(rows, facts, out_dir, w))
    for w in workloads:
        charts.append(latency_chart(rows, facts, out_dir, w, min(threads)))
    charts.append(overhead_chart(rows, facts, out_dir, max(threads)))
    charts.append(rss_chart(rows, facts, out_dir, max(threads)))
    return [c for c in charts if c is not None]


# ----------------------------------------------------------------------------- comparison

def compare_throughput_chart(runs, out_dir, workload):
    """runs: [(label, rows, facts)]. One panel per folder, side by side, same y scale."""
    allocators = style.order({r["allocator"] for _, rows, _ in runs for r in rows})
    panels = []
    for label, rows, facts in runs:
        threads = thread_counts(rows)
        series, missing, partial = _throughput_series(aggregate(rows), workload, allocators, threads)
        panels.append({"label": label, "threads": threads, "series": series, "not_shown": missing,
                       "partial": partial})
    title = f"{workload}: throughput vs threads, per run"
    stem = stem_of("compare_throughput", workload)
    data = {"workload": workload, "panels": panels}
    if not any(p["series"] for p in panels):
        return None
    n = len(runs)
    fig = Figure(figsize=(min(3.2 * n + 1.6, 12.0), 3.8))
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
    for ax, p in zip(axes, panels):
        if p["series"]:
            _draw_throughput(ax, p["series"], p["partial"], p["threads"])
        else:
            ax.text(0.5, 0.5, "no successful case", transform=ax.transAxes, ha="center", color="#777777")
        ax.set_title("\n".join(textwrap.wrap(p["label"], 52)), fontsize=7.5)
    axes[0].set_ylabel("throughput (operations per second)")
    handles, labels = [], []
    for a in allocators:
        if any(a in p["series"] for p in panels):
            kw = style.line_style(a)
            handles.append(Line2D([], [], **{k: v for k, v in kw.items() if k != "label"}))
            labels.append(a)
    axes[-1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False,
                    handlelength=2.6, borderaxespad=0.0)
    fig.suptitle(title)
    notes = ["Points: median over repetitions; bars: min\u2013max; the panels share the y axis."]
    gone = sorted({a for p in panels for a in p["not_shown"]})
    if gone:
        notes.append("Not shown where no repetition succeeded: " + ", ".join(style.order(gone)) + ".")
    text = _wrap(" ".join(notes), _footer_width(fig)) + "\n" + "\n".join(f"run {i + 1}: {style.footer_text(f)}"
                                                      for i, (_, _, f) in enumerate(runs))
    fig.text(0.005, 0.005, text, ha="left", va="bottom", fontsize=style.FOOTER_SIZE, color=style.FOOTER_COLOUR)
    lines = text.count("\n") + 1
    fig.tight_layout(rect=(0, min(0.45, (lines * 0.13 + 0.05) / 3.8), 1, 1))
    save(fig, out_dir, stem)
    return title, stem, data


def relative_runs(rows_a, rows_b, metric="items_per_second", facts_a=None, facts_b=None):
    """Median of B / median of A per (workload, allocator, threads) present in both with data.

    -> {"threads": [...], "workloads": [...], "allocators": [...], "ratio": {(w, a, t): float | None},
        "state": {(w, a, t): "ok" | "only in A" | "only in B" | "A: skipped" ...}}"""
    ca, cb = aggregate(rows_a), aggregate(rows_b)
    keys = sorted(set(ca) | set(cb))
    ratio, state = {}, {}
    for k in keys:
        a, b = ca.get(k), cb.get(k)
        if a is None or b is None:
            ratio[k], state[k] = None, "only in B" if a is None else "only in A"
            continue
        sa, sb = summarise(a.values(metric)), summarise(b.values(metric))
        if sa and sb and sa["median"] > 0:
            ratio[k], state[k] = sb["median"] / sa["median"], "ok"
        else:
            ratio[k] = None
            bad = [(n, c.state) for n, c in (("run 1", a), ("run 2", b)) if c.state not in ("ok", "partial")]
            if len(bad) == 2 and bad[0][1] == bad[1][1]:
                state[k] = bad[0][1]
            else:
                state[k] = ", ".join(f"{st} in {n}" for n, st in bad)
    first = workloads_of(rows_a, facts_a)
    workloads = first + [w for w in workloads_of(rows_b, facts_b) if w not in first]
    return {"threads": sorted({k[2] for k in keys}), "workloads": workloads,
            "allocators": style.order({k[1] for k in keys}), "ratio": ratio, "state": state}


def compare_relative_chart(name_a, rows_a, facts_a, name_b, rows_b, facts_b, out_dir, index=2):
    """Heatmap of median throughput of run `index` (name_b: its folder) / run 1 (name_a), per
    allocator and workload at the highest thread count both runs have, with a geomean column."""
    rel = relative_runs(rows_a, rows_b, facts_a=facts_a, facts_b=facts_b)
    common = sorted(set(thread_counts(rows_a)) & set(thread_counts(rows_b)))
    if not common:
        return None
    threads = max(common)
    workloads, allocators = rel["workloads"], rel["allocators"]
    title = f"Run {index} vs run 1: throughput ratio at {threads} thread{'s' if threads != 1 else ''}"
    stem = stem_of("compare_relative", f"run{index}", f"t{threads}")
    grid = {a: {w: rel["ratio"].get((w, a, threads)) for w in workloads} for a in allocators}
    geo = {}
    for a in allocators:
        vals = [v for v in grid[a].values() if v]
        geo[a] = math.exp(statistics.fmean(math.log(v) for v in vals)) if vals else None
    data = {"threads": threads, "ratio": grid, "geomean": geo, "relative": rel}
    finite = [v for a in allocators for v in list(grid[a].values()) + [geo[a]] if v]
    if not finite:
        return None
    limit = max(1.5, min(16.0, max(max(finite), 1 / min(finite))))
    norm = mcolors.LogNorm(vmin=1 / limit, vmax=limit)
    cmap = mcolors.LinearSegmentedColormap.from_list(
        "tol_burd", ["#B2182B", "#D6604D", "#F4A582", "#FDDBC7", "#F7F7F7",
                     "#D1E5F0", "#92C5DE", "#4393C3", "#2166AC"])
    cols = workloads + ["geomean"]
    fig = Figure(figsize=(min(7.2, 3.1 + 0.8 * len(cols)), 1.5 + 0.24 * len(allocators)))
    ax = fig.add_subplot()
    for i, a in enumerate(allocators):
        for j, c in enumerate(cols):
            x = j + (0.25 if c == "geomean" else 0.0)
            v = geo[a] if c == "geomean" else grid[a][c]
            if v:
                face = cmap(norm(min(max(v, 1 / limit), limit)))
                ax.add_patch(_rect(x, i, face))
                lum = 0.299 * face[0] + 0.587 * face[1] + 0.114 * face[2]
                ax.text(x + 0.5, i + 0.5, _fmt_ratio(v), ha="center", va="center", fontsize=6.5,
                        color="white" if lum < 0.45 else "black")
            else:
                ax.add_patch(_rect(x, i, "white", hatch="/////", edge="#BBBBBB"))
                st = "\u2014" if c == "geomean" else (rel["state"].get((c, a, threads)) or "not run")
                ax.text(x + 0.5, i + 0.5, st, ha="center", va="center", fontsize=5, color="#555555",
                        style="italic", bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})
    ax.set_xlim(0, len(cols) + 0.25)
    ax.set_ylim(len(allocators), 0)
    ax.set_xticks([j + 0.5 + (0.25 if c == "geomean" else 0) for j, c in enumerate(cols)])
    # Workload names are long and many: slanted so neighbours never overlap.
    ax.set_xticklabels(cols, rotation=35, ha="left", rotation_mode="anchor")
    ax.xaxis.tick_top()
    ax.set_yticks([i + 0.5 for i in range(len(allocators))])
    ax.set_yticklabels(allocators)
    ax.tick_params(length=0)
    ax.grid(False)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, pad=18)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.05, pad=0.03, aspect=25)
    bar.ax.minorticks_off()
    ticks = [t for t in (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1 / 1.5, 1, 1.5, 2, 4, 8, 16) if 1 / limit <= t <= limit]
    bar.set_ticks(ticks)
    bar.set_ticklabels([f"{t:.2g}" for t in ticks])
    bar.ax.axhline(1.0, color="black", lw=1.0)
    bar.set_label(f"run {index} / run 1 (log scale; > 1: run {index} faster)")
    bar.ax.tick_params(labelsize=7)
    text = (f"Cell: median throughput of run {index} / median of run 1, same case. Hatched: no data in one "
            f"of the runs.\nrun 1 ({name_a}): {style.footer_text(facts_a)}\n"
            f"run {index} ({name_b}): {style.footer_text(facts_b)}")
    fig.text(0.005, 0.005, text, ha="left", va="bottom", fontsize=style.FOOTER_SIZE, color=style.FOOTER_COLOUR)
    fig.tight_layout(rect=(0, min(0.4, 0.6 / fig.get_size_inches()[1]), 1, 1))
    save(fig, out_dir, stem)
    return title, stem, data
