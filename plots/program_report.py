"""The Programs section of a report (the real-programs suite: programs.csv, programs/plan.json,
programs/raw/), as alloclab.document blocks: what ran, the summary tables of
alloclab.programs.summary with their intervals and ties, the failed runs with their reasons,
and the charts of plots.program_charts. A folder with a sweep gets the section appended to its
report (report.build's `extra`); a folder with only programs gets a document of its own.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

from alloclab import results
from alloclab.document import Block, Bullets, Cell, Code, Document, Figure, Heading, KeyValues, Paragraph, Table, \
    render_text
from alloclab.programs import summary
from alloclab.programs.records import METRIC_INFO, ProgramRow, ProgramsRun
from plots import style
from plots.charts import MIB, Chart
from plots.program_charts import case_label
from plots.report import CSS, _sig, machine_rows

# The per-allocator table's metrics (the targets of alloclab's malloc shims are on these two).
PER_ALLOCATOR_METRICS = ("wall_s", "peak_rss_bytes")
# metric -> (a better / worse ratio in words, header unit of the baseline's median)
WORDS = {
    "wall_s": (("faster", "slower"), "s"),
    "peak_rss_bytes": (("less memory", "more memory"), "MiB"),
    "requests_per_s": (("more requests/s", "fewer requests/s"), "requests/s"),
}


def _plain(text: str) -> str:
    """Text from the run (reasons, descriptions) made inert for the document's inline markup."""
    return " ".join(str(text).replace("`", "'").replace("**", "*").split())


# ----------------------------------------------------------------------------- the tables

def metrics_of(run: ProgramsRun) -> list[str]:
    """The metrics the summary shows: wall time, peak RSS, and requests per second when a
    server program reported them."""
    extra = ["requests_per_s"] if any(r.ok and r.requests_per_s is not None for r in run.rows) else []
    return ["wall_s", "peak_rss_bytes", *extra]


def _median_text(run: ProgramsRun, program: str, threads: int, metric: str, baseline: str) -> str:
    values = run.values(program, baseline, threads, metric)
    if not values:
        return "failed" if run.cases.get((program, baseline, threads)) else "not run"
    m = statistics.median(values)
    return f"{m / MIB:.1f}" if metric == "peak_rss_bytes" else f"{m:,.0f}" if metric == "requests_per_s" else _sig(m)


def summary_table(run: ProgramsRun, metric: str, baseline: str = summary.BASELINE) -> Table:
    """summary.table's numbers as a document table: each ratio with its interval, the verdict
    below it ("tie" where the interval includes 1), the better ones highlighted."""
    header, rows = summary.table(run, metric, baseline)
    allocators = header[3:]
    cases = summary.cases(run)
    if metric == "requests_per_s":  # only the servers have this metric
        keep = [i for i, (p, t) in enumerate(cases) if any(run.values(p, a, t, metric) for a in run.allocators())]
        rows = [rows[i] for i in keep] + rows[-1:]
        cases = [cases[i] for i in keep]
    (better, worse), unit = WORDS.get(metric, (("lower", "higher"), ""))
    high_good = METRIC_INFO[metric][2]
    out: list[tuple[Cell | str, ...]] = []
    css: list[str] = []
    for i, row in enumerate(rows):
        last = i == len(rows) - 1
        if last:
            rels = [summary.geomean(run, a, metric, baseline) for a in allocators]
            lead: list[Cell | str] = [Cell("geometric mean", css="name", strong=True), "", ""]
        else:
            program, threads = cases[i]
            rels = [summary.relative(run, program, a, threads, metric, baseline) for a in allocators]
            lead = [Cell(program, css="name"), str(threads),
                    _median_text(run, program, threads, metric, baseline)]
        cells: list[Cell | str] = []
        for text, r in zip(row[3:], rels):
            if r is None:
                cells.append(Cell(text, css="none"))
                continue
            good = (r.verdict == "higher") if high_good else (r.verdict == "lower")
            note = "tie" if r.verdict == "tie" else better if good else worse
            cells.append(Cell(text, note=note, css="win" if good else "tie" if r.verdict == "tie" else "",
                              tooltip=f"{r.n} {'cases' if last else 'passes'} compared"))
        out.append(tuple(lead + cells))
        css.append("geomean" if last else "")
    median_head = f"{baseline} median" + (f" ({unit})" if unit else "")
    return Table(("program", "threads", median_head, *allocators), tuple(out), css="summary",
                 numeric=(False, True, True) + (True,) * len(allocators), row_css=tuple(css))


def text_summary(run: ProgramsRun, baseline: str = summary.BASELINE) -> str:
    """The summary tables as fixed-width text for a terminal."""
    if baseline not in run.allocators():
        return f"programs: no {baseline} run in programs.csv, so no ratios (memory-over-time charts only)"
    parts = []
    for metric in metrics_of(run):
        label = METRIC_INFO[metric][0]
        table = summary_table(run, metric, baseline)
        marked = tuple(tuple(Cell(c.text + " tie") if isinstance(c, Cell) and c.note == "tie" else c for c in row)
                       for row in table.rows)
        parts.append(render_text(Table(table.header, marked),
                                 f"programs: {label} relative to {baseline}: median of per-pass ratios "
                                 f"[95 % interval]; {'> 1' if METRIC_INFO[metric][2] else '< 1'} is better; tie: the "
                                 "interval includes 1"))
    return "\n\n".join(parts)


def per_allocator_table(run: ProgramsRun, baseline: str = summary.BASELINE) -> Table:
    """Per allocator, across programs: the geometric mean and the worst case of wall time and
    peak RSS relative to the baseline, each with its interval, and the cases where it did not
    fit. A target "within x times the baseline on every program" holds when the worst case does."""
    rows: list[tuple[Cell | str, ...]] = []
    for a in [x for x in run.allocators() if x != baseline]:
        cells: list[Cell | str] = [Cell(a, css="name")]
        for metric in PER_ALLOCATOR_METRICS:
            cells.append(summary.format_relative(summary.geomean(run, a, metric, baseline)))
            worst = summary.worst(run, a, metric, baseline, METRIC_INFO[metric][2])
            cells.append(Cell(summary.format_relative(worst[2]), note=case_label(run, worst[0], worst[1]))
                         if worst else Cell("-", css="none"))
        unfit = summary.unfit_cases(run, a)
        cells.append(", ".join(case_label(run, p, t) for p, t in unfit) or "\u2014")
        rows.append(tuple(cells))
    header = ("allocator",) + tuple(f"{METRIC_INFO[m][0]}: {which}" for m in PER_ALLOCATOR_METRICS
                                    for which in ("geometric mean", "worst case")) + ("did not fit on",)
    return Table(header, tuple(rows), css="summary", numeric=(False,) + (True,) * 2 * len(PER_ALLOCATOR_METRICS)
                 + (False,))


def fastest_table(run: ProgramsRun, metric: str = "wall_s") -> Table:
    """Per case, the allocator with the best median, the allocators the runs cannot tell from
    it (their per-pass ratio's interval includes 1), and those that did not fit."""
    rows: list[tuple[Cell | str, ...]] = []
    for program, threads in summary.cases(run):
        best = summary.fastest(run, program, threads, metric, METRIC_INFO[metric][2])
        if best is None:
            rows.append((Cell(program, css="name"), str(threads), Cell("no allocator with enough runs", css="none"),
                         "", ""))
            continue
        ties = [f"{a} {summary.format_relative(r)}" for a, r in best.tied()]
        rows.append((Cell(program, css="name"), str(threads), Cell(best.allocator, note=f"median {_sig(best.median)}"),
                     "; ".join(ties) or "none: the fastest outright", ", ".join(best.unfit) or "\u2014"))
    return Table(("program", "threads", "fastest (best median)", "tied with it: ratio to it [95 % interval]",
                  "did not fit"), tuple(rows), numeric=(False, True, False, False, False))


# ----------------------------------------------------------------------------- the section

def _packages(packages: object) -> str:
    """'lua5.4 5.4.4-3' from the plan's {package: version} (records.Plan does not check its type)."""
    if not isinstance(packages, dict):
        return "\u2014" if not packages else str(packages)
    return ", ".join(f"{k} {v}" for k, v in packages.items()) or "\u2014"


def intro_blocks(run: ProgramsRun, baseline: str, command: str) -> list[Block]:
    plan = run.plan
    programs, allocators = run.programs(), run.allocators()
    threaded = [p.name for p in plan.programs if p.threaded and p.name in programs]
    threads = sorted({t for p in threaded for t in run.thread_counts(p)})
    total, ok = len(run.rows), sum(r.ok for r in run.rows)
    text = (f"{len(programs)} real program{'s' if len(programs) != 1 else ''} from Debian packages, each run as its "
            f"own process with every allocator preloaded in turn ({len(allocators)} allocators: "
            + ", ".join(f"`{a}`" for a in allocators) + f"). {plan.repetitions} interleaved repetition"
            f"{'s' if plan.repetitions != 1 else ''}: each repetition runs every allocator back to back, in a "
            f"rotated order. Input scale {plan.scale:g} (1 = the default size), seed {plan.seed}, timeout "
            f"{plan.timeout:g} s. ")
    text += (f"Threaded programs ({', '.join(f'`{p}`' for p in threaded)}) ran at "
             f"{', '.join(map(str, threads))} threads; the others at 1. " if threaded else
             "No program of this run is threaded: each ran at 1 thread. ")
    text += f"{ok} of {total} runs succeeded."
    rows = []
    for name in programs:
        info = plan.program(name)
        if info is None:
            rows.append((Cell(name, css="name"), "not in the plan", "", "", ""))
            continue
        kinds = ", ".join(k for k, on in (("threaded", info.threaded), ("server", info.server)) if on)
        rows.append((Cell(name, css="name", note=kinds), _plain(info.description), _plain(info.origin),
                     _plain(info.not_tested), _plain(_packages(info.packages))))
    listing = []
    registry = run.plan.registry()  # the plan's entries carry each library's full path
    for a in allocators:
        known = registry.allocator(a)
        where = f" (`{_plain(known.library)}`)" if known and known.library else ""
        listing.append(f"`{a}`{' (baseline)' if a == baseline else ''}: "
                       f"{_plain(known.description) if known else 'not in the plan'}{where}")
    out: list[Block] = [Paragraph(text),
                        Table(("program", "what it runs", "origin", "not tested", "Debian packages"), tuple(rows)),
                        Bullets(tuple(listing))]
    if command:
        out.append(Code(command))
    return out


def _reason_key(reason: str) -> str:
    """A reason with its process ids blanked, so the same failure in several repetitions reads once."""
    return re.sub(r"\bpid \d+", "pid \u2026", _plain(reason) or "no reason recorded")


def failed_blocks(run: ProgramsRun) -> list[Block]:
    failed = [r for r in run.rows if not r.ok]
    if not failed:
        return [Paragraph(f"None: all {len(run.rows)} runs succeeded.")]
    rows = []
    for program, threads in summary.cases(run):
        for a in run.allocators():
            mine = sorted((r for r in failed if r.key == (program, a, threads)), key=lambda r: r.repetition)
            if not mine:
                continue
            grouped: dict[str, list[ProgramRow]] = {}
            for r in mine:
                grouped.setdefault(_reason_key(r.reason), []).append(r)
            reasons = "; ".join(f"{', '.join(f'r{r.repetition}' for r in group)}: {text}"
                                for text, group in grouped.items())
            total = len(run.cases[(program, a, threads)])
            rows.append((Cell(program, css="name"), str(threads), a, f"{len(mine)} of {total}", reasons))
    unfit = sum(r.did_not_fit for r in failed)
    return [Paragraph(f"{len(failed)} of {len(run.rows)} runs failed"
                      + (f", {unfit} of them because they did not fit in the memory budget of an allocator that never "
                         "frees (\"did not fit\": the program's allocations outgrew it)" if unfit else "")
                      + ". A failed run (a crash, a timeout, a wrong answer, a preload that did not take effect, or a "
                      "run that did not fit) is left out of every figure and ratio; its record is "
                      "`programs/raw/<unit>.json`."),
            Table(("program", "threads", "allocator", "failed", "reason (r = repetition)"), tuple(rows),
                  numeric=(False, True, False, True, False))]


def _figures(charts: list[Chart], prefix: str) -> list[Block]:
    return [Figure(c.title, f"{prefix}{c.stem}.png", f"{prefix}{c.stem}.svg") for c in charts]


def section(run: ProgramsRun, charts: list[Chart], baseline: str = summary.BASELINE, command: str = "",
            prefix: str = "charts/") -> list[Block]:
    """The Programs section: level-2 heading, then level-3 parts."""
    blocks: list[Block] = [Heading("Programs"), *intro_blocks(run, baseline, command)]
    if baseline in run.allocators():
        blocks.append(Heading(f"Summary relative to {baseline}", 3))
        blocks.append(Paragraph(
            f"Each cell: the allocator's value divided by {baseline}'s in the same repetition (each repetition "
            f"ran every allocator back to back), the median of those per-pass ratios, and in brackets its 95 % "
            f"bootstrap interval. **tie**: the interval includes 1, so these runs cannot tell the allocator "
            f"from {baseline}; otherwise the word under the ratio says which way it differs (highlighted: "
            f"better than {baseline}). The {baseline} column is its median; a case is a program at one thread "
            f"count; the last row is the geometric mean over the cases with a ratio. `(k failed)`: runs left out.",
            css="legend"))
        for metric in metrics_of(run):
            label = METRIC_INFO[metric][0]
            blocks += [Paragraph(f"**{label[:1].upper()}{label[1:]}** ({'higher' if METRIC_INFO[metric][2] else 'lower'}"
                                 " is better):"),
                       summary_table(run, metric, baseline)]
        blocks += [Heading(f"Each allocator across programs, relative to {baseline}", 3),
                   Paragraph(f"The geometric mean over the cases (as in the last rows above) and the worst case: the "
                             f"case with the highest ratio to {baseline}, named under it, with its 95 % interval. A "
                             f"bound \"at most x times {baseline} on every program\" holds where the worst case's "
                             "interval lies below x. A case where the allocator did not fit in its memory budget (an "
                             "allocator that never frees) has no ratio and is named in the last column.", css="legend"),
                   per_allocator_table(run, baseline)]
    else:
        blocks.append(Paragraph(f"No `{baseline}` run in this folder: no ratios, only the memory over time."))
    blocks += [Heading("Fastest per program", 3),
               Paragraph("Per case, the allocator with the lowest median wall time, and every allocator these runs "
                         "cannot tell from it: its wall time divided by the fastest one's in the same pass, the median "
                         "of those ratios and its 95 % interval, which includes 1. An allocator that did not fit in its "
                         "memory budget on a case is named, not ranked.", css="legend"),
               fastest_table(run),
               Heading("Failed runs", 3), *failed_blocks(run)]
    across = [c for c in charts if c.stem.startswith(("programs_summary", "programs_overview"))]
    per = [c for c in charts if c not in across]
    if across:
        blocks += [Heading("Charts across programs", 3), *_figures(across, prefix)]
    if per:
        blocks += [Heading("Charts per program", 3), *_figures(per, prefix)]
    if not charts:
        blocks.append(Paragraph("No chart: no program ran successfully."))
    return blocks


def document(run: ProgramsRun, charts: list[Chart], facts: dict[str, Any], baseline: str = summary.BASELINE,
             command: str = "") -> Document:
    """The report of a folder that holds only programs: machine facts, then the Programs section."""
    blocks: list[Block] = []
    rows = machine_rows(facts)
    if rows:
        blocks += [Heading("Machine"), KeyValues(rows)]
    blocks += section(run, charts, baseline, command)
    return Document(f"alloclab report: {run.folder.resolve().name}", style.footer_text(facts), tuple(blocks),
                    footer="Generated by plots from programs.csv, programs/plan.json, programs/raw/"
                           + (" and machine.json" if facts else "") + f". Baseline for ratios: {baseline}.",
                    css=CSS)
