"""sweep.py run: bad numbers, selections and output paths (one line, exit 2, nothing written),
--resume by the folder's plan (conflicting options, another machine, records that do not count),
the folder lock, and kill -9 of the sweep and of its launcher leaving no process behind.

Run: PYTHONPATH=harness:.:tests/surface python3 -m unittest -v tests/surface/test_sweep.py
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from surface_support import run_all_stubs as stubs, BINARY, PYTHON, ROOT, TOOLS_ENV, SurfaceTest, processes_mentioning

TINY = ["--workloads", "small", "--allocators", "mutex_arena", "--threads", "1", "--repetitions", "1",
        "--min-time", "0.002", "--tiny", "--binary", str(BINARY)]
TRACE = ROOT / "tests" / "data" / "traces" / "rocksdb_small.trace"
DISTRIBUTION = "size,rate,mean_live\n16,0.5,2.0\n64,0.5,1.0\n"


def rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


@unittest.skipUnless(os.access(BINARY, os.X_OK), f"driver not built: {BINARY}")
class SweepSurface(SurfaceTest):
    base: Path
    shared: Path

    @classmethod
    def setUpClass(cls) -> None:
        # One finished tiny run, resumed (read-only) by the refusal tests.
        cls.shared = Path(tempfile.mkdtemp(prefix="alloclab-surface-sweep-"))
        cls.base = cls.shared / "base"
        done = subprocess.run([PYTHON, "-m", "alloclab.sweep", "run", *TINY, "--out", str(cls.base)],
                              env={**os.environ, **TOOLS_ENV}, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError(done.stderr)

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.shared, ignore_errors=True)

    def sweep(self, *argv: str | Path) -> list[str]:
        return [*self.tool("alloclab.sweep"), "run", *map(str, argv)]

    def ok(self, argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[str]:
        done = self.run_command(argv, cwd=cwd, env=env)
        self.assertEqual(done.returncode, 0, f"{argv}\n{done.stderr[-2000:]}")
        return done

    def copy_of_base(self, name: str) -> Path:
        folder = self.tmp / name
        shutil.copytree(self.base, folder)
        (folder / ".lock").unlink(missing_ok=True)
        return folder

    # ------------------------------------------------------------------ numbers

    def test_numbers_that_are_not_numbers(self) -> None:
        never = self.tmp / "never"
        bad = {
            "--repetitions": ["nan", "inf", "0", "-1", "10001", "99999999999999999999999", "1_0", "", "1e1", "0x10",
                              " 1", "1.0"],
            "--min-time": ["nan", "inf", "-inf", "0", "-0.5", "3601", "1e400", "1_0", "", "0x1", "NaN"],
            "--timeout": ["nan", "inf", "0", "-5", "86401", "1_0", "", "Infinity"],
            "--seed": ["nan", "inf", "-1", "18446744073709551616", "1_0", "", "1.5", "4e3"],
            "--shard": ["0/2", "3/2", "1/0", "-1/2", "1_0/20", "a/b", "", "1/2/3", "nan/2", "1/99999999", " 1/2"],
        }
        for option, values in bad.items():
            for value in values:
                with self.subTest(option=option, value=value):
                    argv = [a for a in TINY]
                    if option in argv:
                        i = argv.index(option)
                        del argv[i:i + 2]
                    # --option=VALUE: a value that starts with '-' would be read as an option
                    self.refused(self.sweep(*argv, f"{option}={value}", "--out", never), option, f"'{value}'")

    def test_an_option_given_twice(self) -> None:
        for option, a, b in (("--repetitions", "1", "2"), ("--seed", "1", "1"), ("--out", "x", "y"),
                             ("--allocators", "malloc", "malloc"), ("--profile", "full", "default")):
            with self.subTest(option=option):
                self.refused(self.sweep(option, a, option, b, "--out", self.tmp / "never"), option, "twice")

    def test_the_largest_seed_runs(self) -> None:
        out = self.tmp / "seeded"
        self.ok(self.sweep(*TINY, "--seed", "18446744073709551615", "--out", out))
        self.assertEqual(json.loads((out / "plan.json").read_text())["seed"], 2 ** 64 - 1)

    # ------------------------------------------------------------------ the reference case

    def test_every_process_runs_the_reference_and_rows_keep_it(self) -> None:
        raw = json.loads(next((self.base / "raw").glob("r01__small__mutex_arena.json")).read_text())
        names = [b["name"] for b in raw["benchmarks"]]
        self.assertEqual(names, ["small/mutex_arena/threads:1", "small/tbbmalloc/threads:1"])  # the unit's first
        self.assertEqual(raw["context"]["paired_reference"], "tbbmalloc")
        # The unit's case is sampled for latency; the reference, there only to pair, is not.
        self.assertEqual(["latency_p50_ns" in b for b in raw["benchmarks"]], [True, False])
        [row] = rows(self.base)
        self.assertEqual((row["allocator"], float(row["ref_items_per_second"])),
                         ("mutex_arena", raw["benchmarks"][1]["items_per_second"]))
        self.assertEqual(json.loads((self.base / "plan.json").read_text())["reference"], "tbbmalloc")

    def test_no_reference_and_the_reference_as_the_unit(self) -> None:
        out = self.tmp / "plain"
        done = self.ok(self.sweep(*TINY, "--reference", "none", "--out", out))
        self.assertEqual([r["ref_items_per_second"] for r in rows(out)], [""])
        self.assertEqual(done.stdout.count("small/"), 1)  # one progress line: the unit's one case
        own = self.tmp / "own"
        argv = [*TINY]
        argv[argv.index("mutex_arena")] = "tbbmalloc,malloc"
        done = self.ok(self.sweep(*argv, "--out", own))
        self.assertEqual(done.stdout.count("small/"), 2)  # the reference's lines are not the unit's
        by = {r["allocator"]: r for r in rows(own)}
        self.assertEqual(float(by["tbbmalloc"]["ref_items_per_second"]), float(by["tbbmalloc"]["items_per_second"]))
        self.assertNotEqual(by["malloc"]["ref_items_per_second"], "")

    def test_a_reference_that_is_not_an_in_process_allocator(self) -> None:
        for value in ("nope", "jemalloc", "", "all", "tbbmalloc,malloc", "TBBMALLOC", "malloc", "a\nb"):
            with self.subTest(value=value):
                self.refused(self.sweep(*TINY, f"--reference={value}", "--out", self.tmp / "never"), "--reference",
                             f"'{value}'".replace("\n", "\\n"))

    # ------------------------------------------------------------------ selections

    def test_empty_and_duplicate_selections(self) -> None:
        dist = self.tmp / "shape.csv"
        dist.write_text(DISTRIBUTION)
        comma = self.tmp / "a,b.csv"
        comma.write_text(DISTRIBUTION)
        cases = [
            ("--allocators", "", "no allocator"), ("--allocators", ",", "no allocator"),
            ("--allocators", "mutex_arena,,malloc", "empty allocator"),
            ("--allocators", "mutex_arena,mutex_arena", "twice"), ("--allocators", "all,malloc", "'all'"),
            ("--allocators", "nope", "'nope'"),
            ("--workloads", "", "no workload"), ("--workloads", ",", "no workload"),
            ("--workloads", "small,,mixed", "empty workload"), ("--workloads", "small,small", "'small' named twice"),
            ("--workloads", "all,small", "'small' named twice"), ("--workloads", "nope", "'nope'"),
            ("--workloads", f"trace:{TRACE},trace:{TRACE}", "second time"),
            ("--workloads", f"trace:{TRACE},trace:{TRACE.parent}/../traces/{TRACE.name}", "second time"),
            ("--workloads", "empirical:shape.csv,empirical:./shape.csv", "second time"),
            ("--workloads", "empirical:a,b.csv", "comma"),
            ("--workloads", "trace:", "trace:"),
            ("--workloads", "trace:nowhere.trace", "does not exist"),
            ("--threads", "", "''"), ("--threads", "1,1", "twice"), ("--threads", "2,1,2", "twice"),
            ("--threads", "1,,2", "'1,,2'"), ("--threads", "0", "'0'"), ("--threads", "two", "'two'"),
        ]
        for option, value, needle in cases:
            with self.subTest(option=option, value=value):
                argv = [a for a in TINY]
                i = argv.index(option)
                argv[i + 1] = value
                self.refused(self.sweep(*argv, "--out", self.tmp / "never"), needle)

    def test_a_selection_where_nothing_can_run(self) -> None:
        # larson needs cross-thread free; the arena cannot: every pair would be skipped.
        argv = [a for a in TINY]
        argv[argv.index("--workloads") + 1] = "larson"
        self.refused(self.sweep(*argv, "--out", self.tmp / "never"), "nothing to run", "larson/mutex_arena")
        # A shard with no unit in it.
        self.refused(self.sweep(*TINY, "--shard", "2/2", "--out", self.tmp / "never"), "2/2")
        units = self.tmp / "units.json"
        units.write_text('[["small", "malloc"]]')
        self.refused(self.sweep(*TINY, "--units", units, "--out", self.tmp / "never"), "small/malloc")

    def test_a_refused_default_run_writes_nothing_in_results(self) -> None:
        argv = [a for a in TINY]
        argv[argv.index("--allocators") + 1] = "mutex_arena,nope"
        self.refused(self.sweep(*argv), "'nope'", watch=[ROOT / "results"])

    # ------------------------------------------------------------------ output paths

    def test_output_paths(self) -> None:
        existing = self.tmp / "existing"
        existing.mkdir()
        (existing / "results.csv").write_text("precious\n")
        a_file = self.tmp / "a-file"
        a_file.write_text("x")
        locked = self.tmp / "locked"
        locked.mkdir(mode=0o555)
        cases = [
            (["--out", ""], "--out ''"),
            (["--out", existing], "exists already"),
            (["--out", a_file], "exists already"),
            (["--out", self.tmp / "missing" / "run"], "missing"),
            (["--out", a_file / "run"], "a-file"),
            (["--out", "/proc/alloclab-surface-test"], "alloclab-surface-test"),
            (["--results", a_file], "a-file"),
            (["--results", self.tmp / "missing"], "missing"),
            (["--results", ""], "--results ''"),
            (["--results", self.tmp, "--out", self.tmp / "x"], "not both"),
            (["--out", self.tmp / "x", "--folder-file", ""], "--folder-file"),
            (["--out", self.tmp / "x", "--folder-file", self.tmp], "--folder-file"),
            (["--out", self.tmp / "x", "--folder-file", "/dev/null"], "/dev/null"),
            (["--out", self.tmp / "x", "--folder-file", self.tmp / "missing" / "f"], "--folder-file"),
        ]
        if os.geteuid() != 0:  # root writes anywhere
            cases.append((["--out", locked / "run"], "cannot be written"))
        for extra, needle in cases:
            with self.subTest(extra=extra):
                self.refused(self.sweep(*TINY, *extra), needle)
        self.assertEqual(os.listdir(existing), ["results.csv"])

    def test_relative_paths_are_the_callers(self) -> None:
        caller = self.tmp / "caller"
        caller.mkdir()
        (caller / "shape.csv").write_text(DISTRIBUTION)
        argv = [a for a in TINY]
        argv[argv.index("--workloads") + 1] = "small,empirical:shape.csv"
        self.ok(self.sweep(*argv, "--out", "runs-here", "--folder-file", "where.txt"), cwd=caller)
        self.assertTrue((caller / "runs-here" / "results.csv").is_file())
        self.assertEqual(Path((caller / "where.txt").read_text().strip()), caller / "runs-here")
        self.assertEqual({r["workload"] for r in rows(caller / "runs-here")}, {"small", "empirical:shape"})

    # ------------------------------------------------------------------ resume

    def test_resume_refuses_a_conflicting_selection(self) -> None:
        units = self.tmp / "units.json"
        units.write_text('[["small", "mutex_arena"]]')
        conflicts = [
            ("--allocators", "malloc", "mutex_arena"), ("--workloads", "mixed", "small"),
            ("--threads", "2", "1"), ("--repetitions", "2", "1"), ("--min-time", "0.003", "0.002"),
            ("--seed", "7", "42"), ("--profile", "full", "default"), ("--touch", "all", "none"),
            ("--shard", "1/2", "1/1"), ("--units", str(units), "whole selection"),
            ("--preload", "mine=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2", "none"),
            ("--reference", "none", "tbbmalloc"),
        ]
        for option, given, recorded in conflicts:
            with self.subTest(option=option):
                self.refused(self.sweep("--resume", self.base, option, given), option, given, recorded,
                             watch=[self.base])
        for extra in (["--out", self.tmp / "x"], ["--results", self.tmp]):
            self.refused(self.sweep("--resume", self.base, *extra), "not both", watch=[self.base])

    def test_resume_of_what_is_not_a_sweeps_folder(self) -> None:
        a_file = self.tmp / "a-file"
        a_file.write_text("x")
        no_plan = self.copy_of_base("no-plan")
        (no_plan / "plan.json").unlink()
        bad_plan = self.copy_of_base("bad-plan")
        (bad_plan / "plan.json").write_text('{"schema": 1, "tool": "alloclab.sweep", "threads": "all"}')
        for target, needle in (("", "--resume ''"), (self.tmp / "nowhere", "nowhere"), (a_file, "a-file"),
                               (no_plan, "plan.json"), (bad_plan, "plan.json")):
            with self.subTest(target=target):
                self.refused(self.sweep("--resume", target), needle)

    def test_resume_on_another_machine_is_refused(self) -> None:
        folder = self.copy_of_base("moved")
        plan = json.loads((folder / "plan.json").read_text())
        plan["machine"] = {"cpu_model": "Imaginary CPU 9000", "cpus": 512}
        (folder / "plan.json").write_text(json.dumps(plan))
        self.refused(self.sweep("--resume", folder), "another machine", "Imaginary CPU 9000")

    def test_resume_takes_the_folders_plan(self) -> None:
        # The README's `sweep --resume DIR`: no selection given, the folder's is run (not the default sweep).
        folder = self.copy_of_base("plan-only")
        machine_before = json.loads((folder / "machine.json").read_text())
        for entry in (folder / "raw").iterdir():
            entry.unlink()
        done = self.ok(self.sweep("--resume", folder, "--min-time", "0.002", "--tiny"))  # agreeing options pass
        self.assertIn("1 of 1 units to run", done.stdout)
        self.assertEqual([(r["workload"], r["allocator"], r["threads"], r["status"]) for r in rows(folder)],
                         [("small", "mutex_arena", "1", "ok")])
        machine = json.loads((folder / "machine.json").read_text())
        for key in ("command", "profile", "threads", "repetitions", "min_time", "allocators", "workloads", "shard"):
            self.assertEqual(machine[key], machine_before[key], key)
        self.assertIn("--resume", machine["resumed_by"])
        self.assertEqual((folder / "command.txt").read_text(), (self.base / "command.txt").read_text())

    def test_records_that_do_not_count_are_run_again(self) -> None:
        unit = "r01__small__mutex_arena"
        bad_records = {
            ".json": ['{"context": {}, "benchmarks": []}', "{}", '{"benchmarks": [{"name": "x"}]}', "[1]", "NaN",
                      '{"benchmarks": [{"name": "small/malloc/threads:1", "items_per_second": 1, "ns_per_op": 1}]}',
                      '{"benchmarks": [{"name": "small/mutex_arena/threads:1", "items_per_second": -1, '
                      '"ns_per_op": 1}]}', '{"benchmarks": [{"name": "small/mutex_arena/thr'],
            ".failed.json": ["garbage{", "", '{"status": "failed"}', b"\xff\xfe not utf-8",
                             '{"unit": "r01__small__mutex_arena", "status": "failed", "why": "x", '
                             '"workload": "small", "allocator": "mutex_arena", "threads": []}'],
            ".skipped.json": ['{"unit": "r01__small__mutex_arena", "status": "failed", "why": "x", '
                              '"workload": "small", "allocator": "mutex_arena", "threads": [1]}'],
        }
        folder = self.copy_of_base("records")
        for suffix, texts in bad_records.items():
            for text in texts:
                with self.subTest(suffix=suffix, text=text):
                    for entry in (folder / "raw").iterdir():
                        entry.unlink()
                    path = folder / "raw" / f"{unit}{suffix}"
                    path.write_bytes(text if isinstance(text, bytes) else text.encode())
                    done = self.ok(self.sweep("--resume", folder))
                    self.assertIn("1 of 1 units to run", done.stdout)
                    self.assertEqual(sorted(os.listdir(folder / "raw")), [f"{unit}.json"])
                    self.assertEqual([r["status"] for r in rows(folder)], ["ok"])
        # A record of no unit of the plan (another selection's) is refused, not mixed in.
        (folder / "raw" / "r01__mixed__malloc.json").write_text("{}")
        self.refused(self.sweep("--resume", folder), "r01__mixed__malloc.json")

    # ------------------------------------------------------------------ the lock and kill -9

    def slow_sweep(self, out: Path) -> subprocess.Popen[str]:
        """A sweep of 6 units of about half a second each, started as run_all.sh starts it (a
        shell that exports ALLOCLAB_PARENT_PID and stays the tool's parent); returns the shell."""
        argv = [*self.tool("alloclab.sweep"), "run", "--workloads", "small,mixed,frame", "--allocators",
                "mutex_arena,malloc", "--threads", "1", "--repetitions", "1", "--min-time", "0.3", "--tiny",
                "--binary", str(BINARY), "--out", str(out)]
        script = 'export ALLOCLAB_PARENT_PID=$$; "$@"; exit $?'
        return subprocess.Popen(["bash", "-c", script, "bash", *argv], cwd=self.tmp, env={**os.environ, **TOOLS_ENV},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)

    def wait_for_driver(self, marker: Path) -> tuple[int, int]:
        """(the sweep's pid, its running driver's pid), once a driver runs."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = processes_mentioning(str(marker))
            sweep = [p for p, cmd in found if "alloclab.sweep" in cmd and not cmd.startswith("bash")]
            driver = [p for p, cmd in found if cmd.startswith(str(BINARY))]
            if driver:
                return (sweep or [0])[0], driver[0]
            time.sleep(0.05)
        self.fail(f"no driver started: {processes_mentioning(str(marker))}")

    def finish_by_resume(self, out: Path) -> None:
        done = self.ok(self.sweep("--resume", out))
        self.assertRegex(done.stdout, r"[1-6] of 6 units to run")
        self.assertEqual(len(rows(out)), 6)
        self.assertEqual({r["status"] for r in rows(out)}, {"ok"})

    def test_kill_9_of_the_sweep_leaves_no_process_and_a_second_sweep_is_refused_meanwhile(self) -> None:
        out = self.tmp / "killed-sweep"
        shell = self.slow_sweep(out)
        try:
            sweep_pid, _ = self.wait_for_driver(out)
            self.assertNotEqual(sweep_pid, 0)
            # While it runs, a resume of its folder is refused with one line.
            busy = self.run_command(self.sweep("--resume", out))
            self.assertEqual(busy.returncode, 2, busy.stderr)
            self.assertEqual(len(busy.stderr.strip().splitlines()), 1, busy.stderr)
            self.assertIn("in use", busy.stderr)
            os.kill(sweep_pid, signal.SIGKILL)
            self.no_process_left(str(out), within=5)
        finally:
            shell.kill()
            shell.wait()
        self.finish_by_resume(out)

    def test_sigterm_of_the_sweep_leaves_no_temporary_file(self) -> None:
        # A SIGTERM (timeout(1), a scheduler's end of job) unwinds the sweep: the driver is ended
        # with SIGTERM, removes its half-written result, and nothing half-written stays in raw/.
        out = self.tmp / "terminated-sweep"
        shell = self.slow_sweep(out)
        try:
            sweep_pid, _ = self.wait_for_driver(out)
            os.kill(sweep_pid, signal.SIGTERM)
            self.no_process_left(str(out), within=10)
        finally:
            shell.kill()
            shell.wait()
        self.assertEqual(sorted(p.name for p in (out / "raw").glob(".*.tmp")), [])
        self.finish_by_resume(out)

    def test_kill_9_of_the_launcher_leaves_no_process(self) -> None:
        out = self.tmp / "killed-launcher"
        shell = self.slow_sweep(out)
        try:
            self.wait_for_driver(out)
            shell.kill()  # SIGKILL of the shell that started the sweep (run_all.sh's place)
            shell.wait()
            self.no_process_left(str(out), within=5)
        finally:
            shell.kill()
            shell.wait()
        self.finish_by_resume(out)

    def test_a_sweep_started_by_a_tool_under_the_launcher_runs(self) -> None:
        # claims starts the sweep under run_all.sh: the sweep's parent is a tool, not the launcher.
        out = self.tmp / "grandchild"
        tool = f"import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"
        script = 'export ALLOCLAB_PARENT_PID=$$; "$@"; exit $?'
        self.ok(["bash", "-c", script, "bash", PYTHON, "-c", tool, *self.sweep(*TINY, "--out", out)])
        self.assertTrue((out / "results.csv").is_file())

    def test_run_all_sh_sweep_from_another_folder_and_its_kill_9(self) -> None:
        env = stubs(self.tmp / "bin")
        # run_all.sh's own temporary file goes there (outside self.tmp: making and removing it
        # changes the folder's time)
        tmpdir = Path(tempfile.mkdtemp(prefix="alloclab-surface-tmpdir-"))
        self.addCleanup(shutil.rmtree, tmpdir, True)
        env["TMPDIR"] = str(tmpdir)
        caller = self.tmp / "caller"
        (caller / "rel").mkdir(parents=True)
        argv = [a for a in TINY]
        argv[argv.index("--allocators") + 1] = "mutex_arena,malloc"  # the report's baseline is malloc
        done = self.ok([ROOT / "run_all.sh", "sweep", *argv, "--out", "rel/run"], cwd=caller, env=env)
        self.assertTrue((caller / "rel" / "run" / "results.csv").is_file(), done.stdout[-2000:])
        self.assertTrue((caller / "rel" / "run" / "report.md").is_file())
        self.assertEqual(os.listdir(tmpdir), [])
        # Refusals through run_all.sh: one line, nothing made, no temporary file left.
        self.refused([ROOT / "run_all.sh", "sweep", *TINY, "--repetitions", "0", "--out", "never"], "'0'",
                     cwd=caller, env=env)
        self.refused([ROOT / "run_all.sh", "sweep", *TINY, "--out", "rel/run"], "exists already", cwd=caller, env=env)
        self.refused([ROOT / "run_all.sh", "--full", "--profile", "default", *TINY, "--out", "never"], "--profile",
                     "twice", cwd=caller, env=env)
        self.assertEqual(os.listdir(tmpdir), [])
        # kill -9 of run_all.sh itself while its sweep's driver runs.
        out = caller / "killed"
        argv = [str(ROOT / "run_all.sh"), "sweep", "--workloads", "small,mixed,frame", "--allocators",
                "mutex_arena,malloc", "--threads", "1", "--repetitions", "1", "--min-time", "0.3", "--tiny",
                "--binary", str(BINARY), "--out", "killed"]
        launcher = subprocess.Popen(argv, cwd=caller, env={**os.environ, **TOOLS_ENV, **env},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.wait_for_driver(out)
            launcher.kill()
            launcher.wait()
            self.no_process_left(str(out), within=5)
        finally:
            launcher.kill()
            launcher.wait()
        self.finish_by_resume(out)


if __name__ == "__main__":
    unittest.main()
