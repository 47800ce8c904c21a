"""alloclab charts and report, drawn from results folders only.

  python3 -m plots DIR                  DIR/charts/*.png|svg, DIR/report.md, DIR/report.html
  python3 -m plots DIR_A DIR_B [...]    comparison: throughput of every folder side by side and the
                                        ratio of each later folder to the first, into --out
                                        (default DIR_A/compare/): *.png|svg, compare.md, compare.html
Options:
  --baseline NAME   allocator the summary charts are relative to (default malloc)
  --out DIR         where to write (one folder: instead of DIR; several: instead of DIR_A/compare)

Every input is read and checked before anything is written. Bad input gives one line
"plot: <what is wrong>" on stderr and exit code 2, and writes nothing. Each file is written to
a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from alloclab import results
from alloclab.cli import Parser
from alloclab.document import render_html, render_markdown
from alloclab.registry import RegistryError
from alloclab.results import ResultsError, Run


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


def one(run: Run, out: Path, baseline: str) -> None:
    check_baseline([run], baseline)
    check_writable(out, ["report.md", "report.html"])
    from plots import analysis, charts, report  # matplotlib is loaded only once the input is known to be good
    chart_list = charts.draw_all(run, out / "charts", baseline)
    _, page = report.write(run, chart_list, out, baseline)
    threads = run.thread_counts()
    for t in sorted({threads[0], threads[-1]}):
        print(report.text_summary(analysis.summary_table(run, t)) + "\n")
    print(f"plot: {len(chart_list)} charts in {out / 'charts'}; report {page}")


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


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="plot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="results folder(s)")
    parser.add_argument("--baseline", metavar="NAME",
                        help="allocator the summary charts are relative to (default malloc; one folder only)")
    parser.add_argument("--out", metavar="DIR",
                        help="output folder (default: DIR itself, or DIR_A/compare with several)")
    args = parser.parse_args(argv)
    try:
        runs = [results.read_run(d) for d in args.dirs]  # every folder checked before anything is made
        if len(runs) == 1:
            one(runs[0], Path(args.out or args.dirs[0]), args.baseline or "malloc")
        else:
            if args.baseline is not None:
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
