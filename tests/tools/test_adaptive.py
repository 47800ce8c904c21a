"""Adaptive repetitions (`sweep run --precision P`): the stop rule on hand-made rows, then real
sweeps of tiny cases: a target nothing reaches runs every unit to the cap, a spent budget
starts no further repetition, a resume finishes a run's missing extra repetition only, and the
options that cannot go together are refused in one line.

Run: PYTHONPATH=harness:. /usr/bin/python3 -m unittest tests/tools/test_adaptive.py -v
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
from pathlib import Path

from scipy import stats

from alloclab import adaptive
from alloclab.results import ResultRow

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("ALLOCLAB_BINARY", str(ROOT / "build" / "release" / "harness" / "alloclab"))
TINY = ["--workloads", "small", "--allocators", "mutex_arena,malloc", "--threads", "1", "--min-time", "0.002",
        "--tiny", "--binary", BINARY]


def sweep(*args):
    return subprocess.run([sys.executable, "-m", "alloclab.sweep", "run", *map(str, args)], capture_output=True,
                          text=True)


def repetitions_per_case(folder):
    with open(Path(folder) / "results.csv", newline="") as f:
        found = {}
        for r in csv.DictReader(f):
            found.setdefault((r["workload"], r["allocator"], r["threads"]), set()).add(int(r["repetition"]))
    return found


class StopRule(unittest.TestCase):
    def rows(self, allocator, values, refs=None, status="ok"):
        return [ResultRow("w", allocator, 1, repetition=i + 1, status=status, items_per_second=v,
                          ref_items_per_second=refs[i] if refs else None) for i, v in enumerate(values)]

    def test_precision_texts(self):
        for text, value in (("3%", 0.03), ("3 %", 0.03), ("0.03", 0.03), ("2.5%", 0.025), ("99%", 0.99)):
            with self.subTest(text=text):
                self.assertAlmostEqual(adaptive.parse_precision(text), value)
        self.assertAlmostEqual(adaptive.parse_precision("0.00000001"), 1e-8)
        for text in ("0", "0%", "100%", "1", "nan", "inf", "-3%", "3%%", "", "1e-2", "abc", "0x1", "3 % %", " 3%",
                     "3%\n", "3\n%", "3\t%", "3\u00a0%", "3  %", "\u0663%", "0.000000001"):
            with self.subTest(text=text):
                with self.assertRaisesRegex(ValueError, "valid: a relative half-width"):
                    adaptive.parse_precision(text)

    def test_a_cases_precision_is_its_t_half_width(self):
        values = [100.0, 104.0, 97.0]
        [(key, p)] = adaptive.case_precisions(self.rows("a", values)).items()
        logs = [math.log(v) for v in values]
        half = stats.t.ppf(0.995, 2) * statistics.stdev(logs) / math.sqrt(3)  # 99 %
        self.assertEqual(key, ("w", "a", 1))
        self.assertAlmostEqual(p, math.exp(half) - 1)
        self.assertEqual(adaptive.open_cases({key: p}, p * 1.01), set())
        self.assertEqual(adaptive.open_cases({key: p}, p * 0.99), {key})

    def test_one_process_is_open_and_a_case_that_never_ran_is_not(self):
        rows = self.rows("once", [100.0]) + self.rows("never", [None, None], status="failed")
        precisions = adaptive.case_precisions(rows)
        self.assertEqual(precisions, {("w", "once", 1): None})
        self.assertEqual(adaptive.open_cases(precisions, 0.5), {("w", "once", 1)})

    def test_the_report_states_the_target(self):
        from plots.report import machine_rows
        label = "target precision (more repetitions where a case was wider)"
        rows = dict(machine_rows({"precision": 0.03, "precision_confidence": 0.99, "max_repetitions": 10,
                                  "repetitions": 3}))
        self.assertEqual(rows[label], "±3 % (99 % interval)")
        # a run made before the confidence was recorded with its target judged it on 95 % intervals
        self.assertEqual(dict(machine_rows({"precision": 0.05}))[label], "±5 % (95 % interval)")
        self.assertEqual(rows["at most repetitions"], "10")
        self.assertNotIn("at most repetitions", dict(machine_rows({"repetitions": 3})))

    def test_a_paired_cell_judges_the_ratio_to_the_reference(self):
        # The process state moves both figures alike: through the reference the case is exact.
        refs = [50.0, 80.0, 65.0]
        rows = self.rows("a", [2 * r for r in refs], refs) + self.rows("b", [3 * r * f for r, f in
                                                                              zip(refs, (1.0, 1.01, 0.99))], refs)
        precisions = adaptive.case_precisions(rows)
        self.assertAlmostEqual(precisions[("w", "a", 1)], 0.0)
        self.assertLess(precisions[("w", "b", 1)], 0.1)


@unittest.skipUnless(os.access(BINARY, os.X_OK), f"driver not built: {BINARY}")
class AdaptiveSweep(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="alloclab-adaptive-test-"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_an_unreachable_target_runs_every_unit_to_the_cap_and_a_resume_finishes_the_last(self):
        out = self.tmp / "capped"
        done = sweep(*TINY, "--repetitions", "2", "--precision", "0.0001%", "--max-repetitions", "4", "--out", out)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("4 repetitions, the cap, reached", done.stdout)
        self.assertIn("one more repetition of 2 units (repetition 3, at most 4)", done.stdout)
        self.assertEqual(repetitions_per_case(out), {("small", a, "1"): {1, 2, 3, 4} for a in ("mutex_arena", "malloc")})
        self.assertEqual(sorted(p.name for p in (out / "raw").glob("r04__*")),
                         ["r04__small__malloc.json", "r04__small__mutex_arena.json"])
        # A record cut short (killed while written): the resume runs that unit again, and only it.
        (out / "raw" / "r04__small__malloc.json").write_text("{")
        done = sweep("--resume", out, "--binary", BINARY)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(": 1 of 8 units to run", done.stdout)
        self.assertNotIn("one more repetition", done.stdout)
        self.assertEqual(repetitions_per_case(out)[("small", "malloc", "1")], {1, 2, 3, 4})
        # Killed before its last extra repetition started: the rule, asked again, runs it.
        (out / "raw" / "r04__small__malloc.json").unlink()
        done = sweep("--resume", out, "--binary", BINARY)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(": 0 of 7 units to run", done.stdout)
        self.assertIn("one more repetition of 1 unit (repetition 4, at most 4)", done.stdout)
        self.assertEqual(repetitions_per_case(out)[("small", "malloc", "1")], {1, 2, 3, 4})
        # The target as given or as a fraction is one target.
        done = sweep("--resume", out, "--binary", BINARY, "--precision", "0.000001", "--check")
        self.assertEqual(done.returncode, 0, done.stderr)
        # The plan and machine.json record the confidence the target was judged on; a plan made when
        # intervals were 95 % (no precision_confidence) would change its stopping rule: refused.
        plan_path = out / "plan.json"
        plan = json.loads(plan_path.read_text())
        self.assertEqual(plan["precision_confidence"], 0.99)
        self.assertEqual(json.loads((out / "machine.json").read_text())["precision_confidence"], 0.99)
        kept = plan_path.read_text()
        del plan["precision_confidence"]
        plan_path.write_text(json.dumps(plan))
        for check in ((), ("--check",)):
            done = sweep("--resume", out, "--binary", BINARY, *check)
            self.assertEqual(done.returncode, 2)
            self.assertEqual(len(done.stderr.strip().splitlines()), 1, done.stderr)
            self.assertIn("its --precision was judged on 95 % intervals, and this sweep judges on 99 % ones (valid: "
                          "a new run", done.stderr)
        plan_path.write_text(kept)
        # A record beyond the cap is no unit of the plan: the run refuses it, and so does --check.
        shutil.copy(out / "raw" / "r04__small__malloc.json", out / "raw" / "r05__small__malloc.json")
        for check in ((), ("--check",)):
            done = sweep("--resume", out, "--binary", BINARY, *check)
            self.assertEqual(done.returncode, 2)
            self.assertIn("r05__small__malloc.json is no unit of the sweep's plan", done.stderr)

    def test_a_spent_budget_starts_no_further_repetition(self):
        out = self.tmp / "budget"
        done = sweep(*TINY, "--repetitions", "2", "--precision", "0.0001%", "--budget", "0.001", "--out", out)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("the budget of 0.001 s is spent", done.stdout)
        self.assertEqual({k: max(v) for k, v in repetitions_per_case(out).items()},
                         {("small", a, "1"): 2 for a in ("mutex_arena", "malloc")})

    def test_options_that_do_not_go_together(self):
        cases = [
            (["--max-repetitions", "5"], "--max-repetitions goes with --precision"),
            (["--budget", "60"], "--budget goes with --precision"),
            (["--precision", "3%", "--repetitions", "5", "--max-repetitions", "4"], "bad --max-repetitions '4'"),
            (["--precision", "3%", "--shard", "1/2"], "not with --shard"),
            (["--precision", "100%"], "'100%'"),
            (["--precision", "nan"], "'nan'"),
            (["--precision", "3%", "--budget", "-1"], "'-1'"),
        ]
        for extra, words in cases:
            with self.subTest(extra=extra):
                done = sweep(*TINY, *extra, "--out", self.tmp / "never")
                self.assertEqual(done.returncode, 2, done.stderr)
                lines = done.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, done.stderr)
                self.assertIn("valid", lines[0])
                if words != "not with --shard":
                    self.assertIn(words, lines[0])
                self.assertFalse((self.tmp / "never").exists())
        done = sweep(*TINY, "--precision", "3%", "--check")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("6 units (up to 20 with --precision)", done.stdout)  # 3 repetitions, at most 10


if __name__ == "__main__":
    unittest.main()
