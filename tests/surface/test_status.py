"""alloclab.status DIR... (./run_all.sh status): where a run stands, from its folder, whether
SLURM or a person ran it. What is not a run folder: one line, exit 2. A status writes nothing.

Run: PYTHONPATH=harness:.:tests/surface python3 -m unittest -v tests/surface/test_status.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from surface_support import run_all_stubs, snapshot, BINARY, PYTHON, ROOT, TOOLS_ENV, SurfaceTest

TINY = ["--workloads", "small", "--allocators", "malloc,mutex_arena,coalescing_pool", "--threads", "1",
        "--repetitions", "1", "--min-time", "0.002", "--tiny", "--binary", str(BINARY)]
SQUEUE = """#!/bin/sh
[ -n "${STUB_QUEUE-}" ] && cat "$STUB_QUEUE"
exit 0
"""
CANCELLED = "slurmstepd: error: *** JOB 100 ON n3 CANCELLED AT 2026-12-02T10:00:00 ***"


@unittest.skipUnless(os.access(BINARY, os.X_OK), f"driver not built: {BINARY}")
class StatusSurface(SurfaceTest):
    shared: Path

    @classmethod
    def setUpClass(cls) -> None:
        cls.shared = Path(tempfile.mkdtemp(prefix="alloclab-surface-status-"))
        env = {**os.environ, **TOOLS_ENV}
        for name, extra in (("s1", ["--shard", "1/3"]), ("s2", ["--shard", "2/3"]), ("whole", [])):
            done = subprocess.run([PYTHON, "-m", "alloclab.sweep", "run", *TINY, *extra, "--out",
                                   str(cls.shared / name)], env=env, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                raise AssertionError(done.stderr)
        stubs = cls.shared / "stubs"
        stubs.mkdir()
        (stubs / "squeue").write_text(SQUEUE)
        (stubs / "squeue").chmod(0o755)

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.shared, ignore_errors=True)

    def status(self, *dirs: str | Path, env: dict[str, str] | None = None) -> str:
        before = snapshot([self.tmp, self.shared])
        done = self.run_command([*self.tool("alloclab.status"), *map(str, dirs)], env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(snapshot([self.tmp, self.shared]), before, "status wrote something")
        return done.stdout

    def slurm_run(self) -> Path:
        """A SLURM run of three shards as a cancelled task leaves it: shard 1 done, shard 2 running
        (squeue says), shard 3 cancelled before it made its folder; the merge waits."""
        run = self.tmp / "run"
        (run / "shards").mkdir(parents=True)
        (run / "logs").mkdir()
        shutil.copytree(self.shared / "s1", run / "shards" / "1")
        shutil.copytree(self.shared / "s2", run / "shards" / "2")
        (run / "shards" / "2" / "results.csv").unlink()
        (run / "logs" / "shard-3.100.out").write_text(  # the tool's death may reach the log after SLURM's line
            f"slurm: task 3/3 on n3: alloclab.sweep run ...\n{CANCELLED}\nTraceback (most recent call last):\n")
        (run / "slurm.json").write_text(json.dumps({
            "schema": 1, "tool": "alloclab.slurm", "kind": "sweep", "tasks": 3, "options": TINY, "slurm_args": [],
            "allow_mixed_machines": False, "python": PYTHON, "repository": str(ROOT),
            "submissions": [{"submitted_utc": "2026-12-02T09:00:00Z", "shards": [1, 2, 3], "array_job": "100",
                             "merge_job": "101"}]}))
        return run

    def test_a_run_by_hand(self) -> None:
        text = self.status(self.shared / "whole")
        self.assertIn("sweep run by hand", text)
        self.assertIn("done", text)
        self.assertIn("3/3 units", text)
        text = self.status(self.shared / "s2")
        self.assertIn("shard 2/3", text)
        self.assertIn("1/1 units", text)

    def test_a_run_stopped_before_its_end(self) -> None:
        stopped = self.tmp / "stopped"
        shutil.copytree(self.shared / "whole", stopped)
        (stopped / "results.csv").unlink()
        record = sorted((stopped / "raw").glob("*.json"))[0]
        record.unlink()
        text = self.status(stopped)
        self.assertIn("stopped", text)
        self.assertIn("2/3 units", text)
        self.assertIn("--resume", text)

    def test_a_slurm_run_with_a_running_and_a_cancelled_task(self) -> None:
        run = self.slurm_run()
        queue = self.tmp / "queue"
        queue.write_text("100_2|RUNNING|None|n2\n101|PENDING|Dependency|\n")
        env = {"PATH": f"{self.shared / 'stubs'}:{os.environ['PATH']}", "STUB_QUEUE": str(queue)}
        text = self.status(run, env=env)
        lines = text.splitlines()
        self.assertIn("sweep on SLURM, 3 shards", lines[0])
        shard = {k: next(line for line in lines if line.strip().startswith(f"shard {k}/3")) for k in (1, 2, 3)}
        self.assertIn("done", shard[1])
        self.assertIn("1/1 units", shard[1])
        self.assertIn("running", shard[2])
        self.assertIn("job 100_2 running on n2", text)
        self.assertIn("failed", shard[3])
        self.assertIn("CANCELLED", text)
        self.assertIn("logs/shard-3.100.out", text)
        self.assertIn("merge", text)
        self.assertIn("waiting (Dependency)", text)
        # Once the queue is empty: shard 2 stopped before its end, the merge never ran; resubmit.
        queue.write_text("")
        text = self.status(run, env=env)
        self.assertIn("2 failed", text)
        self.assertIn("not run: a shard failed", text)
        self.assertIn("./run_all.sh sweep --slurm --resume", text)
        # Without squeue (a login node's PATH that lacks it) the folder alone answers.
        no_squeue = Path(tempfile.mkdtemp(prefix="alloclab-empty-path-"))
        self.addCleanup(shutil.rmtree, no_squeue, True)
        (no_squeue / "python3").symlink_to(PYTHON)
        self.assertIn("CANCELLED", self.status(run, env={"PATH": str(no_squeue)}))

    def test_what_a_crash_or_a_hand_leaves_in_a_slurm_run(self) -> None:
        run = self.slurm_run()
        shutil.copytree(self.shared / "whole", self.tmp / "spare")
        (self.tmp / "queue").write_bytes(b"100_2|RUNNING|\xff\xfe|n2\n")  # squeue's bytes, not UTF-8
        env = {"PATH": f"{self.shared / 'stubs'}:{os.environ['PATH']}", "STUB_QUEUE": str(self.tmp / "queue")}
        self.assertIn("job 100_2 running on n2", self.status(run, env=env))
        os.mkfifo(run / "logs" / "shard-3.100.out.fifo")
        (run / "logs" / "shard-3.100.out").unlink()
        os.rename(run / "logs" / "shard-3.100.out.fifo", run / "logs" / "shard-3.100.out")
        self.assertIn("not a regular file", self.status(run))  # never opened: a FIFO would block
        # Every shard complete, the merge job gone without a log: the merge failed, not "a shard failed".
        shutil.rmtree(run / "shards" / "2")
        shutil.copytree(self.shared / "s2", run / "shards" / "2")
        shutil.copytree(self.shared / "s2", run / "shards" / "3")  # the units differ; complete is what counts
        text = self.status(run)
        self.assertIn("merge        failed", text)
        self.assertIn("merge job never started", text)
        # A merged folder whose report is missing (its charts failed) is not done.
        shutil.copytree(self.shared / "whole", run / "merged")
        self.assertNotIn("merge        done", self.status(run))
        (run / "merged" / "report.html").write_text("<html></html>")
        self.assertIn("merge        done", self.status(run))

    def test_a_programs_shard_that_names_no_shard(self) -> None:
        done = self.run_command([*self.tool("alloclab.programs"), "run", "--programs", "lua", "--allocators", "glibc",
                                 "--repetitions", "1", "--scale", "0.02", "--binary", str(BINARY), "--out",
                                 str(self.tmp / "p")])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("1/1 runs", self.status(self.tmp / "p"))
        (self.tmp / "p" / "programs" / "command.txt").write_text("programs run --shard 0/0\n")
        self.refused([*self.tool("alloclab.status"), str(self.tmp / "p")], "0/0", needs_choices=False)

    def test_several_folders_at_once(self) -> None:
        text = self.status(self.shared / "s1", self.shared / "s2")
        self.assertIn("shard 1/3", text)
        self.assertIn("shard 2/3", text)

    def test_what_is_not_a_run(self) -> None:
        empty = self.tmp / "empty"
        empty.mkdir()
        a_file = self.tmp / "a-file"
        a_file.write_text("x")
        bad_plan = self.tmp / "bad-plan"
        bad_plan.mkdir()
        (bad_plan / "plan.json").write_text("{not json")
        bad_run = self.tmp / "bad-run"
        bad_run.mkdir()
        (bad_run / "slurm.json").write_text('{"schema": 1, "tool": "alloclab.slurm", "kind": "nosuch"}')
        for dirs, needle in (([empty], "empty"), ([a_file], "a-file"), ([self.tmp / "missing"], "missing"),
                             ([""], "''"), ([bad_plan], "plan.json"), ([bad_run], "not a SLURM run folder"),
                             ([self.shared / "whole", empty], "empty")):
            with self.subTest(dirs=dirs):
                self.refused([*self.tool("alloclab.status"), *map(str, dirs)], needle, needs_choices=False)
        self.refused([*self.tool("alloclab.status")], "DIR")
        self.refused([*self.tool("alloclab.status"), "--nosuch", str(self.shared / "whole")], "--nosuch")

    def test_run_all_sh_status(self) -> None:
        env = run_all_stubs(self.tmp.parent / f"{self.tmp.name}-stubs")
        self.addCleanup(shutil.rmtree, self.tmp.parent / f"{self.tmp.name}-stubs", True)
        self.refused([ROOT / "run_all.sh", "status"], "status needs a run folder", env=env)
        caller = self.tmp / "caller"
        shutil.copytree(self.shared / "whole", caller / "whole")
        done = self.run_command([ROOT / "run_all.sh", "status", "whole"], cwd=caller, env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("3/3 units", done.stdout)


if __name__ == "__main__":
    sys.exit(unittest.main())
