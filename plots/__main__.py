"""alloclab charts and report, drawn from results folders only.

  python3 -m plots DIR                  DIR/charts/*.png|svg, DIR/report.md, DIR/report.html: the sweep
                                        (results.csv) and the real programs (programs.csv), whichever
                                        the folder holds; programs' charts are charts/programs_*
  python3 -m plots DIR_A DIR_B [...]    comparison: throughput of every folder side by side and the
                                        ratio of each later folder to the first, into --out
                                        (default DIR_A/compare/): *.png|svg, compare.md, compare.html
Options:
  --baseline NAME   allocator the sweep's summary charts are relative to (default malloc); in a
                    folder with only programs, the same as --programs-baseline
  --programs-baseline NAME
                    allocator the programs' ratios are relative to (default glibc)
  --out DIR         where to write (one folder: instead of DIR; several: instead of DIR_A/compare)

Every input is read and checked before anything is written. Bad input gives one line
"plot: <what is wrong>" on stderr and exit code 2, and writes nothing. Each file is written to
a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from alloclab import results
from alloclab.cli import Parser
from alloclab.document import render_html, render_markdown
from alloclab.programs import records, summary
from alloclab.programs.records import ProgramsRun
from alloclab.registry import RegistryError
from alloclab.results import ResultsError, Run

if TYPE_CHECKING:  # matplotlib is loaded only once the input is known to be good
    from plots.charts import Chart


def fail(message: object) -> NoReturn:
    print(f"plot: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(2)


def check_baseline(runs: list[Run], baseline: str) -> None:
    names = sorted({r.allocator for run in runs for r in run.rows})
    if baseline not in names:
        where = " or ".join(str(run.folder / "results.csv") for run in runs)
        fail(f"--baseline {baseline!r}: no such allocator in {where} (allocators: {', '.join(names)})")


def check_writable(out: Path, names: list[str]) -> None:
    """What the tool will write is checked before anything is drawn."""
    for name in names:
        if (out / name).exists() and not (out / name).is_file():
            fail(f"{out / name}: is a folder, not a file that can be written")
    if (out / "charts").exists() and not (out / "charts").is_dir():
        fail(f"{out / 'charts'}: is a file, not the charts folder")


def read_facts(folder: Path) -> dict[str, Any]:
    """machine.json of a folder with only programs: optional, checked as a sweep's is."""
    path = folder / "machine.json"
    return results._read_facts(path) if path.exists() else {}


def check_programs_baseline(programs: ProgramsRun, baseline: str, option: str | None) -> None:
    """An allocator asked for by name (option) must be there; the default may be missing (then
    only the memory charts are drawn and the report says why)."""
    if option is not None and baseline not in programs.allocators():
        fail(f"{option} {baseline!r}: no such allocator in {programs.folder / 'programs.csv'} "
             f"(allocators: {', '.join(programs.allocators())})")


def one(run: Run | None, out: Path, baseline: str, programs: ProgramsRun | None = None,
        programs_baseline: str = "glibc", facts: dict[str, Any] | None = None) -> None:
    """The charts and the report of one folder: its sweep (run), its programs, or both."""
    if run is not None:
        check_baseline([run], baseline)
    check_writable(out, ["report.md", "report.html"])
    # A folder of programs alone keeps its claims' verdicts beside them (a sweep's Run reads its own).
    claims_path = programs.folder / "claims.json" if programs is not None else None
    program_claims = results.read_claims(claims_path) if run is None and claims_path and claims_path.exists() else ()
    # matplotlib is loaded only once the input is known to be good
    from plots import analysis, charts, program_charts as pcharts, program_report, report
    chart_list = charts.draw_all(run, out / "charts", baseline) if run is not None else []
    program_charts: list[Chart] = []
    command = ""
    if programs is not None:
        command = program_report.read_command(programs.folder)
        program_charts = pcharts.draw_all(programs, out / "charts", programs_baseline,
                                          run.facts if run is not None else facts)
    if run is not None:
        extra = program_report.section(programs, program_charts, programs_baseline, command) \
            if programs is not None else []
        _, page = report.write(run, chart_list, out, baseline, extra)
        threads = run.thread_counts()
        for t in sorted({threads[0], threads[-1]}):
            print(report.text_summary(analysis.summary_table(run, t)) + "\n")
    else:
        assert programs is not None
        doc = program_report.document(programs, program_charts, facts or {}, programs_baseline, command)
        doc = dataclasses.replace(doc, blocks=doc.blocks + tuple(report.claims_blocks(program_claims)))
        results.write_atomically(out / "report.md", render_markdown(doc))
        results.write_atomically(out / "report.html", render_html(doc))
        page = out / "report.html"
    if programs is not None:
        print(program_report.text_summary(programs, programs_baseline) + "\n")
    print(f"plot: {len(chart_list) + len(program_charts)} charts in {out / 'charts'}; report {page}")


def compare(runs: list[Run], out: Path) -> None:
    from plots import analysis, charts, report, style
    labelled = [(f"run {i + 1} ({run.name}): {style.short_label(run.facts)}", run) for i, run in enumerate(runs)]
    workloads: list[str] = []
    for run in runs:
        workloads += [w for w in run.workloads() if w not in workloads]
    chart_list = [c for w in workloads if (c := charts.compare_throughput_chart(labelled, out, w)) is not None]
    relatives = []
    for i, run in enumerate(runs[1:], start=2):
        c = charts.compare_relative_chart(runs[0], run, out, index=i)
        if c is not None:
            chart_list.append(c)
        relatives.append((i, analysis.relative_runs(runs[0], run)))
    doc = report.comparison(labelled, chart_list, relatives)
    results.write_atomically(out / "compare.md", render_markdown(doc))
    results.write_atomically(out / "compare.html", render_html(doc))
    print(f"plot: {len(chart_list)} charts and compare.html in {out}")


def one_folder(args: argparse.Namespace) -> None:
    """One folder: a sweep, programs or both, every file read and checked before anything is drawn."""
    folder = Path(args.dirs[0])
    with_programs = folder.is_dir() and records.has_programs(folder)
    with_sweep = folder.is_dir() and (folder / "results.csv").is_file()
    if folder.is_dir() and not with_programs and not with_sweep:
        fail(f"{folder}: no results.csv or programs.csv (not a results folder?)")
    run = results.read_run(folder) if with_sweep or not with_programs else None
    if not with_programs:
        if args.programs_baseline is not None:
            fail(f"--programs-baseline: {folder} has no programs.csv")
        one(run, Path(args.out or folder), args.baseline or "malloc")
        return
    programs = records.read_programs(folder)
    if run is None and args.baseline is not None and args.programs_baseline is not None:
        fail(f"--baseline and --programs-baseline: {folder} holds only programs; give one of them")
    chosen = args.programs_baseline if run is not None else (args.programs_baseline or args.baseline)
    option = None if chosen is None else "--programs-baseline" if args.programs_baseline is not None else "--baseline"
    check_programs_baseline(programs, chosen or summary.BASELINE, option)
    facts = run.facts if run is not None else read_facts(folder)
    one(run, Path(args.out or folder), args.baseline or "malloc", programs, chosen or summary.BASELINE, facts)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="plot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="results folder(s)")
    parser.add_argument("--baseline", metavar="NAME",
                        help="allocator the summary charts are relative to (default malloc; one folder only)")
    parser.add_argument("--programs-baseline", metavar="NAME",
                        help="allocator the programs' ratios are relative to (default glibc; one folder only)")
    parser.add_argument("--out", metavar="DIR",
                        help="output folder (default: DIR itself, or DIR_A/compare with several)")
    args = parser.parse_args(argv)
    try:
        if len(args.dirs) == 1:
            one_folder(args)
        else:
            runs = [results.read_run(d) for d in args.dirs]  # every folder checked before anything is made
            if args.baseline is not None or args.programs_baseline is not None:
                fail("--baseline applies to one folder's summary charts; a comparison has no baseline")
            out = Path(args.out or Path(args.dirs[0]) / "compare")
            if out.exists() and not out.is_dir():
                fail(f"--out {out}: is a file, not a folder")
            check_writable(out, ["compare.md", "compare.html"])
            out.mkdir(parents=True, exist_ok=True)
            compare(runs, out)
    except (ResultsError, RegistryError) as e:
        fail(e)
    except OSError as e:
        fail(f"{e.filename or 'output'}: {e.strerror}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
