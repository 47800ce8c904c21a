"""A sweep on a real SLURM: Debian's slurm-wlm and munge, configured in a temporary folder and
started by the test on this machine (one node, listening on loopback only), stopped after it.

  - a tiny sweep as a 3-task array plus its merge: the merged folder holds the case set of the
    same sweep run here, charts and report included; status says every shard is done;
  - a task killed with scancel while it runs: status names it failed with SLURM's reason; a
    resubmission runs only that shard, resumed (its finished units are not run again), and the
    merge;
  - a programs run as a 2-task array and its merge: every (program, allocator) in the merge;
  - sbatch refusing --slurm-args: one line, exit 2, nothing submitted or written.
Without root (munged, slurmctld and slurmd run as root here) the test is skipped, never failed.
Shards of two machine descriptions refused by merge (no SLURM needed): tests/surface/test_merge.py;
submit's and status's bad input against stub SLURM commands: tests/surface/test_slurm_submit.py
and test_status.py.

Usage: PYTHONPATH=harness:. python3 -m unittest tests/tools/test_slurm.py   (ALLOCLAB_BINARY names the driver)
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("ALLOCLAB_BINARY", str(ROOT / "build" / "release" / "harness" / "alloclab"))
# ctest reads this line as "skipped" (SKIP_REGULAR_EXPRESSION), not as a pass.
SKIP_MARK = "alloclab-slurm-test: skipped"
TINY = ["--workloads", "small", "--threads", "1", "--repetitions", "1", "--min-time", "0.002", "--tiny",
        "--binary", BINARY]
# Every wait is bounded: a scheduler that does not answer fails the test, never hangs it.
WAIT_S = 180


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tools_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ALLOCLAB_CALLER_DIR", "ALLOCLAB_PARENT_PID")}
    env["PYTHONPATH"] = f"{ROOT / 'harness'}:{ROOT}"
    return {**env, **(extra or {})}


def read_keys(path: Path) -> set[tuple[str, str, str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return {(r["workload"], r["allocator"], r["threads"], r["repetition"]) for r in csv.DictReader(f)}


def done_lines(status: str) -> int:
    """The shards and merge that status says are done."""
    return len(re.findall(r"^  (?:shard [0-9]+/[0-9]+|merge) +done\b", status, re.MULTILINE))


class LocalSlurm:
    """munged, slurmctld and slurmd in a temporary folder: one node, loopback only."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="alloclab-slurm-"))
        self.daemons: list[subprocess.Popen[bytes]] = []
        self.conf = self.dir / "slurm.conf"
        self.env = tools_env({"SLURM_CONF": str(self.conf)})

    def start(self) -> None:
        d = self.dir
        for sub in ("munge", "state", "spool", "log"):
            (d / sub).mkdir(mode=0o755)
        key = d / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        (d / "munge").chmod(0o755)
        socket_path = d / "munge" / "munge.sock"
        # Foreground daemons, children of the test: stopped by it whatever happens.
        self.daemons.append(subprocess.Popen(
            ["munged", "--foreground", "--force", f"--key-file={key}", f"--socket={socket_path}",
             f"--pid-file={d / 'munge' / 'munged.pid'}", f"--log-file={d / 'log' / 'munged.log'}",
             f"--seed-file={d / 'munge' / 'seed'}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.wait_for(lambda: socket_path.exists(), "munged's socket")
        cpus = os.cpu_count() or 1
        self.conf.write_text("\n".join([
            "ClusterName=alloclabtest", "SlurmctldHost=localhost(127.0.0.1)",
            f"SlurmctldPort={free_port()}", f"SlurmdPort={free_port()}",
            "CommunicationParameters=NoInAddrAny,NoCtldInAddrAny",  # loopback only
            "AuthType=auth/munge", f"AuthInfo=socket={socket_path}", "CredType=cred/munge",
            "SlurmUser=root", "SlurmdUser=root", f"StateSaveLocation={d / 'state'}", f"SlurmdSpoolDir={d / 'spool'}",
            f"SlurmctldPidFile={d / 'slurmctld.pid'}", f"SlurmdPidFile={d / 'slurmd.pid'}",
            f"SlurmctldLogFile={d / 'log' / 'slurmctld.log'}", f"SlurmdLogFile={d / 'log' / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU", "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none", "JobCompType=jobcomp/none", "MpiDefault=none",
            "ReturnToService=2", "SchedulerType=sched/builtin", "KillWait=2", "MinJobAge=600",
            f"NodeName=localhost NodeHostname={socket.gethostname()} NodeAddr=127.0.0.1 CPUs={cpus} "
            "RealMemory=1000 State=UNKNOWN",
            "PartitionName=alloclab Nodes=localhost Default=YES MaxTime=INFINITE State=UP", ""]))
        self.daemons.append(subprocess.Popen(["slurmctld", "-D", "-i", "-f", str(self.conf)], env=self.env,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.daemons.append(subprocess.Popen(["slurmd", "-D", "-f", str(self.conf), "-N", "localhost"], env=self.env,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.wait_for(lambda: "idle" in self.run(["sinfo", "--noheader", "--format=%T"]).stdout, "an idle node")

    def run(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)

    def wait_for(self, condition, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + WAIT_S
        while not condition():
            for p in self.daemons:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args[0]} exited ({p.returncode}) while waiting for {what}; "
                                       f"logs in {self.dir / 'log'}: {self.logs()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {what} within {WAIT_S} s; logs: {self.logs()}")
            time.sleep(0.2)

    def logs(self) -> str:
        out = []
        for path in sorted((self.dir / "log").glob("*.log")):
            out.append(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(out)

    def queue_empty(self) -> bool:
        return self.run(["squeue", "--noheader"]).stdout.strip() == ""

    def stop(self) -> None:
        try:
            self.run(["scancel", "--user=root"], timeout=30)
            deadline = time.monotonic() + 30
            while not self.queue_empty() and time.monotonic() < deadline:
                time.sleep(0.2)
        except (OSError, subprocess.SubprocessError):
            pass
        for p in reversed(self.daemons):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.daemons):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "not root: munged, slurmctld and slurmd run as root in this test"
    missing = [c for c in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel") if shutil.which(c) is None]
    if missing:  # run_all.sh test installs slurm-wlm and munge: only a hand-run test lacks them
        return f"SLURM not installed ({', '.join(missing)} missing; apt-get install slurm-wlm munge)"
    if not os.access(BINARY, os.X_OK):
        return f"no driver at {BINARY} (cmake --build --preset release)"
    return None


class SweepOnSlurm(unittest.TestCase):
    cluster: LocalSlurm

    @classmethod
    def setUpClass(cls) -> None:
        reason = skip_reason()
        if reason is not None:
            print(f"{SKIP_MARK}: {reason}", flush=True)
            raise unittest.SkipTest(reason)
        cls.cluster = LocalSlurm()
        try:
            cls.cluster.start()
        except BaseException:
            cls.cluster.stop()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        cls.cluster.stop()

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="alloclab-slurm-run-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def tool(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", *argv], env=self.cluster.env, cwd=self.tmp,
                              capture_output=True, text=True, timeout=timeout)
        return done

    def submit(self, *argv: str) -> subprocess.CompletedProcess[str]:
        done = self.tool("alloclab.slurm", "submit", "sweep", *argv)
        self.assertEqual(done.returncode, 0, f"{done.stdout}\n{done.stderr}")
        return done

    def wait_until_idle(self) -> None:
        self.cluster.wait_for(self.cluster.queue_empty, "empty queue")

    def status(self, run: Path) -> str:
        done = self.tool("alloclab.status", str(run))
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def test_array_and_merge_give_the_local_case_set(self) -> None:
        allocators = ["--allocators", "malloc,mutex_arena,coalescing_pool"]
        run = self.tmp / "run"
        done = self.submit("--slurm-tasks", "3", "--out", str(run), *allocators, *TINY)
        self.assertIn("job array", done.stdout)
        self.assertTrue((run / "shard.sbatch").is_file() and (run / "merge.sbatch").is_file())
        self.assertIn("#SBATCH --exclusive", (run / "shard.sbatch").read_text())
        self.wait_until_idle()
        merged = run / "merged"
        self.assertTrue((merged / "results.csv").is_file(), self.status(run) + self.cluster.logs())
        self.assertTrue((merged / "report.html").is_file())
        local = self.tmp / "local"
        here = self.tool("alloclab.sweep", "run", "--out", str(local), *allocators, *TINY)
        self.assertEqual(here.returncode, 0, here.stderr)
        self.assertEqual(read_keys(merged / "results.csv"), read_keys(local / "results.csv"))
        self.assertEqual(len(read_keys(local / "results.csv")), 3)
        for k in (1, 2, 3):  # each shard names the node it ran on
            plan = json.loads((run / "shards" / str(k) / "plan.json").read_text())
            self.assertEqual(plan["node"]["host"], socket.gethostname())
            self.assertTrue(plan["node"]["kernel"])
        text = self.status(run)
        self.assertEqual(done_lines(text), 4, text)  # three shards and the merge
        self.assertIn("3 done", text)

    def test_a_cancelled_task_is_resumed_by_a_resubmission(self) -> None:
        run = self.tmp / "run"
        # Two shards of three units each; tasks run one at a time (--exclusive on one node).
        self.submit("--slurm-tasks", "2", "--out", str(run), "--allocators",
                    "malloc,mutex_arena,coalescing_pool,atomic_bump_arena,chained_arena,thread_local_arena",
                    "--workloads", "small", "--threads", "1", "--repetitions", "1", "--min-time", "0.3", "--tiny",
                    "--binary", BINARY)
        doc = json.loads((run / "slurm.json").read_text())
        array = doc["submissions"][0]["array_job"]
        raw = run / "shards" / "2" / "raw"
        self.cluster.wait_for(lambda: raw.is_dir() and any(p.suffix == ".json" for p in raw.iterdir()),
                              "a record of shard 2")
        self.cluster.run(["scancel", f"{array}_2"])
        self.wait_until_idle()
        self.assertFalse((run / "merged").exists())
        text = self.status(run)
        self.assertIn("failed", text)
        self.assertIn("CANCELLED", text)
        self.assertIn("--resume", text)
        kept = {p.name: p.stat().st_mtime_ns for p in raw.iterdir() if p.suffix == ".json"}
        shard1 = {p.name: p.stat().st_mtime_ns for p in (run / "shards" / "1" / "raw").iterdir()}
        again = self.tool("alloclab.slurm", "submit", "sweep", "--resume", str(run))
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("shards 2", again.stdout)
        self.wait_until_idle()
        self.assertTrue((run / "merged" / "results.csv").is_file(), self.status(run))
        self.assertEqual(len(read_keys(run / "merged" / "results.csv")), 6)
        # The units shard 2 had finished, and all of shard 1, were not run again.
        self.assertEqual({n: t for n, t in ((p.name, p.stat().st_mtime_ns) for p in raw.iterdir()) if n in kept},
                         kept)
        self.assertEqual({p.name: p.stat().st_mtime_ns for p in (run / "shards" / "1" / "raw").iterdir()}, shard1)
        self.assertEqual(len(json.loads((run / "slurm.json").read_text())["submissions"]), 2)
        nothing = self.tool("alloclab.slurm", "submit", "sweep", "--resume", str(run))
        self.assertEqual(nothing.returncode, 0)
        self.assertIn("nothing to resubmit", nothing.stdout)

    def test_a_programs_run_as_an_array(self) -> None:
        selection = ["--programs", "lua,sqlite", "--allocators", "glibc,jemalloc", "--repetitions", "1",
                     "--scale", "0.02", "--binary", BINARY]
        run = self.tmp / "run"
        done = self.tool("alloclab.slurm", "submit", "programs", "--slurm-tasks", "2", "--out", str(run), *selection)
        self.assertEqual(done.returncode, 0, f"{done.stdout}\n{done.stderr}")
        self.wait_until_idle()
        merged = run / "merged"
        self.assertTrue((merged / "programs.csv").is_file(), self.status(run) + self.cluster.logs())
        with open(merged / "programs.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual({(r["program"], r["allocator"]) for r in rows},
                         {(p, a) for p in ("lua", "sqlite") for a in ("glibc", "jemalloc")})
        self.assertTrue((merged / "report.html").is_file())
        text = self.status(run)
        self.assertIn("programs on SLURM, 2 shards", text)
        self.assertEqual(done_lines(text), 3, text)  # two shards and the merge

    def test_options_sbatch_refuses_submit_nothing(self) -> None:
        run = self.tmp / "run"
        done = self.tool("alloclab.slurm", "submit", "sweep", "--slurm-args", "--partition=no_such_partition",
                         "--out", str(run), "--allocators", "malloc", *TINY)
        self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
        lines = done.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, done.stderr)
        self.assertIn("sbatch refused", lines[0])
        self.assertIn("partition", lines[0])
        self.assertFalse(run.exists())
        self.assertEqual(list(self.tmp.iterdir()), [])
        self.assertTrue(self.cluster.queue_empty())


if __name__ == "__main__":
    unittest.main()
