"""The performance-claims checker (harness/alloclab/claims.py): its statistics on synthetic rows
with known answers, its parser on malformed files, the shipped claims file, and main() end to
end on a results folder written here (nothing is benchmarked).

Usage: PYTHONPATH=harness:. python3 -m unittest tests/tools/test_claims.py   (ALLOCLAB_BINARY names the driver)
"""

import contextlib
import io
import json
import math
import os
import shutil
import statistics
import tempfile
import unittest
from dataclasses import replace

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from alloclab import claims, results, stats
from alloclab.registry import ask_driver
from alloclab.results import ResultRow
from alloclab.verdicts import verdict_table

BINARY = os.environ.get("ALLOCLAB_BINARY", os.path.join(ROOT, "build", "release", "harness", "alloclab"))
SHIPPED = os.path.join(ROOT, "harness", "claims.toml")

# Name lists handed to load_claims in place of the driver's `--list`.
ALLOCATORS = ["malloc", "chained_arena", "thread_local_arena", "mutex_arena", "atomic_bump_arena",
              "coalescing_pool", "jemalloc", "mimalloc", "tcmalloc"]
WORKLOADS = ["small", "stress", "mixed", "frame", "larson", "ast_1k", "ast_16k", "ast_256k"]
AST = ["ast_1k", "ast_16k", "ast_256k"]
SIZES = [1024, 16384, 262144]


# --- helpers ------------------------------------------------------------------------------------

def noisy(center, rel_noise, n, seed, centered=False):
    """n values around center with relative Gaussian noise; centered: the sample median is
    exactly center (the noise is divided by its own median)."""
    factors = 1.0 + rel_noise * np.random.default_rng(seed).standard_normal(n)
    factors = np.abs(factors) + 1e-9
    if centered:
        factors = factors / np.median(factors)
    return [float(x) for x in center * factors]


def make_rows(workload, allocator, threads, status="ok", **columns):
    """One row per repetition of the case (workload, allocator, threads); columns maps a
    results.csv metric column to its values, one per repetition."""
    lengths = {len(v) for v in columns.values()}
    assert len(lengths) == 1, "every column needs one value per repetition"
    if "items_per_second" in columns and "ns_per_op" not in columns:  # the reader wants both for ok rows
        columns["ns_per_op"] = [1e9 / v if v else 0.0 for v in columns["items_per_second"]]
    return [ResultRow(workload, allocator, threads, repetition=i + 1, status=status,
                      unit=f"{workload}.{allocator}.r{i + 1}", **{c: v[i] for c, v in columns.items()})
            for i in range(lengths.pop())]


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def toml_text(*claim_dicts):
    parts = []
    for c in claim_dicts:
        parts.append("[[claim]]")
        parts.extend(f"{k} = {toml_value(v)}" for k, v in c.items())
        parts.append("")
    return "\n".join(parts)


def claim_fields(**fields):
    """A complete claim: id/sentence/source filled in, the rest as given."""
    out = {"id": fields.pop("id", "c"), "sentence": "A sentence.", "source": "a source"}
    out.update(fields)
    return out


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="alloclab-claims-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def load(self, *claim_dicts, allocators=ALLOCATORS, workloads=WORKLOADS):
        path = self.write("claims.toml", toml_text(*claim_dicts))
        return claims.load_claims(path, allocators, workloads)


# --- 1. statistics ------------------------------------------------------------------------------

class StatisticsTest(TempDirTest):
    N = 10

    def claim(self, **fields):
        """Goes through the real parser, so defaults (threads, threads_b, workloads) are its own."""
        (c,) = self.load(claim_fields(**fields))
        return c

    def verdict(self, rows, **fields):
        return claims.evaluate(self.claim(**fields), rows)

    def throughput_pair(self, a_center, b_center, noise, n=N, seed=0, centered=False):
        return (make_rows("small", "chained_arena", 1,
                          items_per_second=noisy(a_center, noise, n, seed, centered))
                + make_rows("small", "malloc", 1,
                            items_per_second=noisy(b_center, noise, n, seed + 1, centered)))

    # ratio_at_least ------------------------------------------------------------------------------

    def test_ratio_clear_win_reproduced(self):
        rows = self.throughput_pair(10e6, 1e6, 0.02)
        r = self.verdict(rows, workload="small", a="chained_arena", b="malloc", metric="throughput",
                         relation="ratio_at_least", bound=5.0)
        self.assertEqual(r.verdict, "REPRODUCED", r)
        self.assertAlmostEqual(r.value, 10.0, delta=0.5)
        self.assertEqual(r.n, self.N)

    def test_ratio_bound_above_true_ratio_not_reproduced(self):
        rows = self.throughput_pair(10e6, 1e6, 0.02)
        r = self.verdict(rows, workload="small", a="chained_arena", b="malloc", metric="throughput",
                         relation="ratio_at_least", bound=20.0)
        self.assertEqual(r.verdict, "NOT REPRODUCED", r)
        self.assertLess(r.high, 20.0)

    def test_ratio_bound_at_true_ratio_with_wide_noise_inconclusive(self):
        # True ratio 10, 15 % independent noise on each: the interval straddles the bound 10.
        rows = self.throughput_pair(10e6, 1e6, 0.15, centered=True)
        r = self.verdict(rows, workload="small", a="chained_arena", b="malloc", metric="throughput",
                         relation="ratio_at_least", bound=10.0)
        self.assertAlmostEqual(r.value, 10.0, delta=0.5)
        self.assertLess(r.low, 10.0)
        self.assertGreater(r.high, 10.0)
        self.assertEqual(r.verdict, "INCONCLUSIVE", r)

    def test_ratio_at_most(self):
        rows = self.throughput_pair(10e6, 1e6, 0.02)
        common = dict(workload="small", a="chained_arena", b="malloc", metric="throughput",
                      relation="ratio_at_most")
        self.assertEqual(self.verdict(rows, bound=12.0, **common).verdict, "REPRODUCED")
        self.assertEqual(self.verdict(rows, bound=1.44, **common).verdict, "NOT REPRODUCED")

    def test_bootstrap_ratio_interval_and_point(self):
        a = noisy(10e6, 0.02, 12, seed=7)
        b = noisy(1e6, 0.02, 12, seed=8)
        value, low, high = stats.ratio_interval(a, b)
        self.assertEqual(value, statistics.median(a) / statistics.median(b))
        self.assertLessEqual(low, value)
        self.assertLessEqual(value, high)
        self.assertLessEqual(low, 10.0)
        self.assertGreaterEqual(high, 10.0)
        self.assertLess((high - low) / 10.0, 0.06, (low, high))  # narrow for 2 % noise
        # deterministic: the same seed gives the same interval
        self.assertEqual(stats.ratio_interval(a, b), (value, low, high))
        # wider noise, wider interval
        wa, wb = noisy(10e6, 0.2, 12, seed=7), noisy(1e6, 0.2, 12, seed=8)
        _, wlow, whigh = stats.ratio_interval(wa, wb)
        self.assertGreater(whigh - wlow, 3 * (high - low))
        # medians, not means: one wild repetition barely moves the interval
        outlier = a[:-1] + [1000 * a[-1]]
        ovalue, olow, ohigh = stats.ratio_interval(outlier, b)
        self.assertLess(ohigh, 11.0, (olow, ohigh))
        self.assertGreater(olow, 9.0, (olow, ohigh))

    def test_evaluate_point_value_is_median_of_paired_ratios(self):
        rows = self.throughput_pair(10e6, 1e6, 0.05, n=11)
        r = self.verdict(rows, workload="small", a="chained_arena", b="malloc", metric="throughput",
                         relation="ratio_at_least", bound=5.0)
        a = [row.items_per_second for row in rows if row.allocator == "chained_arena"]
        b = [row.items_per_second for row in rows if row.allocator == "malloc"]
        self.assertTrue(r.paired)
        self.assertAlmostEqual(r.value, statistics.median(x / y for x, y in zip(a, b)), places=12)
        self.assertNotAlmostEqual(r.value, statistics.median(a) / statistics.median(b), places=6)
        self.assertLessEqual(r.low, r.value)
        self.assertLessEqual(r.value, r.high)

    def test_unpaired_when_repetitions_differ_point_value_is_ratio_of_medians(self):
        rows = self.throughput_pair(10e6, 1e6, 0.05, n=11)
        rows = [r for r in rows if not (r.allocator == "malloc" and r.repetition == 3)]
        r = self.verdict(rows, workload="small", a="chained_arena", b="malloc", metric="throughput",
                         relation="ratio_at_least", bound=5.0)
        a = [row.items_per_second for row in rows if row.allocator == "chained_arena"]
        b = [row.items_per_second for row in rows if row.allocator == "malloc"]
        self.assertFalse(r.paired)
        self.assertAlmostEqual(r.value, statistics.median(a) / statistics.median(b), places=12)

    def test_no_pairs_from_a_one_run_duplicates_or_non_positive_values(self):
        base = self.throughput_pair(10e6, 1e6, 0.05, n=11)
        common = dict(workload="small", a="chained_arena", b="malloc", metric="throughput",
                      relation="ratio_at_least", bound=5.0)
        one_run = [replace(r, unit=claims.UNPAIRED_UNIT) for r in base]
        duplicated = base + [base[0]]
        zero = [replace(r, items_per_second=0.0) if r.allocator == "malloc" and r.repetition == 2 else r
                for r in base]
        for rows in (one_run, duplicated, zero):
            r = self.verdict(rows, **common)
            self.assertFalse(r.paired, r)
            self.assertTrue(math.isfinite(r.value) and math.isfinite(r.high), r)

    def test_pairing_cancels_drift_shared_by_a_repetition(self):
        # The machine's speed drifts by up to 2x between repetitions and hits A and B of one
        # repetition alike; A is 0.8 x B throughout (1 % noise of its own). Paired, the ratio is
        # tight around 0.8; from the medians alone the interval would straddle 0.75 and 0.85.
        drift = noisy(1.0, 0.35, 12, seed=5)
        own_a, own_b = noisy(1.0, 0.01, 12, seed=6), noisy(1.0, 0.01, 12, seed=7)
        a = [0.8e9 * d * e for d, e in zip(drift, own_a)]
        b = [1.0e9 * d * e for d, e in zip(drift, own_b)]
        rows = (make_rows("small", "thread_local_arena", 2, items_per_second=a)
                + make_rows("small", "chained_arena", 2, items_per_second=b))
        common = dict(workload="small", a="thread_local_arena", b="chained_arena", metric="throughput",
                      threads=2)
        r = self.verdict(rows, relation="ratio_at_least", bound=0.75, **common)
        self.assertTrue(r.paired)
        self.assertAlmostEqual(r.value, 0.8, delta=0.02)
        self.assertEqual(r.verdict, "REPRODUCED", r)
        self.assertEqual(self.verdict(rows, relation="ratio_at_least", bound=0.85, **common).verdict,
                         "NOT REPRODUCED")
        _, low, high = stats.ratio_interval(a, b)  # what the unpaired interval would be
        self.assertLess(low, 0.75)
        self.assertGreater(high, 0.85)

    def test_bootstrap_median(self):
        a = noisy(1.05, 0.01, 11, seed=3)
        value, low, high = stats.median_interval(a)
        self.assertEqual(value, statistics.median(a))
        self.assertLessEqual(low, value)
        self.assertLessEqual(value, high)
        self.assertLess(high - low, 0.05)

    # lower-is-better orientation ----------------------------------------------------------------

    def test_ratio_on_lower_is_better_metric_reads_as_times_better(self):
        rows = (make_rows("small", "chained_arena", 1, ns_per_op=noisy(2.0, 0.02, self.N, 1))
                + make_rows("small", "malloc", 1, ns_per_op=noisy(20.0, 0.02, self.N, 2)))
        r = self.verdict(rows, workload="small", a="chained_arena", b="malloc", metric="ns_per_op",
                         relation="ratio_at_least", bound=5.0)
        self.assertAlmostEqual(r.value, 10.0, delta=0.5)
        self.assertEqual(r.verdict, "REPRODUCED", r)
        # and the other way round: malloc is not 5x better than the arena
        r = self.verdict(rows, workload="small", a="malloc", b="chained_arena", metric="ns_per_op",
                         relation="ratio_at_least", bound=5.0)
        self.assertAlmostEqual(r.value, 0.1, delta=0.005)
        self.assertEqual(r.verdict, "NOT REPRODUCED", r)

    # greater / less (Mann-Whitney U) ------------------------------------------------------------

    def test_greater(self):
        common = dict(workload="small", a="chained_arena", b="malloc", metric="throughput",
                      relation="greater")
        faster = self.throughput_pair(2e6, 1e6, 0.05)
        r = self.verdict(faster, **common)
        self.assertEqual(r.verdict, "REPRODUCED", r)
        self.assertLess(r.p, 0.05)
        slower = self.throughput_pair(1e6, 2e6, 0.05)
        r = self.verdict(slower, **common)
        self.assertEqual(r.verdict, "NOT REPRODUCED", r)
        self.assertGreater(r.p, 0.95)

    def test_greater_identical_distributions_inconclusive(self):
        values = noisy(1e6, 0.05, self.N, seed=4)
        shuffled = [float(x) for x in np.random.default_rng(5).permutation(values)]
        rows = (make_rows("small", "chained_arena", 1, items_per_second=values)
                + make_rows("small", "malloc", 1, items_per_second=shuffled))
        for relation in ("greater", "less"):
            r = self.verdict(rows, workload="small", a="chained_arena", b="malloc", metric="throughput",
                             relation=relation)
            self.assertEqual(r.verdict, "INCONCLUSIVE", r)
            self.assertGreater(r.p, 0.3)

    def test_less_on_latency_tail_ratio(self):
        n = self.N
        p50 = noisy(100.0, 0.02, n, seed=10)
        p999 = [2.0 * x * f for x, f in zip(p50, noisy(1.0, 0.05, n, seed=13))]  # tail ~ 2
        rows = (make_rows("small", "thread_local_arena", 1, latency_p50_ns=p50, latency_p999_ns=p999)
                + make_rows("small", "malloc", 1, latency_p50_ns=noisy(100.0, 0.02, n, seed=11),
                            latency_p999_ns=noisy(1000.0, 0.05, n, seed=12)))
        # samples() derives p999 / p50 row by row
        tail_a = claims.samples(rows, "small", "thread_local_arena", 1, "latency_tail_ratio")
        self.assertEqual(len(tail_a), n)
        for row, value in zip([r for r in rows if r.allocator == "thread_local_arena"], tail_a):
            self.assertAlmostEqual(value, row.latency_p999_ns / row.latency_p50_ns)
        r = self.verdict(rows, workload="small", a="thread_local_arena", b="malloc",
                         metric="latency_tail_ratio", relation="less")
        self.assertEqual(r.verdict, "REPRODUCED", r)
        self.assertGreater(r.value, 1.0)  # A is better: "times better" above 1
        r = self.verdict(rows, workload="small", a="malloc", b="thread_local_arena",
                         metric="latency_tail_ratio", relation="less")
        self.assertEqual(r.verdict, "NOT REPRODUCED", r)

    def test_less_on_ns_per_op(self):
        rows = (make_rows("small", "chained_arena", 1, ns_per_op=noisy(5.0, 0.03, self.N, 20))
                + make_rows("small", "malloc", 1, ns_per_op=noisy(25.0, 0.03, self.N, 21)))
        r = self.verdict(rows, workload="small", a="chained_arena", b="malloc", metric="ns_per_op",
                         relation="less")
        self.assertEqual(r.verdict, "REPRODUCED", r)
        r = self.verdict(rows, workload="small", a="chained_arena", b="malloc", metric="ns_per_op",
                         relation="greater")
        self.assertEqual(r.verdict, "NOT REPRODUCED", r)

    # within ---------------------------------------------------------------------------------------

    def test_within(self):
        common = dict(workload="small", a="chained_arena", b="malloc", metric="throughput",
                      relation="within", tolerance=0.15)
        equal = self.throughput_pair(1e6, 1e6, 0.02)
        r = self.verdict(equal, **common)
        self.assertEqual(r.verdict, "REPRODUCED", r)
        self.assertAlmostEqual(r.value, 1.0, delta=0.05)
        for a_center, b_center in ((2e6, 1e6), (1e6, 2e6), (1.25e6, 1e6), (0.8e6, 1e6)):
            with self.subTest(a=a_center, b=b_center):
                apart = self.throughput_pair(a_center, b_center, 0.02)
                self.assertEqual(self.verdict(apart, **common).verdict, "NOT REPRODUCED")
        # 10 % apart is inside 15 %
        near = self.throughput_pair(1.1e6, 1e6, 0.01)
        self.assertEqual(self.verdict(near, **common).verdict, "REPRODUCED")

    # at_most / at_least ---------------------------------------------------------------------------

    def test_at_most_and_at_least_on_overhead_ratio(self):
        rows = make_rows("small", "chained_arena", 1, overhead_ratio=noisy(1.05, 0.01, self.N, 30))
        common = dict(workload="small", a="chained_arena", metric="overhead_ratio")
        cases = [("at_most", 1.1, "REPRODUCED"), ("at_most", 1.0, "NOT REPRODUCED"),
                 ("at_least", 1.0, "REPRODUCED"), ("at_least", 1.1, "NOT REPRODUCED"),
                 ("at_most", 1.05, "INCONCLUSIVE")]
        for relation, bound, expected in cases:
            with self.subTest(relation=relation, bound=bound):
                r = self.verdict(rows, relation=relation, bound=bound, **common)
                self.assertEqual(r.verdict, expected, r)
                self.assertAlmostEqual(r.value, 1.05, delta=0.01)

    # growth ---------------------------------------------------------------------------------------

    def growth_rows(self, allocator, per_size):
        rows = []
        for i, (workload, size) in enumerate(zip(AST, SIZES)):
            rows += make_rows(workload, allocator, 1,
                              destroy_ns_per_tree=noisy(per_size(size), 0.02, self.N, 40 + i))
        return rows

    def growth(self, rows, allocator, relation, exponent):
        return self.verdict(rows, workloads=AST, sizes=SIZES, a=allocator, metric="destroy_time",
                            relation=relation, exponent=exponent)

    def test_growth_constant(self):
        rows = self.growth_rows("chained_arena", lambda size: 1000.0)
        r = self.growth(rows, "chained_arena", "growth_at_most", 0.1)
        self.assertEqual(r.verdict, "REPRODUCED", r)
        self.assertAlmostEqual(r.value, 0.0, delta=0.02)
        self.assertEqual(r.n, self.N)
        r = self.growth(rows, "chained_arena", "growth_at_least", 0.9)
        self.assertEqual(r.verdict, "NOT REPRODUCED", r)

    def test_growth_linear(self):
        rows = self.growth_rows("malloc", lambda size: 20.0 * size)
        r = self.growth(rows, "malloc", "growth_at_most", 0.1)
        self.assertEqual(r.verdict, "NOT REPRODUCED", r)
        r = self.growth(rows, "malloc", "growth_at_least", 0.9)
        self.assertEqual(r.verdict, "REPRODUCED", r)
        self.assertAlmostEqual(r.value, 1.0, delta=0.02)
        self.assertLessEqual(r.low, 1.0)
        self.assertGreaterEqual(r.high, 1.0)

    def test_bootstrap_growth_exponent(self):
        series = [noisy(3.0 * s ** 0.5, 0.01, 10, seed=50 + i) for i, s in enumerate(SIZES)]
        value, low, high = stats.growth_interval(series, SIZES)
        expected = np.polyfit(np.log(SIZES), np.log([statistics.median(s) for s in series]), 1)[0]
        self.assertAlmostEqual(value, float(expected), places=12)
        self.assertAlmostEqual(value, 0.5, delta=0.01)
        self.assertLessEqual(low, value)
        self.assertLessEqual(value, high)
        self.assertLess(high - low, 0.02)

    # repetitions and selection --------------------------------------------------------------------

    def test_fewer_than_three_repetitions_inconclusive(self):
        rows = self.throughput_pair(10e6, 1e6, 0.02, n=2)
        r = self.verdict(rows, workload="small", a="chained_arena", b="malloc", metric="throughput",
                         relation="ratio_at_least", bound=5.0)
        self.assertEqual(r.verdict, "INCONCLUSIVE")
        self.assertEqual(r.n, 2)
        self.assertIn("2 repetitions", r.detail)
        # one allocator only (at_most): the same rule
        r = self.verdict(rows, workload="small", a="chained_arena", metric="throughput",
                         relation="at_least", bound=1.0)
        self.assertEqual(r.verdict, "INCONCLUSIVE")
        self.assertTrue(r.detail)

    def test_failed_and_skipped_rows_do_not_count(self):
        good = self.throughput_pair(10e6, 1e6, 0.02, n=2)
        bad = (make_rows("small", "chained_arena", 1, status="failed", items_per_second=[10e6] * 8)
               + make_rows("small", "malloc", 1, status="skipped", items_per_second=[1e6] * 8))
        r = self.verdict(good + bad, workload="small", a="chained_arena", b="malloc",
                         metric="throughput", relation="ratio_at_least", bound=5.0)
        self.assertEqual(r.verdict, "INCONCLUSIVE")
        self.assertEqual(r.n, 2)
        # no rows at all for the case: inconclusive, not an exception
        r = self.verdict(good, workload="small", a="mutex_arena", b="malloc",
                         metric="throughput", relation="greater")
        self.assertEqual(r.verdict, "INCONCLUSIVE")
        self.assertEqual(r.n, 0)

    def test_threads_and_threads_b_select_the_cases(self):
        rows = (make_rows("small", "thread_local_arena", 1, items_per_second=noisy(1e6, 0.02, self.N, 60))
                + make_rows("small", "thread_local_arena", 2, items_per_second=noisy(1.95e6, 0.02, self.N, 61)))
        r = self.verdict(rows, workload="small", a="thread_local_arena", b="thread_local_arena",
                         threads=2, threads_b=1, metric="throughput", relation="ratio_at_least", bound=1.8)
        self.assertEqual(r.verdict, "REPRODUCED", r)
        self.assertAlmostEqual(r.value, 1.95, delta=0.1)

    def test_threads_b_defaults_to_threads(self):
        # At 2 threads the arena wins; at 1 thread malloc would. threads = 2 alone means both sides.
        rows = (make_rows("stress", "atomic_bump_arena", 2, items_per_second=noisy(4e6, 0.02, self.N, 70))
                + make_rows("stress", "mutex_arena", 2, items_per_second=noisy(1e6, 0.02, self.N, 71))
                + make_rows("stress", "mutex_arena", 1, items_per_second=noisy(9e6, 0.02, self.N, 72)))
        r = self.verdict(rows, workload="stress", a="atomic_bump_arena", b="mutex_arena", threads=2,
                         metric="throughput", relation="greater")
        self.assertEqual(r.verdict, "REPRODUCED", r)
        self.assertAlmostEqual(r.value, 4.0, delta=0.2)


# --- 2. the parser on malformed files ------------------------------------------------------------

GOOD = dict(id="good", workload="small", a="chained_arena", b="malloc", metric="throughput",
            relation="ratio_at_least", bound=10.0)
GROWTH = dict(id="grows", workloads=AST, sizes=SIZES, a="chained_arena", metric="destroy_time",
              relation="growth_at_most", exponent=0.1)


class ParserTest(TempDirTest):
    def assertRejected(self, claim_id, field, *claim_dicts):
        with self.assertRaises(claims.ClaimsError) as caught:
            self.load(*claim_dicts)
        message = str(caught.exception)
        self.assertIn(f"'{claim_id}'", message)
        self.assertIn(f"field '{field}'", message)
        self.assertIn(os.path.join(self.tmp, "claims.toml"), message)
        return message

    def with_(self, base, **changes):
        out = claim_fields(**base)
        for k, v in changes.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v
        return out

    def test_good_claims_parse(self):
        parsed = self.load(claim_fields(**GOOD), claim_fields(**GROWTH))
        self.assertEqual([c.id for c in parsed], ["good", "grows"])
        self.assertEqual(parsed[0].threads, 1)
        self.assertEqual(parsed[0].threads_b, 1)
        self.assertEqual(parsed[0].workloads, ("small",))
        self.assertEqual(parsed[1].workloads, tuple(AST))
        (two,) = self.load(claim_fields(**GOOD, threads=2))
        self.assertEqual((two.threads, two.threads_b), (2, 2))

    def test_unknown_workload(self):
        message = self.assertRejected("bad-w", "workload", self.with_(GOOD, id="bad-w", workload="tiny"))
        self.assertIn("tiny", message)

    def test_unknown_workload_in_growth_claim(self):
        self.assertRejected("bad-ws", "workloads",
                            self.with_(GROWTH, id="bad-ws", workloads=["ast_1k", "ast_16k", "ast_1m"]))

    def test_unknown_allocator_in_a(self):
        message = self.assertRejected("bad-a", "a", self.with_(GOOD, id="bad-a", a="hoard"))
        self.assertIn("hoard", message)

    def test_unknown_allocator_in_b(self):
        message = self.assertRejected("bad-b", "b", self.with_(GOOD, id="bad-b", b="ptmalloc3"))
        self.assertIn("ptmalloc3", message)

    def test_unknown_metric(self):
        message = self.assertRejected("bad-m", "metric", self.with_(GOOD, id="bad-m", metric="speed"))
        self.assertIn("speed", message)

    def test_bad_relation(self):
        message = self.assertRejected("bad-r", "relation", self.with_(GOOD, id="bad-r", relation="faster"))
        self.assertIn("faster", message)

    def test_missing_field_required_by_relation(self):
        self.assertRejected("no-bound", "bound", self.with_(GOOD, id="no-bound", bound=None))
        self.assertRejected("no-tol", "tolerance", self.with_(GOOD, id="no-tol", relation="within", bound=None))
        self.assertRejected("no-b", "b", self.with_(GOOD, id="no-b", relation="greater", b=None, bound=None))
        self.assertRejected("no-k", "exponent", self.with_(GROWTH, id="no-k", exponent=None))

    def test_missing_basic_field(self):
        self.assertRejected("no-src", "source", self.with_(GOOD, id="no-src", source=None))
        self.assertRejected("empty-sentence", "sentence", self.with_(GOOD, id="empty-sentence", sentence="  "))

    def test_non_numeric_bound(self):
        self.assertRejected("str-bound", "bound", self.with_(GOOD, id="str-bound", bound="10"))
        self.assertRejected("bool-bound", "bound", self.with_(GOOD, id="bool-bound", bound=True))
        self.assertRejected("str-k", "exponent", self.with_(GROWTH, id="str-k", exponent="0.1"))

    def test_growth_sizes_of_wrong_length(self):
        message = self.assertRejected("short", "sizes", self.with_(GROWTH, id="short", sizes=[1024, 16384]))
        self.assertIn("one positive size per workload", message)
        self.assertRejected("negative", "sizes", self.with_(GROWTH, id="negative", sizes=[1024, -1, 262144]))
        self.assertRejected("no-sizes", "sizes", self.with_(GROWTH, id="no-sizes", sizes=None))

    def test_duplicate_id(self):
        message = self.assertRejected("twice", "id", self.with_(GOOD, id="twice"),
                                      self.with_(GROWTH, id="other"), self.with_(GROWTH, id="twice"))
        self.assertIn("earlier", message)

    def test_unknown_field_name(self):
        message = self.assertRejected("typo", "bounds", self.with_(GOOD, id="typo", bounds=10.0))
        self.assertIn("unknown field", message)

    def test_bad_threads(self):
        self.assertRejected("zero-threads", "threads", self.with_(GOOD, id="zero-threads", threads=0))
        self.assertRejected("float-threads", "threads_b", self.with_(GOOD, id="float-threads", threads_b=2.0))

    def test_toml_syntax_error(self):
        path = self.write("broken.toml", '[[claim]]\nid = "x"\nbound = = 3\n')
        with self.assertRaises(claims.ClaimsError) as caught:
            claims.load_claims(path, ALLOCATORS, WORKLOADS)
        message = str(caught.exception)
        self.assertIn(path, message)
        self.assertIn("TOML syntax", message)

    def test_claim_entries_that_are_not_tables(self):
        # `claim = ["x"]` is valid TOML but no [[claim]] table: it should be a ClaimsError
        # (exit 2 from main), not an AttributeError escaping load_claims.
        path = self.write("not-tables.toml", 'claim = ["x"]\n')
        with self.assertRaises(claims.ClaimsError) as caught:
            claims.load_claims(path, ALLOCATORS, WORKLOADS)
        self.assertIn(path, str(caught.exception))

    def test_no_claims_and_missing_file(self):
        path = self.write("empty.toml", "# nothing\n")
        with self.assertRaises(claims.ClaimsError) as caught:
            claims.load_claims(path, ALLOCATORS, WORKLOADS)
        self.assertIn(path, str(caught.exception))
        missing = os.path.join(self.tmp, "absent.toml")
        with self.assertRaises(claims.ClaimsError) as caught:
            claims.load_claims(missing, ALLOCATORS, WORKLOADS)
        self.assertIn(missing, str(caught.exception))


# --- 3. the shipped claims ------------------------------------------------------------------------

class ShippedClaimsTest(unittest.TestCase):
    def test_shipped_claims_parse_with_the_drivers_names(self):
        if not os.access(BINARY, os.X_OK):
            self.skipTest(f"driver not built: {BINARY} (set ALLOCLAB_BINARY)")
        registry = ask_driver(BINARY)
        parsed = claims.load_claims(SHIPPED, registry.allocator_names(), registry.workload_names(),
                                    claims.program_names(registry))
        self.assertGreaterEqual(len(parsed), 10)
        self.assertTrue(any(c.programs for c in parsed))  # claims made on programs, judged on programs
        self.assertEqual(len({c.id for c in parsed}), len(parsed))
        for c in parsed:
            with self.subTest(claim=c.id):
                self.assertTrue(c.source.strip())
                self.assertTrue(c.sentence.strip())
                self.assertIn(c.relation, claims.PROGRAM_RELATIONS if c.programs else claims.RELATIONS)
                self.assertIn(c.metric, claims.PROGRAM_METRICS if c.programs else claims.METRICS)


# --- 4. main() end to end on a results folder ----------------------------------------------------

class MainTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.folder = os.path.join(self.tmp, "results")
        os.makedirs(self.folder)
        n = 10
        rows = (make_rows("small", "chained_arena", 1, items_per_second=noisy(10e6, 0.02, n, 1),
                          overhead_ratio=noisy(1.02, 0.005, n, 2))
                + make_rows("small", "malloc", 1, items_per_second=noisy(1e6, 0.02, n, 3),
                            overhead_ratio=noisy(1.4, 0.01, n, 4))
                + make_rows("small", "mutex_arena", 1, items_per_second=[1e6, 2e6]))
        results.write_csv(os.path.join(self.folder, "results.csv"), rows)
        # Names come from the rows, not from a driver: nothing is run.
        self.no_driver = ["--binary", os.path.join(self.tmp, "no-such-driver")]
        self.claims_ok = [
            claim_fields(id="arena-5x", workload="small", a="chained_arena", b="malloc",
                         metric="throughput", relation="ratio_at_least", bound=5.0),
            claim_fields(id="arena-low-overhead", workload="small", a="chained_arena",
                         metric="overhead_ratio", relation="at_most", bound=1.1),
            claim_fields(id="too-few", workload="small", a="mutex_arena", b="malloc",
                         metric="throughput", relation="greater"),
        ]
        self.claim_fails = claim_fields(id="arena-20x", workload="small", a="chained_arena", b="malloc",
                                        metric="throughput", relation="ratio_at_least", bound=20.0)

    def main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = claims.main([*argv, *self.no_driver])
        return code, out.getvalue(), err.getvalue()

    def written(self):
        with open(os.path.join(self.folder, "claims.json"), encoding="utf-8") as f:
            doc = json.load(f)
        with open(os.path.join(self.folder, "claims.md"), encoding="utf-8") as f:
            md = f.read()
        return {r["id"]: r for r in doc}, md

    def test_from_folder_writes_verdicts(self):
        path = self.write("tiny.toml", toml_text(*self.claims_ok, self.claim_fails))
        code, out, err = self.main(path, "--from", self.folder)
        self.assertEqual(code, 0, err)
        verdicts, md = self.written()
        self.assertEqual({k: v["verdict"] for k, v in verdicts.items()},
                         {"arena-5x": "REPRODUCED", "arena-low-overhead": "REPRODUCED",
                          "too-few": "INCONCLUSIVE", "arena-20x": "NOT REPRODUCED"})
        self.assertAlmostEqual(verdicts["arena-5x"]["value"], 10.0, delta=0.5)
        self.assertEqual(verdicts["arena-5x"]["sentence"], "A sentence.")
        self.assertEqual(verdicts["too-few"]["n"], 2)
        for claim_id, verdict in (("arena-5x", "REPRODUCED"), ("arena-20x", "NOT REPRODUCED"),
                                  ("too-few", "INCONCLUSIVE")):
            self.assertIn(f"| {claim_id} |", md)
            self.assertIn(f"**{claim_id}** ({verdict})", md)
        self.assertIn("2 reproduced, 1 not reproduced, 1 inconclusive", out)

    def test_strict_exit_codes(self):
        failing = self.write("failing.toml", toml_text(*self.claims_ok, self.claim_fails))
        code, _, _ = self.main(failing, "--from", self.folder, "--strict")
        self.assertEqual(code, 1)
        self.assertTrue(os.path.exists(os.path.join(self.folder, "claims.md")))
        # INCONCLUSIVE alone does not fail --strict
        passing = self.write("passing.toml", toml_text(*self.claims_ok))
        code, _, err = self.main(passing, "--from", self.folder, "--strict")
        self.assertEqual(code, 0, err)

    def test_malformed_claims_file_exit_2(self):
        bad = claim_fields(id="bad-alloc", workload="small", a="hoard", b="malloc",
                           metric="throughput", relation="greater")
        path = self.write("bad.toml", toml_text(self.claims_ok[0], bad))
        code, out, err = self.main(path, "--from", self.folder)
        self.assertEqual(code, 2)
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("claims:"), err)
        self.assertIn("'bad-alloc'", lines[0])
        self.assertIn("field 'a'", lines[0])
        self.assertEqual(out, "")
        self.assertFalse(os.path.exists(os.path.join(self.folder, "claims.md")))
        self.assertFalse(os.path.exists(os.path.join(self.folder, "claims.json")))

    def test_hostile_claims_files_exit_2_and_write_nothing(self):
        base = self.claims_ok[0]
        for text, needle in (
                ('output = "machine"\n' + toml_text(base), "would replace a file"),
                ('output = "ｆｕｌｌ"\n' + toml_text(base), "ASCII"),
                (toml_text(base).replace("bound = 5.0", "bound = nan"),
                 "not a finite number"),
                (toml_text(claim_fields(id="x", workload="small", a="chained_arena", b="malloc",
                                        metric="overhead_ratio", relation="at_most", bound=1.1)), "not used by"),
                (toml_text(claim_fields(id="x", workload="small", a="chained_arena", b="malloc",
                                        metric="throughput", relation="within", tolerance=-0.5)), "fraction"),
                (toml_text(dict(base, threads=0)), "not a positive whole number")):
            with self.subTest(needle=needle):
                code, out, err = self.main(self.write("hostile.toml", text), "--from", self.folder)
                self.assertEqual(code, 2, err)
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn(needle, err)
                self.assertFalse(os.path.exists(os.path.join(self.folder, "claims.md")))
        with self.assertRaises(claims.ClaimsError) as caught:
            self.load(claim_fields(id="x", workloads=["ast_1k", "ast_16k"], a="chained_arena", sizes=[5, 5],
                                   metric="ns_per_op", relation="growth_at_most", exponent=0.1))
        self.assertIn("two different sizes", str(caught.exception))
        with open(os.path.join(self.tmp, "binary.toml"), "wb") as f:
            f.write(b"\xff\xfe\x00garbage")
        code, _, err = self.main(os.path.join(self.tmp, "binary.toml"), "--from", self.folder)
        self.assertEqual((code, len(err.splitlines())), (2, 1), err)
        self.assertIn("not UTF-8", err)

    def test_bad_options_are_one_line(self):
        # Numbers are checked by argparse's strict types (alloclab.cli.integer/number): one line
        # naming the option and the value, exit 2 (before: --min-time nan and --repetitions -1
        # were checked after parsing, with a message of their own).
        path = self.write("tiny.toml", toml_text(*self.claims_ok))
        for args, needles in ((["--repetitions", "abc"], ("--repetitions", "'abc'")),
                              (["--min-time", "nan"], ("--min-time", "'nan'")),
                              (["--repetitions", "-1", "--tiny"], ("--repetitions", "'-1'")),
                              (["--repetitions", "1_0"], ("--repetitions", "'1_0'"))):
            with self.subTest(args=args):
                err = io.StringIO()
                with self.assertRaises(SystemExit) as caught, contextlib.redirect_stderr(err):
                    claims.main([path, *args, *self.no_driver])
                self.assertEqual(caught.exception.code, 2)
                self.assertEqual(len(err.getvalue().splitlines()), 1, err.getvalue())
                for needle in (*needles, "valid"):
                    self.assertIn(needle, err.getvalue())

    def test_toml_syntax_error_exit_2(self):
        path = self.write("broken.toml", "[[claim]\n")
        code, _, err = self.main(path, "--from", self.folder)
        self.assertEqual(code, 2)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertTrue(err.startswith("claims:") and "TOML syntax" in err, err)
        self.assertFalse(os.path.exists(os.path.join(self.folder, "claims.md")))

    def test_missing_results_folder_exit_2(self):
        path = self.write("tiny.toml", toml_text(*self.claims_ok))
        code, _, err = self.main(path, "--from", os.path.join(self.tmp, "nowhere"))
        self.assertEqual(code, 2)
        self.assertTrue(err.startswith("claims:"), err)


class ProgramClaimsTest(TempDirTest):
    """Claims made on programs: parsed against the suite's names, judged per pass, and across
    programs by the geometric mean."""

    NAMES = claims.ProgramNames(("lua", "sqlite", "rocksdb"), ("rocksdb",),
                                ("glibc", "jemalloc", "mimalloc", "alloclab_bump"))
    UNFIT = "did not fit: out of memory under alloclab_bump's budget (it never frees; exit 1: not enough memory)"

    def programs_run(self, times, unfit=()):
        """times: {(program, allocator, threads): [wall_s per pass]}; unfit: (program, allocator,
        threads) cases whose every pass failed for want of memory (a free-less malloc's budget)."""
        from alloclab.programs.records import Plan, ProgramInfo, ProgramRow, ProgramsRun
        from alloclab.registry import AllocatorInfo
        rows = tuple(ProgramRow(p, a, t, rep, wall_s=v, peak_rss_bytes=1e6)
                     for (p, a, t), values in times.items() for rep, v in enumerate(values, start=1))
        rows += tuple(ProgramRow(p, a, t, rep, status="failed", reason=self.UNFIT, peak_rss_bytes=1e6)
                      for p, a, t in unfit for rep in range(1, 10))
        plan = Plan((ProgramInfo("lua"), ProgramInfo("sqlite"), ProgramInfo("rocksdb", threaded=True)),
                    (AllocatorInfo("glibc", "peer"), AllocatorInfo("mimalloc", "preloaded"),
                     AllocatorInfo("alloclab_bump", "preloaded", supports_free=False)), (1, 4), 1.0, 42, 9, 60)
        return ProgramsRun(self.tmp, rows, plan)

    def bump_run(self, bump_gain, unfit=()):
        """Each program's passes under glibc, mimalloc (5 % faster than glibc) and alloclab_bump
        (`bump_gain[program]` times faster than glibc; 1.05: as fast as mimalloc), 1 % noise."""
        rng = np.random.default_rng(5)
        times = {}
        for program, gain in bump_gain.items():
            t = 4 if program == "rocksdb" else 1
            base = 1 + rng.normal(0, 0.01, 9)
            times[(program, "glibc", t)] = list(base)
            times[(program, "mimalloc", t)] = list(base / 1.05 * (1 + rng.normal(0, 0.01, 9)))
            if (program, "alloclab_bump", t) not in unfit:
                times[(program, "alloclab_bump", t)] = list(base / gain * (1 + rng.normal(0, 0.01, 9)))
        return self.programs_run(times, unfit)

    def fastest(self, **fields):
        return self.parse(programs="all", a="alloclab_bump", metric="time", relation="fastest", threads=4, **fields)

    def parse(self, **fields):
        path = os.path.join(self.tmp, "programs.toml")
        with open(path, "w") as f:
            f.write(toml_text(dict(id="p", sentence="s", source="src", **fields)))
        return claims.load_claims_file(path, ["malloc"], ["small"], self.NAMES).claims[0]

    def test_program_claims_parse_and_refuse_what_they_cannot_judge(self):
        c = self.parse(programs="all", a="mimalloc", b="glibc", metric="time", relation="ratio_at_least", bound=1.0)
        self.assertEqual(c.programs, ("lua", "sqlite", "rocksdb"))
        self.assertEqual(c.workloads, ())
        for fields, field, words in (
                (dict(program="gcc"), "program", "unknown program 'gcc'"),
                (dict(program="lua", metric="throughput"), "metric", "not one of time"),
                (dict(program="lua", a="tbbmalloc"), "a", "unknown allocator 'tbbmalloc'"),
                (dict(program="lua", threads=4), "threads", "only threaded programs"),
                (dict(programs="all", relation="greater", bound=None), "relation", "compares one program"),
                (dict(program="lua", programs=["lua"]), "programs", "not both"),
                (dict(program="lua", workload="small"), "workload", "not used by a program claim")):
            base = dict(a="mimalloc", b="glibc", metric="time", relation="ratio_at_least", bound=1.0)
            base.update(fields)
            base = {k: v for k, v in base.items() if v is not None}
            with self.assertRaises(claims.ClaimsError) as caught:
                self.parse(**base)
            self.assertIn(f"field '{field}'", str(caught.exception))
            self.assertIn(words, str(caught.exception))

    def test_geometric_mean_across_programs_and_a_tie(self):
        # mimalloc 20 % faster on lua, 0 % on sqlite (noise), 10 % on rocksdb at 4 threads.
        rng = np.random.default_rng(3)
        times = {}
        for program, gain in (("lua", 1.25), ("sqlite", 1.0), ("rocksdb", 1.1)):
            t = 4 if program == "rocksdb" else 1
            base = 1 + rng.normal(0, 0.01, 9)
            times[(program, "glibc", t)] = list(base)
            times[(program, "mimalloc", t)] = list(base / gain * (1 + rng.normal(0, 0.01, 9)))
        run = self.programs_run(times)
        faster = self.parse(programs="all", a="mimalloc", b="glibc", metric="time", relation="ratio_at_least",
                            bound=1.0, threads=4)
        v = claims.judge(faster, [], run)
        self.assertEqual(v.verdict, "REPRODUCED")
        self.assertAlmostEqual(v.value, (1.25 * 1.0 * 1.1) ** (1 / 3), delta=0.02)
        self.assertLess(v.low, v.value)
        self.assertGreater(v.high, v.value)
        tie = self.parse(program="sqlite", a="mimalloc", b="glibc", metric="time", relation="ratio_at_least", bound=1.0)
        self.assertEqual(claims.judge(tie, [], run).verdict, "INCONCLUSIVE")
        slower = self.parse(program="lua", a="glibc", b="mimalloc", metric="time", relation="ratio_at_least", bound=1.0)
        self.assertEqual(claims.judge(slower, [], run).verdict, "NOT REPRODUCED")
        none = claims.judge(faster, [], None)
        self.assertEqual(none.verdict, "INCONCLUSIVE")

    def test_fastest_holds_with_a_tie_named(self):
        # bump 30 % faster than glibc on lua and rocksdb; on sqlite as fast as mimalloc: a tie.
        run = self.bump_run({"lua": 1.3, "sqlite": 1.05, "rocksdb": 1.3})
        v = claims.judge(self.fastest(), [], run)
        self.assertEqual(v.verdict, "REPRODUCED", v.detail)
        self.assertIn("ahead of every other allocator on 2 of 3 programs", v.detail)
        self.assertIn("tied on 1: sqlite (mimalloc", v.detail)
        self.assertNotIn("glibc", v.detail.split("tied on")[1])  # bump beats glibc on sqlite: no tie
        self.assertIn("closest: mimalloc on sqlite", v.measured)
        self.assertAlmostEqual(v.value, 1.0, delta=0.03)
        self.assertLessEqual(v.low, 1.0)
        self.assertGreaterEqual(v.high, 1.0)
        self.assertEqual(v.left_out, "")
        self.assertEqual(v.n, 9)

    def test_fastest_not_reproduced_when_a_rival_is_faster_on_one_program(self):
        # On lua bump is only 2 % faster than glibc: mimalloc (5 %) beats it.
        run = self.bump_run({"lua": 1.02, "sqlite": 1.3, "rocksdb": 1.3})
        v = claims.judge(self.fastest(), [], run)
        self.assertEqual(v.verdict, "NOT REPRODUCED", v.detail)
        self.assertIn("beaten on 1: lua (mimalloc 0.9", v.detail)
        self.assertLess(v.high, 1.0)
        self.assertIn("closest: mimalloc on lua", v.measured)

    def test_a_program_that_did_not_fit_is_left_out_and_named(self):
        run = self.bump_run({"lua": 1.3, "sqlite": 1.0, "rocksdb": 1.3}, unfit={("sqlite", "alloclab_bump", 1)})
        self.assertEqual(run.did_not_fit("sqlite", "alloclab_bump", 1), 9)
        v = claims.judge(self.fastest(), [], run)
        self.assertEqual(v.verdict, "REPRODUCED", v.detail)
        self.assertEqual(v.left_out, "left out, did not fit in memory: sqlite (alloclab_bump)")
        self.assertIn("on 2 of 2 programs", v.detail)
        # The regions claim (a ratio over programs) leaves it out too: the geometric mean of lua and rocksdb.
        regions = self.parse(programs="all", a="alloclab_bump", b="glibc", metric="time", relation="ratio_at_most",
                             bound=1.44, threads=4)
        r = claims.judge(regions, [], run)
        self.assertEqual(r.verdict, "REPRODUCED", r.detail)
        self.assertAlmostEqual(r.value, 1.3, delta=0.03)
        self.assertIn("sqlite (alloclab_bump)", r.left_out)
        # In the table the verdict's note names what was left out.
        entry = claims.checked_entries([regions], [r])[0]
        self.assertIn("did not fit in memory: sqlite", str(verdict_table([entry], with_sentence=False).rows[0][-1]))
        # Nothing left to judge: inconclusive, and said why.
        nowhere = self.bump_run({"lua": 1.3}, unfit={("lua", "alloclab_bump", 1)})
        lua_only = self.parse(program="lua", a="alloclab_bump", metric="time", relation="fastest")
        v = claims.judge(lua_only, [], nowhere)
        self.assertEqual(v.verdict, "INCONCLUSIVE")
        self.assertIn("did not fit on any program", v.detail)

    def test_fastest_is_inconclusive_where_a_never_ran_and_says_so(self):
        run = self.bump_run({"lua": 1.3, "rocksdb": 1.3})  # sqlite not in the run
        v = claims.judge(self.fastest(), [], run)
        self.assertEqual(v.verdict, "INCONCLUSIVE", v.detail)
        self.assertIn("not compared: sqlite: alloclab_bump has no successful run", v.detail)
        lua_only = self.parse(program="lua", a="mimalloc", metric="time", relation="fastest")
        v = claims.judge(lua_only, [], self.programs_run({("lua", "glibc", 1): [1.0] * 5}))
        self.assertEqual((v.verdict, v.detail), ("INCONCLUSIVE", "no rival compared: lua: mimalloc has no successful run"))

    def test_requests_per_s_is_refused_on_a_program_that_is_not_a_server(self):
        path = os.path.join(self.tmp, "rps.toml")
        names = claims.ProgramNames(("lua", "redis"), (), ("glibc", "alloclab_bump"), ("redis",))
        for fields in (dict(program="lua"), dict(programs="all")):
            with open(path, "w") as f:
                f.write(toml_text(dict(id="p", sentence="s", source="src", a="alloclab_bump", metric="requests_per_s",
                                       relation="fastest", **fields)))
            with self.assertRaises(claims.ClaimsError) as caught:
                claims.load_claims_file(path, ["malloc"], ["small"], names)
            self.assertIn("field 'metric': 'requests_per_s' is measured on servers only (redis), not on lua",
                          str(caught.exception))
        with open(path, "w") as f:
            f.write(toml_text(dict(id="p", sentence="s", source="src", a="alloclab_bump", metric="requests_per_s",
                                   relation="fastest", program="redis")))
        self.assertEqual(claims.load_claims_file(path, ["malloc"], ["small"], names).claims[0].programs, ("redis",))

    def test_fastest_parses_only_with_a_speed_and_no_b(self):
        self.assertEqual(self.fastest().b, None)
        for fields, field, words in ((dict(b="glibc"), "b", "not used by a program claim"),
                                     (dict(metric="peak_rss"), "metric", "not a speed"),
                                     (dict(bound=1.0), "bound", "not used by a program claim")):
            base = dict(programs="all", a="alloclab_bump", metric="time", relation="fastest")
            base.update(fields)
            with self.assertRaises(claims.ClaimsError) as caught:
                self.parse(**base)
            self.assertIn(f"field '{field}'", str(caught.exception))
            self.assertIn(words, str(caught.exception))


if __name__ == "__main__":
    unittest.main()
