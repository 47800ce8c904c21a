"""sweep.py merge OUT DIR...: every input checked before anything is written (a run folder,
readable, given once, the same plan and machine, no unit twice, every record valid, no sweep
running in it); OUT new, outside the inputs; a failed or killed merge leaves nothing in the way.

Run: PYTHONPATH=harness:.:tests/surface python3 -m unittest -v tests/surface/test_merge.py
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from alloclab.processes import FolderLock
from surface_support import run_all_stubs as stubs, BINARY, PYTHON, ROOT, TOOLS_ENV, SurfaceTest

# Two workloads, one allocator, one repetition: two units, one in each of two shards.
TINY = ["--workloads", "small,mixed", "--allocators", "mutex_arena", "--threads", "1", "--repetitions", "1",
        "--min-time", "0.002", "--tiny", "--binary", str(BINARY)]


def case_set(folder: Path) -> set[tuple[str, ...]]:
    with open(folder / "results.csv", newline="") as f:
        return {(r["workload"], r["allocator"], r["threads"], r["repetition"], r["status"]) for r in csv.DictReader(f)}


@unittest.skipUnless(os.access(BINARY, os.X_OK), f"driver not built: {BINARY}")
class MergeSurface(SurfaceTest):
    shared: Path

    @classmethod
    def setUpClass(cls) -> None:
        cls.shared = Path(tempfile.mkdtemp(prefix="alloclab-surface-merge-"))
        env = {**os.environ, **TOOLS_ENV}
        for name, extra in (("s1", ["--shard", "1/2"]), ("s2", ["--shard", "2/2"]), ("whole", []),
                            ("other-seed", ["--shard", "2/2", "--seed", "7"]),
                            ("three", ["--shard", "2/3"])):
            done = subprocess.run([PYTHON, "-m", "alloclab.sweep", "run", *TINY, *extra, "--out",
                                   str(cls.shared / name)], env=env, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                raise AssertionError(done.stderr)

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.shared, ignore_errors=True)

    def merge(self, *argv: str | Path) -> list[str]:
        return [*self.tool("alloclab.sweep"), "merge", *map(str, argv)]

    def copy(self, name: str, as_name: str) -> Path:
        folder = self.tmp / as_name
        shutil.copytree(self.shared / name, folder)
        (folder / ".lock").unlink(missing_ok=True)
        return folder

    def inputs(self) -> list[Path]:
        return [self.shared / "s1", self.shared / "s2"]

    def test_shards_merge_into_the_whole_and_the_result_resumes_to_nothing(self) -> None:
        out = self.tmp / "merged"
        done = self.run_command(self.merge(out, *self.inputs()))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(case_set(out), case_set(self.shared / "whole"))
        self.assertEqual(sorted(os.listdir(self.tmp)), ["merged"])  # no temporary sibling left
        plan = json.loads((out / "plan.json").read_text())
        self.assertEqual(plan["shard"], "1/1")
        again = self.run_command([*self.tool("alloclab.sweep"), "run", "--resume", str(out)])
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("0 of 2 units to run", again.stdout)

    def test_output_paths(self) -> None:
        a_file = self.tmp / "a-file"
        a_file.write_text("x")
        existing = self.tmp / "existing"
        existing.mkdir()
        s1 = self.copy("s1", "c1")
        for out, needle in (("", "OUT ''"), (existing, "exists already"), (a_file, "exists already"),
                            (self.tmp / "missing" / "out", "missing"), (a_file / "out", "a-file"),
                            (s1, "exists already"), (s1 / "inside", "inside"), (s1 / "raw" / "x", "inside")):
            with self.subTest(out=out):
                self.refused(self.merge(out, s1, self.shared / "s2"), needle, watch=self.inputs())

    def test_inputs_that_are_not_run_folders(self) -> None:
        a_file = self.tmp / "a-file"
        a_file.write_text("x")
        no_raw = self.tmp / "no-raw"
        no_raw.mkdir()
        s1, s2 = self.inputs()
        for dirs, needle in (([""], "''"), ([self.tmp / "nowhere"], "nowhere"), ([a_file], "a-file"),
                             ([no_raw], "no-raw"), ([s1, s1], "given twice"),
                             ([s1, s1.parent / ".." / s1.parent.name / "s1"], "given twice")):
            with self.subTest(dirs=dirs):
                self.refused(self.merge(self.tmp / "out", *dirs, s2), needle, watch=self.inputs())

    def test_inputs_of_different_sweeps_or_machines(self) -> None:
        s1, s2 = self.inputs()
        moved = self.copy("s2", "moved")
        plan = json.loads((moved / "plan.json").read_text())
        plan["machine"] = {"cpu_model": "Imaginary CPU 9000", "cpus": 512}
        (moved / "plan.json").write_text(json.dumps(plan))
        rebuilt = self.copy("s2", "rebuilt")
        registry = json.loads((rebuilt / "registry.json").read_text())
        registry["allocators"][0]["description"] = "another build"
        (rebuilt / "registry.json").write_text(json.dumps(registry))
        legacy = self.copy("s2", "legacy")
        (legacy / "plan.json").unlink()
        for other, needle in ((self.shared / "other-seed", "seed"), (self.shared / "whole", "number of shards"),
                              (self.shared / "three", "number of shards"), (self.copy("s1", "twin"), "both shard 1/2"),
                              (moved, "Imaginary CPU 9000"), (rebuilt, "different drivers"),
                              (legacy, "different versions")):
            with self.subTest(other=other.name):
                self.refused(self.merge(self.tmp / "out", s1, other), needle, watch=self.inputs())

    def test_shards_of_two_machines(self) -> None:
        # Two fake machine descriptions: refused naming both, unless --allow-mixed-machines, which
        # keeps each row's node as the column `machine`.
        s1, _ = self.inputs()
        other = self.copy("s2", "other-machine")
        plan = json.loads((other / "plan.json").read_text())
        plan["machine"] = {"cpu_model": "Imaginary CPU 9000", "cpus": 512}
        plan["node"] = {"host": "n9000", "cpu_model": "Imaginary CPU 9000", "cpus": 512, "kernel": "Linux 6.1"}
        (other / "plan.json").write_text(json.dumps(plan))
        here = json.loads((s1 / "plan.json").read_text())["machine"]
        self.refused(self.merge(self.tmp / "out", s1, other), "Imaginary CPU 9000, 512 CPUs", here["cpu_model"],
                     "--allow-mixed-machines", watch=self.inputs())
        out = self.tmp / "out"
        done = self.run_command(self.merge(out, s1, other, "--allow-mixed-machines"))
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(out / "results.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        by_workload = {r["workload"]: r["machine"] for r in rows}
        self.assertEqual(len(set(by_workload.values())), 2, by_workload)
        self.assertIn("n9000 (Imaginary CPU 9000, 512 CPUs)", by_workload.values())
        facts = json.loads((out / "machine.json").read_text())
        self.assertEqual(sorted(facts["machines"]), sorted(set(by_workload.values())))
        self.assertEqual(len(facts["nodes"]), 2)

    def test_records_that_do_not_read_back(self) -> None:
        s1 = self.shared / "s1"
        bad = self.copy("s2", "bad")
        record = next(p for p in (bad / "raw").iterdir() if p.name.endswith(".json"))
        unit = record.name.removesuffix(".json")
        texts = ['{"context": {}, "benchmarks": []}', "[1, 2]", "NaN", '{"benchmarks": [{"name": "x"}]}',
                 '{"benchmarks": [{"name": "mixed/mutex_arena/threads:1", "items_per_second": 1, "ns_per_op": -1}]}',
                 '{"benchmarks": [{"name": "mixed/mutex_arena/threads:1", "items_per_second": "fast"}]}',
                 '{"benchmarks": [{"name": "small/mutex_arena/threads:1", "items_per_second": 1, "ns_per_op": 1}]}',
                 '{"benchmarks": [{"name": "mixed/mutex_ar']
        for text in texts:
            with self.subTest(text=text):
                record.write_text(text)
                self.refused(self.merge(self.tmp / "out", s1, bad), record.name, watch=self.inputs())
        record.unlink()
        failed = bad / "raw" / f"{unit}.failed.json"
        for text in ("garbage{", '{"status": "failed"}'):
            with self.subTest(text=text):
                failed.write_text(text)
                self.refused(self.merge(self.tmp / "out", s1, bad), failed.name, watch=self.inputs())
        failed.unlink()
        # A record of a unit that is not this shard's (or no unit of the plan at all).
        for name in ("r01__small__mutex_arena.json", "r01__frame__malloc.json"):
            with self.subTest(name=name):
                shutil.copy2(s1 / "raw" / "r01__small__mutex_arena.json", bad / "raw" / name)
                # the first: s1's unit (overlapping shards); the second: no unit of the plan
                self.refused(self.merge(self.tmp / "out", s1, bad), name.removesuffix(".json"), watch=self.inputs())
                (bad / "raw" / name).unlink()

    def test_an_input_a_sweep_is_running_in_is_refused(self) -> None:
        busy = self.copy("s2", "busy")
        with FolderLock(busy):
            self.refused(self.merge(self.tmp / "out", self.shared / "s1", busy), "in use", watch=self.inputs())

    def test_a_killed_merge_leaves_nothing_in_the_way(self) -> None:
        # A merge killed while it built OUT leaves its temporary sibling (a dead process's): the
        # next merge removes it and succeeds.
        stale = self.tmp / ".out.merge-999999999.tmp"
        (stale / "raw").mkdir(parents=True)
        (stale / "raw" / "r01__small__mutex_arena.json").write_text("half")
        done = self.run_command(self.merge(self.tmp / "out", *self.inputs()))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["out"])

    def test_run_all_sh_merge_with_paths_of_another_folder(self) -> None:
        caller = self.tmp / "caller"
        caller.mkdir()
        for name in ("s1", "s2"):
            shutil.copytree(self.shared / name, caller / name)
        env = stubs(self.tmp / "bin")
        done = self.run_command([ROOT / "run_all.sh", "merge", "merged", "s1", "s2"], cwd=caller, env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(case_set(caller / "merged"), case_set(self.shared / "whole"))
        self.refused([ROOT / "run_all.sh", "merge", "merged2", "s1", "s1"], "given twice", cwd=caller, env=env)


if __name__ == "__main__":
    unittest.main()
