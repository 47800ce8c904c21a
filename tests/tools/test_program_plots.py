"""Tests of the programs' charts and report section (plots/program_charts.py, plots/program_report.py)
and of how python3 -m plots handles a folder with programs.csv.

Run: PYTHONPATH=harness:. /usr/bin/python3 -m unittest tests/tools/test_program_plots.py -v   (needs matplotlib)

The fixture tests/data/programs_run/ is a hand-made programs run (made-up numbers): lua (1 thread)
and kvstore (a threaded server, 2 threads) x glibc, jemalloc, mimalloc x 3 repetitions.
lua/jemalloc is clearly faster than glibc, lua/mimalloc's wall time is a tie (its per-pass ratios
1.01, 0.98, 1.01 straddle 1), and kvstore/mimalloc failed in repetition 2 (SIGSEGV). The numbers
checked here are computed from programs.csv with the csv module, not through the code under test.
"""

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE = os.path.join(ROOT, "tests", "data", "programs_run")
SWEEP = os.path.join(ROOT, "tests", "data", "sample_run")

from alloclab.programs import records
from plots import program_charts, program_report

STEMS = {"programs_summary_vs_glibc", "programs_overview_wall_s_vs_glibc", "programs_overview_peak_rss_bytes_vs_glibc",
         "programs_relative_lua_t1", "programs_memory_lua_t1", "programs_relative_kvstore_t2",
         "programs_memory_kvstore_t2"}


def run_plot(*args):
    return subprocess.run([sys.executable, "-m", "plots", *args], capture_output=True, text=True, timeout=180)


def csv_rows(folder):
    with open(os.path.join(folder, "programs.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def by_rep(rows, program, allocator, metric):
    return {int(r["repetition"]): float(r[metric]) for r in rows
            if r["program"] == program and r["allocator"] == allocator and r["status"] == "ok"}


def per_pass_median(rows, program, allocator, metric, baseline="glibc"):
    a, b = by_rep(rows, program, allocator, metric), by_rep(rows, program, baseline, metric)
    return statistics.median(a[r] / b[r] for r in sorted(set(a) & set(b)))


def copy_fixture(parent, name="run"):
    dst = os.path.join(parent, name)
    shutil.copytree(FIXTURE, dst)
    return dst


class ProgramsOnly(unittest.TestCase):
    """python3 -m plots on a copy of the fixture (a folder with programs only), drawn once."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="alloclab-program-plots-")
        cls.folder = copy_fixture(cls.tmp)
        cls.proc = run_plot(cls.folder)
        cls.rows = csv_rows(cls.folder)
        cls.charts = os.path.join(cls.folder, "charts")
        cls.md = Path(cls.folder, "report.md").read_text(encoding="utf-8") if cls.proc.returncode == 0 else ""
        cls.html = Path(cls.folder, "report.html").read_text(encoding="utf-8") if cls.proc.returncode == 0 else ""

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def data(self, stem):
        with open(os.path.join(self.charts, stem + ".json"), encoding="utf-8") as f:
            return json.load(f)

    def test_charts_written_as_png_svg_and_json(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        names = os.listdir(self.charts)
        self.assertFalse([n for n in names if n.endswith(".tmp") or n.startswith(".")], "temporary files left")
        for ext in ("png", "svg", "json"):
            self.assertEqual({n[:-len(ext) - 1] for n in names if n.endswith("." + ext)}, STEMS, ext)
        for stem in STEMS:
            with open(os.path.join(self.charts, stem + ".png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", stem)
            self.assertTrue(ET.parse(os.path.join(self.charts, stem + ".svg")).getroot().tag.endswith("svg"), stem)
            self.assertIn("title", self.data(stem))

    def test_report_embeds_every_chart_and_is_self_contained(self):
        for stem in STEMS:
            self.assertIn(f'<img src="charts/{stem}.png"', self.html)
            self.assertIn(f"(charts/{stem}.png)", self.md)
        lowered = self.html.lower()
        for banned in ("<script", "http://", "https://", "<link"):
            self.assertNotIn(banned, lowered)
        self.assertIn("## Machine", self.md)
        self.assertIn("AMD EPYC", self.md)

    def test_report_section_says_what_ran(self):
        self.assertIn("## Programs", self.md)
        for text in ("lua5.4 5.4.4-3+deb12u1", "made up for the tests", "persistence", "3 interleaved repetitions",
                     "Input scale 0.1", "ran at 2 threads", "17 of 18 runs succeeded",
                     "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "python3 -m alloclab.programs run"):
            self.assertIn(text, self.md)

    def test_summary_table_marks_the_tie_and_explains_it(self):
        self.assertIn("**tie**: the interval includes 1", self.md)
        lua = [line for line in self.md.splitlines() if line.startswith("| lua | 1 |")]
        self.assertEqual(len(lua), 3, lua)  # wall time, peak RSS, the fastest per program
        wall = [c.strip() for c in lua[0].strip("|").split("|")]
        self.assertEqual(wall[2], "1.00")  # glibc's median wall time, s
        self.assertTrue(wall[3].endswith("· faster"), wall)  # jemalloc: 0.8 in every pass
        self.assertTrue(wall[4].endswith("· tie"), wall)  # mimalloc: per-pass ratios straddle 1
        value = float(wall[4].split()[0])
        self.assertAlmostEqual(value, per_pass_median(self.rows, "lua", "mimalloc", "wall_s"), places=3)
        low, high = (float(x) for x in wall[4].split("[")[1].split("]")[0].split(","))
        self.assertLessEqual(low, 1.0)
        self.assertGreaterEqual(high, 1.0)
        rss = [c.strip() for c in lua[1].strip("|").split("|")]
        self.assertEqual(rss[2], "14.0")  # MiB
        self.assertIn("· more memory", rss[3])
        self.assertIn("· less memory", rss[4])
        self.assertIn("tie", self.proc.stdout)
        self.assertIn("programs: wall time relative to glibc", self.proc.stdout)

    def test_each_allocator_across_programs_and_the_fastest_per_program(self):
        # Per allocator: geometric mean and worst case of both ratios, each with its interval.
        jemalloc = [c.strip() for c in next(line for line in self.md.splitlines()
                                            if line.startswith("| jemalloc |")).strip("|").split("|")]
        self.assertEqual(len(jemalloc), 6, jemalloc)
        self.assertTrue(jemalloc[2].endswith("· kvstore (2 threads)"), jemalloc)  # 0.95 there, 0.8 on lua
        self.assertAlmostEqual(float(jemalloc[2].split()[0]),
                               per_pass_median(self.rows, "kvstore", "jemalloc", "wall_s"), places=3)
        self.assertTrue(jemalloc[4].endswith("· lua"), jemalloc)  # peak RSS 1.143 on lua
        self.assertEqual(jemalloc[5], "\u2014")  # it fit everywhere
        # Per case: the allocator with the best median, and who ties with it.
        fastest = next(line for line in self.md.splitlines() if line.startswith("| lua | 1 | jemalloc"))
        self.assertIn("none: the fastest outright", fastest)

    def test_failed_run_listed_with_its_reason(self):
        self.assertIn("1 of 18 runs failed", self.md)
        line = next(line for line in self.md.splitlines() if line.startswith("| kvstore | 2 | mimalloc |"))
        self.assertIn("1 of 3", line)
        self.assertIn("r2: exit -11 (signal SIGSEGV): Segmentation fault", line)
        self.assertIn("(1 failed)", self.md)

    def test_relative_chart_numbers_are_per_pass_medians(self):
        data = self.data("programs_relative_lua_t1")
        self.assertEqual(data["metrics"], ["wall_s", "peak_rss_bytes"])
        for a in ("jemalloc", "mimalloc"):
            for m in ("wall_s", "peak_rss_bytes"):
                self.assertAlmostEqual(data["relative"][m][a]["value"], per_pass_median(self.rows, "lua", a, m),
                                       places=9)
        self.assertEqual(data["relative"]["wall_s"]["mimalloc"]["verdict"], "tie")
        self.assertEqual(data["relative"]["wall_s"]["jemalloc"]["verdict"], "lower")

    def test_server_gets_requests_per_second_and_failures_are_left_out(self):
        data = self.data("programs_relative_kvstore_t2")
        self.assertEqual(data["metrics"], ["wall_s", "peak_rss_bytes", "requests_per_s"])
        # Repetition 2 failed: 2 passes are left, fewer than an interval needs, so no ratio is drawn.
        self.assertIsNone(data["relative"]["requests_per_s"]["mimalloc"])
        jem = data["relative"]["requests_per_s"]["jemalloc"]
        self.assertEqual(jem["n"], 3)
        self.assertAlmostEqual(jem["value"], per_pass_median(self.rows, "kvstore", "jemalloc", "requests_per_s"))
        self.assertEqual(jem["verdict"], "higher")
        self.assertEqual(data["failed"], [{"allocator": "mimalloc", "repetition": 2,
                                           "reason": "exit -11 (signal SIGSEGV): Segmentation fault"}])

    def test_memory_chart_takes_the_median_time_repetition(self):
        data = self.data("programs_memory_kvstore_t2")
        series = data["series"]
        # glibc 2.00, 2.10, 1.95 -> r1; mimalloc ok 1.80 (r1), 1.77 (r3): even -> the lower middle, r3
        self.assertEqual(series["glibc"]["repetition"], 1)
        self.assertEqual(series["mimalloc"]["repetition"], 3)
        raw = json.loads(Path(self.folder, "programs", "raw", "r03__kvstore__mimalloc__t2.json").read_text())
        self.assertEqual(series["mimalloc"]["seconds"], [t for t, _ in raw["timeline"]])
        self.assertAlmostEqual(series["mimalloc"]["rss_mib"][-1], raw["timeline"][-1][1] / 2 ** 20)

    def test_summary_chart_geomean_over_both_cases(self):
        data = self.data("programs_summary_vs_glibc")
        self.assertEqual(data["cases"], [["lua", 1], ["kvstore", 2]])
        got = data["geomean"]["wall_s"]["jemalloc"]
        expected = statistics.geometric_mean([per_pass_median(self.rows, p, "jemalloc", "wall_s")
                                              for p in ("lua", "kvstore")])
        self.assertAlmostEqual(got["value"], expected, places=9)
        self.assertEqual(got["n"], 2)


class Wiring(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="alloclab-program-plots-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_refused(self, folder, *names, args=()):
        before = sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*"))
        proc = run_plot(folder, *args)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        lines = proc.stderr.splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith("plot: "), lines[0])
        for name in names:
            self.assertIn(name, lines[0])
        self.assertEqual(sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*")), before,
                         "files written for bad input")

    def test_malformed_programs_csv(self):
        folder = copy_fixture(self.tmp)
        path = Path(folder, "programs.csv")
        good = path.read_text(encoding="utf-8")
        path.write_text("\x89PNG not a csv\n\x00\x01 garbage,,\n", encoding="utf-8")
        self.assert_refused(folder, "programs.csv")
        lines = good.splitlines()
        header = lines[0].split(",")
        cells = lines[3].split(",")
        cells[header.index("wall_s")] = "fast"
        path.write_text("\n".join(lines[:3] + [",".join(cells)] + lines[4:]) + "\n", encoding="utf-8")
        self.assert_refused(folder, "programs.csv", "wall_s")
        # A unit names the raw file a chart opens: one pointing elsewhere is refused, not followed.
        cells = lines[3].split(",")
        cells[header.index("unit")] = "../../../outside"
        path.write_text("\n".join(lines[:3] + [",".join(cells)] + lines[4:]) + "\n", encoding="utf-8")
        self.assert_refused(folder, "programs.csv", "unit")
        # The same run twice would count twice in every median: refused.
        path.write_text("\n".join(lines + [lines[3]]) + "\n", encoding="utf-8")
        self.assert_refused(folder, "programs.csv", "appears twice")

    def test_malformed_or_missing_plan(self):
        folder = copy_fixture(self.tmp)
        plan = Path(folder, "programs", "plan.json")
        plan.write_text("{not json", encoding="utf-8")
        self.assert_refused(folder, "plan.json")
        plan.write_text(json.dumps({"schema": 99}), encoding="utf-8")
        self.assert_refused(folder, "plan.json", "not a programs plan")
        plan.unlink()
        self.assert_refused(folder, "plan.json", "missing")

    def test_folder_with_neither_csv(self):
        folder = os.path.join(self.tmp, "empty")
        os.mkdir(folder)
        self.assert_refused(folder, "results.csv", "programs.csv")

    def test_unknown_programs_baseline_and_hostile_machine_json(self):
        folder = copy_fixture(self.tmp)
        self.assert_refused(folder, "--programs-baseline", "'nope'", args=("--programs-baseline", "nope"))
        Path(folder, "machine.json").write_text(json.dumps({"cpu_model": "x" * 100000}), encoding="utf-8")
        self.assert_refused(folder, "machine.json")

    def test_badly_typed_plan_fields_are_refused_and_markup_is_shown_plain(self):
        folder = copy_fixture(self.tmp)
        path = Path(folder, "programs", "plan.json")
        original = path.read_text(encoding="utf-8")
        for change in (dict(packages="lua5.4"), dict(description=["a", "list"]), dict(threaded="yes")):
            plan = json.loads(original)
            plan["programs"][0].update(change)
            path.write_text(json.dumps(plan), encoding="utf-8")
            self.assert_refused(folder, "plan.json")
        plan = json.loads(original)
        plan["programs"][0].update(origin="`tick` **bold**")
        path.write_text(json.dumps(plan), encoding="utf-8")
        proc = run_plot(folder)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        md = Path(folder, "report.md").read_text(encoding="utf-8")
        self.assertIn("'tick' *bold*", md)

    def test_programs_only_without_machine_json(self):
        folder = copy_fixture(self.tmp)
        os.unlink(os.path.join(folder, "machine.json"))
        proc = run_plot(folder)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        md = Path(folder, "report.md").read_text(encoding="utf-8")
        self.assertIn("## Programs", md)
        self.assertNotIn("## Machine", md)
        self.assertIn("plot: 7 charts", proc.stdout)

    def test_other_baseline_and_no_glibc(self):
        folder = copy_fixture(self.tmp)
        proc = run_plot(folder, "--programs-baseline", "jemalloc", "--out", os.path.join(self.tmp, "out"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(Path(self.tmp, "out", "charts", "programs_summary_vs_jemalloc.png").is_file())
        self.assertFalse(Path(folder, "report.md").exists())  # --out: nothing into the folder
        # Without the default baseline: the memory charts only, and the report says why.
        path = Path(folder, "programs.csv")
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join([lines[0]] + [line for line in lines[1:] if ",glibc," not in line]) + "\n",
                        encoding="utf-8")
        proc = run_plot(folder)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(sorted(n for n in os.listdir(Path(folder, "charts")) if n.endswith(".png")),
                         ["programs_memory_kvstore_t2.png", "programs_memory_lua_t1.png"])
        self.assertIn("No `glibc` run in this folder", Path(folder, "report.md").read_text(encoding="utf-8"))

    def test_sweep_and_programs_in_one_folder(self):
        folder = os.path.join(self.tmp, "both")
        shutil.copytree(SWEEP, folder)
        shutil.copytree(os.path.join(FIXTURE, "programs"), os.path.join(folder, "programs"))
        shutil.copy(os.path.join(FIXTURE, "programs.csv"), folder)
        proc = run_plot(folder)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        names = os.listdir(os.path.join(folder, "charts"))
        self.assertIn("throughput_small.png", names)
        self.assertIn("summary_vs_malloc_t4.png", names)
        self.assertTrue(STEMS <= {n[:-4] for n in names if n.endswith(".png")})
        md = Path(folder, "report.md").read_text(encoding="utf-8")
        self.assertLess(md.index("## Summary"), md.index("## Programs"))
        self.assertIn("(charts/programs_relative_lua_t1.png)", md)
        self.assertIn("median ns/op", proc.stdout)  # the sweep's table, as before
        self.assertIn("programs: wall time relative to glibc", proc.stdout)


class Functions(unittest.TestCase):
    def test_median_repetition_and_case_labels(self):
        run = records.read_programs(FIXTURE)
        self.assertEqual(program_charts.median_repetition(run, "lua", "jemalloc", 1).repetition, 1)
        self.assertIsNone(program_charts.median_repetition(run, "lua", "nobody", 1))
        self.assertEqual(program_charts.case_label(run, "lua", 1), "lua")
        self.assertEqual(program_charts.case_label(run, "kvstore", 2), "kvstore (2 threads)")
        self.assertEqual(program_charts.why_none(run, "lua", "nobody", 1, "wall_s", "glibc"), "not run")

    def test_a_case_that_did_not_fit_says_so_instead_of_a_number(self):
        # mimalloc's lua runs made into runs that ran out of a free-less malloc's budget.
        from dataclasses import replace
        run = records.read_programs(FIXTURE)
        reason = "did not fit: out of memory under mimalloc's budget (it never frees; exit 1: not enough memory)"
        rows = tuple(replace(r, status="failed", reason=reason, wall_s=None, peak_rss_bytes=None)
                     if (r.program, r.allocator) == ("lua", "mimalloc") else r for r in run.rows)
        unfit = records.ProgramsRun(run.folder, rows, run.plan)
        self.assertEqual(unfit.did_not_fit("lua", "mimalloc", 1), 3)
        self.assertEqual(program_charts.why_none(unfit, "lua", "mimalloc", 1, "wall_s", "glibc"), "did not fit")
        wall = program_report.summary_table(unfit, "wall_s")
        lua = next(row for row in wall.rows if row[0].text == "lua")
        self.assertEqual(lua[4].text, "did not fit")
        self.assertIn("1 case did not fit", wall.rows[-1][4].text)  # the geometric mean, over where it fit
        mimalloc = next(row for row in program_report.per_allocator_table(unfit).rows if row[0].text == "mimalloc")
        self.assertEqual(mimalloc[-1], "lua")
        fastest = next(row for row in program_report.fastest_table(unfit).rows if row[0].text == "lua")
        self.assertEqual(fastest[-1], "mimalloc")
        failed = program_report.failed_blocks(unfit)[0].text
        self.assertIn("3 of them because they did not fit", failed)

    def test_requests_table_only_for_servers(self):
        run = records.read_programs(FIXTURE)
        self.assertEqual(program_report.metrics_of(run), ["wall_s", "peak_rss_bytes", "requests_per_s"])
        table = program_report.summary_table(run, "requests_per_s")
        self.assertEqual([row[0].text for row in table.rows], ["kvstore", "geometric mean"])
        self.assertEqual(table.header[2], "glibc median (requests/s)")


if __name__ == "__main__":
    unittest.main()
