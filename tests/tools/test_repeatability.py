"""Tests of alloclab.ranking (the call rule), the reference column and alloclab.repeatability.

Run: PYTHONPATH=harness:. /usr/bin/python3 -m unittest tests/tools/test_repeatability.py -v

Expected figures are worked out here by hand (or with scipy's own Welch test), not through the
code under test.
"""

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from scipy.stats import ttest_ind

from alloclab import ranking, repeatability, results
from alloclab.results import ResultRow

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(ROOT, "tests", "data", "sample_run")


def write_run(folder, values, references=None):
    """A results folder of workload w at 1 thread: values {allocator: [throughput per process]}."""
    os.makedirs(folder)
    rows = []
    for a, series in values.items():
        for rep, tp in enumerate(series, 1):
            ref = references[a][rep - 1] if references else None
            rows.append(ResultRow("w", a, 1, repetition=rep, ns_per_op=1e9 / tp, items_per_second=tp,
                                  ref_items_per_second=ref, unit=f"r{rep:02d}__w__{a}"))
    results.write_csv(os.path.join(folder, "results.csv"), rows, results.columns_for(rows))
    results.write_json(os.path.join(folder, "machine.json"), {"hardware_threads": 2})
    shutil.copy(os.path.join(SAMPLE, "registry.json"), folder)
    return Path(folder)


class CallRule(unittest.TestCase):
    def case(self, values, refs=None):
        rows = tuple(ResultRow("w", "a", 1, repetition=i, items_per_second=v,
                               ref_items_per_second=refs[i] if refs else None) for i, v in enumerate(values))
        return results.Case("w", "a", 1, rows)

    def test_the_interval_is_welchs(self):
        a, b = [100.0, 104.0, 99.0, 101.0], [90.0, 92.0, 91.0]
        c = ranking.compare(self.case(a), self.case(b))
        la, lb = [math.log(x) for x in a], [math.log(x) for x in b]
        self.assertAlmostEqual(c.ratio, math.exp(statistics.fmean(la) - statistics.fmean(lb)))
        p = ttest_ind(la, lb, equal_var=False).pvalue
        self.assertEqual(ranking.CONFIDENCE, 0.99)  # the rate the goal allows: 1 % of equal pairs called
        self.assertEqual(c.call, "a")
        self.assertLess(p, 0.01)
        # the interval's edge is where Welch's test has p = 0.01: shifting b onto it gives p = 0.01
        shift = math.log(c.low)
        self.assertAlmostEqual(ttest_ind(la, [x + shift for x in lb], equal_var=False).pvalue, 0.01, places=6)
        self.assertFalse(c.paired)

    def test_a_reference_pairs_only_when_both_have_it(self):
        with_ref = self.case([100.0, 120.0], [100.0, 120.0])
        without = self.case([100.0, 120.0])
        self.assertTrue(ranking.compare(with_ref, with_ref).paired)
        self.assertFalse(ranking.compare(with_ref, without).paired)
        self.assertEqual(ranking.compare(without, self.case([100.0, 120.0])).call, "tie")

    def test_a_single_process_gives_no_interval(self):
        c = ranking.compare(self.case([100.0]), self.case([10.0, 11.0]))
        self.assertEqual(c.call, "tie")
        self.assertEqual(c.high, math.inf)
        self.assertIsNone(ranking.precision(self.case([100.0])))

    def test_the_geometric_mean_of_ratios_carries_an_interval(self):
        cs = [ranking.compare(self.case([100.0, 102.0, 98.0]), self.case([50.0, 51.0, 49.5])),
              ranking.compare(self.case([10.0, 10.5, 9.8]), self.case([10.0, 10.1, 9.9]))]
        g = ranking.geometric_mean_comparison(cs)
        self.assertAlmostEqual(g.ratio, math.sqrt(cs[0].ratio * cs[1].ratio))
        self.assertLess(g.low, g.ratio)
        self.assertGreater(g.high, g.ratio)


class ReferenceColumn(unittest.TestCase):
    def doc(self, allocators, reference="tbbmalloc"):
        benchmarks = [{"name": f"w/{a}/threads:{t}", "run_type": "iteration", "items_per_second": tp * t,
                       "ns_per_op": 1.0} for a, tp in allocators for t in (1, 2)]
        return {"context": {"paired_reference": reference} if reference else {}, "benchmarks": benchmarks}

    def test_the_references_rows_become_a_column_of_the_units_rows(self):
        rows = results.rows_from_driver_json(self.doc([("malloc", 10.0), ("tbbmalloc", 7.0)]), 1, "r01__w__malloc")
        self.assertEqual([(r.allocator, r.threads, r.items_per_second, r.ref_items_per_second) for r in rows],
                         [("malloc", 1, 10.0, 7.0), ("malloc", 2, 20.0, 14.0)])

    def test_the_references_own_unit_is_its_own_reference(self):
        rows = results.rows_from_driver_json(self.doc([("tbbmalloc", 7.0)]), 1, "r01__w__tbbmalloc")
        self.assertEqual([(r.allocator, r.ref_items_per_second) for r in rows], [("tbbmalloc", 7.0), ("tbbmalloc", 14.0)])

    def test_without_a_reference_rows_are_as_before(self):
        rows = results.rows_from_driver_json(self.doc([("malloc", 10.0), ("tbbmalloc", 7.0)], None), 1, "u")
        self.assertEqual(len(rows), 4)
        self.assertTrue(all(r.ref_items_per_second is None for r in rows))

    def test_a_failed_reference_leaves_the_row_unpaired(self):
        doc = self.doc([("malloc", 10.0)])
        doc["benchmarks"].append({"name": "w/tbbmalloc/threads:1", "error_occurred": True, "error_message": "boom"})
        rows = results.rows_from_driver_json(doc, 1, "u")
        self.assertEqual([r.ref_items_per_second for r in rows], [None, None])


class Repeatability(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="alloclab-repeat-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_contradictions_reversals_and_discrepancy_by_hand(self):
        one = write_run(os.path.join(self.tmp, "one"), {
            "malloc": [100.0, 101.0, 99.0], "tbbmalloc": [80.0, 81.0, 79.0], "pmr_sync_pool": [60.0, 70.0, 65.0]})
        two = write_run(os.path.join(self.tmp, "two"), {
            "malloc": [80.0, 81.0, 79.0], "tbbmalloc": [100.0, 101.0, 99.0], "pmr_sync_pool": [66.0, 100.0, 90.0]})
        f = repeatability.compare_runs(results.read_run(one), results.read_run(two))
        self.assertEqual((f["pairs"], f["cells"]), (3, 1))
        # malloc vs tbbmalloc: called both times, opposite ways
        self.assertEqual(f["contradicted"], 1)
        # tbbmalloc vs pmr_sync_pool: called in run 1 (80 > 65) and a tie in run 2 whose medians agree
        # (100 > 90): not reversed; malloc vs pmr_sync_pool: run 1 calls malloc, run 2's ratio
        # (80 < 90) say the other: reversed. The contradiction is reversed too.
        self.assertEqual(f["reversed"], 2)
        self.assertEqual(f["median_swaps"], 2)

        self.assertEqual(f["best_same"], 0)

    def test_the_command_prints_the_figures_and_refuses_what_is_no_run(self):
        one = write_run(os.path.join(self.tmp, "one"), {"malloc": [100.0, 101.0, 99.0], "tbbmalloc": [50.0, 51, 49]})
        two = write_run(os.path.join(self.tmp, "two"), {"malloc": [100.0, 102.0, 98.0], "tbbmalloc": [50.0, 52, 48]})
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "harness"), ROOT]))
        out = os.path.join(self.tmp, "figures.json")
        proc = subprocess.run([sys.executable, "-m", "alloclab.repeatability", str(one), str(two), "--json", out],
                              capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("contradicted (the runs call a pair different, opposite ways): 0 (0.0%)", proc.stdout)
        self.assertIn("goal <= 1%: met", proc.stdout)
        figures = json.loads(Path(out).read_text())
        self.assertEqual(figures["pairs"], 1)

        def ratio(x, y):
            return math.exp(statistics.fmean(map(math.log, x)) - statistics.fmean(map(math.log, y)))
        r1, r2 = ratio([100.0, 101.0, 99.0], [50.0, 51, 49]), ratio([100.0, 102.0, 98.0], [50.0, 52, 48])
        self.assertAlmostEqual(figures["discrepancy_median"], abs(r2 / r1 - 1))
        before = sorted(os.listdir(self.tmp))
        bad = subprocess.run([sys.executable, "-m", "alloclab.repeatability", str(one), os.path.join(self.tmp, "nope")],
                             capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(bad.returncode, 2)
        self.assertEqual(len(bad.stderr.strip().splitlines()), 1, bad.stderr)
        self.assertIn("nope", bad.stderr)
        self.assertIn("valid:", bad.stderr)
        self.assertEqual(bad.stdout, "")
        self.assertEqual(sorted(os.listdir(self.tmp)), before)
        single = [write_run(os.path.join(self.tmp, n), {"malloc": [100.0], "tbbmalloc": [50.0]}) for n in ("s1", "s2")]
        other = write_run(os.path.join(self.tmp, "other"), {"malloc": [1.0, 2.0], "pmr_sync_pool": [1.0, 2.0]})
        for argv, words in (([one, one], "same folder"), (single, "fewer than 2"), ([one, other], "one selection")):
            with self.subTest(words=words):
                before = sorted(os.listdir(self.tmp))
                bad = subprocess.run([sys.executable, "-m", "alloclab.repeatability", *map(str, argv)],
                                     capture_output=True, text=True, env=env, timeout=120)
                self.assertEqual(bad.returncode, 2, bad.stderr)
                self.assertEqual(len(bad.stderr.strip().splitlines()), 1, bad.stderr)
                self.assertIn(words, bad.stderr)
                self.assertIn("valid:", bad.stderr)
                self.assertEqual(sorted(os.listdir(self.tmp)), before)


if __name__ == "__main__":
    unittest.main()
