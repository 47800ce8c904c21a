"""alloclab's malloc shims on the real programs: every program of the suite at a small scale
under liballoclab_malloc.so and liballoclab_bump.so, found where the registry says they are
(the driver's build tree), every output check passing and every process's malloc verified by
the probe; and alloclab_bump out of its memory budget recorded as "did not fit", with the
other runs going on and the report saying "did not fit" rather than a number.

Usage: PYTHONPATH=harness:. python3 -m unittest tests/tools/test_program_shims.py
(ALLOCLAB_BINARY names the driver; ALLOCLAB_MALLOC_SHIM and ALLOCLAB_BUMP_SHIM, set by ctest, the
libraries the build made, which the registry's resolution must find.)
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("ALLOCLAB_BINARY", os.path.join(ROOT, "build", "release", "harness", "alloclab"))
BUILD = os.path.dirname(os.path.dirname(BINARY))
PROBE = os.path.join(os.path.dirname(BINARY), "liballoclab_probe.so")
SHIMS = {"alloclab_malloc": os.environ.get("ALLOCLAB_MALLOC_SHIM", os.path.join(BUILD, "allocators", "liballoclab_malloc.so")),
         "alloclab_bump": os.environ.get("ALLOCLAB_BUMP_SHIM", os.path.join(BUILD, "allocators", "liballoclab_bump.so"))}
# Scale 0.1 (the main job's quick profile), threaded programs at 1 and 4 threads: every program's
# allocation paths run, with threads, in well under a minute on 2 cores.
SMALL = ["--scale", "0.1", "--repetitions", "1", "--threads", "1,4", "--sample-ms", "5", "--timeout", "120"]


def programs(*args, env=None):
    return subprocess.run([sys.executable, "-m", "alloclab.programs", *args, "--binary", BINARY, "--probe", PROBE],
                          capture_output=True, text=True, env=env)


def rows(folder):
    with open(os.path.join(folder, "programs.csv"), newline="") as f:
        return list(csv.DictReader(f))


class ProgramShimsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [p for p in [BINARY, PROBE, *SHIMS.values()] if not os.path.exists(p)]
        if missing:  # ctest lists the shims as REQUIRED_FILES: a build without them fails there
            raise unittest.SkipTest(f"not built: {', '.join(missing)} (cmake --build --preset release)")
        cls.tmp = tempfile.mkdtemp(prefix="alloclab-shims-test-")
        cls.every = os.path.join(cls.tmp, "every")
        cls.result = programs("run", *SMALL, "--programs", "all", "--allocators", "alloclab_malloc,alloclab_bump",
                              "--out", cls.every)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_program_passes_its_check_under_both_shims(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr[-2000:])
        got = rows(self.every)
        failed = [(r["program"], r["allocator"], r["threads"], r["reason"]) for r in got if r["status"] != "ok"]
        self.assertEqual(failed, [])
        with open(os.path.join(self.every, "programs", "plan.json")) as f:
            plan = json.load(f)
        # The plan records each shim where the registry's resolution found it: the build's own file.
        recorded = {a["name"]: a["library"] for a in plan["allocators"]}
        self.assertEqual({n: os.path.realpath(recorded[n]) for n in SHIMS},
                         {n: os.path.realpath(p) for n, p in SHIMS.items()})
        self.assertFalse(next(a for a in plan["allocators"] if a["name"] == "alloclab_bump")["supports_free"])
        expected = {(p["name"], a, t) for p in plan["programs"] for a in SHIMS
                    for t in (["1", "4"] if p["threaded"] else ["1"])}
        self.assertEqual({(r["program"], r["allocator"], r["threads"]) for r in got}, expected)
        for r in got:
            with open(os.path.join(self.every, "programs", "raw", r["unit"] + ".json")) as f:
                probed = json.load(f)["probe"]
            self.assertTrue(probed, r["unit"])
            for _, library, exe in probed:  # every process of the run called the shim's malloc
                self.assertEqual(os.path.realpath(library), os.path.realpath(SHIMS[r["allocator"]]), (r["unit"], exe))
            self.assertGreater(float(r["wall_s"]), 0)

    def test_bump_out_of_its_budget_did_not_fit_and_the_run_goes_on(self):
        folder = os.path.join(self.tmp, "budget")
        env = dict(os.environ, ALLOCLAB_BUMP_LIMIT="4M")  # far below what these programs allocate
        result = programs("run", *SMALL, "--programs", "lua,sqlite,gxx", "--allocators", "glibc,alloclab_bump",
                          "--out", folder, env=env)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        got = rows(folder)
        self.assertEqual({r["status"] for r in got if r["allocator"] == "glibc"}, {"ok"})
        bump = [r for r in got if r["allocator"] == "alloclab_bump"]
        self.assertEqual(len(bump), 3)
        for r in bump:
            self.assertEqual(r["status"], "failed")
            self.assertTrue(r["reason"].startswith("did not fit: out of memory under alloclab_bump's budget"), r)
        # The summary says "did not fit" where a number would be.
        from alloclab.programs import records
        from plots import program_report
        run = records.read_programs(folder)
        self.assertEqual(run.did_not_fit("lua", "alloclab_bump", 1), 1)
        text = program_report.text_summary(run)
        self.assertIn("did not fit", text)
        table = program_report.per_allocator_table(run)
        self.assertEqual(table.rows[0][-1], "lua, sqlite, gxx")


if __name__ == "__main__":
    unittest.main()
