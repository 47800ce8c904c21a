"""Tests of plots/: the charts' data, the report and the plots command line.

Run: PYTHONPATH=harness:. /usr/bin/python3 -m unittest tests/tools/test_plots.py -v   (needs matplotlib)

The numbers the charts and the report show are checked against numbers computed here straight
from results.csv with the csv module, not through the code under test.
"""

import csv
import json
import math
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
SAMPLE = os.path.join(ROOT, "tests", "data", "sample_run")
BINARY = os.environ.get("ALLOCLAB_BINARY", os.path.join(ROOT, "build", "release", "harness", "alloclab"))

from alloclab import ranking, results
from alloclab.registry import ask_driver
from alloclab.results import ResultRow
from alloclab.document import render_html, render_markdown
from scipy.stats import ttest_ind
from plots import analysis, charts, report, style

REFERENCES = {"null", "bump_limit", "bump_cold"}


def raw_rows(folder):
    with open(os.path.join(folder, "results.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def column(rows, workload, allocator, threads, metric):
    """The metric's values over the ok repetitions of one case, straight from the CSV text."""
    return [float(r[metric]) for r in rows
            if r["workload"] == workload and r["allocator"] == allocator and int(r["threads"]) == threads
            and r["status"] == "ok" and r[metric] != ""]


def run_plot(*args):
    return subprocess.run([sys.executable, "-m", "plots", *args], capture_output=True, text=True, timeout=120)


def copy_sample(parent, name="run"):
    dst = os.path.join(parent, name)
    shutil.copytree(SAMPLE, dst)
    return dst


class SampleRun(unittest.TestCase):
    """python3 -m plots on a copy of the sample run (drawn once for the class)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="alloclab-plots-")
        cls.folder = copy_sample(cls.tmp)
        cls.proc = run_plot(cls.folder)
        cls.raw = raw_rows(cls.folder)
        cls.sample = results.read_run(cls.folder)
        cls.scratch = Path(cls.tmp) / "scratch"
        with open(os.path.join(cls.folder, "report.md"), encoding="utf-8") as f:
            cls.md = f.read()
        with open(os.path.join(cls.folder, "report.html"), encoding="utf-8") as f:
            cls.html = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- files

    def test_cli_succeeds_and_writes_png_and_svg_for_every_chart(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        chart_dir = os.path.join(self.folder, "charts")
        names = os.listdir(chart_dir)
        stems = {n[:-4] for n in names if n.endswith(".png")}
        self.assertEqual(stems, {n[:-4] for n in names if n.endswith(".svg")})
        self.assertFalse([n for n in names if n.endswith(".tmp") or n.startswith(".")], "temporary files left")
        workloads = ["small", "mixed", "larson", "ast_1k", "ast_16k"]
        expected = {f"{kind}_{w}" for kind in ("throughput", "efficiency") for w in workloads}
        expected |= {f"latency_{w}_t1" for w in workloads}
        expected |= {"memory_overhead_t4", "memory_peak_rss_t4", "summary_vs_malloc_t1", "summary_vs_malloc_t4"}
        self.assertEqual(stems, expected)
        for stem in stems:
            with open(os.path.join(chart_dir, stem + ".png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", stem)
            root = ET.parse(os.path.join(chart_dir, stem + ".svg")).getroot()
            self.assertTrue(root.tag.endswith("svg"), stem)

    def test_html_embeds_every_chart_and_is_self_contained(self):
        for name in os.listdir(os.path.join(self.folder, "charts")):
            if name.endswith(".png"):
                self.assertIn(f'<img src="charts/{name}"', self.html)
                self.assertIn(f"(charts/{name})", self.md)
        lowered = self.html.lower()
        self.assertNotIn("<script", lowered)
        self.assertNotIn("http://", lowered)
        self.assertNotIn("https://", lowered)
        self.assertNotIn("<link", lowered)
        self.assertIn("<style>", lowered)
        self.assertIn("AMD EPYC", self.html)
        with open(os.path.join(self.folder, "command.txt"), encoding="utf-8") as f:
            self.assertIn(f.read().strip(), self.md)

    # -- chart data

    def test_throughput_chart_points_are_csv_medians(self):
        title, stem, data = charts.throughput_chart(self.sample, self.scratch, "small")
        self.assertEqual(stem, "throughput_small")
        series = data["series"]["malloc"]
        i = series["threads"].index(2)
        values = column(self.raw, "small", "malloc", 2, "items_per_second")
        self.assertEqual(len(values), 3)
        self.assertAlmostEqual(series["median"][i], statistics.median(values), delta=1e-6)
        self.assertAlmostEqual(series["min"][i], min(values), delta=1e-6)
        self.assertAlmostEqual(series["max"][i], max(values), delta=1e-6)
        self.assertEqual(data["threads"], [1, 2, 4])

    def test_skipped_and_failed_are_never_plotted_as_zero(self):
        _, _, data = charts.throughput_chart(self.sample, self.scratch, "larson")
        for name in ("null", "bump_limit", "mutex_arena", "thread_local_arena", "pmr_monotonic"):
            self.assertNotIn(name, data["series"])
            self.assertEqual(data["not_shown"][name], "skipped")
        # pmr_sync_pool failed in repetition 3 only: drawn from repetitions 1 and 2, marked partial
        values = column(self.raw, "larson", "pmr_sync_pool", 1, "items_per_second")
        self.assertEqual(len(values), 2)
        series = data["series"]["pmr_sync_pool"]
        self.assertAlmostEqual(series["median"][series["threads"].index(1)], statistics.median(values), delta=1e-6)
        self.assertIn("pmr_sync_pool", data["partial"])
        for s in data["series"].values():
            self.assertTrue(all(v > 0 for v in s["median"]))

    def test_relative_summary_and_geomean_by_hand(self):
        _, stem, data = charts.summary_chart(self.sample, self.scratch, "malloc", threads=2)
        self.assertEqual(stem, "summary_vs_malloc_t2")
        workloads = ["small", "mixed", "larson", "ast_1k", "ast_16k"]
        self.assertEqual(data["workloads"], workloads)
        for name in ("mimalloc", "coalescing_pool"):
            logs = []
            for w in workloads:
                # the sample has no reference column: geometric means of raw throughput, Welch's test
                mine = [math.log(v) for v in column(self.raw, w, name, 2, "items_per_second")]
                base = [math.log(v) for v in column(self.raw, w, "malloc", 2, "items_per_second")]
                expected = math.exp(statistics.fmean(mine) - statistics.fmean(base))
                self.assertAlmostEqual(data["ratio"][name][w], expected, places=9)
                p = ttest_ind(mine, base, equal_var=False).pvalue
                self.assertEqual(data["tie"][name][w], p >= 0.01, f"{name} on {w}: p = {p}")  # 99 %
                low, high = data["interval"][name][w]
                self.assertLess(low, expected)
                self.assertGreater(high, expected)
                self.assertEqual(low <= 1 <= high, data["tie"][name][w])
                logs.append(math.log(expected))
            self.assertAlmostEqual(data["geomean"][name], math.exp(sum(logs) / len(logs)), places=9)
        # a skipped cell is empty, and the geometric mean is over the 4 workloads with data
        self.assertIsNone(data["ratio"]["mutex_arena"]["larson"])
        self.assertEqual(data["state"]["mutex_arena"]["larson"], "skipped")
        self.assertEqual(data["geomean_n"]["mutex_arena"], 4)
        self.assertEqual(data["geomean"]["malloc"], 1.0)
        self.assertFalse(data["tie"]["malloc"]["small"])  # the baseline is the baseline, not a tie

    def test_scaling_efficiency_of_one_allocator(self):
        _, _, data = charts.efficiency_chart(self.sample, self.scratch, "small")
        self.assertEqual(data["hardware_threads"], 2)
        med = {t: statistics.median(column(self.raw, "small", "thread_local_arena", t, "items_per_second"))
               for t in (1, 2, 4)}
        eff = dict(zip(data["series"]["thread_local_arena"]["threads"],
                       data["series"]["thread_local_arena"]["efficiency"]))
        self.assertAlmostEqual(eff[1], 1.0)
        self.assertAlmostEqual(eff[2], med[2] / (2 * med[1]))
        # 4 threads on 2 hardware threads: the ideal stays at 2 x T(1)
        self.assertAlmostEqual(eff[4], med[4] / (2 * med[1]))

    def test_latency_and_memory_data(self):
        _, _, lat = charts.latency_chart(self.sample, self.scratch, "mixed", 1)
        p99 = column(self.raw, "mixed", "jemalloc", 1, "latency_p99_ns")
        self.assertAlmostEqual(lat["series"]["jemalloc"]["p99"]["median"], statistics.median(p99))
        _, _, rss = charts.rss_chart(self.sample, self.scratch, 4)
        peak = column(self.raw, "ast_16k", "tcmalloc", 4, "peak_rss_bytes")
        self.assertAlmostEqual(rss["median_mib"]["ast_16k"]["tcmalloc"], statistics.median(peak) / 2 ** 20)
        self.assertIsNone(rss["median_mib"]["larson"]["null"])
        _, _, over = charts.overhead_chart(self.sample, self.scratch, 4)
        self.assertEqual(over["allocators"], ["mutex_arena", "thread_local_arena", "chained_arena", "coalescing_pool"])
        ratio = column(self.raw, "small", "coalescing_pool", 4, "overhead_ratio")
        self.assertAlmostEqual(over["median"]["coalescing_pool"]["small"], statistics.median(ratio))

    # -- report

    def _md_table(self, threads):
        section = self.md.split(f"### {threads} thread{'s' if threads != 1 else ''}\n", 1)[1].split("\n\n", 1)[0]
        lines = [l for l in section.splitlines() if l.startswith("|")]
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        table = {}
        for line in lines[2:]:
            cells = [c.strip() for c in line.strip("|").split("|")]
            name = cells[0].replace("*", "").replace(" (reference)", "")
            table[name] = dict(zip(header[1:], cells[1:]))
        return table

    def test_report_summary_cells_match_csv_medians(self):
        def sig3(x):
            return f"{x:#.3g}".rstrip(".")
        for threads, workload, allocator in ((1, "small", "malloc"), (4, "ast_1k", "tcmalloc")):
            cell = self._md_table(threads)[allocator][workload]
            ns = statistics.median(column(self.raw, workload, allocator, threads, "ns_per_op"))
            tp = statistics.median(column(self.raw, workload, allocator, threads, "items_per_second"))
            self.assertIn(f"{sig3(ns)} ns · {sig3(tp / 1e6)} M/s", cell)

    def test_report_marks_the_fastest_and_those_tied_with_it_references_excluded(self):
        ties = separated = 0
        for threads in (1, 4):
            table = self._md_table(threads)
            for workload in ("small", "mixed", "larson", "ast_1k", "ast_16k"):
                names = {r["allocator"] for r in self.raw} - REFERENCES
                logs = {a: [math.log(x) for x in v] for a in names
                        if (v := column(self.raw, workload, a, threads, "items_per_second"))}
                best = max(logs, key=lambda a: statistics.fmean(logs[a]))
                tied = {a for a in logs if a != best and ttest_ind(logs[a], logs[best], equal_var=False).pvalue >= 0.01}
                marked = {a for a in table if "★" in table[a][workload]}
                self.assertEqual(marked, {best} | tied, f"{workload} at {threads} threads")
                for a in marked:
                    self.assertIn("★=" if tied else "★", table[a][workload])
                    self.assertEqual("★=" in table[a][workload], bool(tied))
                ties += bool(tied)
                separated += not tied
        self.assertGreater(ties, 0)  # the sample has both kinds of cell
        self.assertGreater(separated, 0)
        # at 1 thread on small, null and bump_limit are faster than the winner but never marked
        table = self._md_table(1)
        self.assertNotIn("★", table["null"]["small"])
        self.assertIn("★", table["pmr_monotonic"]["small"])

    def test_every_summary_figure_carries_its_interval(self):
        for threads in (1, 4):
            for allocator, row in self._md_table(threads).items():
                for workload, cell in row.items():
                    if " ns" in cell:
                        self.assertRegex(cell, r"M/s \[[0-9.]+–[0-9.]+\]|n=1, no interval", f"{allocator}/{workload}")

    def test_report_lists_failed_and_skipped_with_reasons_grouped(self):
        failed = "larson/pmr_sync_pool: exit -11 (signal 11), threads 1,2,4 (repetition 3 of 3)"
        skipped = ("larson/null: needs objects freed by other threads; the allocator cannot free across "
                   "threads, threads 1,2,4")
        for text in (self.md, self.html.replace("</span>", "")):
            self.assertIn(failed.split(":", 1)[1].strip(), text)
        self.assertIn(failed, self.md)
        self.assertIn(skipped, self.md)
        self.assertEqual(self.md.count("larson/null:"), 1)
        self.assertIn("needs one instance shared by all threads", self.html)
        # 81 skipped rows in the CSV become 9 lines
        skipped_section = self.md.split("### Skipped (", 1)[1].split("##", 1)[0]
        self.assertEqual(len([l for l in skipped_section.splitlines() if l.startswith("- ")]), 9)


class NoisyCases(unittest.TestCase):
    def test_cv_above_five_percent_is_flagged(self):
        def row(alloc, rep, tp):
            return ResultRow("w", alloc, 1, repetition=rep, ns_per_op=1e9 / tp, items_per_second=tp)
        rows = []
        for rep, (a, b, c) in enumerate(zip((100.0, 100.0, 100.0), (90.0, 100.0, 110.0), (98.0, 100.0, 102.0)), 1):
            rows += [row("steady", rep, a), row("noisy", rep, b), row("calm", rep, c)]
        tmp = tempfile.mkdtemp(prefix="alloclab-noise-")
        try:
            results.write_csv(os.path.join(tmp, "results.csv"), rows)
            parsed = results.Run(Path(tmp), tuple(results.read_csv(os.path.join(tmp, "results.csv"))),
                                 {"hardware_threads": "2"}, "cmd")
        finally:
            shutil.rmtree(tmp)
        noisy, judged = analysis.noisy_cases(parsed)
        self.assertEqual(judged, 3)
        self.assertEqual([c["allocator"] for c in noisy], ["noisy"])
        self.assertAlmostEqual(noisy[0]["cv"], 0.1)  # stdev(90, 100, 110) = 10, mean 100
        doc = report.build(parsed, [], "steady")
        md, page = render_markdown(doc), render_html(doc)
        self.assertIn("| w/noisy/threads:1 | 10.0% |", md)
        self.assertNotIn("w/calm/threads:1", md)
        self.assertIn("w/noisy/threads:1", page)
        table = analysis.summary_table(parsed, 1)
        self.assertTrue(table["cells"]["w"]["noisy"]["noisy"])
        self.assertFalse(table["cells"]["w"]["calm"]["noisy"])


def small_run(values, references=None, mallocs=None):
    """A run of workload w at 1 thread: values {allocator: [throughput per repetition]}, and
    optionally the reference's throughput in each repetition's process and the malloc each
    allocator's processes ran under ({allocator: library}; default libc.so.6)."""
    rows = []
    for a, series in values.items():
        for rep, tp in enumerate(series, 1):
            ref = references[a][rep - 1] if references else None
            rows.append(ResultRow("w", a, 1, repetition=rep, ns_per_op=1e9 / tp, items_per_second=tp,
                                  ref_items_per_second=ref, unit=f"r{rep:02d}__w__{a}",
                                  active_malloc=(mallocs or {}).get(a, "libc.so.6")))
    tmp = tempfile.mkdtemp(prefix="alloclab-ties-")
    try:
        results.write_csv(os.path.join(tmp, "results.csv"), rows)
        return results.Run(Path(tmp), tuple(results.read_csv(os.path.join(tmp, "results.csv"))),
                           {"hardware_threads": "2"}, "cmd")
    finally:
        shutil.rmtree(tmp)


class Ties(unittest.TestCase):
    """Overlapping intervals are drawn as a tie, in the report's table and in the heatmap."""

    def test_overlapping_intervals_are_a_tie_and_separated_ones_are_not(self):
        run = small_run({"malloc": [100.0, 103.0, 97.0], "x": [101.0, 98.0, 104.0], "y": [50.0, 51.0, 49.0]})
        table = analysis.summary_table(run, 1)
        self.assertEqual(table["winner"]["w"], "x")
        self.assertEqual(table["tied"]["w"], ["malloc"])
        md = render_markdown(report.build(run, [], "malloc"))
        row = {line.split("|")[1].strip().replace("*", ""): line for line in md.splitlines() if line.startswith("| ")}
        self.assertIn("★=", row["x"])
        self.assertIn("★=", row["malloc"])
        self.assertNotIn("★", row["y"])
        self.assertRegex(row["y"], r"M/s \[[0-9.]+–[0-9.]+\]")
        self.assertIn("= tied with the most", report.text_summary(table))
        tmp = tempfile.mkdtemp(prefix="alloclab-ties-chart-")
        self.addCleanup(shutil.rmtree, tmp, True)
        _, _, data = charts.summary_chart(run, Path(tmp), "malloc", 1)
        self.assertTrue(data["tie"]["x"]["w"])
        self.assertFalse(data["tie"]["y"]["w"])
        self.assertLess(data["interval"]["x"]["w"][0], 1.0)
        self.assertGreater(data["interval"]["x"]["w"][1], 1.0)
        self.assertLess(data["interval"]["y"]["w"][1], 1.0)
        self.assertTrue(data["geomean_tie"]["x"])
        self.assertTrue(os.path.exists(os.path.join(tmp, "summary_vs_malloc_t1.png")))

    def test_one_repetition_ties_with_everything(self):
        run = small_run({"malloc": [100.0], "x": [200.0]})
        table = analysis.summary_table(run, 1)
        self.assertEqual((table["winner"]["w"], table["tied"]["w"]), ("x", ["malloc"]))
        md = render_markdown(report.build(run, [], "malloc"))
        self.assertIn("n=1, no interval", md)

    def test_the_reference_of_each_process_separates_what_raw_spread_cannot(self):
        # The machine's state moves both allocators' processes alike (the reference shows it):
        # raw, the two overlap; divided by each process's reference, malloc is 5 % slower each time.
        refs = {"x": [100.0, 130.0, 80.0], "malloc": [102.0, 127.0, 82.0]}
        values = {"x": [100.0, 130.0, 80.0], "malloc": [96.9, 120.5, 77.9]}
        raw = analysis.summary_table(small_run(values), 1)
        paired = analysis.summary_table(small_run(values, refs), 1)
        self.assertEqual(raw["tied"]["w"], ["malloc"])
        self.assertEqual((paired["winner"]["w"], paired["tied"]["w"]), ("x", []))
        self.assertTrue(paired["cells"]["w"]["x"]["paired"])
        self.assertLess(paired["cells"]["w"]["x"]["precision"], 0.05)

    def test_processes_under_different_mallocs_are_never_paired_through_the_reference(self):
        # A preloaded peer changes the reference's own speed: x's processes ran it at twice the
        # figure of malloc's. Divided by it, x would look half as fast as it is.
        refs = {"x": [200.0, 260.0, 160.0], "malloc": [102.0, 127.0, 82.0]}
        values = {"x": [100.0, 130.0, 80.0], "malloc": [96.9, 120.5, 77.9]}
        mixed = small_run(values, refs, {"x": "libjemalloc.so.2"})
        self.assertFalse(ranking.cell_paired(mixed.cases(), "w", 1))
        [(key, c)] = ranking.pair_calls(mixed).items()
        self.assertEqual(key, ("w", 1, "malloc", "x"))
        self.assertFalse(c.paired)
        self.assertAlmostEqual(c.ratio, math.exp(statistics.fmean(math.log(v) for v in values["malloc"])
                                                 - statistics.fmean(math.log(v) for v in values["x"])))
        table = analysis.summary_table(mixed, 1)
        self.assertFalse(table["cells"]["w"]["x"]["paired"])
        self.assertEqual(table["tied"]["w"], ["malloc"])
        # one malloc in every process: the same figures are paired
        self.assertTrue(ranking.cell_paired(small_run(values, refs).cases(), "w", 1))


class MachineState(unittest.TestCase):
    def test_a_process_whose_reference_ran_off_its_usual_figure_is_flagged(self):
        run = small_run({"a": [90.0, 91.0, 92.0], "b": [50.0, 51.0, 65.0]},
                        {"a": [100.0, 101.0, 99.0], "b": [100.0, 100.0, 130.0]})
        drift = analysis.reference_drift(run)
        self.assertEqual(drift["processes"], 6)
        self.assertEqual([(f["unit"], round(f["deviation"], 2)) for f in drift["flagged"]], [("r03__w__b", 0.3)])
        md = render_markdown(report.build(run, [], "a"))
        self.assertIn("In 1 of 6 processes the reference case ran more than 15% off", md)
        self.assertIn("| r03__w__b | w | 1 | +30% |", md)
        self.assertIn("Where the variance is", md)
        # b's third process ran fast in every way: divided by its reference it agrees with the others
        self.assertLess(drift["sd_paired"], drift["sd_raw"])

    def test_a_preloaded_peers_steady_reference_is_no_change_of_state(self):
        # Under jemalloc, b's processes run the reference 40 % faster, every one of them: that is
        # the malloc, not the machine. The one process off its own group's figure is flagged.
        run = small_run({"a": [90.0, 91.0, 92.0], "b": [50.0, 51.0, 52.0]},
                        {"a": [100.0, 101.0, 130.0], "b": [140.0, 141.0, 139.0]}, {"b": "libjemalloc.so.2"})
        drift = analysis.reference_drift(run)
        self.assertEqual([(f["unit"], round(f["deviation"], 2)) for f in drift["flagged"]], [("r03__w__a", 0.29)])
        self.assertEqual(set(drift["cv"]), {("w", 1, "libc.so.6"), ("w", 1, "libjemalloc.so.2")})
        # two processes of a group have no usual figure: neither is flagged, however far apart
        two = small_run({"a": [90.0, 91.0], "b": [50.0, 51.0]}, {"a": [100.0, 150.0], "b": [140.0, 141.0]},
                        {"b": "libjemalloc.so.2"})
        self.assertEqual(analysis.reference_drift(two)["flagged"], [])

    def test_a_run_without_a_reference_says_so(self):
        md = render_markdown(report.build(small_run({"a": [1.0, 2.0]}), [], "a"))
        self.assertIn("no reference case in its processes", md)


class Style(unittest.TestCase):
    def test_every_allocator_the_driver_lists_has_a_distinct_intended_style(self):
        if not os.access(BINARY, os.X_OK):
            self.skipTest(f"driver not built: {BINARY}")
        registry = ask_driver(BINARY)
        styles = style.Styles(registry)
        looks = {a.name: styles.look(a.name) for a in registry.allocators}
        self.assertGreaterEqual(len(looks), 18)
        self.assertEqual(len(set(looks.values())), len(looks), looks)
        for a in registry.allocators:
            look = looks[a.name]
            with self.subTest(allocator=a.name, kind=a.kind):
                self.assertIn(a.kind, ("library", "peer", "preloaded", "reference"))
                self.assertIn(look.colour, style.KINDS[a.kind].colours)  # its kind's palette, not a fallback
                self.assertEqual(look.dashes is not None, a.kind == "reference")
                self.assertEqual(look.hollow, a.kind == "preloaded")
        # colours alone tell apart every allocator that is not a reference (references: dashes)
        solid = [l.colour for n, l in looks.items() if registry.kind_of(n) != "reference"]
        self.assertEqual(len(set(solid)), len(solid))

    def test_a_folder_from_before_registry_json_asks_the_driver(self):
        if not os.access(BINARY, os.X_OK):
            self.skipTest(f"driver not built: {BINARY}")
        tmp = tempfile.mkdtemp(prefix="alloclab-legacy-")
        self.addCleanup(shutil.rmtree, tmp, True)
        folder = copy_sample(tmp)
        os.unlink(os.path.join(folder, "registry.json"))
        from alloclab import registry as registry_module
        saved = results.DEFAULT_BINARY
        results.DEFAULT_BINARY = Path(BINARY)
        try:
            run = results.read_run(folder)
        finally:
            results.DEFAULT_BINARY = saved
        self.assertEqual(run.registry.kind_of("null"), "reference")
        self.assertEqual(run.registry, registry_module.ask_driver(BINARY))
        winners = analysis.summary_table(run, 1)["winner"]
        self.assertNotIn("null", winners.values())
        self.assertNotIn("bump_limit", winners.values())

    def test_references_are_described_from_their_look(self):
        styles = style.Styles(results.read_run(SAMPLE).registry)
        self.assertEqual(styles.in_words("bump_limit"), "dashed black")
        self.assertEqual(styles.in_words("null"), "dotted grey")
        self.assertEqual(styles.in_words("malloc"), "")

    def test_styles_follow_kind_and_registration_order(self):
        (registry,) = [results.read_run(SAMPLE).registry]
        styles = style.Styles(registry)
        self.assertEqual(styles.colour("malloc"), "#0072B2")
        self.assertEqual(styles.line("bump_limit")["linestyle"], (0, (5, 2)))
        self.assertEqual(styles.colour("some_new_allocator"), styles.colour("some_new_allocator"))
        self.assertIn(styles.colour("some_new_allocator"), style.KINDS["other"].colours)
        self.assertEqual(registry.order(["zeta", "malloc", "null", "mutex_arena"]), ["mutex_arena", "malloc", "null", "zeta"])
        # a kind's palette exhausted: colour and marker still never repeat together
        from alloclab.registry import AllocatorInfo, Registry
        kind = style.KINDS["library"]
        count = len(kind.colours) * len(kind.markers)
        many = Registry(tuple(AllocatorInfo(f"a{i}", "library") for i in range(count)))
        looks = [style.Styles(many).look(f"a{i}") for i in range(count)]
        self.assertEqual(len({(l.colour, l.marker) for l in looks}), count)
        self.assertEqual(len({l.colour for l in looks[:len(kind.colours)]}), len(kind.colours))

    def test_footer(self):
        text = style.footer_text({"cpu_model": "AMD EPYC", "hardware_threads": "2", "kernel": "Linux 6",
                                  "git_commit": "2d15c97423a9a2a4", "git_dirty": "true",
                                  "finished_utc": "2026-11-21T09:11:45Z"})
        self.assertEqual(text, "machine: AMD EPYC, 2 threads, Linux 6; commit 2d15c97423+dirty; 2026-11-21T09:11:45Z")


class BadInput(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="alloclab-bad-")
        self.folder = copy_sample(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def rewrite_csv(self, text):
        with open(os.path.join(self.folder, "results.csv"), "w", encoding="utf-8") as f:
            f.write(text)

    def assert_refused(self, *names, args=None):
        proc = run_plot(*(args or [self.folder]))
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        lines = proc.stderr.splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith("plot: "), lines[0])
        for name in names:
            self.assertIn(name, lines[0])
        if os.path.isdir(self.folder):
            left = set(os.listdir(self.folder)) - {"results.csv", "machine.json", "command.txt", "registry.json",
                                                   "claims.json"}
            self.assertEqual(left, set(), "files written for bad input")
        return lines[0]

    def test_garbage_csv(self):
        self.rewrite_csv("\x89PNG this is not a csv\n\x00\x01\x02 garbage,,\n")
        self.assert_refused("results.csv")

    def test_missing_columns(self):
        with open(os.path.join(self.folder, "results.csv"), encoding="utf-8") as f:
            rows = list(csv.reader(f))
        drop = rows[0].index("items_per_second")
        self.rewrite_csv("\n".join(",".join(r[:drop] + r[drop + 1:]) for r in rows) + "\n")
        self.assert_refused("results.csv", "items_per_second")

    def test_non_numeric_metric(self):
        with open(os.path.join(self.folder, "results.csv"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        header = lines[0].split(",")
        cells = lines[5].split(",")
        cells[header.index("items_per_second")] = "fast"
        lines[5] = ",".join(cells)
        self.rewrite_csv("\n".join(lines) + "\n")
        self.assert_refused("results.csv", "line 6", "items_per_second", "'fast'")

    def test_nan_metric(self):
        with open(os.path.join(self.folder, "results.csv"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        header = lines[0].split(",")
        cells = lines[3].split(",")
        cells[header.index("ns_per_op")] = "nan"
        lines[3] = ",".join(cells)
        self.rewrite_csv("\n".join(lines) + "\n")
        self.assert_refused("line 4", "ns_per_op")

    def test_missing_folder(self):
        missing = os.path.join(self.tmp, "no-such-run")
        self.assert_refused("no-such-run", args=[missing])
        self.assertFalse(os.path.exists(missing))

    def test_missing_machine_json(self):
        os.unlink(os.path.join(self.folder, "machine.json"))
        proc = run_plot(self.folder)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(len(proc.stderr.splitlines()), 1)
        self.assertIn("machine.json", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.folder, "report.html")))

    def write(self, name, text):
        with open(os.path.join(self.folder, name), "w", encoding="utf-8") as f:
            f.write(text)

    def test_hostile_machine_json(self):
        with open(os.path.join(self.folder, "machine.json"), encoding="utf-8") as f:
            facts = json.load(f)
        for key, value, needle in (("caches", ["L1"], "'caches'"), ("caches", [{"size": "32K"}], "'caches'"),
                                   ("workloads", 5, "'workloads'"), ("threads", {"a": 1}, "'threads'"),
                                   ("cpu_model", "x" * 100000, "'cpu_model'"), ("hardware_threads", "²", "hardware")):
            with self.subTest(key=key):
                self.write("machine.json", json.dumps(dict(facts, **{key: value})))
                self.assert_refused("machine.json", needle)
        for text, needle in (('{"cpu_model": "\\ud800"}', "not valid JSON"), ("[" * 100000, "nested too deeply"),
                             ('{"n": ' + "9" * 5000 + "}", "not valid JSON"), ('{"x": NaN}', "NaN")):
            with self.subTest(text=text[:20]):
                self.write("machine.json", text)
                self.assert_refused("machine.json", needle)

    def test_hostile_results_csv(self):
        with open(os.path.join(self.folder, "results.csv"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        header = lines[0].split(",")
        for column, value, needle in (("threads", "99999999999999999999999", "threads"), ("repetition", "²", "repetition"),
                                      ("items_per_second", "1e308", "items_per_second"),
                                      ("workload", "w" * 5000, "not a name")):
            with self.subTest(column=column):
                cells = lines[1].split(",")
                cells[header.index(column)] = value
                self.rewrite_csv("\n".join([lines[0], ",".join(cells)] + lines[2:]) + "\n")
                self.assert_refused("results.csv", "line 2", needle)
        self.rewrite_csv("\n".join([lines[0] + ",threads"] + [line + ",999" for line in lines[1:]]) + "\n")
        self.assert_refused("results.csv", "more than once")

    def test_hostile_claims_json_and_special_files(self):
        for text in ('{"id": "x"}', '["x"]', '[{"id": "x", "verdict": "MAYBE"}]', '[{"id": "x", "verdict": '
                     '"REPRODUCED", "measured": {"deep": [1]}}]'):
            with self.subTest(text=text):
                self.write("claims.json", text)
                self.assert_refused("claims.json")
        os.unlink(os.path.join(self.folder, "claims.json"))
        os.symlink("/dev/zero", os.path.join(self.folder, "command.txt.zero"))
        os.replace(os.path.join(self.folder, "command.txt.zero"), os.path.join(self.folder, "command.txt"))
        self.assert_refused("command.txt", "not a regular file")

    def test_files_are_readable_by_others(self):
        proc = run_plot(self.folder)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for name in ("report.md", "report.html", os.path.join("charts", "throughput_small.png")):
            self.assertEqual(os.stat(os.path.join(self.folder, name)).st_mode & 0o044, 0o044, name)

    def test_baseline_in_a_comparison_is_refused(self):
        other = copy_sample(self.tmp, "other")
        self.assert_refused("--baseline", args=[self.folder, other, "--baseline", "malloc"])
        self.assertFalse(os.path.exists(os.path.join(self.folder, "compare")))

    def test_malformed_registry(self):
        for text, needle in (("{", "not valid JSON"), ('{"schema": 7}', "not a registry"),
                             ('{"schema": 1, "allocators": [{"name": "x", "kind": "alien"}]}', "kind 'alien'")):
            with open(os.path.join(self.folder, "registry.json"), "w", encoding="utf-8") as f:
                f.write(text)
            self.assert_refused("registry.json", needle)

    def test_unknown_baseline(self):
        self.assert_refused("--baseline", "'nosuch'", args=[self.folder, "--baseline", "nosuch"])

    def test_bad_second_folder_in_comparison_writes_nothing(self):
        bad = os.path.join(self.tmp, "bad")
        os.mkdir(bad)
        line = self.assert_refused(args=[self.folder, bad])
        self.assertIn("bad", line)
        self.assertFalse(os.path.exists(os.path.join(self.folder, "compare")))


class Comparison(unittest.TestCase):
    def test_two_folders_side_by_side_and_relative_table(self):
        tmp = tempfile.mkdtemp(prefix="alloclab-compare-")
        try:
            a = copy_sample(tmp, "a")
            b = copy_sample(tmp, "b")
            # B: malloc twice as fast, another commit
            with open(os.path.join(b, "results.csv"), newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                fields, rows = reader.fieldnames, list(reader)
            for r in rows:
                if r["allocator"] == "malloc" and r["status"] == "ok":
                    r["items_per_second"] = repr(float(r["items_per_second"]) * 2)
                    r["ns_per_op"] = repr(float(r["ns_per_op"]) / 2)
            with open(os.path.join(b, "results.csv"), "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
            with open(os.path.join(b, "machine.json"), encoding="utf-8") as f:
                facts = json.load(f)
            facts["git_commit"] = "abcdef0123456789"
            facts["git_dirty"] = "false"
            with open(os.path.join(b, "machine.json"), "w", encoding="utf-8") as f:
                json.dump(facts, f)
            proc = run_plot(a, b)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            out = os.path.join(a, "compare")
            names = set(os.listdir(out))
            for w in ("small", "mixed", "larson", "ast_1k", "ast_16k"):
                self.assertIn(f"compare_throughput_{w}.png", names)
                self.assertIn(f"compare_throughput_{w}.svg", names)
            self.assertIn("compare_relative_run2_t4.png", names)
            self.assertIn("compare_relative_run2_t4.svg", names)
            with open(os.path.join(out, "compare.md"), encoding="utf-8") as f:
                md = f.read()
            self.assertIn("commit abcdef0123", md)
            self.assertIn("commit 2d15c97423+dirty", md)
            self.assertIn("| small | malloc | 2.00 | 2.00 | 2.00 |", md)
            self.assertIn("| small | mimalloc | 1.00 | 1.00 | 1.00 |", md)
            with open(os.path.join(out, "compare.html"), encoding="utf-8") as f:
                self.assertIn('<img src="compare_throughput_small.png"', f.read())
            self.assertFalse(os.path.exists(os.path.join(a, "report.html")))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
