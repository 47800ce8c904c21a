#!/usr/bin/env python3
"""alloclab charts and report, drawn from results folders only.

  plot.py DIR                      DIR/charts/*.png|svg, DIR/report.md, DIR/report.html
  plot.py DIR_A DIR_B [...]        comparison: throughput of every folder side by side and the
                                   ratio of each later folder to the first, into --out
                                   (default DIR_A/compare/): *.png|svg, compare.md, compare.html
Options:
  --baseline NAME   allocator the summary charts are relative to (default malloc)
  --out DIR         where to write (one folder: instead of DIR; several: instead of DIR_A/compare)

Every input is read and checked before anything is written. Bad input gives one line
"plot: <what is wrong>" on stderr and exit code 2, and writes nothing. Each file is written to
a temporary name and renamed, so a reader never sees half a file.
"""

import argparse
import csv
import io
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness", "tools"))
sys.path.insert(0, HERE)
import results_io  # noqa: E402

STATUSES = ("ok", "skipped", "failed")


class BadInput(Exception):
    pass


def fail(message):
    print(f"plot: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(2)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        fail(message)


def check_csv(path):
    """Checks results.csv field by field before results_io.read_csv parses it."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise BadInput(f"{path}: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadInput(f"{path}: not UTF-8 text (byte {e.start})") from None
    if "\0" in text:
        raise BadInput(f"{path}: not a CSV file (it holds NUL bytes)")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise BadInput(f"{path}: not a valid CSV ({e})") from None
    if not records or not any(records[0]):
        raise BadInput(f"{path}: empty file, expected a header with the columns {', '.join(results_io.COLUMNS[:6])}, ...")
    header = records[0]
    missing = [c for c in results_io.COLUMNS if c not in header]
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise BadInput(f"{path}: not a results.csv: missing column{'s' if len(missing) > 1 else ''} {shown}")
    if len(records) < 2:
        raise BadInput(f"{path}: no rows below the header")
    col = {name: header.index(name) for name in results_io.COLUMNS}
    for line, rec in enumerate(records[1:], start=2):
        if not rec:
            continue
        if len(rec) != len(header):
            raise BadInput(f"{path}, line {line}: {len(rec)} fields, the header has {len(header)}")
        where = f"{path}, line {line}"
        if not rec[col["workload"]].strip() or not rec[col["allocator"]].strip():
            raise BadInput(f"{where}: empty workload or allocator")
        try:
            threads = int(rec[col["threads"]])
        except ValueError:
            raise BadInput(f"{where}: threads {rec[col['threads']]!r} is not a whole number") from None
        if threads < 1:
            raise BadInput(f"{where}: threads {threads} is not positive")
        rep = rec[col["repetition"]]
        if rep and not rep.strip().isdigit():
            raise BadInput(f"{where}: repetition {rep!r} is not a whole number")
        status = rec[col["status"]]
        if status not in STATUSES:
            raise BadInput(f"{where}: status {status!r} is not one of {', '.join(STATUSES)}")
        for m in results_io.METRICS:
            value = rec[col[m]]
            if value == "":
                continue
            try:
                number = float(value)
            except ValueError:
                raise BadInput(f"{where}: {m} {value!r} is not a number") from None
            if not math.isfinite(number) or number < 0:
                raise BadInput(f"{where}: {m} {value!r} is not a finite non-negative number")
        if status == "ok":
            for m in ("items_per_second", "ns_per_op"):
                value = rec[col[m]]
                if value == "" or float(value) <= 0:
                    raise BadInput(f"{where}: status ok but {m} is {value or 'empty'!r}")


def load_run(folder):
    """(rows, facts, command) of a results folder; BadInput naming the file and the fault."""
    if not os.path.exists(folder):
        raise BadInput(f"{folder}: no such folder")
    if not os.path.isdir(folder):
        raise BadInput(f"{folder}: not a folder")
    csv_path = os.path.join(folder, "results.csv")
    if not os.path.isfile(csv_path):
        raise BadInput(f"{csv_path}: missing (not a results folder?)")
    check_csv(csv_path)
    try:
        rows = results_io.read_csv(csv_path)
        facts = results_io.read_json(os.path.join(folder, "machine.json"))
    except results_io.ResultsError as e:
        raise BadInput(str(e)) from None
    machine = os.path.join(folder, "machine.json")
    if not isinstance(facts, dict):
        raise BadInput(f"{machine}: expected a JSON object, found {type(facts).__name__}")
    for key in ("hardware_threads", "num_cpus"):
        value = facts.get(key)
        if value not in (None, ""):
            try:
                ok = int(str(value).strip()) > 0
            except ValueError:
                ok = False
            if not ok:
                raise BadInput(f"{machine}: {key} {value!r} is not a positive whole number")
    command_path = os.path.join(folder, "command.txt")
    if os.path.exists(command_path):
        try:
            with open(command_path, encoding="utf-8") as f:
                command = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise BadInput(f"{command_path}: {getattr(e, 'strerror', None) or e}") from None
    else:
        command = str(facts.get("command") or "(not recorded)")
    return rows, facts, command


def one(folder, out, baseline):
    rows, facts, command = load_run(folder)
    names = sorted({r["allocator"] for r in rows})
    if baseline not in names:
        raise BadInput(f"--baseline {baseline!r}: no such allocator in {os.path.join(folder, 'results.csv')} "
                       f"(allocators: {', '.join(names)})")
    import charts  # matplotlib is loaded only once the input is known to be good
    import report
    chart_dir = os.path.join(out, "charts")
    chart_list = charts.draw_all(rows, facts, chart_dir, baseline)
    md, page = report.write(folder, rows, facts, command, chart_list, baseline, out=out)
    threads = charts.thread_counts(rows)
    for t in sorted({threads[0], threads[-1]}) if threads else []:
        print(report.text_summary(report.summary_table(rows, t, facts)) + "\n")
    print(f"plot: {len(chart_list)} charts in {chart_dir}; report {page}")


def compare(folders, loaded, out):
    import charts
    import report
    import style
    runs, names = [], []
    for i, (folder, (rows, facts, _)) in enumerate(zip(folders, loaded)):
        names.append(os.path.basename(os.path.abspath(folder)))
        runs.append((f"run {i + 1} ({names[-1]}): {style.short_label(facts)}", rows, facts))
    workloads = []
    for _, rows, facts in runs:
        workloads += [w for w in charts.workloads_of(rows, facts) if w not in workloads]
    chart_list = []
    for w in workloads:
        c = charts.compare_throughput_chart(runs, out, w)
        if c:
            chart_list.append(c)
    relatives = []
    _, rows_a, facts_a = runs[0]
    for i, (_, rows_b, facts_b) in enumerate(runs[1:], start=2):
        c = charts.compare_relative_chart(names[0], rows_a, facts_a, names[i - 1], rows_b, facts_b, out, index=i)
        if c:
            chart_list.append(c)
        relatives.append((i, charts.relative_runs(rows_a, rows_b, facts_a=facts_a, facts_b=facts_b)))
    md, page = report.comparison([(label, folder, facts) for (label, _, facts), folder in zip(runs, folders)],
                                 chart_list, relatives)
    results_io.write_atomically(os.path.join(out, "compare.md"), md)
    results_io.write_atomically(os.path.join(out, "compare.html"), page)
    print(f"plot: {len(chart_list)} charts and compare.html in {out}")


def main(argv=None):
    parser = Parser(prog="plot.py", description="Charts and report of alloclab results folders.")
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="results folder(s)")
    parser.add_argument("--baseline", default="malloc", help="allocator the summary is relative to (default malloc)")
    parser.add_argument("--out", help="output folder (default: DIR itself, or DIR_A/compare with several)")
    args = parser.parse_args(argv)
    try:
        if len(args.dirs) == 1:
            one(args.dirs[0], args.out or args.dirs[0], args.baseline)
        else:
            out = args.out or os.path.join(args.dirs[0], "compare")
            loaded = [load_run(d) for d in args.dirs]  # every folder checked before anything is made
            os.makedirs(out, exist_ok=True)
            compare(args.dirs, loaded, out)
    except BadInput as e:
        fail(e)
    except results_io.ResultsError as e:
        fail(e)
    except OSError as e:
        fail(f"{e.filename or 'output'}: {e.strerror}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
