"""The tools' model: the registry's reader and order, the validating results reader, the report
renderers and the statistics, each on small inputs made here.

Run: PYTHONPATH=harness:. /usr/bin/python3 -m unittest tests/tools/test_model.py
"""

import os
import shutil
import tempfile
import unittest

import numpy as np

from alloclab import results, stats
from alloclab.document import Cell, Code, Details, Document, Heading, Paragraph, Table, render_html, render_markdown, \
    render_text
from alloclab.registry import Registry, RegistryError
from alloclab.results import ResultRow, ResultsError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(ROOT, "tests", "data", "sample_run")


def registry_doc(*allocators):
    return {"schema": 1, "allocators": [{"name": n, "kind": k} for n, k in allocators], "workloads": [{"name": "w"}]}


class RegistryTest(unittest.TestCase):
    def test_order_is_by_kind_then_registration_unknown_last(self):
        r = Registry.from_json(registry_doc(("null", "reference"), ("b_lib", "library"), ("a_lib", "library"),
                                            ("peer1", "peer"), ("je", "preloaded")))
        self.assertEqual(r.order(["zz", "null", "je", "a_lib", "peer1", "b_lib", "aa"]),
                         ["b_lib", "a_lib", "peer1", "je", "null", "aa", "zz"])
        self.assertEqual(r.index_in_kind("a_lib"), 1)
        self.assertEqual(r.kind_of("nope"), "other")

    def test_round_trip_through_json(self):
        r = Registry.from_json(registry_doc(("x", "library"), ("y", "peer")))
        self.assertEqual(Registry.from_json(r.to_json()), r)

    def test_malformed_registries_are_refused_with_a_reason(self):
        for doc, needle in (([], "not a registry"), ({"schema": 2}, "not a registry"),
                            (registry_doc(("x", "alien")), "kind 'alien'"),
                            ({"schema": 1, "allocators": [{"kind": "library"}]}, "no 'name'"),
                            ({"schema": 1, "allocators": [{"name": "x", "kind": "peer", "thread_safe": "yes"}]},
                             "'thread_safe'"),
                            ({"schema": 1, "allocators": ["x"]}, "not an object"),
                            ({"schema": 1, "threads": [0]}, "threads")):
            with self.subTest(doc=doc), self.assertRaises(RegistryError) as caught:
                Registry.from_json(doc, "where.json")
            self.assertIn(needle, str(caught.exception))


class ResultsReaderTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="alloclab-model-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_sample_run_reads_whole(self):
        run = results.read_run(SAMPLE)
        self.assertEqual(len(run.rows), 765)
        self.assertEqual(run.thread_counts(), [1, 2, 4])
        self.assertEqual(run.hardware_threads(), 2)
        self.assertEqual(run.allocators()[:3], ["mutex_arena", "atomic_bump_arena", "thread_local_arena"])
        self.assertEqual(run.registry.kind_of("jemalloc"), "preloaded")
        case = run.cases()[("larson", "pmr_sync_pool", 1)]
        self.assertEqual(case.state, "partial")
        self.assertEqual(len(case.values("items_per_second")), 2)

    def test_write_then_read_is_identity_and_bom_crlf_are_accepted(self):
        rows = [ResultRow("w", "a", 2, repetition=3, ns_per_op=1.5, items_per_second=6.0e8, unit="u"),
                ResultRow("w", "b", 2, status="skipped", reason="needs free, really")]
        path = os.path.join(self.tmp, "results.csv")
        results.write_csv(path, rows)
        self.assertEqual(results.read_csv(path), rows)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "wb") as f:
            f.write(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
        self.assertEqual(results.read_csv(path), rows)

    def test_each_fault_names_the_line_and_field(self):
        path = os.path.join(self.tmp, "results.csv")
        good = ResultRow("w", "a", 1, ns_per_op=1.0, items_per_second=1e9).csv_fields()
        header = ",".join(results.COLUMNS)
        for field, value, needle in (("threads", "0", "threads 0 is not positive"),
                                     ("threads", "two", "'two' is not a whole number"),
                                     ("status", "great", "status 'great'"),
                                     ("ns_per_op", "inf", "ns_per_op 'inf'"),
                                     ("items_per_second", "-3", "items_per_second '-3'"),
                                     ("items_per_second", "", "status ok but items_per_second"),
                                     ("workload", "", "empty workload")):
            row = dict(good, **{field: value})
            with open(path, "w", encoding="utf-8") as f:
                f.write(header + "\n" + ",".join(row[c] for c in results.COLUMNS) + "\n")
            with self.subTest(field=field, value=value), self.assertRaises(ResultsError) as caught:
                results.read_csv(path)
            self.assertIn("line 2", str(caught.exception))
            self.assertIn(needle, str(caught.exception))

    def test_driver_json_rows(self):
        doc = {"context": {"active_malloc": "libc.so.6"}, "benchmarks": [
            {"name": "small/malloc/threads:2", "run_type": "iteration", "items_per_second": 5.0, "ns_per_op": 2.0},
            {"name": "small/malloc/threads:2_mean", "run_type": "aggregate"},
            {"name": "larson/null/threads:1", "error_occurred": True, "error_message": "skipped: needs free"},
            {"name": "not a case"}]}
        rows = results.rows_from_driver_json(doc, 4, "unit")
        self.assertEqual([(r.key, r.status, r.reason) for r in rows],
                         [(("small", "malloc", 2), "ok", ""), (("larson", "null", 1), "skipped", "needs free")])
        self.assertEqual(rows[0].items_per_second, 5.0)
        self.assertEqual(rows[0].active_malloc, "libc.so.6")


class CaseTest(unittest.TestCase):
    def test_a_case_that_only_ran_out_of_a_never_freeing_budget_did_not_fit(self):
        oom = "did not fit: out of memory under alloclab_bump's budget (it never frees; exit -6)"
        def case(*rows: ResultRow) -> results.Case:
            return results.Case("w", "a", 1, rows=rows)
        self.assertEqual(case(ResultRow("w", "a", 1, status="failed", reason=oom)).why_missing, "did not fit")
        self.assertEqual(case(ResultRow("w", "a", 1, status="failed", reason=oom),
                              ResultRow("w", "a", 1, repetition=2, status="failed", reason="exit -11")).why_missing,
                         "failed")
        self.assertEqual(case(ResultRow("w", "a", 1, status="skipped", reason="needs free")).why_missing, "skipped")


class DocumentTest(unittest.TestCase):
    DOC = Document("T <1>", "sub `x`", (
        Heading("Part"), Paragraph("a **b** `c<d>` | e"),
        Table(("name", "v"), (("x|y", Cell("1.0", note="n", strong=True, mark="★", css="win")),), numeric=(False, True)),
        Details("more", (Paragraph("inside"),)),
        Table(("a", "1", "2"), (("r", "x", "y"),), groups=(("g", 2),))))

    def test_markdown(self):
        md = render_markdown(self.DOC)
        self.assertIn("# T &lt;1>", md)  # no raw HTML passes into Markdown
        self.assertIn("a **b** `c<d>` | e", md)
        self.assertIn("| x\\|y | **1.0 · n** ★ |", md)
        self.assertIn("| --- | ---: |", md)
        self.assertIn("| a | g 1 | g 2 |", md)
        self.assertIn("inside", md)

    def test_a_code_block_cannot_be_closed_by_its_text(self):
        md = render_markdown(Document("t", blocks=(Code("run\n```\n<script>x</script>\n````"),)))
        self.assertIn("`````sh\nrun", md)
        self.assertTrue(md.rstrip().endswith("`````"))

    def test_html_escapes_and_marks_up(self):
        page = render_html(self.DOC)
        self.assertIn("<title>T &lt;1&gt;</title>", page)
        self.assertIn("a <b>b</b> <code>c&lt;d&gt;</code> | e", page)
        self.assertIn('<td class="win num"><b>1.0 ★</b><span class="note">n</span></td>', page)
        self.assertIn('<th colspan="2">g</th>', page)
        self.assertIn('<th rowspan="2">a</th>', page)
        self.assertIn("<details><summary>more</summary>", page)
        self.assertNotIn("<1>", page)

    def test_text(self):
        text = render_text(Table(("name", "value"), (("long name", "1"), ("x", "1000"))), "title")
        self.assertEqual(text.splitlines(), ["title", "name       value", "long name      1", "x           1000"])


class StatsTest(unittest.TestCase):
    def test_intervals_contain_the_point_and_are_deterministic(self):
        rng = np.random.default_rng(5)
        a, b = list(10 + rng.standard_normal(12)), list(5 + rng.standard_normal(12))
        for f, args in ((stats.median_interval, (a,)), (stats.ratio_interval, (a, b)),
                        (stats.paired_ratio_interval, (a, b))):
            value, low, high = f(*args)
            self.assertLessEqual(low, value)
            self.assertLessEqual(value, high)
            self.assertEqual(f(*args), (value, low, high))
        self.assertAlmostEqual(stats.paired_ratio_interval(a, b)[0], float(np.median(np.array(a) / np.array(b))))

    def test_growth_exponent_of_exact_power_laws(self):
        sizes = [1, 4, 16]
        for k in (0.0, 0.5, 1.0):
            series = [[s ** k * f for f in (0.99, 1.0, 1.01)] for s in sizes]
            value, low, high = stats.growth_interval(series, sizes)
            self.assertAlmostEqual(value, k, places=9)
            self.assertLess(high - low, 0.02)

    def test_summaries(self):
        s = stats.summarise([90.0, 100.0, 110.0])
        self.assertEqual((s.median, s.min, s.max, s.n), (100.0, 90.0, 110.0, 3))
        self.assertAlmostEqual(s.cv, 0.1)
        self.assertIsNone(stats.summarise([1.0]).cv)
        self.assertAlmostEqual(stats.geometric_mean([2.0, 8.0]), 4.0)
        self.assertIsNone(stats.geometric_mean([]))


if __name__ == "__main__":
    unittest.main()
