"""report.md and report.html of one results folder: machine, command, summary tables, every chart,
failed and skipped cases, noisy cases. The HTML is self-contained: inline CSS, no script, no
external resource; images are relative links to charts/*.png (each a link to its SVG)."""

import html
import os

import charts
import style
import results_io

NOISE_CV = 0.05
MACHINE_FIELDS = [
    ("cpu_model", "CPU"), ("hardware_threads", "hardware threads"), ("num_cpus", "CPUs"),
    ("mhz_per_cpu", "MHz per CPU"), ("caches", "caches"), ("cpu_governor", "CPU governor"),
    ("kernel", "kernel"), ("aslr", "ASLR"), ("host_name", "host"), ("glibc_version", "glibc"),
    ("tbb_version", "oneTBB"), ("compiler", "compiler"), ("cxx_flags", "C++ flags"),
    ("build_type", "build type (driver)"), ("library_build_type", "Google Benchmark library build"),
    ("git_commit", "commit"), ("git_dirty", "uncommitted changes"), ("alloclab_version", "alloclab"),
    ("profile", "profile"), ("repetitions", "repetitions"), ("min_time", "min time per case (s)"),
    ("threads", "thread counts"), ("shard", "shard"), ("finished_utc", "finished (UTC)"),
]


# ----------------------------------------------------------------------------- content

def _truthy(value):
    return str(value).strip().lower() in ("true", "1", "yes")


def summary_table(rows, threads, facts=None, noise_cv=NOISE_CV):
    """Per workload x allocator at one thread count: median ns/op and items/s over the ok
    repetitions, the state, whether it is noisy; and the winner per workload (highest median
    throughput, references excluded).

    -> {"threads", "workloads", "allocators", "cells": {w: {a: cell | None}}, "winner": {w: a | None}}
       cell = {"ns_per_op", "items_per_second", "n", "cv", "noisy", "state"}"""
    cases = charts.aggregate(rows)
    workloads = charts.workloads_of(rows, facts)
    allocators = charts.allocators_of(rows)
    cells, winner = {}, {}
    for w in workloads:
        cells[w] = {}
        best = None
        for a in allocators:
            case = cases.get((w, a, threads))
            if case is None:
                cells[w][a] = None
                continue
            tp = charts.summarise(case.values("items_per_second"))
            ns = charts.summarise(case.values("ns_per_op"))
            cell = {"state": case.state, "ns_per_op": ns["median"] if ns else None,
                    "items_per_second": tp["median"] if tp else None, "n": tp["n"] if tp else 0,
                    "cv": tp["cv"] if tp else None,
                    "noisy": bool(tp and tp["cv"] is not None and tp["cv"] > noise_cv)}
            cells[w][a] = cell
            if tp and not style.is_reference(a) and (best is None or tp["median"] > cells[w][best]["items_per_second"]):
                best = a
        winner[w] = best
    return {"threads": threads, "workloads": workloads, "allocators": allocators, "cells": cells,
            "winner": winner}


def text_summary(table):
    """The summary table as fixed-width text for a terminal: median ns/op per allocator (rows)
    and workload (columns) at one thread count; * marks the winner, ~ a noisy case."""
    workloads, allocators = table["workloads"], table["allocators"]
    width = max(len(a) for a in allocators) + 2
    columns = [max(9, len(w) + 1) for w in workloads]
    lines = [f"median ns/op at {table['threads']} thread{'s' if table['threads'] != 1 else ''} "
             "(* most throughput, references excluded; ~ noisy: cv > 5 %; - not run)",
             "".ljust(width) + "".join(w.rjust(c) for w, c in zip(workloads, columns))]
    for a in allocators:
        cells = []
        for w, c in zip(workloads, columns):
            cell = table["cells"][w].get(a)
            if cell is None or cell["ns_per_op"] is None:
                text = "-"
            else:
                text = f"{_sig(cell['ns_per_op'])}" + ("~" if cell["noisy"] else "") + \
                       ("*" if table["winner"].get(w) == a else "")
            cells.append(text.rjust(c))
        lines.append(a.ljust(width) + "".join(cells))
    return "\n".join(lines)


def noisy_cases(rows, threshold=NOISE_CV):
    """Cases whose throughput over repetitions has a coefficient of variation above threshold
    (sample standard deviation / mean; cases with fewer than 2 ok repetitions cannot be judged).
    -> ([{"workload", "allocator", "threads", "cv", "n", "median", "min", "max"}], judged count)"""
    out, judged = [], 0
    for (w, a, t), case in charts.aggregate(rows).items():
        s = charts.summarise(case.values("items_per_second"))
        if not s or s["cv"] is None:
            continue
        judged += 1
        if s["cv"] > threshold:
            out.append({"workload": w, "allocator": a, "threads": t, "cv": s["cv"], "n": s["n"],
                        "median": s["median"], "min": s["min"], "max": s["max"]})
    out.sort(key=lambda c: (-c["cv"], c["workload"], c["allocator"], c["threads"]))
    return out, judged


def problems(rows, facts=None):
    """Failed and skipped rows grouped by workload/allocator/status/reason.
    -> [{"status", "workload", "allocator", "reason", "threads": [...], "repetitions": [...],
         "total_repetitions", "units": [...]}], failed first."""
    groups = {}
    reps_per_case = {}
    for r in rows:
        key = (r["workload"], r["allocator"], r["threads"])
        reps_per_case.setdefault(key, set()).add(r["repetition"])
        if r["status"] == "ok":
            continue
        reason = (r.get("reason") or "").strip().rstrip(":").strip() or "no reason recorded"
        g = groups.setdefault((r["status"], r["workload"], r["allocator"], reason),
                              {"threads": set(), "repetitions": set(), "units": set()})
        g["threads"].add(r["threads"])
        g["repetitions"].add(r["repetition"])
        if r.get("unit"):
            g["units"].add(r["unit"])
    order = {w: i for i, w in enumerate(charts.workloads_of(rows, facts))}
    alloc_order = {a: i for i, a in enumerate(charts.allocators_of(rows))}
    out = []
    for (status, w, a, reason), g in groups.items():
        total = max(len(reps_per_case.get((w, a, t), ())) for t in g["threads"])
        out.append({"status": status, "workload": w, "allocator": a, "reason": reason,
                    "threads": sorted(g["threads"]), "repetitions": sorted(g["repetitions"]),
                    "total_repetitions": total, "units": sorted(g["units"])})
    out.sort(key=lambda p: (p["status"] != "failed", p["reason"], order.get(p["workload"], 99),
                            alloc_order.get(p["allocator"], 99)))
    return out


def problem_line(p):
    """'workload/allocator: reason, threads 1,2,4' (+ which repetitions when not all)."""
    line = f"{p['workload']}/{p['allocator']}: {p['reason']}, threads {','.join(str(t) for t in p['threads'])}"
    if len(p["repetitions"]) < p["total_repetitions"]:
        reps = ",".join(str(r) for r in p["repetitions"])
        line += f" (repetition{'s' if len(p['repetitions']) > 1 else ''} {reps} of {p['total_repetitions']})"
    return line


def caveats(rows, facts, noisy, judged):
    out = []
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
    threads = charts.thread_counts(rows)
    hw = charts.hardware_threads(facts)
    if hw and max(threads) > hw:
        over = ",".join(str(t) for t in threads if t > hw)
        many = len([t for t in threads if t > hw]) > 1
        out.append(f"Thread count{'s' if many else ''} {over} exceed{'' if many else 's'} the {hw} hardware threads: "
                   f"cases at {over} threads are oversubscribed.")
    if judged and noisy:
        out.append(f"{len(noisy)} of {judged} cases are noisy (throughput CV > {NOISE_CV:.0%} over repetitions); "
                   "see the last section. Differences smaller than their spread are not findings.")
    return out


def _sig(value, digits=3):
    if value is None:
        return ""
    if value == 0:
        return "0"
    text = f"{value:#.{digits}g}"
    if "e" in text:
        text = f"{value:.0f}"
    return text.rstrip(".")


def fmt_ns(value):
    return f"{_sig(value)} ns"


def fmt_tp(value):
    """operations per second as M ops/s with 3 significant digits."""
    return f"{_sig(value / 1e6)} M/s"


def _machine_value(key, value):
    if key == "caches" and isinstance(value, list):
        parts = []
        for c in value:
            size = c.get("size", 0)
            size = f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"
            parts.append(f"L{c.get('level')} {c.get('type', '')[:1]} {size}"
                         + (f" (shared by {c.get('num_sharing')})" if c.get("num_sharing", 1) > 1 else ""))
        return ", ".join(parts)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value).strip()


def machine_rows(facts):
    out = []
    for key, label in MACHINE_FIELDS:
        if key in facts and facts[key] not in (None, "", []):
            out.append((label, _machine_value(key, facts[key])))
    return out


CHART_SECTIONS = [
    ("summary_vs", "Throughput relative to the baseline"),
    ("throughput_", "Throughput vs threads"),
    ("efficiency_", "Scaling efficiency"),
    ("latency_", "Latency percentiles"),
    ("memory_", "Memory"),
]


def _sections(chart_list):
    out = []
    for prefix, heading in CHART_SECTIONS:
        items = [(t, s) for t, s, _ in chart_list if s.startswith(prefix)]
        if items:
            out.append((heading, items))
    return out


# ----------------------------------------------------------------------------- markdown

def _md_escape(text):
    return str(text).replace("|", "\\|")


def _cell_text(table, w, a):
    cell = table["cells"][w].get(a)
    if cell is None:
        return "not run"
    if cell["items_per_second"] is None:
        return cell["state"]
    text = f"{fmt_ns(cell['ns_per_op'])} · {fmt_tp(cell['items_per_second'])}"
    if cell["noisy"]:
        text += " ~"
    if cell["state"] == "partial":
        text += " " + charts.DAGGER
    return text


def markdown(title, facts, command, tables, chart_list, probs, noisy, judged, notes, baseline):
    out = [f"# {title}", ""]
    out.append(f"{style.footer_text(facts)}")
    out.append("")
    if notes:
        out += ["## Caveats", ""] + [f"- {n}" for n in notes] + [""]
    out += ["## Machine", "", "| | |", "| --- | --- |"]
    out += [f"| {_md_escape(k)} | {_md_escape(v)} |" for k, v in machine_rows(facts)]
    out += ["", "## Command", "", "```sh", command.strip(), "```", ""]
    out += ["## Summary", "",
            "Median over the successful repetitions: wall time per operation (all threads together) · "
            "throughput in million operations per second. **Bold ★** = highest throughput of the workload, "
            "references (`null`, `bump_limit`, `bump_cold`) excluded. `~` = noisy (throughput CV > 5 %). "
            f"{charts.DAGGER} = some repetitions failed.", ""]
    for table in tables:
        t = table["threads"]
        out += [f"### {t} thread{'s' if t != 1 else ''}", ""]
        out.append("| allocator | " + " | ".join(table["workloads"]) + " |")
        out.append("| --- |" + " --- |" * len(table["workloads"]))
        for a in table["allocators"]:
            cells = []
            for w in table["workloads"]:
                text = _cell_text(table, w, a)
                if table["winner"][w] == a:
                    text = f"**{text}** ★"
                cells.append(text)
            name = f"*{a}* (reference)" if style.is_reference(a) else a
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    out += ["## Charts", ""]
    if not chart_list:
        out += ["No chart: no case succeeded.", ""]
    for heading, items in _sections(chart_list):
        out += [f"### {heading}", ""]
        for t, s in items:
            out += [f"![{t}](charts/{s}.png)", "", f"[{t} (SVG)](charts/{s}.svg)", ""]
    out += ["## Failed and skipped cases", ""]
    if not probs:
        out += ["None: every case succeeded in every repetition.", ""]
    for status in ("failed", "skipped"):
        group = [p for p in probs if p["status"] == status]
        if group:
            out += [f"### {status.capitalize()} ({len(group)})", ""]
            for p in group:
                line = problem_line(p)
                if status == "failed" and p["units"]:
                    line += f" — see raw/{p['units'][0]}.failed.json" if len(p["units"]) == 1 else \
                        f" — units {', '.join(p['units'])}"
                out.append(f"- {line}")
            out.append("")
    out += ["## Noisy cases", ""]
    if not noisy:
        out += [f"None: all {judged} cases with 2 or more repetitions have a throughput CV ≤ {NOISE_CV:.0%}.", ""]
    else:
        out += [f"{len(noisy)} of {judged} cases have a throughput coefficient of variation above "
                f"{NOISE_CV:.0%} over their repetitions (sample standard deviation / mean).", "",
                "| case | CV | repetitions | median | min – max |", "| --- | ---: | ---: | ---: | ---: |"]
        for c in noisy:
            out.append(f"| {c['workload']}/{c['allocator']}/threads:{c['threads']} | {c['cv']:.1%} | {c['n']} | "
                       f"{fmt_tp(c['median'])} | {fmt_tp(c['min'])} – {fmt_tp(c['max'])} |")
        out.append("")
    return "\n".join(out)


# ----------------------------------------------------------------------------- html

CSS = """
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #222; background: #fff;
       max-width: 1200px; margin: 2em auto; padding: 0 1.5em; line-height: 1.45; font-size: 15px; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
.sub { color: #555; font-size: 0.9em; margin-top: 0; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.88em; }
pre { background: #f6f6f6; border: 1px solid #e3e3e3; padding: 0.7em 1em; overflow-x: auto;
      white-space: pre-wrap; word-break: break-all; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.86em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
dl.machine { display: grid; grid-template-columns: max-content minmax(0, 1fr) max-content minmax(0, 1fr);
              gap: 0.25em 1em; font-size: 0.9em; margin: 0.8em 0; }
dl.machine dt { color: #555; }
dl.machine dd { margin: 0; overflow-wrap: anywhere; }
table.summary td { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.summary td.name, table.summary th { text-align: left; }
table.summary td .tp { display: block; color: #555; font-size: 0.92em; }
table.summary td.win { background: #e6f0fa; font-weight: bold; }
table.summary td.win .tp { color: #1d3f66; }
table.summary td.none { color: #999; font-style: italic; text-align: center;
   background: repeating-linear-gradient(45deg, #fff, #fff 4px, #f2f2f2 4px, #f2f2f2 8px); }
table.summary tr.ref td.name { font-style: italic; color: #555; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px; margin-right: 0.4em;
          vertical-align: baseline; }
.caveats { background: #fff8e5; border: 1px solid #f0d890; padding: 0.5em 1em 0.5em 2em; }
.caveats li { margin: 0.2em 0; }
figure { margin: 1.2em 0 2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.85em; }
ul.problems li { margin: 0.15em 0; }
.status-failed { color: #b2182b; font-weight: bold; }
.legend { color: #555; font-size: 0.88em; }
table.noise td, table.noise th { padding: 0.15em 0.45em; text-align: center; }
table.noise td:first-child { text-align: left; }
td.cv-lo { background: #fdf3e1; }
td.cv-mid { background: #f9dcae; }
td.cv-hi { background: #f2b35e; }
details summary { cursor: pointer; color: #1d3f66; margin: 0.5em 0; }
footer { color: #777; font-size: 0.8em; margin-top: 3em; border-top: 1px solid #eee; padding-top: 0.5em; }
"""


def _e(text):
    return html.escape(str(text), quote=True)


def html_page(title, facts, command, tables, chart_list, probs, noisy, judged, notes, baseline):
    h = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         f"<title>{_e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
         f"<h1>{_e(title)}</h1>", f'<p class="sub">{_e(style.footer_text(facts))}</p>']
    if notes:
        h.append('<h2>Caveats</h2><ul class="caveats">')
        for n in notes:
            h.append(f"<li>{_inline_code(n)}</li>")
        h.append("</ul>")
    h.append('<h2>Machine</h2><dl class="machine">')
    for k, v in machine_rows(facts):
        h.append(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>")
    h.append("</dl>")
    h.append(f"<h2>Command</h2><pre>{_e(command.strip())}</pre>")
    h.append("<h2>Summary</h2>")
    h.append('<p class="legend">Median over the successful repetitions: wall time per operation (all threads '
             "together), below it throughput in million operations per second. <b>Highlighted ★</b> = highest "
             "throughput of the workload, references (<code>null</code>, <code>bump_limit</code>, "
             "<code>bump_cold</code>) excluded. <code>~</code> = noisy (throughput CV &gt; 5&nbsp;%). "
             f"{charts.DAGGER} = some repetitions failed.</p>")
    for table in tables:
        t = table["threads"]
        h.append(f"<h3>{t} thread{'s' if t != 1 else ''}</h3>")
        h.append('<table class="summary"><tr><th>allocator</th>'
                 + "".join(f"<th>{_e(w)}</th>" for w in table["workloads"]) + "</tr>")
        for a in table["allocators"]:
            ref = style.is_reference(a)
            row = [f'<tr{" class=ref" if ref else ""}><td class="name"><span class="swatch" '
                   f'style="background:{style.colour(a)}"></span>{_e(a)}{" (reference)" if ref else ""}</td>']
            for w in table["workloads"]:
                cell = table["cells"][w].get(a)
                if cell is None or cell["items_per_second"] is None:
                    row.append(f'<td class="none">{_e(cell["state"] if cell else "not run")}</td>')
                    continue
                mark = (" ~" if cell["noisy"] else "") + (" " + charts.DAGGER if cell["state"] == "partial" else "")
                win = table["winner"][w] == a
                row.append(f'<td class="{"win" if win else ""}" title="{_e(w)}/{_e(a)}/threads:{t}, '
                           f'{cell["n"]} repetitions">{_e(fmt_ns(cell["ns_per_op"]))}{_e(mark)}'
                           f'{" ★" if win else ""}<span class="tp">{_e(fmt_tp(cell["items_per_second"]))}</span></td>')
            h.append("".join(row) + "</tr>")
        h.append("</table>")
    h.append("<h2>Charts</h2>")
    if not chart_list:
        h.append("<p>No chart: no case succeeded.</p>")
    for heading, items in _sections(chart_list):
        h.append(f"<h3>{_e(heading)}</h3>")
        for t, s in items:
            h.append(f'<figure><a href="charts/{_e(s)}.svg"><img src="charts/{_e(s)}.png" alt="{_e(t)}"></a><figcaption>{_e(t)} — <a href="charts/{_e(s)}.svg">SVG</a>'
                     "</figcaption></figure>")
    h.append("<h2>Failed and skipped cases</h2>")
    if not probs:
        h.append("<p>None: every case succeeded in every repetition.</p>")
    for status in ("failed", "skipped"):
        group = [p for p in probs if p["status"] == status]
        if not group:
            continue
        h.append(f"<h3>{status.capitalize()} ({len(group)})</h3><ul class=problems>")
        for p in group:
            extra = ""
            if status == "failed" and p["units"]:
                extra = " — see " + ", ".join(f"<code>raw/{_e(u)}.failed.json</code>" for u in p["units"])
            h.append(f'<li><span class="status-{status}">{_e(p["workload"])}/{_e(p["allocator"])}</span>: '
                     f"{_e(problem_line(p).split(': ', 1)[1])}{extra}</li>")
        h.append("</ul>")
    h.append("<h2>Noisy cases</h2>")
    if not noisy:
        h.append(f"<p>None: all {judged} cases with 2 or more repetitions have a throughput CV ≤ "
                 f"{NOISE_CV:.0%}.</p>")
    else:
        h.append(f"<p>{len(noisy)} of {judged} cases have a throughput coefficient of variation above "
                 f"{NOISE_CV:.0%} over their repetitions (sample standard deviation / mean). The table shows "
                 f"the CV of each noisy case; blank cells are steady (CV ≤ {NOISE_CV:.0%}) or had fewer than 2 "
                 "successful repetitions.</p>")
        h.append(_noise_matrix(noisy, tables[0]["workloads"] if tables else []))
        h.append(f"<details><summary>All {len(noisy)} noisy cases, noisiest first</summary>")
        h.append("<table><tr><th>case</th><th>CV</th><th>repetitions</th><th>median</th><th>min – max</th></tr>")
        for c in noisy:
            h.append(f"<tr><td><code>{_e(c['workload'])}/{_e(c['allocator'])}/threads:{c['threads']}</code></td>"
                     f'<td class="num">{c["cv"]:.1%}</td><td class="num">{c["n"]}</td>'
                     f'<td class="num">{_e(fmt_tp(c["median"]))}</td>'
                     f'<td class="num">{_e(fmt_tp(c["min"]))} – {_e(fmt_tp(c["max"]))}</td></tr>')
        h.append("</table></details>")
    h.append(f"<footer>Generated by plots/plot.py from results.csv and machine.json. Baseline for relative "
             f"charts: {_e(baseline)}.</footer>")
    h += ["</body>", "</html>", ""]
    return "\n".join(h)


def _noise_matrix(noisy, workload_order):
    """Allocators x (workload, threads): the CV of each noisy case, shaded by size."""
    workloads, threads = [], sorted({c["threads"] for c in noisy})
    for c in noisy:
        if c["workload"] not in workloads:
            workloads.append(c["workload"])
    order = {w: i for i, w in enumerate(workload_order)}
    workloads.sort(key=lambda w: order.get(w, len(order)))
    cv = {(c["workload"], c["allocator"], c["threads"]): c["cv"] for c in noisy}
    h = ['<table class="noise"><tr><th rowspan="2">allocator</th>'
         + "".join(f'<th colspan="{len(threads)}">{_e(w)}</th>' for w in workloads) + "</tr><tr>"
         + "".join(f"<th>{t}</th>" for _ in workloads for t in threads) + "</tr>"]
    for a in style.order({c["allocator"] for c in noisy}):
        row = [f"<tr><td>{_e(a)}</td>"]
        for w in workloads:
            for t in threads:
                v = cv.get((w, a, t))
                if v is None:
                    row.append("<td></td>")
                else:
                    level = "hi" if v > 0.2 else "mid" if v > 0.1 else "lo"
                    row.append(f'<td class="num cv-{level}">{v:.0%}</td>' if v >= 0.1 else
                               f'<td class="num cv-{level}">{v:.1%}</td>')
        h.append("".join(row) + "</tr>")
    h.append("</table>")
    return "\n".join(h)


def _inline_code(text):
    """Escapes text and turns `x` into <code>x</code>."""
    parts = str(text).split("`")
    return "".join(f"<code>{_e(p)}</code>" if i % 2 else _e(p) for i, p in enumerate(parts))


# ----------------------------------------------------------------------------- entry

def build(folder, rows, facts, command, chart_list, baseline="malloc"):
    """-> (markdown text, html text) of the report of one folder."""
    threads = charts.thread_counts(rows)
    chosen = sorted({min(threads), max(threads)})
    tables = [summary_table(rows, t, facts) for t in chosen]
    noisy, judged = noisy_cases(rows)
    probs = problems(rows, facts)
    notes = caveats(rows, facts, noisy, judged)
    title = f"alloclab report: {os.path.basename(os.path.abspath(folder))}"
    args = (title, facts, command, tables, chart_list, probs, noisy, judged, notes, baseline)
    return markdown(*args), html_page(*args)


VERDICT_COLOURS = {"REPRODUCED": "#1b7837", "NOT REPRODUCED": "#b2182b", "INCONCLUSIVE": "#8c6d1f"}


def load_claims(folder):
    """The verdicts claims.py wrote into the folder, or [] (a broken file is reported, not fatal)."""
    path = os.path.join(folder, "claims.json")
    if not os.path.exists(path):
        return []
    try:
        claims = results_io.read_json(path)
        return claims if isinstance(claims, list) else []
    except results_io.ResultsError:
        return []


def claims_markdown(claims):
    lines = ["", "## Claims", "",
             "Verdicts of `./run_all.sh claims` on this run (95 % intervals over repetitions; ratios read "
             "\"how many times better A is than B\").", "",
             "| claim | sentence | source | measured | 95 % CI | expected | verdict |", "|---|---|---|---|---|---|---|"]
    for c in claims:
        lines.append(f"| {c['id']} | {_md_escape(c['sentence'])} | {_md_escape(c['source'])} | "
                     f"{c.get('measured', '-')} | {c.get('interval', '-')} | {_md_escape(str(c.get('expected', '-')))} | "
                     f"**{c['verdict']}**" + (f" (Mann-Whitney U, p = {c['p']:.2g})" if isinstance(c.get("p"), (int, float)) else "")
                     + " |")
    return "\n".join(lines) + "\n"


def claims_html(claims):
    rows = []
    for c in claims:
        colour = VERDICT_COLOURS.get(c["verdict"], "#333")
        rows.append(f"<tr><td><code>{_e(c['id'])}</code></td><td>{_e(c['sentence'])}<br><small>{_e(c['source'])}</small></td>"
                    f"<td>{_e(c.get('measured', '-'))}</td><td>{_e(c.get('interval', '-'))}</td>"
                    f"<td>{_e(str(c.get('expected', '-')))}</td>"
                    f"<td style=\"color:{colour};font-weight:bold\">{_e(c['verdict'])}"
                    + (f"<br><small style=\"font-weight:normal;color:#555\">Mann-Whitney U, p = {c['p']:.2g}</small>"
                       if isinstance(c.get("p"), (int, float)) else "") + "</td></tr>")
    return ("<h2>Claims</h2><p>Verdicts of <code>./run_all.sh claims</code> on this run (95 % intervals over "
            "repetitions; ratios read &ldquo;how many times better A is than B&rdquo;).</p>"
            "<table><tr><th>claim</th><th>sentence and source</th><th>measured</th><th>95 % CI</th>"
            "<th>expected</th><th>verdict</th></tr>" + "".join(rows) + "</table>")


def write(folder, rows, facts, command, chart_list, baseline="malloc", out=None):
    """Writes report.md and report.html of the run in folder into out (default: folder itself)."""
    out = out or folder
    md, page = build(folder, rows, facts, command, chart_list, baseline)
    claims = load_claims(folder)
    if claims:
        md += claims_markdown(claims)
        page = page.replace("</body>", claims_html(claims) + "</body>", 1)
    results_io.write_atomically(os.path.join(out, "report.md"), md)
    results_io.write_atomically(os.path.join(out, "report.html"), page)
    return os.path.join(out, "report.md"), os.path.join(out, "report.html")


def _relative_rows(rel):
    """(workload, allocator, [(ratio or None, state text)] per thread count) for every pair
    measured in some thread count: the rows of a run-vs-run table, for both formats."""
    for w in rel["workloads"]:
        for a in rel["allocators"]:
            keys = [(w, a, t) for t in rel["threads"]]
            if any(k in rel["state"] for k in keys):
                yield w, a, [(rel["ratio"].get(k), rel["state"].get(k) or "—") for k in keys]


def comparison(runs, chart_list, relatives):
    """compare.md and compare.html texts. runs: [(label, folder, facts)];
    relatives: [(index, relative_runs(...))] for runs 2.. vs run 1."""
    md = ["# alloclab comparison", ""]
    for i, (label, folder, facts) in enumerate(runs):
        md.append(f"- run {i + 1}: `{folder}` — {style.footer_text(facts)}")
    md += ["", "## Charts", ""]
    for t, s, _ in chart_list:
        md += [f"![{t}]({s}.png)", "", f"[{t} (SVG)]({s}.svg)", ""]
    for index, rel in relatives:
        md += [f"## Run {index} vs run 1: median throughput ratio", "",
               f"Median throughput of run {index} / median of run 1, same workload, allocator and threads; "
               "> 1: run {0} faster.".format(index), ""]
        md.append("| workload | allocator | " + " | ".join(f"threads {t}" for t in rel["threads"]) + " |")
        md.append("| --- | --- |" + " ---: |" * len(rel["threads"]))
        for w, a, values in _relative_rows(rel):
            cells = [f"{v:.2f}" if v else state for v, state in values]
            md.append(f"| {w} | {a} | " + " | ".join(cells) + " |")
        md.append("")
    md_text = "\n".join(md)

    h = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
         "<title>alloclab comparison</title>", f"<style>{CSS}</style>", "</head>", "<body>",
         "<h1>alloclab comparison</h1>", "<ul>"]
    for i, (label, folder, facts) in enumerate(runs):
        h.append(f"<li>run {i + 1}: <code>{_e(folder)}</code> — {_e(style.footer_text(facts))}</li>")
    h.append("</ul><h2>Charts</h2>")
    for t, s, _ in chart_list:
        h.append(f'<figure><a href="{_e(s)}.svg"><img src="{_e(s)}.png" alt="{_e(t)}"></a>'
                 f"<figcaption>{_e(t)}</figcaption></figure>")
    for index, rel in relatives:
        h.append(f"<h2>Run {index} vs run 1: median throughput ratio</h2>")
        h.append(f'<p class="legend">Median throughput of run {index} / median of run 1, same workload, '
                 f"allocator and threads; &gt; 1: run {index} faster.</p>")
        h.append("<table><tr><th>workload</th><th>allocator</th>"
                 + "".join(f"<th>threads {t}</th>" for t in rel["threads"]) + "</tr>")
        for w, a, values in _relative_rows(rel):
            cells = [f'<td class="num">{v:.2f}</td>' if v else f'<td class="num" style="color:#999">{_e(state)}</td>'
                     for v, state in values]
            h.append(f"<tr><td>{_e(w)}</td><td>{_e(a)}</td>{''.join(cells)}</tr>")
        h.append("</table>")
    h += ["</body>", "</html>", ""]
    return md_text, "\n".join(h)

