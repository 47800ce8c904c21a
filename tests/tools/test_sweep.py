"""Sweeps that lose nothing: SIGKILL at random points then --resume, shards then merge, crash
isolation, preload verification and bad input. Runs the real driver with tiny cases.

Usage: PYTHONPATH=harness:. python3 -m unittest tests/tools/test_sweep.py   (ALLOCLAB_BINARY names the driver)
"""

import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from alloclab import sweep as sweep_module
from alloclab.preload import installed_library, registry_preload
from alloclab.registry import AllocatorInfo, Registry, RegistryError, WorkloadInfo, ask_driver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SWEEP = ["-m", "alloclab.sweep"]
BINARY = os.environ.get("ALLOCLAB_BINARY", os.path.join(ROOT, "build", "release", "harness", "alloclab"))
# Small but real: two workloads, a library allocator, a peer and a preloaded peer, 2 repetitions.
SELECTION = ["--workloads", "small,larson", "--allocators", "mutex_arena,malloc,jemalloc,coalescing_pool",
             "--threads", "1,3", "--repetitions", "2", "--min-time", "0.002", "--tiny"]


def sweep(*args, **kwargs):
    return subprocess.run([sys.executable, *SWEEP, *args], capture_output=True, text=True, **kwargs)


def case_set(folder):
    with open(os.path.join(folder, "results.csv"), newline="") as f:
        return {(r["workload"], r["allocator"], r["threads"], r["repetition"], r["status"]) for r in csv.DictReader(f)}


class SweepTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(BINARY, os.X_OK):
            raise unittest.SkipTest(f"driver not built: {BINARY}")
        cls.tmp = tempfile.mkdtemp(prefix="alloclab-sweep-test-")
        cls.reference = os.path.join(cls.tmp, "reference")
        result = sweep("run", *SELECTION, "--binary", BINARY, "--out", cls.reference)
        if result.returncode != 0:
            raise AssertionError(f"reference sweep failed: {result.stderr}")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_reference_run_is_whole(self):
        cases = case_set(self.reference)
        # 2 workloads x 4 allocators x 2 thread counts x 2 repetitions, every one a row
        self.assertEqual(len(cases), 32)
        statuses = {c[:4]: c[4] for c in cases}
        # larson needs cross-thread free: the arena is skipped, the others measured
        self.assertEqual(statuses[("larson", "mutex_arena", "1", "1")], "skipped")
        self.assertEqual(statuses[("larson", "jemalloc", "3", "2")], "ok")
        with open(os.path.join(self.reference, "results.csv"), newline="") as f:
            jemalloc_rows = [r for r in csv.DictReader(f) if r["allocator"] == "jemalloc" and r["status"] == "ok"]
        self.assertTrue(jemalloc_rows)
        self.assertTrue(all("jemalloc" in r["active_malloc"] for r in jemalloc_rows))

    def test_sigkill_at_random_points_then_resume(self):
        folder = os.path.join(self.tmp, "killed")
        rng = random.Random(7)
        first = True
        for attempt in range(4):
            args = ["run", *SELECTION, "--binary", BINARY]
            args += ["--out", folder] if first else ["--resume", folder]
            first = False
            process = subprocess.Popen([sys.executable, *SWEEP, *args], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
            time.sleep(rng.uniform(0.2, 1.2))
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # the sweep and its driver, mid-write perhaps
            process.wait()
            # Every result file is absent or complete: none half-written under its real name.
            raw = os.path.join(folder, "raw")
            for entry in os.listdir(raw):
                if entry.startswith("."):
                    continue  # temporary names, never read as results
                with open(os.path.join(raw, entry)) as f:
                    json.load(f)
        result = sweep("run", *SELECTION, "--binary", BINARY, "--resume", folder)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(case_set(folder), case_set(self.reference))

    def test_shards_merge_into_the_whole(self):
        a, b, merged = (os.path.join(self.tmp, n) for n in ("shard1", "shard2", "merged"))
        for k, folder in ((1, a), (2, b)):
            result = sweep("run", *SELECTION, "--binary", BINARY, "--shard", f"{k}/2", "--out", folder)
            self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(case_set(a).isdisjoint(case_set(b)))
        result = sweep("merge", merged, a, b)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(case_set(merged), case_set(self.reference))

    def test_a_crashing_unit_is_recorded_and_the_sweep_goes_on(self):
        wrapper = os.path.join(self.tmp, "crashing-driver.sh")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    "case \"$*\" in *'--workloads small --allocators coalescing_pool'*) "
                    "echo 'dying on purpose' >&2; kill -SEGV $$;; esac\n"
                    f"exec '{BINARY}' \"$@\"\n")
        os.chmod(wrapper, 0o755)
        folder = os.path.join(self.tmp, "crashing")
        result = sweep("run", *SELECTION, "--binary", wrapper, "--out", folder)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(folder, "results.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        failed = [r for r in rows if r["status"] == "failed"]
        self.assertEqual({(r["workload"], r["allocator"]) for r in failed}, {("small", "coalescing_pool")})
        self.assertTrue(all("signal 11" in r["reason"] and "dying on purpose" in r["reason"] for r in failed))
        self.assertEqual(len(rows), 32)  # every other case still measured or skipped

    def test_a_preload_that_does_not_take_effect_fails_the_case(self):
        result = subprocess.run([BINARY, "--workloads", "small", "--allocators", "malloc", "--tiny",
                                 "--expect-malloc", "libjemalloc"], capture_output=True, text=True)
        self.assertEqual(result.returncode, 3)
        self.assertIn("did not take effect", result.stderr)

    def test_a_user_library_named_by_path_is_measured_and_verified(self):
        folder = os.path.join(self.tmp, "user-preload")
        mimalloc = "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"
        result = sweep("run", "--workloads", "small", "--allocators", "malloc", "--threads", "1", "--repetitions", "1",
                       "--min-time", "0.002", "--tiny", "--preload", "mine=" + mimalloc, "--binary", BINARY,
                       "--out", folder)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(folder, "results.csv"), newline="") as f:
            mine = [r for r in csv.DictReader(f) if r["allocator"] == "mine"]
        self.assertEqual([r["status"] for r in mine], ["ok"])
        self.assertIn("libmimalloc", mine[0]["active_malloc"])
        with open(os.path.join(folder, "registry.json")) as f:
            entry = next(a for a in json.load(f)["allocators"] if a["name"] == "mine")
        self.assertEqual((entry["kind"], entry["library"]), ("preloaded", os.path.realpath(mimalloc)))
        # A shared library without malloc: refused before anything is written.
        libz = "/usr/lib/x86_64-linux-gnu/libz.so.1"
        refused = os.path.join(self.tmp, "user-preload-refused")
        result = sweep("run", *SELECTION, "--preload", "z=" + libz, "--binary", BINARY, "--out", refused)
        self.assertEqual(result.returncode, 2)
        self.assertIn("does not take effect", result.stderr)
        self.assertFalse(os.path.exists(refused))

    def test_a_malloc_that_never_frees_is_skipped_where_free_is_needed_and_fails_alone_out_of_budget(self):
        bump = installed_library(ask_driver(BINARY).allocator("alloclab_bump"), BINARY)
        if bump is None:
            self.skipTest("liballoclab_bump.so not built")
        folder = os.path.join(self.tmp, "bump")
        args = ["--workloads", "small,larson", "--allocators", "alloclab_bump,malloc", "--threads", "1",
                "--repetitions", "1", "--min-time", "0.002", "--tiny", "--binary", BINARY]
        # 2 MiB is less than the driver itself needs: the alloclab_bump unit runs out of it.
        result = sweep("run", *args, "--out", folder, env=dict(os.environ, ALLOCLAB_BUMP_LIMIT="2M"))
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(folder, "results.csv"), newline="") as f:
            got = {(r["workload"], r["allocator"]): r for r in csv.DictReader(f)}
        self.assertEqual(got[("larson", "alloclab_bump")]["status"], "skipped")
        self.assertEqual(got[("larson", "alloclab_bump")]["reason"], "needs individual free; alloclab_bump's free does nothing")
        self.assertEqual(got[("small", "alloclab_bump")]["status"], "failed")
        self.assertTrue(got[("small", "alloclab_bump")]["reason"].startswith(
            "did not fit: out of memory under alloclab_bump's budget"), got[("small", "alloclab_bump")])
        self.assertEqual({got[(w, "malloc")]["status"] for w in ("small", "larson")}, {"ok"})  # the sweep went on
        # The skip is a record: a resume runs nothing again, a merge keeps it.
        again = sweep("run", *args, "--resume", folder)
        self.assertIn("0 of 4 units to run", again.stdout)
        merged = os.path.join(self.tmp, "bump-merged")
        self.assertEqual(sweep("merge", merged, folder).returncode, 0)
        self.assertIn(("larson", "alloclab_bump", "1", "1", "skipped"), case_set(merged))
        # Within its budget, the shim is measured and verified like every preloaded peer.
        fits = os.path.join(self.tmp, "bump-fits")
        result = sweep("run", *args, "--out", fits)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(fits, "results.csv"), newline="") as f:
            small = next(r for r in csv.DictReader(f) if r["workload"] == "small" and r["allocator"] == "alloclab_bump")
        self.assertEqual(small["status"], "ok", small)
        self.assertIn("liballoclab_bump", small["active_malloc"])
        # A budget the shim refuses (it exits 2 in every process) is one line before anything runs,
        # not a failed unit per workload.
        refused = os.path.join(self.tmp, "bump-refused")
        result = sweep("run", *args, "--out", refused, env=dict(os.environ, ALLOCLAB_BUMP_LIMIT="banana"))
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn("'alloclab_bump' cannot start a process: alloclab_bump: ALLOCLAB_BUMP_LIMIT='banana'", result.stderr)
        self.assertFalse(os.path.exists(refused))

    def test_unwritable_output_and_bad_resume_are_one_line_and_exit_2(self):
        blocker = os.path.join(self.tmp, "a-file")
        with open(blocker, "w") as f:
            f.write("not a folder")
        for args, needle in ((["--out", os.path.join(blocker, "run")], "cannot create output folder"),
                             (["--out", self.reference], "exists already"),
                             (["--resume", blocker], "is not a results folder")):
            result = sweep("run", *SELECTION, "--binary", BINARY, *args)
            self.assertEqual(result.returncode, 2, args)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn(needle, result.stderr)

    def test_an_existing_folder_is_never_written_into(self):
        folder = os.path.join(self.tmp, "not-a-run")
        os.makedirs(folder)
        with open(os.path.join(folder, "results.csv"), "w") as f:
            f.write("precious\n")
        result = sweep("run", *SELECTION, "--binary", BINARY, "--out", folder)
        self.assertEqual(result.returncode, 2)
        self.assertIn("exists already", result.stderr)
        self.assertEqual(os.listdir(folder), ["results.csv"])

    def test_merge_checks_every_input_before_it_writes(self):
        shard = os.path.join(self.tmp, "merge-shard")
        self.assertEqual(sweep("run", *SELECTION, "--binary", BINARY, "--shard", "1/2", "--out", shard).returncode, 0)
        hostile = os.path.join(self.tmp, "merge-hostile")
        shutil.copytree(shard, hostile)
        victim = sorted(n for n in os.listdir(os.path.join(hostile, "raw")) if not n.endswith(".failed.json"))[0]
        cases = ((["merge", shard, shard], "exists already"),                         # OUT is a source
                 (["merge", "NEW", shard, shard], "given twice"),
                 (["merge", "NEW", shard, self.reference], "number of shards"),  # a 1/2 shard and a whole sweep
                 (["merge", "NEW", shard, "COPY"], "both shard 1/2"),
                 (["merge", "NEW", shard, os.path.join(self.tmp, "nowhere")], "not a results folder"))
        copy = os.path.join(self.tmp, "merge-shard-copy")
        shutil.copytree(shard, copy)
        for args, needle in cases:
            out = os.path.join(self.tmp, "merged-new")
            result = sweep(*[out if a == "NEW" else copy if a == "COPY" else a for a in args])
            self.assertEqual(result.returncode, 2, (args, result.stderr))
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn(needle, result.stderr)
            self.assertFalse(os.path.exists(out), args)
        for text in ("[1, 2]", '{"benchmarks": [{"name": "small/malloc/threads:1", "items_per_second": "fast"}]}',
                     '{"context": "x", "benchmarks": []}', '{"benchmarks": [{"name": "small/malloc/threads:1", '
                     '"items_per_second": 1, "ns_per_op": -1}]}', "NaN"):
            with open(os.path.join(hostile, "raw", victim), "w") as f:
                f.write(text)
            out = os.path.join(self.tmp, "merged-hostile")
            result = sweep("merge", out, hostile)
            self.assertEqual(result.returncode, 2, (text, result.stderr))
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn(victim, result.stderr)
            self.assertFalse(os.path.exists(out), text)

    def test_bad_input_is_one_line_and_exit_2(self):
        for args, needle in ((["--allocators", "nope"], "unknown allocator 'nope'"),
                             (["--workloads", "small,nope"], "unknown workload 'nope'"),
                             (["--threads", "0"], "bad --threads '0'"),
                             (["--threads", "5000"], "bad --threads '5000'"),
                             (["--threads", "two"], "bad --threads 'two'"),
                             (["--shard", "3/2"], "argument --shard: bad value '3/2'"),
                             (["--repetitions", "0"], "argument --repetitions: bad value '0'"),
                             (["--min-time", "-1"], "argument --min-time: bad value '-1'"),
                             (["--min-time", "inf"], "argument --min-time: bad value 'inf'"),
                             (["--timeout", "nan"], "argument --timeout: bad value 'nan'"),
                             (["--allocators", ","], "no allocator named"),
                             (["--workloads", ""], "no workload named"),
                             (["--threads", ""], "bad --threads ''"),
                             (["--seed", "-5"], "argument --seed: bad value '-5'"),
                             (["--repetitions", "abc"], "argument --repetitions: bad value 'abc'"),
                             (["--profile", "x"], "invalid choice"),
                             (["--resume", "somewhere"], "not both"),
                             (["--folder-file", "/tmp"], "--folder-file"),
                             (["--units", "/nonexistent.json"], "--units"),
                             (["--units", "UNITS:{}"], "pairs"),
                             (["--units", "UNITS:[]"], "pairs"),
                             (["--units", 'UNITS:[["small", 3]]'], "pairs"),
                             (["--units", 'UNITS:[["frame", "nosuch"]]'], "do not select")):
            if args[0] == "--units" and args[1].startswith("UNITS:"):
                path = os.path.join(self.tmp, "units.json")
                with open(path, "w") as f:
                    f.write(args[1][len("UNITS:"):])
                args = ["--units", path]
            result = sweep("run", *args, "--binary", BINARY, "--out", os.path.join(self.tmp, "never"))
            self.assertEqual(result.returncode, 2, args)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn(needle, result.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "never")))


class PreloadedLibraryResolutionTest(unittest.TestCase):
    """Where a preloaded peer's library is found (no driver run): a Debian package's in the
    system's folders, one built with alloclab in the driver's own build tree."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="alloclab-resolution-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.driver = os.path.join(self.tmp, "build", "mine", "harness", "alloclab")
        os.makedirs(os.path.dirname(self.driver))
        os.makedirs(os.path.join(self.tmp, "build", "mine", "allocators"))
        self.shim = os.path.join(self.tmp, "build", "mine", "allocators", "libshim_under_test.so")
        for path in (self.driver, self.shim):
            with open(path, "w") as f:
                f.write("")

    def test_a_library_built_with_alloclab_is_found_beside_the_driver_that_lists_it(self):
        info = AllocatorInfo("shim", "preloaded", library="libshim_under_test.so", library_from="build")
        self.assertEqual(installed_library(info, self.driver), Path(self.shim))
        # Through a symbolic link to the driver, its real build tree is the one searched.
        link = os.path.join(self.tmp, "alloclab-link")
        os.symlink(self.driver, link)
        self.assertEqual(installed_library(info, link), Path(self.shim))
        # Never in the system's folders, even where a file of that name exists there.
        libc = AllocatorInfo("c", "preloaded", library="libc.so.6", library_from="build")
        self.assertIsNone(installed_library(libc, self.driver))
        # Missing: the user is told which file, and how to build it.
        other = os.path.join(self.tmp, "elsewhere", "alloclab")
        self.assertIsNone(installed_library(info, other))
        expected = registry_preload(info, other)
        self.assertEqual(expected.library, Path(self.tmp).resolve() / "allocators" / "libshim_under_test.so")
        self.assertIn("cmake --build --preset release", expected.install_hint)
        self.assertTrue(expected.frees)

    def test_a_debian_library_is_found_in_the_system_folders(self):
        jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
        if not os.path.exists(jemalloc):
            self.skipTest("libjemalloc2 not installed")
        for library_from in ("system", ""):  # "": a registry.json from before the field
            info = AllocatorInfo("jemalloc", "preloaded", library="libjemalloc.so.2", library_from=library_from)
            self.assertEqual(installed_library(info, self.driver), Path(jemalloc))
        built = AllocatorInfo("jemalloc", "preloaded", library="libjemalloc.so.2", library_from="build")
        self.assertIsNone(installed_library(built, self.driver))
        self.assertIsNone(installed_library(AllocatorInfo("x", "preloaded", library="libnosuch.so.9"), self.driver))

    def test_the_registry_refuses_an_unknown_place_or_a_path_for_a_built_library(self):
        for entry, words in (({"library": "libx.so", "library_from": "elsewhere"}, "library_from 'elsewhere'"),
                             ({"library": "/tmp/libx.so", "library_from": "build"}, "a file name")):
            doc = {"schema": 1, "allocators": [{"name": "x", "kind": "preloaded", **entry}], "workloads": []}
            with self.assertRaises(RegistryError) as caught:
                Registry.from_json(doc)
            self.assertIn(words, str(caught.exception))

    def test_a_malloc_that_never_frees_cannot_run_a_workload_that_needs_free(self):
        registry = Registry((AllocatorInfo("bump", "preloaded", supports_free=False, library="libb.so"),
                             AllocatorInfo("jemalloc", "preloaded", library="libjemalloc.so.2"),
                             AllocatorInfo("mutex_arena", "library", supports_free=False)),
                            (WorkloadInfo("small"), WorkloadInfo("larson", needs_free=True, needs_cross_thread_free=True)))
        self.assertEqual(sweep_module.cannot_run(registry, "larson", "bump"),
                         "needs individual free; bump's free does nothing")
        self.assertEqual(sweep_module.cannot_run(registry, "small", "bump"), "")
        self.assertEqual(sweep_module.cannot_run(registry, "larson", "jemalloc"), "")
        self.assertEqual(sweep_module.cannot_run(registry, "larson", "mutex_arena"), "")  # the driver skips its own

    def test_a_malloc_that_never_frees_gets_a_process_per_thread_count(self):
        # In one process a thread count would inherit what the counts before it allocated.
        units = sweep_module.plan_units(["malloc", "bump"], ["small"], 2, frozenset({"bump"}), [1, 4])
        self.assertEqual([u.name for u in units],
                         ["r01__small__malloc", "r01__small__bump__t1", "r01__small__bump__t4",
                          "r02__small__bump__t1", "r02__small__bump__t4", "r02__small__malloc"])
        self.assertEqual(units[1].thread_counts([1, 4]), [1])
        self.assertEqual(units[0].thread_counts([1, 4]), [1, 4])


if __name__ == "__main__":
    unittest.main()
