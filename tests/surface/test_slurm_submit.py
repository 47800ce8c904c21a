"""alloclab.slurm submit (./run_all.sh sweep|programs --slurm): every option checked before
anything is submitted or written. No SLURM, options sbatch refuses, bad --slurm-args or
--slurm-tasks, a --resume folder that is not a run: one line, exit 2, nothing submitted.

SLURM's commands are stubs here (a log of every sbatch call, sbatch's refusal when asked): the
live scheduler is tests/tools/test_slurm.py's, which needs root.

Run: PYTHONPATH=harness:.:tests/surface python3 -m unittest -v tests/surface/test_slurm_submit.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

from surface_support import run_all_stubs, BINARY, ROOT, SurfaceTest

# Three units: one (workload, allocator) pair each, one repetition.
TINY = ["--workloads", "small", "--allocators", "malloc,mutex_arena,coalescing_pool", "--threads", "1",
        "--repetitions", "1", "--min-time", "0.002", "--tiny", "--binary", str(BINARY)]

# sbatch: every call logged; --test-only refused when $STUB_REFUSE is set (sbatch's own words),
# else a submission answers with the next job id. squeue: prints $STUB_QUEUE's file.
SBATCH = """#!/bin/sh
echo "$*" >> "$STUB_LOG"
case " $* " in *" --test-only "*)
  if [ -n "${STUB_REFUSE-}" ]; then echo "sbatch: error: $STUB_REFUSE" >&2; exit 1; fi
  echo "sbatch: Job 1 to start at 2026-12-02T00:00:00 using 1 processors on nodes n1 in partition p" >&2
  exit 0;;
esac
case " $* " in *" --dependency="*)
  if [ -n "${STUB_REFUSE_MERGE-}" ]; then echo "sbatch: error: $STUB_REFUSE_MERGE" >&2; exit 1; fi;;
esac
n=$(wc -l < "$STUB_LOG")
echo "$((100 + n))"
"""
# scancel: logged; refuses when $STUB_SCANCEL_REFUSE is set.
SCANCEL = """#!/bin/sh
echo "scancel $*" >> "$STUB_LOG"
if [ -n "${STUB_SCANCEL_REFUSE-}" ]; then echo "scancel: error: $STUB_SCANCEL_REFUSE" >&2; exit 1; fi
exit 0
"""
SQUEUE = """#!/bin/sh
[ -n "${STUB_QUEUE-}" ] && cat "$STUB_QUEUE"
exit 0
"""


@unittest.skipUnless(os.access(BINARY, os.X_OK), f"driver not built: {BINARY}")
class SubmitSurface(SurfaceTest):
    def setUp(self) -> None:
        super().setUp()
        # The stubs and their log live outside self.tmp: refused() watches self.tmp alone.
        self.stubs = Path(tempfile.mkdtemp(prefix="alloclab-slurm-stubs-"))
        self.addCleanup(shutil.rmtree, self.stubs, True)
        for name, body in (("sbatch", SBATCH), ("squeue", SQUEUE), ("scancel", SCANCEL)):
            (self.stubs / name).write_text(body)
            (self.stubs / name).chmod(0o755)
        self.log = self.stubs / "sbatch.log"
        self.log.write_text("")
        self.env = {"PATH": f"{self.stubs}:{os.environ['PATH']}", "STUB_LOG": str(self.log)}

    def submit(self, *argv: str) -> list[str]:
        return [*self.tool("alloclab.slurm"), "submit", *argv]

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()

    def submitted(self) -> list[str]:
        return [c for c in self.calls() if "--test-only" not in c and not c.startswith("scancel")]

    def test_a_submission_writes_the_run_folder_and_chains_the_merge(self) -> None:
        run = self.tmp / "run"
        done = self.run_command(self.submit("sweep", "--slurm-tasks", "3", "--slurm-args",
                                            "--partition=bench --time=1:00:00", "--out", str(run), *TINY),
                                env=self.env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("job array", done.stdout)
        self.assertIn(str(run), done.stdout)
        array, merge = self.submitted()
        self.assertIn("--array=1-3", array)
        self.assertIn("--dependency=afterok:", merge)
        array_id = array and json.loads((run / "slurm.json").read_text())["submissions"][0]["array_job"]
        self.assertIn(f"afterok:{array_id}", merge)
        script = (run / "shard.sbatch").read_text()
        for line in ("#SBATCH --exclusive", "#SBATCH --array=1-3", "#SBATCH --partition=bench",
                     "#SBATCH --time=1:00:00", "-m alloclab.slurm task"):
            self.assertIn(line, script)
        self.assertIn("--dependency", merge)
        self.assertTrue(os.access(run / "shard.sbatch", os.X_OK))
        doc = json.loads((run / "slurm.json").read_text())
        self.assertEqual((doc["kind"], doc["tasks"]), ("sweep", 3))
        self.assertEqual(sorted(p.name for p in run.iterdir()),
                         ["logs", "merge.sbatch", "shard.sbatch", "shards", "slurm.json"])

    def test_no_slurm_here(self) -> None:
        empty = Path(tempfile.mkdtemp(prefix="alloclab-empty-path-"))
        self.addCleanup(shutil.rmtree, empty, True)
        self.refused(self.submit("sweep", "--out", str(self.tmp / "run"), *TINY), "sbatch", "no SLURM",
                     env={"PATH": str(empty)})
        run = self.tmp / "run"
        done = self.run_command(self.submit("sweep", "--out", str(run), *TINY), env=self.env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.refused(self.submit("sweep", "--resume", str(run)), "sbatch", "no SLURM", env={"PATH": str(empty)})

    def test_options_sbatch_refuses(self) -> None:
        env = {**self.env, "STUB_REFUSE": "invalid partition specified: nosuch"}
        self.refused(self.submit("sweep", "--slurm-args", "--partition=nosuch", "--out", str(self.tmp / "run"),
                                 *TINY), "sbatch refused", "invalid partition specified: nosuch", env=env)
        self.assertEqual(self.submitted(), [])
        self.assertTrue(self.calls())  # it asked (--test-only), and submitted nothing

    def test_bad_slurm_args(self) -> None:
        for text, needle in (("--partition='bench", "--slurm-args"), ("bench", "'bench' is not an sbatch option"),
                             ("--array=1-9", "--array"), ("-o out.txt", "-o"), ("--dependency=afterok:1", "--dependency")):
            with self.subTest(text=text):
                self.refused(self.submit("sweep", "--slurm-args", text, "--out", str(self.tmp / "run"), *TINY),
                             needle, env=self.env)
        self.assertEqual(self.calls(), [])

    def test_values_an_sbatch_line_cannot_carry_or_the_run_sets(self) -> None:
        # Every form getopt reads as an option the run sets (a long option's unique prefix, a
        # short option's attached value), and what would break out of an #SBATCH line.
        for text in ("-o1", "-ofile", "-e", "-a1-2", "-dafterok:5", "--arr=1-9", "--out=x", "--dep=afterany:1",
                     "--err=x", "--comment='x\necho INJECTED'", '--comment="a\\"b"', "--comment='a\\b'", "-", "--"):
            with self.subTest(text=text):
                self.refused(self.submit("sweep", "--slurm-args", text, "--out", str(self.tmp / "run"), *TINY),
                             "--slurm-args", env=self.env)
        for out in ("run\necho PATHINJECT", 'run"x', "run\\x"):
            with self.subTest(out=out):
                self.refused(self.submit("sweep", "--out", str(self.tmp / out), *TINY), "run", env=self.env)
        self.refused(self.submit("sweep", "--out", os.fsdecode(bytes(self.tmp) + b"/run\xff"), *TINY), "UTF-8",
                     env=self.env)
        self.assertEqual(self.calls(), [])

    def test_values_with_spaces_and_percent_are_quoted(self) -> None:
        run = self.tmp / "a run 100%"
        done = self.run_command(self.submit("sweep", "--slurm-args", "--comment='a b' --time=5", "--out", str(run),
                                            *TINY), env=self.env)
        self.assertEqual(done.returncode, 0, done.stderr)
        script = (run / "shard.sbatch").read_text()
        self.assertIn('#SBATCH --comment="a b"', script)
        self.assertIn(f'#SBATCH --output="{self.tmp}/a run 100%%/logs/shard-%a.%A.out"', script)

    def test_abbreviations_of_the_runs_own_options(self) -> None:
        for option in ("--shar", "--ou", "--result", "--folder-fil", "--resu", "--slurm-task", "--allow-mixed"):
            with self.subTest(option=option):
                self.refused(self.submit("sweep", "--out", str(self.tmp / "run"), option, "1/2", *TINY), option,
                             env=self.env)
        self.assertEqual(self.calls(), [])

    def test_a_refused_merge_withdraws_the_array(self) -> None:
        env = {**self.env, "STUB_REFUSE_MERGE": "merge refused"}
        self.refused(self.submit("sweep", "--out", str(self.tmp / "run"), *TINY), "merge refused", env=env)
        array = self.submitted()[0]
        self.assertIn("--array", array)
        self.assertTrue(self.calls()[-1].startswith("scancel "), self.calls())
        # scancel refusing too: the one line says which jobs are left, and how to cancel them.
        line = self.refused(self.submit("sweep", "--out", str(self.tmp / "run"), *TINY), "merge refused",
                            "could not be cancelled", "scancel", env={**env, "STUB_SCANCEL_REFUSE": "denied"})
        self.assertIn("denied", line)

    def test_a_runs_folder_as_a_hand_or_a_crash_left_it(self) -> None:
        run = self.tmp / "run"
        done = self.run_command(self.submit("sweep", "--slurm-tasks", "2", "--out", str(run), *TINY), env=self.env)
        self.assertEqual(done.returncode, 0, done.stderr)
        doc = json.loads((run / "slurm.json").read_text())
        for bad in ({"kind": []}, {"kind": {}}, {"submissions": [{"shards": 5}]}, {"submissions": [{"shards": None}]},
                    {"submissions": [{"shards": [1], "array_job": 5}]}, {"submissions": [{"shards": [3]}]},
                    {"submissions": [{"shards": [1], "array_job": "\u00b2"}]}, {"tasks": 0}, {"tasks": True}):
            with self.subTest(bad=bad):
                (run / "slurm.json").write_text(json.dumps({**doc, **bad}))
                self.refused(self.submit("sweep", "--resume", str(run)), "not a SLURM run folder", env=self.env)
                self.refused([*self.tool("alloclab.status"), str(run)], "not a SLURM run folder", env=self.env)
        (run / "slurm.json").write_text(json.dumps(doc))
        for task in ("", "0", "3", "\u00b2", "\u0663", "1a", " 1"):
            with self.subTest(task=task):
                self.refused([*self.tool("alloclab.slurm"), "task", str(run)], "SLURM_ARRAY_TASK_ID",
                             env={**self.env, "SLURM_ARRAY_TASK_ID": task})
        self.refused([*self.tool("alloclab.slurm"), "merge", str(run)], "shards 1-2 of 2 are not complete",
                     env=self.env)
        # shards/ and logs/ removed by hand: made again, and every shard resubmitted.
        shutil.rmtree(run / "shards")
        shutil.rmtree(run / "logs")
        again = self.run_command(self.submit("sweep", "--resume", str(run)), env=self.env)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertTrue((run / "shards").is_dir() and (run / "logs").is_dir())

    def test_bad_task_counts(self) -> None:
        for text in ("0", "-1", "nan", "inf", "1_0", "2.5", "", "10001", "99999999999999999999"):
            with self.subTest(tasks=text):
                self.refused(self.submit("sweep", "--slurm-tasks", text, "--out", str(self.tmp / "run"), *TINY),
                             "--slurm-tasks", f"'{text}'", env=self.env)
        # More tasks than the run has units: tasks that would run nothing.
        self.refused(self.submit("sweep", "--slurm-tasks", "4", "--out", str(self.tmp / "run"), *TINY),
                     "--slurm-tasks 4", "3 units", env=self.env)
        self.assertEqual(self.calls(), [])

    def test_options_that_are_the_runs_own_or_the_tools_refusals(self) -> None:
        existing = self.tmp / "existing"
        existing.mkdir()
        for argv, needle in (
                (["sweep", "--out", str(existing), *TINY], "exists already"),
                (["sweep", "--out", "", *TINY], "--out ''"),
                (["sweep", "--out", str(self.tmp / "no" / "run"), *TINY], "no"),
                (["sweep", "--out", str(self.tmp / "a"), "--results", str(self.tmp), *TINY], "not both"),
                (["sweep", "--results", str(self.tmp / "nowhere"), *TINY], "nowhere"),
                (["sweep", "--out", str(self.tmp / "run"), "--shard", "1/2", *TINY], "--shard"),
                (["sweep", "--out", str(self.tmp / "run"), "--check", *TINY], "--check"),
                (["sweep", "--out", str(self.tmp / "run"), "--precision", "3%", *TINY], "--precision"),
                (["sweep", "--out", str(self.tmp / "run"), "--budget=60", *TINY], "--budget"),
                (["sweep", "--out", str(self.tmp / "run"), "--prec", "3%", *TINY], "--prec"),
                (["sweep", "--out", str(self.tmp / "run"), "--slurm-tasks", "2", "--slurm-tasks", "2", *TINY],
                 "given twice"),
                (["sweep", "--out", str(self.tmp / "run"), *TINY, "--allocators", "nosuch"], "allocators"),
                (["sweep", "--out", str(self.tmp / "run"), *TINY[:2], "--allocators", "nosuch", *TINY[4:]],
                 "nosuch"),
                (["sweep", "--out", str(self.tmp / "run"), *TINY, "--min-time", "nan"], "min-time"),
                (["programs", "--out", str(self.tmp / "run"), "--allow-mixed-machines", "--programs", "lua"],
                 "--allow-mixed-machines"),
                (["trace", "--out", str(self.tmp / "run")], "'trace'"),
                ([], "''")):
            with self.subTest(argv=argv):
                self.refused(self.submit(*argv), needle, env=self.env)
        self.assertEqual(self.calls(), [])
        self.refused([*self.tool("alloclab.slurm"), "cancel"], "unknown command 'cancel'", env=self.env)

    def test_resume_of_what_is_not_a_run(self) -> None:
        empty = self.tmp / "empty"
        empty.mkdir()
        sweep_folder = self.tmp / "sweep-folder"
        sweep_folder.mkdir()
        (sweep_folder / "plan.json").write_text("{}")
        corrupt = self.tmp / "corrupt"
        corrupt.mkdir()
        (corrupt / "slurm.json").write_text('{"schema": 1, "tool": "alloclab.slurm", "kind": "sweep", "tasks": "3"}')
        binary = self.tmp / "binary"
        binary.mkdir()
        (binary / "slurm.json").write_bytes(b"\xff\xfe{")
        for folder, needle in ((empty, "not a SLURM run folder"), (sweep_folder, "not a SLURM run folder"),
                               (corrupt, "not a SLURM run folder"), (binary, "not a SLURM run folder"),
                               (self.tmp / "missing", "missing")):
            with self.subTest(folder=folder.name):
                self.refused(self.submit("sweep", "--resume", str(folder)), needle, env=self.env)
        self.refused(self.submit("sweep", "--resume", ""), "--resume ''", env=self.env)
        self.assertEqual(self.calls(), [])

    def test_resume_keeps_the_runs_options_and_waits_for_its_jobs(self) -> None:
        run = self.tmp / "run"
        done = self.run_command(self.submit("sweep", "--slurm-tasks", "2", "--out", str(run), *TINY), env=self.env)
        self.assertEqual(done.returncode, 0, done.stderr)
        doc = json.loads((run / "slurm.json").read_text())
        array, merge = doc["submissions"][0]["array_job"], doc["submissions"][0]["merge_job"]
        self.refused(self.submit("programs", "--resume", str(run)), "is a sweep run", env=self.env)
        # The tools' own --resume points at the SLURM resubmission.
        for module in ("alloclab.sweep", "alloclab.programs"):
            with self.subTest(module=module):
                self.refused([*self.tool(module), "run", "--resume", str(run)], "is a SLURM run", "--slurm --resume",
                             watch=[run], env=self.env)
        for extra, needle in ((["--slurm-tasks", "3"], "--slurm-tasks"), (["--allocators", "malloc"], "--allocators"),
                              (["--slurm-args", "--time=1"], "--slurm-args")):
            with self.subTest(extra=extra):
                self.refused(self.submit("sweep", "--resume", str(run), *extra), needle, watch=[run], env=self.env)
        queue = self.stubs / "queue"
        queue.write_text(f"{array}_2|RUNNING|None|n1\n{merge}|PENDING|Dependency|\n")
        self.refused(self.submit("sweep", "--resume", str(run)), f"{array}_2", "scancel", watch=[run],
                     env={**self.env, "STUB_QUEUE": str(queue)})
        self.assertEqual(len(self.submitted()), 2)  # the first submission's array and merge only
        # Nothing queued, no shard complete: every shard again, and a merge.
        again = self.run_command(self.submit("sweep", "--resume", str(run)), env=self.env)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("shards 1-2", again.stdout)
        self.assertEqual(len(json.loads((run / "slurm.json").read_text())["submissions"]), 2)

    def test_run_all_sh_submits_and_refuses_in_one_line(self) -> None:
        caller = self.tmp / "caller"
        caller.mkdir()
        env = {**run_all_stubs(self.stubs / "build-stubs"), "STUB_LOG": str(self.log)}
        env["PATH"] = f"{self.stubs}:{env['PATH']}"
        # A relative --out is the caller's folder's.
        done = self.run_command([ROOT / "run_all.sh", "sweep", "--slurm", "--slurm-tasks", "1", "--out", "run",
                                 *TINY], cwd=caller, env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue((caller / "run" / "slurm.json").is_file())
        self.refused([ROOT / "run_all.sh", "sweep", "--slurm", "--slurm-args", "--qos=nosuch", "--out", "run2", *TINY],
                     "sbatch refused", "nosuch", cwd=caller, env={**env, "STUB_REFUSE": "invalid qos: nosuch"})


if __name__ == "__main__":
    sys.exit(unittest.main())
