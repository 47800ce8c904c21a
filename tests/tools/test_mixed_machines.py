"""Tests of results folders that hold several machines' numbers (sweep merge --allow-mixed-machines):
results.csv's machine column, Run.machines()/for_machine(), plot drawing them per machine and
never pooled, claims --from refusing them.

Run: PYTHONPATH=harness:. /usr/bin/python3 -m unittest tests/tools/test_mixed_machines.py -v   (needs matplotlib)

The fixture is a merge of two shards that ran on different nodes: as the sweep splits units,
repetitions 1 and 3 of every case ran on one node and 2 and 4 on the other, so the pooled median
of a case differs from either machine's. Expected numbers are computed here from the CSV text.
"""

import contextlib
import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import unittest
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "sample_run"

from alloclab import claims, results
from alloclab.results import ResultRow, ResultsError

NODE_A = "node07 (Intel Xeon Gold 6248, 40 CPUs)"
NODE_B = "node12 (AMD EPYC 7763, 128 CPUs)"
NODES = {NODE_A: {"host": "node07", "cpu_model": "Intel Xeon Gold 6248", "cpus": 40, "kernel": "Linux 6.1.0 x86_64"},
         NODE_B: {"host": "node12", "cpu_model": "AMD EPYC 7763", "cpus": 128, "kernel": "Linux 6.8.0 x86_64"}}
WORKLOADS = ("small", "larson")
ALLOCATORS = ("malloc", "chained_arena")
THREADS = (1, 2)
# Throughput of repetitions 1..4 before a case's own factor: 1 and 3 on node A, 2 and 4 on node B.
# Node A's median is 1.1, node B's 3.1, both pooled 2.1 (M ops/s): B / A = 2.82 in every case.
REPETITIONS = {1: (NODE_A, 1.0e6), 2: (NODE_B, 3.0e6), 3: (NODE_A, 1.2e6), 4: (NODE_B, 3.2e6)}


def fixture_rows(only=None):
    """The merged rows, in the order a merge writes them; `only`: every row on that node instead."""
    rows = []
    for w_i, w in enumerate(WORKLOADS):
        for a_i, a in enumerate(ALLOCATORS):
            for t in THREADS:
                factor = (1 + w_i) * (1 + 2 * a_i) * t
                for rep, (node, tp) in REPETITIONS.items():
                    rows.append(ResultRow(w, a, t, repetition=rep, unit=f"r{rep:02d}__{w}__{a}", active_malloc="libc.so.6",
                                          ns_per_op=1e9 / (tp * factor), items_per_second=tp * factor,
                                          machine=only or node))
    return rows


def write_folder(folder, rows, machines=NODES):
    """A merged run folder: results.csv (the machine column when a row names one), machine.json
    with the nodes, registry.json and command.txt of the sample run."""
    folder = Path(folder)
    folder.mkdir(parents=True)
    results.write_csv(folder / "results.csv", rows, results.columns_for(rows))
    facts = json.loads((SAMPLE / "machine.json").read_text(encoding="utf-8"))
    facts.update(workloads=list(WORKLOADS), allocators=list(ALLOCATORS), threads=list(THREADS), repetitions=4,
                 nodes=dict(NODES))
    if machines is not None:
        facts["machines"] = machines
    (folder / "machine.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    shutil.copy(SAMPLE / "registry.json", folder / "registry.json")
    (folder / "command.txt").write_text("python3 -m alloclab.sweep merge out a b --allow-mixed-machines\n")
    return folder


def csv_values(folder, workload, allocator, threads, machine=None):
    """Throughput of the ok repetitions of a case straight from the CSV text (one machine's or all)."""
    with open(Path(folder) / "results.csv", newline="", encoding="utf-8") as f:
        return [float(r["items_per_second"]) for r in csv.DictReader(f)
                if (r["workload"], r["allocator"], int(r["threads"])) == (workload, allocator, threads)
                and r["status"] == "ok" and (machine is None or r["machine"] == machine)]


def run_plot(*args):
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'harness'}:{ROOT}"}
    return subprocess.run([sys.executable, "-m", "plots", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env)


class TempFolder(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="alloclab-mixed-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)


class Column(TempFolder):
    """results.csv's machine column: written by a merge across machines only, read back whole."""

    def test_round_trip_keeps_the_machine_column(self):
        rows = fixture_rows()
        path = self.tmp / "results.csv"
        results.write_csv(path, rows, results.columns_for(rows))
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        self.assertEqual(header, list(results.COLUMNS) + ["machine"])
        self.assertEqual(results.read_csv(path), rows)
        self.assertEqual({r.machine for r in results.read_csv(path)}, {NODE_A, NODE_B})

    def test_a_folder_of_one_machine_has_no_column(self):
        rows = [replace(r, machine="") for r in fixture_rows()]
        self.assertEqual(results.columns_for(rows), results.COLUMNS)
        path = self.tmp / "results.csv"
        results.write_csv(path, rows, results.columns_for(rows))
        text = path.read_text(encoding="utf-8")
        self.assertEqual(text.splitlines()[0], ",".join(results.COLUMNS))
        self.assertNotIn("machine", text.splitlines()[0].split(","))
        self.assertEqual(results.read_csv(path), rows)
        # Written with the default columns, as every writer but a mixed merge does: the same bytes.
        results.write_csv(self.tmp / "default.csv", rows)
        self.assertEqual((self.tmp / "default.csv").read_bytes(), path.read_bytes())

    def test_rows_naming_machines_are_not_written_without_the_column(self):
        with self.assertRaises(ResultsError) as e:
            results.write_csv(self.tmp / "results.csv", fixture_rows())
        self.assertIn("machine", str(e.exception))
        self.assertFalse((self.tmp / "results.csv").exists())

    def write_with(self, field, line=3):
        """The fixture's results.csv with row `line - 1`'s machine replaced by `field`."""
        rows = fixture_rows()
        path = self.tmp / "results.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(results.columns_for(rows))
            for n, r in enumerate(rows, start=2):
                fields = r.csv_fields()
                writer.writerow([field if c == "machine" and n == line else fields[c] for c in results.columns_for(rows)])
        return path

    def test_bad_machine_fields_are_refused_naming_the_line(self):
        for field, said in (("node07\x1b[31m (Intel)", "control character"), ("node07\t(Intel)", "control character"),
                            ("node07\n(Intel)", "control character"), ("node\u202e07", "control character"),
                            ("x" * (results.MAX_TEXT + 1), "characters long"), (" node07", "blanks"),
                            ("", "other rows name theirs")):
            with self.subTest(field=field[:20]):
                path = self.write_with(field)
                with self.assertRaises(ResultsError) as e:
                    results.read_csv(path)
                message = str(e.exception)
                self.assertIn("line 3", message)
                self.assertIn(said, message)
                self.assertIn("valid:", message)
                self.assertEqual(len(message.splitlines()), 1)

    def test_a_good_field_at_the_limit_is_read(self):
        path = self.write_with("n" * results.MAX_TEXT)
        self.assertEqual(results.read_csv(path)[1].machine, "n" * results.MAX_TEXT)


class RunOfMachines(TempFolder):
    def setUp(self):
        super().setUp()
        self.folder = write_folder(self.tmp / "merged", fixture_rows())
        self.run = results.read_run(self.folder)

    def test_machines_in_first_seen_order(self):
        self.assertEqual(self.run.machines(), [NODE_A, NODE_B])
        self.assertEqual(results.read_run(SAMPLE).machines(), [])

    def test_for_machine_holds_that_machine_alone_and_says_which(self):
        for label, node in NODES.items():
            with self.subTest(machine=label):
                part = self.run.for_machine(label)
                self.assertEqual(part.rows, tuple(r for r in self.run.rows if r.machine == label))
                self.assertEqual(len(part.rows), len(self.run.rows) // 2)
                self.assertEqual(part.machines(), [label])
                self.assertEqual((part.folder, part.command, part.registry), (self.run.folder, self.run.command,
                                                                               self.run.registry))
                self.assertEqual(part.facts["machine"], label)
                self.assertEqual(part.facts["cpu_model"], node["cpu_model"])
                self.assertEqual(part.facts["num_cpus"], node["cpus"])
                self.assertEqual(part.hardware_threads(), node["cpus"])
                self.assertEqual(part.facts["kernel"], node["kernel"])
                self.assertNotIn("caches", part.facts)  # the first node's, not necessarily this one's
                self.assertEqual(part.facts["git_commit"], self.run.facts["git_commit"])
                self.assertEqual(part.workloads(), list(WORKLOADS))
        with self.assertRaises(KeyError):
            self.run.for_machine("node99 (nothing, 1 CPUs)")

    def test_no_median_pools_the_machines(self):
        from plots import analysis
        with self.assertRaises(ValueError):
            self.run.cases()
        with self.assertRaises(ValueError):
            analysis.summary_table(self.run, 1)
        with self.assertRaises(ValueError):
            analysis.relative_summary(self.run, "malloc", 1)
        with self.assertRaises(ValueError):
            analysis.noisy_cases(self.run)
        case = self.run.for_machine(NODE_B).cases()[("small", "malloc", 1)]
        self.assertEqual(case.values("items_per_second"), [3.0e6, 3.2e6])

    def test_a_row_of_a_machine_machine_json_does_not_list_is_refused(self):
        folder = write_folder(self.tmp / "unlisted", fixture_rows(), machines={NODE_A: NODES[NODE_A]})
        with self.assertRaises(ResultsError) as e:
            results.read_run(folder)
        self.assertIn("row 2", str(e.exception))
        self.assertIn(NODE_B, str(e.exception))

    def test_machine_json_machines_must_be_nodes(self):
        for machines in ([NODE_A], {NODE_A: "node07"}, {NODE_A: {**NODES[NODE_A], "cpus": "40"}},
                         {"node\x0007": NODES[NODE_A]}):
            with self.subTest(machines=machines):
                folder = write_folder(self.tmp / f"bad{len(list(self.tmp.iterdir()))}", fixture_rows(NODE_A),
                                      machines=machines)
                with self.assertRaises(ResultsError) as e:
                    results.read_run(folder)
                self.assertIn("machine.json", str(e.exception))


class Plot(TempFolder):
    """plot DIR on a merge of two machines: the comparison of the machines, nothing pooled."""

    @classmethod
    def setUpClass(cls):
        cls.top = Path(tempfile.mkdtemp(prefix="alloclab-mixed-plot-"))
        cls.folder = write_folder(cls.top / "merged", fixture_rows())
        cls.proc = run_plot(cls.folder)
        cls.md = (cls.folder / "report.md").read_text(encoding="utf-8") if cls.proc.returncode == 0 else ""
        cls.html = (cls.folder / "report.html").read_text(encoding="utf-8") if cls.proc.returncode == 0 else ""

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.top, ignore_errors=True)

    def test_draws_the_comparison_of_the_machines(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        charts = sorted(p.name for p in (self.folder / "charts").iterdir())
        for w in WORKLOADS:
            self.assertIn(f"compare_throughput_{w}.png", charts)
            self.assertIn(f"charts/compare_throughput_{w}.png", self.md)
        self.assertIn("compare_relative_run2_t2.svg", charts)
        # None of the one-folder charts, each of which would pool the machines' repetitions.
        self.assertFalse([c for c in charts if not c.startswith("compare_")], charts)
        self.assertNotIn("compare.md", os.listdir(self.folder))

    def test_report_says_per_machine_first_and_names_both(self):
        body = self.md.split("\n", 1)[1].lstrip()
        first = body.split("\n\n", 1)[0]
        self.assertIn("merges the results of 2 machines", first)
        self.assertIn("not pooled", first)
        for label in (NODE_A, NODE_B):
            self.assertIn(label, self.md)
            self.assertIn(label, self.html)
            self.assertIn(label, self.proc.stdout)  # each machine's own summary on the terminal
        self.assertNotIn("## Summary", self.md)

    def test_ratios_are_of_the_machines_medians(self):
        ratios = set()
        for w in WORKLOADS:
            for a in ALLOCATORS:
                for t in THREADS:
                    ratios.add(f"{statistics.median(csv_values(self.folder, w, a, t, NODE_B)) / statistics.median(csv_values(self.folder, w, a, t, NODE_A)):.2f}")
        self.assertEqual(ratios, {"2.82"})
        table = self.md.split("median throughput ratio", 1)[1]
        self.assertEqual(table.count("| 2.82 |"), len(WORKLOADS) * len(ALLOCATORS))
        self.assertIn("| 2.82 | 2.82 |", table)

    def test_every_panel_is_one_machines_median_never_the_pooled_one(self):
        import plots.__main__ as plot
        run = results.read_run(self.folder)
        with contextlib.redirect_stdout(io.StringIO()):
            drawn = plot.machines_report(run, self.tmp)
        panels = [p for c in drawn if c.stem.startswith("compare_throughput") for p in c.data["panels"]]
        self.assertEqual([p["label"] for p in panels], [NODE_A, NODE_B] * len(WORKLOADS))
        checked = 0
        for c in drawn:
            if not c.stem.startswith("compare_throughput"):
                continue
            w = c.data["workload"]
            for p in c.data["panels"]:
                for a, series in p["series"].items():
                    for t, median in zip(series["threads"], series["median"]):
                        own = statistics.median(csv_values(self.folder, w, a, t, p["label"]))
                        pooled = statistics.median(csv_values(self.folder, w, a, t))
                        self.assertAlmostEqual(median, own, delta=own * 1e-12)
                        self.assertGreater(abs(median - pooled), pooled * 0.1)
                        checked += 1
        self.assertEqual(checked, 2 * len(WORKLOADS) * len(ALLOCATORS) * len(THREADS))

    def test_a_comparison_of_folders_splits_a_merge_by_machine(self):
        import plots.__main__ as plot
        runs = plot.per_machine([results.read_run(SAMPLE), results.read_run(self.folder)])
        self.assertEqual([r.machines() for r in runs], [[], [NODE_A], [NODE_B]])

    def test_baseline_is_refused_in_one_line(self):
        out = self.tmp / "out"
        proc = run_plot(self.folder, "--baseline", "malloc", "--out", out)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertIn("2 machines", proc.stderr)
        self.assertFalse(out.exists() and any(out.iterdir()))

    def test_a_bad_machine_field_is_refused_and_nothing_drawn(self):
        folder = write_folder(self.tmp / "bad", fixture_rows())
        path = folder / "results.csv"
        path.write_text(path.read_text(encoding="utf-8").replace(NODE_B, "node12\x07 (AMD)", 1), encoding="utf-8")
        proc = run_plot(folder)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertIn("control character", proc.stderr)
        self.assertEqual(sorted(os.listdir(folder)), ["command.txt", "machine.json", "registry.json", "results.csv"])

    def test_a_folder_of_one_machine_label_draws_as_before(self):
        folder = write_folder(self.tmp / "one", fixture_rows(NODE_A), machines={NODE_A: NODES[NODE_A]})
        proc = run_plot(folder)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        md = (folder / "report.md").read_text(encoding="utf-8")
        self.assertIn("## Summary", md)
        self.assertNotIn("merges the results", md)
        self.assertTrue((folder / "charts" / "summary_vs_malloc_t2.png").is_file())


class Claims(TempFolder):
    """claims --from (and targets, which is claims --from with another file) on a merge of machines."""

    def setUp(self):
        super().setUp()
        self.claims_file = self.tmp / "c.toml"
        self.claims_file.write_text('[[claim]]\nid = "arena"\nsentence = "A sentence."\nsource = "a source"\n'
                                    'workload = "small"\na = "chained_arena"\nb = "malloc"\nmetric = "throughput"\n'
                                    'relation = "ratio_at_least"\nbound = 2.0\n', encoding="utf-8")

    def claims_from(self, folder):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = claims.main([str(self.claims_file), "--from", str(folder),
                                "--binary", str(self.tmp / "no-such-driver")])
        return code, out.getvalue(), err.getvalue()

    def test_a_merge_of_machines_is_refused_in_one_line(self):
        folder = write_folder(self.tmp / "merged", fixture_rows())
        code, out, err = self.claims_from(folder)
        self.assertEqual(code, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn(str(folder), err)
        self.assertIn("2 machines", err)
        self.assertIn("valid:", err)
        self.assertFalse((folder / "claims.json").exists() or (folder / "claims.md").exists())

    def test_a_merge_of_one_machine_is_judged(self):
        folder = write_folder(self.tmp / "one", fixture_rows(NODE_A), machines={NODE_A: NODES[NODE_A]})
        code, out, err = self.claims_from(folder)
        self.assertEqual(code, 0, err)
        verdicts = json.loads((folder / "claims.json").read_text(encoding="utf-8"))
        self.assertEqual([v["id"] for v in verdicts], ["arena"])
        self.assertEqual(verdicts[0]["verdict"], "REPRODUCED")  # chained_arena is 3 x malloc in every pass


if __name__ == "__main__":
    unittest.main()
