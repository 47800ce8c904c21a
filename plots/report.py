"""The report of one results folder and the comparison of several, as alloclab.document
models: machine, command, summary tables, every chart, failed and skipped cases, noisy cases,
claims. Rendered once per format (report.md, report.html; compare.md, compare.html). The HTML
is self-contained: inline CSS, no script, no external resource; images are relative links to
charts/*.png, each a link to its SVG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alloclab import confidence, ranking, results
from alloclab.registry import fixed_threads_workload
from alloclab.verdicts import verdict_table
from alloclab.document import (Block, Bullets, Cell, Code, Details, Document, Figure, Heading, KeyValues, Paragraph,
                               Table, render_html, render_markdown, render_text)
from alloclab.results import Run
from plots import analysis, style
from plots.analysis import DAGGER, NOISE_CV
from plots.charts import Chart

MACHINE_FIELDS = [
    ("cpu_model", "CPU"), ("hardware_threads", "hardware threads"), ("num_cpus", "CPUs"),
    ("mhz_per_cpu", "MHz per CPU"), ("caches", "caches"), ("cpu_governor", "CPU governor"),
    ("kernel", "kernel"), ("aslr", "ASLR"), ("host_name", "host"), ("glibc_version", "glibc"),
    ("tbb_version", "oneTBB"), ("compiler", "compiler"), ("cxx_flags", "C++ flags"),
    ("build_type", "build type (driver)"), ("library_build_type", "Google Benchmark library build"),
    ("git_commit", "commit"), ("git_dirty", "uncommitted changes"), ("alloclab_version", "alloclab"),
    ("profile", "profile"), ("repetitions", "repetitions"),
    ("precision", "target precision (more repetitions where a case was wider)"),
    ("max_repetitions", "at most repetitions"), ("min_time", "min time per case (s)"),
    ("threads", "thread counts"), ("shard", "shard"), ("finished_utc", "finished (UTC)"),
]
CHART_SECTIONS = [
    ("summary_vs", "Throughput relative to the baseline"),
    ("throughput_", "Throughput vs threads"),
    ("trace_", "Trace replays"),
    ("efficiency_", "Scaling efficiency"),
    ("latency_", "Latency percentiles"),
    ("memory_", "Memory"),
]
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
td .note { display: block; color: #555; font-size: 0.92em; font-weight: normal; }
dl.machine { display: grid; grid-template-columns: max-content minmax(0, 1fr) max-content minmax(0, 1fr);
              gap: 0.25em 1em; font-size: 0.9em; margin: 0.8em 0; }
dl.machine dt { color: #555; }
dl.machine dd { margin: 0; overflow-wrap: anywhere; }
table.summary td { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.summary td.name, table.summary th { text-align: left; }
table.summary td.win { background: #e6f0fa; }
table.summary td.win .note { color: #1d3f66; }
table.summary td.none { color: #999; font-style: italic; text-align: center;
   background: repeating-linear-gradient(45deg, #fff, #fff 4px, #f2f2f2 4px, #f2f2f2 8px); }
table.summary tr.ref td.name { font-style: italic; color: #555; }
table.summary tr.geomean td { border-top: 2px solid #bbb; }
table.summary td.tie .note { color: #888; font-style: italic; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px; margin-right: 0.4em;
          vertical-align: baseline; }
.caveats { background: #fff8e5; border: 1px solid #f0d890; padding: 0.5em 1em 0.5em 2em; }
.caveats li { margin: 0.2em 0; }
figure { margin: 1.2em 0 2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.85em; }
ul.problems li { margin: 0.15em 0; }
.legend { color: #555; font-size: 0.88em; }
table.noise td, table.noise th { padding: 0.15em 0.45em; text-align: center; }
table.noise td:first-child { text-align: left; }
td.cv-lo { background: #fdf3e1; }
td.cv-mid { background: #f9dcae; }
td.cv-hi { background: #f2b35e; }
td.verdict.reproduced { color: #1b7837; }
td.verdict.not-reproduced { color: #b2182b; }
td.verdict.inconclusive { color: #8c6d1f; }
details summary { cursor: pointer; color: #1d3f66; margin: 0.5em 0; }
footer { color: #777; font-size: 0.8em; margin-top: 3em; border-top: 1px solid #eee; padding-top: 0.5em; }
"""


# ----------------------------------------------------------------------------- formats of numbers

def _sig(value: float | None, digits: int = 3) -> str:
    if value is None:
        return ""
    if value == 0:
        return "0"
    text = f"{value:#.{digits}g}"
    if "e" in text:
        text = f"{value:.0f}"
    return text.rstrip(".")


def fmt_ns(value: float | None) -> str:
    return f"{_sig(value)} ns"


def fmt_tp(value: float) -> str:
    """operations per second as M ops/s with 3 significant digits."""
    return f"{_sig(value / 1e6)} M/s"


def _machine_value(key: str, value: Any) -> str:
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


def _precision_text(facts: dict[str, Any]) -> str:
    """--precision's target at the confidence the run judged it on (runs made before the
    confidence was recorded with it judged on 95 % intervals)."""
    level = facts.get("precision_confidence", confidence.EARLIER_CONFIDENCE)
    shown = confidence.stated(level) if isinstance(level, (int, float)) and not isinstance(level, bool) else "?"
    return f"±{100 * facts['precision']:g} % ({shown} interval)"


def machine_rows(facts: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((label, _precision_text(facts) if key == "precision" and isinstance(facts[key], (int, float))
                  else _machine_value(key, facts[key])) for key, label in MACHINE_FIELDS
                 if key in facts and facts[key] not in (None, "", []))


# ----------------------------------------------------------------------------- sections

def _interval_text(interval: tuple[float, float, float] | None) -> str:
    """A throughput's ranking.LEVEL interval in M/s, "[low–high]"; "n=1, no interval" where one
    repetition gives none."""
    if interval is None or interval[2] == float("inf"):
        return "n=1, no interval"
    return f"[{_sig(interval[1] / 1e6)}–{_sig(interval[2] / 1e6)}]"


def best_mark(table: dict[str, Any], workload: str, allocator: str) -> str:
    """★ on the fastest when the data separates it from every other; ★= on the fastest and on
    each allocator tied with it (the ranking.LEVEL interval of their ratio includes 1)."""
    tied = table["tied"].get(workload, [])
    if table["winner"].get(workload) == allocator:
        return "★=" if tied else "★"
    return "★=" if allocator in tied else ""


def summary_block(run: Run, table: dict[str, Any]) -> Table:
    """One thread count's summary: allocators x workloads, median ns/op and throughput, each with
    its interval; the fastest marked, with those tied with it."""
    styles = style.Styles(run.registry)
    rows, row_css = [], []
    for a in table["allocators"]:
        ref = styles.is_reference(a)
        cells: list[Cell | str] = [Cell(f"{a} (reference)" if ref else a, css="name", swatch=styles.colour(a))]
        for w in table["workloads"]:
            cell = table["cells"][w].get(a)
            if cell is None or cell["items_per_second"] is None:
                cells.append(Cell(cell.get("why_missing", cell["state"]) if cell else "not run", css="none"))
                continue
            star = best_mark(table, w, a)
            win = star == "★"
            mark = ("~ " if cell["noisy"] else "") + (f"{DAGGER} " if cell["state"] == "partial" else "") + star
            precision = cell["precision"]
            tip = (f"{w}/{a}/threads:{_threads_of(table, w)}, {cell['n']} repetitions; comparisons "
                   + ("through the reference case of each process" if cell["paired"] else "on raw throughput")
                   + (f", precision ±{precision:.1%}" if precision is not None else ""))
            cells.append(Cell(fmt_ns(cell["ns_per_op"]),
                              note=f"{fmt_tp(cell['items_per_second'])} {_interval_text(cell['interval'])}",
                              strong=bool(star), mark=mark.strip(), css="win" if win else "tie" if star else "",
                              tooltip=tip))
        rows.append(tuple(cells))
        row_css.append("ref" if ref else "")
    return Table(("allocator", *_headings(table)), tuple(rows), css="summary", row_css=tuple(row_css))


def _threads_of(table: dict[str, Any], workload: str) -> int:
    count: int = table.get("threads_of", {}).get(workload, table["threads"])
    return count


def _headings(table: dict[str, Any]) -> list[str]:
    """Workload names; one read at a thread count of its own (a trace) says which."""
    out = []
    for w in table["workloads"]:
        t = _threads_of(table, w)
        out.append(w if t == table["threads"] else f"{w} ({t} thread{'s' if t != 1 else ''})")
    return out


def text_summary(table: dict[str, Any]) -> str:
    """The summary as fixed-width text for a terminal: median ns/op, * the winner, ~ noisy."""
    rows = []
    for a in table["allocators"]:
        cells: list[Cell | str] = [a]
        for w in table["workloads"]:
            cell = table["cells"][w].get(a)
            if cell is None or cell["ns_per_op"] is None:
                cells.append("-")
            else:
                star = best_mark(table, w, a)
                cells.append(_sig(cell["ns_per_op"]) + ("~" if cell["noisy"] else "")
                             + {"★": "*", "★=": "="}.get(star, ""))
        rows.append(tuple(cells))
    t = table["threads"]
    return render_text(Table(("", *_headings(table)), tuple(rows)),
                       f"median ns/op at {t} thread{'s' if t != 1 else ''} (* most throughput, references excluded; "
                       f"= tied with the most: {ranking.LEVEL} intervals cannot separate them; ~ noisy: cv > 5 %; - not run)")


def chart_blocks(charts: list[Chart], prefix: str = "charts/", sections: bool = True) -> list[Block]:
    if not charts:
        return [Paragraph("No chart: no case succeeded.")]
    if not sections:
        return [Figure(c.title, f"{prefix}{c.stem}.png", f"{prefix}{c.stem}.svg") for c in charts]
    out: list[Block] = []
    for start, heading in CHART_SECTIONS:
        items = [c for c in charts if c.stem.startswith(start)]
        if items:
            out.append(Heading(heading, 3))
            out += [Figure(c.title, f"{prefix}{c.stem}.png", f"{prefix}{c.stem}.svg") for c in items]
    return out


def problem_blocks(probs: list[dict[str, Any]]) -> list[Block]:
    if not probs:
        return [Paragraph("None: every case succeeded in every repetition.")]
    out: list[Block] = []
    for status in ("failed", "skipped"):
        group = [p for p in probs if p["status"] == status]
        if group:
            out.append(Heading(f"{status.capitalize()} ({len(group)})", 3))
            out.append(Bullets(tuple(
                analysis.problem_line(p) + (" — see " + ", ".join(f"`raw/{u}.failed.json`" for u in p["units"])
                                            if status == "failed" and p["units"] else "") for p in group),
                css="problems"))
    return out


def noise_blocks(run: Run, noisy: list[dict[str, Any]], judged: int) -> list[Block]:
    if not noisy:
        return [Paragraph(f"None: all {judged} cases with 2 or more repetitions have a throughput CV ≤ {NOISE_CV:.0%}.")]
    workloads = [w for w in run.workloads() if any(c["workload"] == w for c in noisy)]
    threads = sorted({c["threads"] for c in noisy})
    cv = {(c["workload"], c["allocator"], c["threads"]): c["cv"] for c in noisy}
    rows = []
    for a in run.registry.order({c["allocator"] for c in noisy}):
        cells: list[Cell | str] = [a]
        for w in workloads:
            for t in threads:
                v = cv.get((w, a, t))
                level = "" if v is None else "hi" if v > 0.2 else "mid" if v > 0.1 else "lo"
                cells.append(Cell("" if v is None else f"{v:.0%}" if v >= 0.1 else f"{v:.1%}",
                                  css=f"cv-{level}" if level else ""))
        rows.append(tuple(cells))
    matrix = Table(("allocator", *[str(t) for _ in workloads for t in threads]), tuple(rows), css="noise",
                   numeric=(False,) + (True,) * (len(workloads) * len(threads)),
                   groups=tuple((w, len(threads)) for w in workloads))
    listing = Table(("case", "CV", "repetitions", "median", "min – max"), tuple(
        (f"{c['workload']}/{c['allocator']}/threads:{c['threads']}", f"{c['cv']:.1%}", str(c["n"]),
         fmt_tp(c["median"]), f"{fmt_tp(c['min'])} – {fmt_tp(c['max'])}") for c in noisy),
        numeric=(False, True, True, True, True))
    return [Paragraph(f"{len(noisy)} of {judged} cases have a throughput coefficient of variation above "
                      f"{NOISE_CV:.0%} over their repetitions (sample standard deviation / mean). The table shows "
                      f"the CV of each noisy case; blank cells are steady (CV ≤ {NOISE_CV:.0%}) or had fewer than 2 "
                      "successful repetitions."),
            matrix, Details(f"All {len(noisy)} noisy cases, noisiest first", (listing,))]


def state_blocks(run: Run) -> list[Block]:
    """The calibration probe: how steady the reference case was across the run's processes, and
    the processes in which it was not."""
    drift = analysis.reference_drift(run)
    if drift is None:
        return [Heading("Machine state"),
                Paragraph("This run has no reference case in its processes (a sweep with --reference none, or one "
                          "made before sweeps paired their processes): its comparisons are on raw throughput, and a "
                          "change of the machine's state during the run is not visible.", css="legend")]
    flagged = drift["flagged"]
    text = (f"Every process also ran the reference case on its unit's workload; across the run's "
            f"{drift['processes']} processes its throughput varied by a median coefficient of variation of "
            f"{drift['cv_median']:.1%} per workload, thread count and malloc (a preloaded peer's process runs it "
            "under that peer's malloc). ")
    text += (f"{len({f['unit'] for f in flagged})} processes ran it more than {analysis.DRIFT:.0%} off the median "
             "of their workload, thread count and malloc: the machine was in another state then. Their cases are kept; "
             "where dividing by the process's own reference narrows the spread (in a cell whose processes all ran "
             "under one malloc), comparisons do so, which cancels "
             "a change that hit the whole process alike." if flagged else
             f"No process ran it more than {analysis.DRIFT:.0%} off the median of its workload, thread count and malloc.")
    if drift["sd_raw"] is not None and drift["sd_paired"] is not None:
        text += (f" Where the variance is (Kalibera & Jones): a case's throughput varied across processes by a median "
                 f"standard deviation of {drift['sd_raw']:.1%} (of its log), and by {drift['sd_paired']:.1%} divided "
                 f"by its process's reference; {drift['paired_cells']} of {drift['cells']} workload × thread cells, "
                 "those whose processes all ran under one malloc and where dividing narrows the spread, are compared "
                 "through the reference, the others on raw throughput.")
    blocks: list[Block] = [Heading("Machine state"), Paragraph(text)]
    if flagged:
        rows = tuple((f["unit"], f["workload"], str(f["threads"]), f"{f['deviation']:+.0%}") for f in flagged[:200])
        blocks.append(Details(f"Processes off their usual state ({len(flagged)} cases)",
                              (Table(("process (raw/ record)", "workload", "threads", "reference vs its median"), rows,
                                     numeric=(False, False, True, True)),)))
    return blocks


def trace_blocks(run: Run) -> list[Block]:
    """The files the parametric workloads came from (machine.json's workload_files), with each
    trace's thread count and the replay's touch mode."""
    files = run.facts.get("workload_files")
    if not isinstance(files, dict) or not files:
        return []
    rows = []
    for w in run.workloads():
        if w in files:
            counts = sorted({r.threads for r in run.rows if r.workload == w})
            fixed = fixed_threads_workload(w)
            rows.append((w, str(files[w]),
                         (", ".join(map(str, counts)) + (" (the trace's own)" if fixed else "")) if counts else "-"))
    touch = run.facts.get("touch")
    return [Heading("Traces and distributions"),
            Paragraph("A `trace:` workload replays a recorded trace in process, one replay thread per recorded "
                      "thread, at the trace's own thread count; one operation is one event. An `empirical:` "
                      "workload drives the allocator from a distilled size table at every thread count of the run. "
                      "`null` is the replay's own cost: what an allocator adds to it is its own."
                      + (f" Objects were written with `--touch {touch}`." if touch else ""), css="legend"),
            Table(("workload", "file", "threads"), tuple(rows))]


def claims_blocks(checked: tuple[dict[str, Any], ...]) -> list[Block]:
    if not checked:
        return []
    return [Heading("Claims"),
            Paragraph("Verdicts of `./run_all.sh claims` on this run (95 % intervals over repetitions; ratios read "
                      "\"how many times better A is than B\")."),
            verdict_table(checked, with_sentence=True)]


# ----------------------------------------------------------------------------- the documents

def build(run: Run, charts: list[Chart], baseline: str = "malloc", extra: Sequence[Block] = ()) -> Document:
    """The report of a sweep; `extra`: blocks appended at the end (the Programs section of a
    folder that also holds the programs suite)."""
    threads = run.thread_counts()
    tables = [analysis.summary_table(run, t) for t in sorted({min(threads), max(threads)})]
    noisy, judged = analysis.noisy_cases(run)
    notes = analysis.caveats(run, noisy, judged)
    references = ", ".join(f"`{a}`" for a in run.registry.allocator_names("reference")) or "none known"
    blocks: list[Block] = []
    if notes:
        blocks += [Heading("Caveats"), Bullets(tuple(notes), css="caveats")]
    blocks += [Heading("Machine"), KeyValues(machine_rows(run.facts)), Heading("Command"), Code(run.command),
               Heading("Summary"),
               Paragraph("Median over the successful repetitions: wall time per operation (all threads together), "
                         f"below it throughput in million operations per second and its {ranking.LEVEL} interval in brackets (a t "
                         "interval over the repetitions, each a process of its own). **Highlighted ★** = highest "
                         f"throughput of the workload, separated from every other allocator, references "
                         f"({references}) excluded. **★=** = the fastest and every allocator the data cannot "
                         f"separate from it: a tie (the {ranking.LEVEL} interval of their throughput ratio includes 1; ratios "
                         "are taken through the reference case run in every process where that narrows the spread and "
                         "every process ran under one malloc). "
                         f"`~` = noisy (throughput CV > 5 %). {DAGGER} = some repetitions failed.", css="legend")]
    for table in tables:
        t = table["threads"]
        blocks += [Heading(f"{t} thread{'s' if t != 1 else ''}", 3), summary_block(run, table)]
    blocks += [Heading("Charts"), *chart_blocks(charts), *trace_blocks(run), Heading("Failed and skipped cases"),
               *problem_blocks(analysis.problems(run)), Heading("Noisy cases"), *noise_blocks(run, noisy, judged),
               *state_blocks(run),
               *claims_blocks(run.claims), *extra]
    footer = f"Generated by plots from results.csv and machine.json. Baseline for relative charts: {baseline}."
    if extra:
        footer = ("Generated by plots from results.csv, programs.csv, programs/plan.json and machine.json. Baseline "
                  f"for the sweep's relative charts: {baseline}; for the programs: see their section.")
    return Document(f"alloclab report: {run.name}", style.footer_text(run.facts), tuple(blocks), footer=footer,
                    css=CSS)


def write(run: Run, charts: list[Chart], out: Path, baseline: str = "malloc",
          extra: Sequence[Block] = ()) -> tuple[Path, Path]:
    """Writes report.md and report.html of the run into out."""
    doc = build(run, charts, baseline, extra)
    results.write_atomically(out / "report.md", render_markdown(doc))
    results.write_atomically(out / "report.html", render_html(doc))
    return out / "report.md", out / "report.html"


def comparison(runs: list[tuple[str, Run]], charts: list[Chart], relatives: list[tuple[int, dict[str, Any]]],
               prefix: str = "", intro: Sequence[Block] = (), extra: Sequence[Block] = (),
               title: str = "alloclab comparison") -> Document:
    """compare.md/.html: runs [(label, run)]; relatives [(index, relative_runs(...))] for runs 2.. vs run 1;
    prefix: the charts' folder relative to the document; intro: blocks first (a folder of several
    machines says so); extra: blocks last (the Programs section)."""
    blocks: list[Block] = [*intro, Bullets(tuple(f"run {i + 1}: `{run.folder}` — {style.footer_text(run.facts)}"
                                                 for i, (_, run) in enumerate(runs))),
                           Heading("Charts"), *chart_blocks(charts, prefix=prefix, sections=False)]
    for index, rel in relatives:
        rows = []
        for w in rel["workloads"]:
            for a in rel["allocators"]:
                keys = [(w, a, t) for t in rel["threads"]]
                if any(k in rel["state"] for k in keys):
                    values = [(rel["ratio"].get(k), rel["state"].get(k) or "—") for k in keys]
                    rows.append((w, a, *[f"{v:.2f}" if v else Cell(st, css="none") for v, st in values]))
        blocks += [Heading(f"Run {index} vs run 1: median throughput ratio"),
                   Paragraph(f"Median throughput of run {index} / median of run 1, same workload, allocator and "
                             f"threads; > 1: run {index} faster.", css="legend"),
                   Table(("workload", "allocator", *[f"threads {t}" for t in rel["threads"]]), tuple(rows),
                         numeric=(False, False) + (True,) * len(rel["threads"]))]
    return Document(title, blocks=tuple(blocks) + tuple(extra), css=CSS)
