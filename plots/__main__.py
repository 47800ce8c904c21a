"""alloclab charts and report, drawn from results folders only.

  python3 -m plots DIR                  DIR/charts/*.png|svg, DIR/report.md, DIR/report.html: the sweep
                                        (results.csv) and the real programs (programs.csv), whichever
                                        the folder holds; programs' charts are charts/programs_*
  python3 -m plots DIR_A DIR_B [...]    comparison: throughput of every folder side by side and the
                                        ratio of each later folder to the first, into --out
                                        (default DIR_A/compare/): *.png|svg, compare.md, compare.html

A folder whose rows ran on several machines (sweep merge --allow-mixed-machines: results.csv's
machine column) is never drawn pooled: its report is the comparison of its machines, one run per
machine (DIR/charts/compare_*, DIR/report.md, DIR/report.html), and in a comparison of several
folders each of its machines is a run of its own. --baseline does not apply to it.
Options:
  --baseline NAME   allocator the sweep's summary charts are relative to (default malloc, or the
                    first allocator measured when malloc was not); in a
                    folder with only programs, the same as --programs-baseline
  --programs-baseline NAME
                    allocator the programs' ratios are relative to (default glibc)
  --out DIR         where to write (one folder: instead of DIR; several: instead of DIR_A/compare)

Every input is read and checked before anything is written: each DIR (a folder that a sweep or
a programs run wrote, each named once), its results.csv or programs.csv (every row and field),
machine.json, registry.json, command.txt, programs/plan.json, programs/command.txt and
claims.json; --out (not empty, not a file, its parent an existing folder). Bad input gives one
line "plot: <what is wrong> (valid: ...)" on stderr and exit code 2, and writes nothing. Each
file is written to a temporary name and renamed, so a reader never sees half a file. (A raw
record in programs/raw/ that cannot be read only leaves its run's memory timeline undrawn.)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import warnings
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from alloclab import results
from alloclab.cli import Parser
from alloclab.document import Block, Paragraph, render_html, render_markdown
from alloclab.programs import records
from alloclab.programs.records import ProgramsRun
from alloclab.registry import Registry, RegistryError
from alloclab.results import ResultsError, Run

if TYPE_CHECKING:  # matplotlib is loaded only once the input is known to be good
    from plots.charts import Chart


# What a message about a file's content points to when it does not say what is valid itself.
VALID_FILES = "a results folder as sweep or programs write it; results/README.md describes each file"


def fail(message: object) -> NoReturn:
    text = " ".join(str(message).split())
    if "valid:" not in text:
        text += f" (valid: {VALID_FILES})"
    print(f"plot: {text}", file=sys.stderr)
    sys.exit(2)


def check_baseline(runs: list[Run], baseline: str) -> None:
    names = sorted({r.allocator for run in runs for r in run.rows})
    if baseline not in names:
        where = " or ".join(str(run.folder / "results.csv") for run in runs)
        fail(f"--baseline {baseline!r}: no such allocator in {where} (valid: {', '.join(names)})")


def default_baseline(run: Run | None) -> str:
    """malloc when the run measured it (the usual reference), else the first allocator it
    measured: a sweep of alloclab's own allocators alone is drawn, not refused."""
    names = sorted({r.allocator for r in run.rows}) if run is not None else []
    return "malloc" if "malloc" in names or not names else names[0]


def check_writable(out: Path, names: list[str]) -> None:
    """What the tool will write is checked before anything is drawn."""
    for name in names:
        if (out / name).exists() and not (out / name).is_file():
            fail(f"{out / name}: is a folder, not a file that can be written (valid: a file, or nothing, there)")
    if (out / "charts").exists() and not (out / "charts").is_dir():
        fail(f"{out / 'charts'}: is a file, not the charts folder (valid: a folder, or nothing, there)")
    charts = out / "charts" if names[0] == "report.md" else out
    if charts.is_dir():  # a chart's name taken by a folder would stop the drawing half-way
        for entry in sorted(charts.iterdir()):
            if entry.suffix in (".png", ".svg", ".json") and not entry.name.startswith(".") and not entry.is_file():
                fail(f"{entry}: is not a file, and a chart may be written there (valid: a file, or nothing, there)")


def read_facts(folder: Path) -> dict[str, Any]:
    """machine.json of a folder with only programs: optional, checked as a sweep's is."""
    path = folder / "machine.json"
    return results._read_facts(path) if path.exists() else {}


def check_programs_baseline(programs: ProgramsRun, baseline: str, option: str | None) -> None:
    """An allocator asked for by name (option) must be there; the default may be missing (then
    only the memory charts are drawn and the report says why)."""
    if option is not None and baseline not in programs.allocators():
        fail(f"{option} {baseline!r}: no such allocator in {programs.folder / 'programs.csv'} "
             f"(valid: {', '.join(programs.allocators())})")


def read_program_extras(folder: Path) -> tuple[str, tuple[dict[str, Any], ...]]:
    """programs/command.txt and, in a folder of programs alone, registry.json and claims.json:
    each checked before anything is drawn (a file that exists must be whole)."""
    path = folder / "programs" / "command.txt"
    command = ""
    if path.exists():
        results.regular_file(path)
        try:
            command = path.read_text(encoding="utf-8")[:100_000].strip()
        except UnicodeDecodeError as e:
            raise ResultsError(f"{path}: not UTF-8 text (byte {e.start})") from None
        except OSError as e:
            raise ResultsError(f"{path}: {e.strerror}") from None
    claims: tuple[dict[str, Any], ...] = ()
    if not (folder / "results.csv").exists():  # a sweep's Run reads and checks them itself
        registry = folder / "registry.json"
        if registry.exists():
            Registry.from_json(results.read_json(registry), str(registry))
        if (folder / "claims.json").exists():
            claims = results.read_claims(folder / "claims.json")
    return command, claims


def one(run: Run | None, out: Path, baseline: str, programs: ProgramsRun | None = None,
        programs_baseline: str = "glibc", facts: dict[str, Any] | None = None) -> None:
    """The charts and the report of one folder: its sweep (run), its programs, or both."""
    if run is not None:
        check_baseline([run], baseline)
    check_writable(out, ["report.md", "report.html"])
    # A folder of programs alone keeps its claims' verdicts beside them (a sweep's Run reads its own).
    command, program_claims = read_program_extras(programs.folder) if programs is not None else ("", ())
    # matplotlib is loaded only once the input is known to be good
    from plots import analysis, charts, program_charts as pcharts, program_report, report
    chart_list = charts.draw_all(run, out / "charts", baseline) if run is not None else []
    program_charts: list[Chart] = []
    if programs is not None:
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


def per_machine(runs: list[Run]) -> list[Run]:
    """Each folder as the runs a comparison draws: itself, or one run per machine where its rows
    ran on several (a merge across machines is never pooled)."""
    return [part for run in runs for part in
            ([run.for_machine(m) for m in run.machines()] if len(run.machines()) > 1 else [run])]


def compare(runs: list[Run], out: Path, labels: Sequence[str] | None = None, name: str = "compare",
            charts_dir: Path | None = None, intro: Sequence[Block] = (), extra: Sequence[Block] = (),
            title: str = "alloclab comparison") -> list[Chart]:
    """Throughput of every run side by side and each later run's ratio to the first: charts into
    charts_dir (default out), the document into out/NAME.md and .html. -> the charts drawn."""
    from plots import analysis, charts, report, style
    charts_dir = charts_dir or out
    if labels is None:
        labels = [f"run {i + 1} ({run.name}): {style.short_label(run.facts)}" for i, run in enumerate(runs)]
    labelled = list(zip(labels, runs))
    workloads: list[str] = []
    for run in runs:
        workloads += [w for w in run.workloads() if w not in workloads]
    chart_list = [c for w in workloads if (c := charts.compare_throughput_chart(labelled, charts_dir, w)) is not None]
    relatives = []
    for i, run in enumerate(runs[1:], start=2):
        c = charts.compare_relative_chart(runs[0], run, charts_dir, index=i)
        if c is not None:
            chart_list.append(c)
        relatives.append((i, analysis.relative_runs(runs[0], run)))
    prefix = "" if charts_dir == out else Path(os.path.relpath(charts_dir, out)).as_posix() + "/"
    doc = report.comparison(labelled, chart_list, relatives, prefix=prefix, intro=intro, extra=extra, title=title)
    results.write_atomically(out / f"{name}.md", render_markdown(doc))
    results.write_atomically(out / f"{name}.html", render_html(doc))
    print(f"plot: {len(chart_list)} charts in {charts_dir} and {name}.html in {out}")
    return chart_list


def machines_report(run: Run, out: Path, programs: ProgramsRun | None = None, programs_baseline: str = "glibc",
                    facts: dict[str, Any] | None = None) -> list[Chart]:
    """The report of a folder whose rows ran on several machines: the comparison of its machines,
    one run each, into out/charts and out/report.md|html; no figure or table pools machines."""
    check_writable(out, ["report.md", "report.html"])
    command, _ = read_program_extras(programs.folder) if programs is not None else ("", ())
    from plots import analysis, program_charts as pcharts, program_report, report
    labels = run.machines()
    runs = [run.for_machine(m) for m in labels]
    intro: list[Block] = [Paragraph(
        f"This folder merges the results of {len(labels)} machines (`sweep merge --allow-mixed-machines`). Every "
        "figure and table below is per machine, not pooled: a median is over one machine's repetitions, and "
        "machines are compared side by side and as ratios. " + "; ".join(
            f"run {i + 1}: {m}" for i, m in enumerate(labels)) + ".")]
    extra: list[Block] = []
    program_charts: list[Chart] = []
    if programs is not None:  # the programs name no machine: drawn as the folder holds them
        program_charts = pcharts.draw_all(programs, out / "charts", programs_baseline, facts)
        extra = program_report.section(programs, program_charts, programs_baseline, command)
    chart_list = compare(runs, out, labels, "report", out / "charts", intro, extra, f"alloclab report: {run.name}")
    for label, machine_run in zip(labels, runs):
        t = max(machine_run.thread_counts())
        print(f"{label}:\n{report.text_summary(analysis.summary_table(machine_run, t))}\n")
    if programs is not None:
        print(program_report.text_summary(programs, programs_baseline) + "\n")
    return chart_list + program_charts


def one_folder(args: argparse.Namespace) -> None:
    """One folder: a sweep, programs or both, every file read and checked before anything is drawn."""
    folder = Path(args.dirs[0])
    with_programs = folder.is_dir() and records.has_programs(folder)
    with_sweep = folder.is_dir() and (folder / "results.csv").exists()
    run = results.read_run(folder) if with_sweep or not with_programs else None
    mixed = run is not None and len(run.machines()) > 1
    if mixed and args.baseline is not None:
        assert run is not None
        fail(f"--baseline: {folder} holds the results of {len(run.machines())} machines, drawn as their comparison, "
             "which has no baseline (valid: --baseline with a folder of one machine)")
    if not with_programs:
        if args.programs_baseline is not None:
            fail(f"--programs-baseline: {folder} has no programs.csv (valid: --programs-baseline with a folder "
                 "of programs; --baseline for a sweep's)")
        if mixed:
            assert run is not None
            machines_report(run, out_folder(args, folder))
        else:
            one(run, out_folder(args, folder), args.baseline or default_baseline(run))
        return
    programs = records.read_programs(folder)
    if run is None and args.baseline is not None and args.programs_baseline is not None:
        fail(f"--baseline and --programs-baseline: {folder} holds only programs (valid: one of them)")
    chosen = args.programs_baseline if run is not None else (args.programs_baseline or args.baseline)
    option = None if chosen is None else "--programs-baseline" if args.programs_baseline is not None else "--baseline"
    from alloclab.programs import summary  # numpy and scipy load once the files are read
    check_programs_baseline(programs, chosen or summary.BASELINE, option)
    facts = run.facts if run is not None else read_facts(folder)
    if mixed:
        assert run is not None
        shared = {k: v for k, v in facts.items() if k not in results.NODE_FACTS}  # not one node's for all
        machines_report(run, out_folder(args, folder), programs, chosen or summary.BASELINE, shared)
        return
    one(run, out_folder(args, folder), args.baseline or default_baseline(run), programs, chosen or summary.BASELINE, facts)


def check_dirs(dirs: list[str]) -> None:
    """Each DIR a folder a sweep or programs run wrote, each named once."""
    valid = "a results folder holding results.csv or programs.csv, each named once"
    seen: list[tuple[str, Path]] = []
    for d in dirs:
        if not d.strip():
            fail(f"bad DIR '{d}' (valid: {valid})")
        folder = Path(d)
        if not folder.exists():
            fail(f"bad DIR '{d}': no such folder (valid: {valid})")
        if not folder.is_dir():
            fail(f"bad DIR '{d}': not a folder (valid: {valid})")
        if not (folder / "results.csv").exists() and not records.has_programs(folder):
            fail(f"bad DIR '{d}': no results.csv or programs.csv in it, not a results folder (valid: {valid})")
        for earlier, path in seen:
            if os.path.samefile(path, folder):
                fail(f"DIR '{d}' is '{earlier}' again (valid: {valid})")
        seen.append((d, folder))


def check_out(out: str | None) -> None:
    """--out: a folder (made if missing) in an existing folder; not empty, not a file."""
    if out is None:
        return
    valid = "a folder, new or not, whose parent exists"
    if not out.strip():
        fail(f"bad --out '{out}' (valid: {valid})")
    path = Path(out)
    if path.exists() and not path.is_dir():
        fail(f"bad --out '{out}': is a file, not a folder (valid: {valid})")
    if not path.exists() and not path.absolute().parent.is_dir():
        fail(f"bad --out '{out}': its parent '{path.absolute().parent}' is not a folder (valid: {valid})")


def out_folder(args: argparse.Namespace, folder: Path) -> Path:
    return Path(args.out) if args.out is not None else folder


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
    for flag, value in (("--baseline", args.baseline), ("--programs-baseline", args.programs_baseline)):
        if value is not None and not value.strip():
            fail(f"bad {flag} '{value}' (valid: an allocator's name in the folder)")
    check_dirs(args.dirs)
    check_out(args.out)
    # A chart of constant values (a metric that is 0 throughout) is drawn; matplotlib's notes
    # that it widened an axis or left a log axis empty are not the user's business.
    for note in ("Attempting to set identical", "Data has no positive values"):
        warnings.filterwarnings("ignore", message=note, category=UserWarning)
    try:
        if len(args.dirs) == 1:
            one_folder(args)
        else:
            if args.baseline is not None or args.programs_baseline is not None:
                fail("--baseline applies to one folder's summary charts; a comparison has no baseline "
                     "(valid: --baseline with one DIR)")
            for d in args.dirs:
                if not (Path(d) / "results.csv").exists():
                    fail(f"bad DIR '{d}': no results.csv in it; a comparison compares sweeps "
                         "(valid: folders a sweep wrote; a folder of programs alone is drawn by itself)")
            # Every folder checked before anything is made; one of several machines compared by machine.
            runs = per_machine([results.read_run(d) for d in args.dirs])
            out = Path(args.out) if args.out is not None else Path(args.dirs[0]) / "compare"
            if out.exists() and not out.is_dir():
                fail(f"--out {out}: is a file, not a folder (valid: a folder, new or not)")
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
