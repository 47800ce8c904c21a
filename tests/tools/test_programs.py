"""The real-programs suite end to end: every program at a tiny scale under glibc and a
preloaded peer (each run's malloc verified by the probe), a wrong expected answer recorded as
a failed run with its reason, --preload verified both ways, resume after kill -9, bad input.

Usage: PYTHONPATH=harness:. python3 -m unittest tests/tools/test_programs.py
(ALLOCLAB_BINARY names the driver; the probe and the launcher are found beside it.)
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("ALLOCLAB_BINARY", os.path.join(ROOT, "build", "release", "harness", "alloclab"))
PROBE = os.path.join(os.path.dirname(BINARY), "liballoclab_probe.so")
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
TINY = ["--scale", "0.05", "--repetitions", "1", "--sample-ms", "5", "--timeout", "120"]


def programs(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "alloclab.programs", *args, "--binary", BINARY, "--probe", PROBE]
                          if args and args[0] == "run" else [sys.executable, "-m", "alloclab.programs", *args],
                          capture_output=True, text=True, **kwargs)


def rows(folder):
    with open(os.path.join(folder, "programs.csv"), newline="") as f:
        return list(csv.DictReader(f))


def raw(folder, unit):
    with open(os.path.join(folder, "programs", "raw", unit + ".json")) as f:
        return json.load(f)


def text_of(path):
    with open(path) as f:
        return f.read()


class ProgramsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(BINARY, os.X_OK) or not os.path.exists(PROBE):
            raise unittest.SkipTest(f"driver or probe not built: {BINARY}")
        cls.tmp = tempfile.mkdtemp(prefix="alloclab-programs-test-")
        cls.every = os.path.join(cls.tmp, "every")
        # Every program, glibc and one preloaded peer, threaded programs at 1 and 2 threads.
        cls.result = programs("run", *TINY, "--allocators", "glibc,jemalloc", "--threads", "1,2", "--out", cls.every)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_program_passes_its_check_under_glibc_and_a_peer(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr[-2000:])
        listed = programs("list").stdout
        names = [line.split()[0] for line in listed.split("programs (", 1)[1].split("\n\n")[0].splitlines()[1:]]
        self.assertGreaterEqual(len(names), 8, listed)
        got = rows(self.every)
        failed = [(r["program"], r["allocator"], r["reason"]) for r in got if r["status"] != "ok"]
        self.assertEqual(failed, [])
        seen = {(r["program"], r["allocator"], r["threads"]) for r in got}
        with open(os.path.join(self.every, "programs", "plan.json")) as f:
            plan = json.load(f)
        for p in plan["programs"]:
            for a in ("glibc", "jemalloc"):
                for t in (["1", "2"] if p["threaded"] else ["1"]):
                    self.assertIn((p["name"], a, t), seen)
        for r in got:
            record = raw(self.every, r["unit"])
            # The probe saw every process of the run, and each one's malloc is the allocator's.
            self.assertTrue(record["probe"], r["unit"])
            for _, library, exe in record["probe"]:
                if r["allocator"] == "jemalloc":
                    self.assertEqual(os.path.realpath(library), os.path.realpath(JEMALLOC), exe)
                else:
                    self.assertTrue(os.path.basename(library).startswith("libc.so"), (exe, library))
            self.assertGreater(float(r["wall_s"]), 0)
            self.assertGreater(float(r["peak_rss_bytes"]), 0)
            # The runner's own RSS (tens of MiB of Python) must not be the program's floor.
            self.assertLess(float(r["peak_rss_bytes"]), 40 * 2**20 if r["program"] == "sqlite" else 2**40)
        server = [r for r in got if r["program"] == "redis"]
        self.assertTrue(all(float(r["requests_per_s"]) > 0 for r in server))
        self.assertFalse(os.path.exists(os.path.join(self.every, "programs", "work")))

    def test_wrong_expected_answer_is_a_failed_run_with_its_reason(self):
        folder = os.path.join(self.tmp, "wrong")
        shutil.copytree(self.every, folder)
        for program in ("lua", "sqlite"):
            with open(os.path.join(folder, "programs", "inputs", program, "expected.txt"), "w") as f:
                f.write("42 is not the answer\n")
            for unit in os.listdir(os.path.join(folder, "programs", "raw")):
                if f"__{program}__" in unit:
                    os.unlink(os.path.join(folder, "programs", "raw", unit))
        result = programs("run", "--resume", folder)
        self.assertEqual(result.returncode, 0, result.stderr)
        by_program = {}
        for r in rows(folder):
            by_program.setdefault(r["program"], set()).add((r["status"], r["reason"].split(":")[0]))
        self.assertEqual(by_program["lua"], {("failed", "wrong output")})
        self.assertEqual(by_program["sqlite"], {("failed", "wrong output")})
        self.assertIn("42 is not the answer", next(r["reason"] for r in rows(folder) if r["program"] == "lua"))
        # The other programs' runs are untouched and still ok.
        self.assertEqual(by_program["python"], {("ok", "")})

    def test_preload_by_path_takes_effect_and_is_verified(self):
        folder = os.path.join(self.tmp, "preload")
        result = programs("run", *TINY, "--programs", "lua", "--allocators", "glibc",
                          "--preload", "mine=" + JEMALLOC, "--out", folder)
        self.assertEqual(result.returncode, 0, result.stderr)
        mine = [r for r in rows(folder) if r["allocator"] == "mine"]
        self.assertEqual([r["status"] for r in mine], ["ok"])
        self.assertEqual(os.path.realpath(raw(folder, mine[0]["unit"])["probe"][0][1]), os.path.realpath(JEMALLOC))

    def test_preload_that_does_not_take_effect_is_refused(self):
        # libz is a shared library, but defines no malloc: the probe sees glibc's.
        libz = next(p for p in ("/usr/lib/x86_64-linux-gnu/libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1")
                    if os.path.exists(p))
        # A library that replaces malloc but not free: two allocators in one process, refused.
        source, half = os.path.join(self.tmp, "half.c"), os.path.join(self.tmp, "libhalf.so")
        with open(source, "w") as f:
            f.write("#include <stddef.h>\nextern void* __libc_malloc(size_t);\n"
                    "void* malloc(size_t n) { return __libc_malloc(n); }\n")
        subprocess.run(["cc", "-shared", "-fPIC", "-o", half, source], check=True)
        for value, words in ((f"nomalloc={libz}", "does not take effect"), ("x=/no/such.so", "does not exist"),
                             (f"half={half}", "mixed: malloc from"),
                             ("x=/etc/passwd", "not an ELF file"), ("glibc=" + JEMALLOC, "is taken"),
                             ("justapath", "LABEL=/path/to/lib.so")):
            folder = os.path.join(self.tmp, "refused")
            result = programs("run", *TINY, "--programs", "lua", "--preload", value, "--out", folder)
            self.assertEqual(result.returncode, 2, value)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn(words, result.stderr)
            self.assertFalse(os.path.exists(folder), value)

    def test_the_quick_profile_is_the_main_jobs_taste(self):
        # quick: every program but gxx, threaded programs at one thread count (2 x cores), 5
        # repetitions; default: every program, threaded programs at 1 and 2 x cores. Each pass
        # is one (repetition, program, threads).
        from alloclab.programs.suite import PROGRAMS
        names = [p.name for p in PROGRAMS]
        threaded = sum(p.threaded for p in PROGRAMS)
        self.assertIn("gxx", names)
        self.assertGreater(threaded, 0)

        def passes(*args):
            done = programs("run", *args, "--check")
            self.assertEqual(done.returncode, 0, done.stderr)
            return int(done.stdout.split(": ")[-1].split()[0])

        self.assertEqual(passes("--profile", "quick"), 5 * (len(names) - 1))
        self.assertEqual(passes(), 5 * (len(names) + threaded))
        # Named programs are run as named, gxx too.
        self.assertEqual(passes("--profile", "quick", "--programs", "gxx"), 5)

    def test_bad_input_is_one_line_and_writes_nothing(self):
        folder = os.path.join(self.tmp, "bad")
        for args, words in ((["--programs", "nosuch"], "unknown program 'nosuch'"),
                            (["--allocators", "nosuch"], "unknown allocator 'nosuch'"),
                            (["--scale", "nan"], "--scale: bad value 'nan'"), (["--scale", "0"], "--scale: bad value '0'"),
                            (["--threads", "0"], "bad --threads"), (["--repetitions", "0"], "--repetitions: bad value '0'"),
                            (["--timeout", "-1"], "--timeout: bad value '-1'"), (["--shard", "2/1"], "bad --shard"),
                            (["--resume", self.tmp], "holds no programs run")):
            result = programs("run", "--scale", "0.05", *args, "--out", folder) if args[0] != "--resume" \
                else programs("run", *args)
            self.assertEqual(result.returncode, 2, args)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn(words, result.stderr)
            self.assertFalse(os.path.exists(folder), args)
        existing = programs("run", "--scale", "0.05", "--out", self.every)
        self.assertEqual(existing.returncode, 2)
        self.assertIn("exists already", existing.stderr)

    def test_a_hung_run_is_killed_at_the_timeout_and_recorded_as_failed(self):
        folder = os.path.join(self.tmp, "hung")
        result = programs("run", "--scale", "0.05", "--repetitions", "1", "--programs", "redis,lua",
                          "--allocators", "glibc", "--timeout", "0.02", "--out", folder)
        self.assertEqual(result.returncode, 0, result.stderr)
        got = rows(folder)
        self.assertEqual({r["status"] for r in got}, {"failed"})
        reasons = {r["program"]: r["reason"] for r in got}
        self.assertTrue(reasons["lua"].startswith("timed out after 0.02 s"), reasons)
        # The server's client cannot finish before the deadline: the client's error is the reason.
        self.assertTrue(reasons["redis"].startswith("client:"), reasons)
        time.sleep(0.3)
        left = subprocess.run(["pgrep", "-f", folder], capture_output=True, text=True).stdout.split()
        self.assertEqual(left, [], "a killed run left processes behind")

    def test_relative_output_folder(self):
        result = subprocess.run([sys.executable, "-m", "alloclab.programs", "run", *TINY, "--programs", "lua",
                                 "--allocators", "glibc", "--out", "relative", "--binary", BINARY, "--probe", PROBE],
                                capture_output=True, text=True, cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([r["status"] for r in rows(os.path.join(self.tmp, "relative"))], ["ok"])

    def test_resume_checks_what_is_there_before_running_more(self):
        folder = os.path.join(self.tmp, "corrupt")
        shutil.copytree(self.every, folder)
        raw_dir = os.path.join(folder, "programs", "raw")
        names = sorted(os.listdir(raw_dir))
        os.unlink(os.path.join(raw_dir, names[0]))  # a run to do
        with open(os.path.join(raw_dir, names[1])) as f:
            record = json.load(f)
        for change in ({"wall_s": -1}, {"status": "great"}, {"unit": "r01__other__glibc__t1"}, {"program": "gcc"}):
            with open(os.path.join(raw_dir, names[1]), "w") as f:
                json.dump({**record, **change}, f)
            result = programs("run", "--resume", folder)
            self.assertEqual(result.returncode, 2, (change, result.stderr))
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn(names[1], result.stderr)
            self.assertFalse(os.path.exists(os.path.join(raw_dir, names[0])), "ran before refusing")
        # A resume runs the user's library the plan recorded; another file under its label is refused.
        preloaded = os.path.join(self.tmp, "preload-resume")
        self.assertEqual(programs("run", *TINY, "--programs", "lua", "--allocators", "glibc",
                                  "--preload", "mine=" + JEMALLOC, "--out", preloaded).returncode, 0)
        other = programs("run", "--resume", preloaded, "--preload", "mine=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2")
        self.assertEqual(other.returncode, 2)
        self.assertIn("give the same library", other.stderr)

    def test_shards_merge_into_the_whole_run(self):
        # Each option once (a second --repetitions is refused, not the last one kept).
        common = [*TINY[:2], "--repetitions", "2", *TINY[4:], "--programs", "lua,sqlite",
                  "--allocators", "glibc,jemalloc"]
        shards = [os.path.join(self.tmp, f"shard{k}") for k in (1, 2)]
        for k, folder in enumerate(shards, start=1):
            result = programs("run", *common, "--shard", f"{k}/2", "--out", folder)
            self.assertEqual(result.returncode, 0, result.stderr)
        merged = os.path.join(self.tmp, "merged")
        result = programs("merge", merged, *shards)
        self.assertEqual(result.returncode, 0, result.stderr)
        got = {(r["program"], r["allocator"], r["repetition"], r["status"]) for r in rows(merged)}
        self.assertEqual(len(got), 2 * 2 * 2)
        self.assertEqual({g[3] for g in got}, {"ok"})
        again = programs("merge", os.path.join(self.tmp, "merged2"), shards[0], shards[0])
        self.assertEqual(again.returncode, 2)
        other = programs("merge", os.path.join(self.tmp, "merged3"), shards[0], self.every)
        self.assertEqual(other.returncode, 2)
        self.assertIn("different plan", other.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "merged3")))

    def test_resume_after_kill_9_loses_nothing_and_leaves_no_process(self):
        folder = os.path.join(self.tmp, "killed")
        args = ["run", "--scale", "0.05", "--repetitions", "3", "--programs", "lua,gxx,sqlite",
                "--allocators", "glibc,jemalloc", "--out", folder, "--binary", BINARY, "--probe", PROBE]
        runner = subprocess.Popen([sys.executable, "-m", "alloclab.programs", *args],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        raw_dir = os.path.join(folder, "programs", "raw")
        deadline = time.monotonic() + 120
        def finished():  # whole records only: a record being written has a temporary dot-name
            return [n for n in os.listdir(raw_dir) if n.endswith(".json") and not n.startswith(".")] \
                if os.path.isdir(raw_dir) else []
        while time.monotonic() < deadline and len(finished()) < 4:
            time.sleep(0.01)
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        time.sleep(0.5)  # the launcher ends its whole group when its parent dies (PR_SET_PDEATHSIG)
        # Every process of a run names the folder (its inputs or work folder): none may be left,
        # g++'s cc1plus (a grandchild of the launcher) included.
        left = [pid for pid in subprocess.run(["pgrep", "-f", folder], capture_output=True, text=True).stdout.split()
                if os.path.exists(f"/proc/{pid}/stat") and text_of(f"/proc/{pid}/stat").split()[2] != "Z"]
        self.assertEqual(left, [], "processes outlived the killed runner")
        before = {name: text_of(os.path.join(raw_dir, name)) for name in os.listdir(raw_dir)
                  if name.endswith(".json") and not name.startswith(".")}
        self.assertGreaterEqual(len(before), 4)
        result = subprocess.run([sys.executable, "-m", "alloclab.programs", "run", "--resume", folder,
                                 "--binary", BINARY, "--probe", PROBE], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        got = rows(folder)
        self.assertEqual(len(got), 3 * 3 * 2)  # programs x repetitions x allocators: every run, once
        self.assertEqual({r["status"] for r in got}, {"ok"})
        for name, text in before.items():  # what was done before the kill is kept as it was
            self.assertEqual(text_of(os.path.join(raw_dir, name)), text)


class DidNotFitTest(unittest.TestCase):
    """Which failed runs of a malloc that never frees count as "did not fit" (alloclab.fit)."""

    def reason(self, returncode, said="", frees=False, timed_out=False, client_failed=False):
        from alloclab.fit import out_of_memory_reason
        return out_of_memory_reason("alloclab_bump", frees, returncode, timed_out, client_failed, said,
                                    f"exit {returncode}")

    def test_an_out_of_memory_failure_did_not_fit(self):
        for returncode, said in ((1, "lua5.4: not enough memory"), (1, "Error: out of memory"),
                                 (-6, "terminate called after throwing an instance of 'std::bad_alloc'"),
                                 (1, "cc1plus: out of memory allocating 8032 bytes"), (1, "MemoryError"),
                                 (-11, "alloclab_bump: out of its memory budget")):
            self.assertEqual(self.reason(returncode, said),
                             f"did not fit: out of memory under alloclab_bump's budget (it never frees; exit {returncode})")
        # Killed without a word and not by the runner: the kernel's out-of-memory killer.
        self.assertIn("SIGKILL", self.reason(-signal.SIGKILL))

    def test_a_results_folder_saying_a_freeing_allocator_did_not_fit_is_refused(self):
        from alloclab.programs.records import Plan, ProgramInfo, ProgramRow
        from alloclab.registry import AllocatorInfo
        plan = Plan((ProgramInfo("lua"),), (AllocatorInfo("glibc", "peer"),
                                            AllocatorInfo("alloclab_bump", "preloaded", supports_free=False)),
                    (1,), 1.0, 42, 1, 60)
        reason = "did not fit: out of memory under glibc's budget"
        self.assertIn("reason 'did not fit' for 'glibc', which frees",
                      plan.outside(ProgramRow("lua", "glibc", 1, 1, "failed", reason, unit="r01__lua__glibc__t1")) or "")
        self.assertIsNone(plan.outside(ProgramRow("lua", "alloclab_bump", 1, 1, "failed", reason,
                                                  unit="r01__lua__alloclab_bump__t1")))

    def test_anything_else_is_what_it_looks_like(self):
        self.assertIsNone(self.reason(1, "not enough memory", frees=True))     # an allocator that frees
        self.assertIsNone(self.reason(-signal.SIGKILL, timed_out=True))        # the runner's timeout
        self.assertIsNone(self.reason(-signal.SIGKILL, client_failed=True))    # the runner ended the server
        self.assertIsNone(self.reason(-signal.SIGSEGV, "Segmentation fault"))  # a crash without a word
        self.assertIsNone(self.reason(0, "out of memory"))
        self.assertIsNone(self.reason(None, "out of memory"))


if __name__ == "__main__":
    unittest.main()
