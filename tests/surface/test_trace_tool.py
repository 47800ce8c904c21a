"""The trace tool, `alloclab-trace` (info [--json], distill --out): missing and extra arguments,
unknown commands and options, bad --out paths and files that lie are refused with one line
naming the value and the valid choices, exit 2, and nothing is written; info and distill still
work on a valid trace, a truncated one and through a pipe."""

from __future__ import annotations

import json
import os
import shutil
import unittest
from pathlib import Path

from surface_support import BINARY, ROOT, SurfaceTest

TOOL = str(BINARY.parent / "alloclab-trace")
DATA = ROOT / "tests" / "data"
TRACE = DATA / "traces" / "rocksdb_small.trace"
TRACE_VALID = "TRACE_FORMAT.md"


class TraceToolSurface(SurfaceTest):
    def setUp(self) -> None:
        super().setUp()
        self.assertTrue(Path(TOOL).is_file(), f"no trace tool at {TOOL} (build alloclab_trace_tool)")
        self.trace = self.tmp / "run.trace"
        shutil.copyfile(TRACE, self.trace)
        self.csv = self.tmp / "run.csv"

    def bad(self, args: list[str], *names: str) -> str:
        return self.refused([TOOL, *args], *names, watch=[DATA])

    # --- the command line ------------------------------------------------------------------------

    def test_no_command_or_an_unknown_one(self) -> None:
        self.bad([], "no command", "info FILE")
        for command in ["inform", "Info", "replay", "run.trace", ""]:
            with self.subTest(command=command):
                self.bad([command, str(self.trace)], f"'{command}'", "info FILE", "distill FILE")

    def test_an_option_before_the_command(self) -> None:
        for option in ["--json", "--out", "-x", "--bogus"]:
            with self.subTest(option=option):
                self.bad([option, "info", str(self.trace)], option, "before the command")

    def test_missing_arguments(self) -> None:
        self.bad(["info"], "info needs a trace FILE", "info FILE [--json]")
        self.bad(["info", "--json"], "info needs a trace FILE")
        self.bad(["distill"], "distill needs a trace FILE")
        self.bad(["distill", str(self.trace)], "distill needs --out", "distill FILE --out DIST.csv")
        self.bad(["distill", "--out", str(self.csv)], "distill needs a trace FILE")
        self.bad(["distill", str(self.trace), "--out"], "--out needs a value")
        self.bad(["distill", str(self.trace), "--out", "--bogus"], "--out needs a value")

    def test_extra_arguments(self) -> None:
        self.bad(["info", str(self.trace), "extra"], "'extra'", "info FILE [--json]")
        self.bad(["info", str(self.trace), str(self.trace)], "unexpected argument")
        self.bad(["distill", str(self.trace), "extra", "--out", str(self.csv)], "'extra'", "distill FILE --out")

    def test_unknown_options(self) -> None:
        for command, option in [("info", "--jsn"), ("info", "--out"), ("info", "-j"), ("distill", "--json"),
                                ("distill", "--output"), ("distill", "-o")]:
            with self.subTest(command=command, option=option):
                args = [command, str(self.trace), option] + (["--out", str(self.csv)] if command == "distill" else [])
                self.bad(args, option)

    def test_options_given_twice_or_with_a_value(self) -> None:
        self.bad(["info", str(self.trace), "--json", "--json"], "--json given twice")
        self.bad(["info", str(self.trace), "--json=true"], "--json takes no value")
        self.bad(["distill", str(self.trace), "--out", str(self.csv), "--out", str(self.tmp / "b.csv")],
                 "--out given twice")

    def test_help_is_printed(self) -> None:
        for args, texts in [(["--help"], ["info", "distill", "Exit status"]), (["-h"], ["distill"]),
                            (["info", "--help"], ["FILE", "--json"]), (["distill", "-h"], ["--out"])]:
            with self.subTest(args=args):
                done = self.run_command([TOOL, *args])
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertEqual(done.stderr, "")
                for text in texts:
                    self.assertIn(text, done.stdout)

    # --- distill --out ---------------------------------------------------------------------------

    def test_bad_outputs(self) -> None:
        (self.tmp / "folder").mkdir()
        (self.tmp / "file").write_text("x")
        os.mkfifo(self.tmp / "fifo")  # not a device: a run of a faulty build must not replace /dev/null
        (self.tmp / "link.trace").symlink_to(self.trace)
        os.link(self.trace, self.tmp / "hard.trace")
        cases = [("", "an empty path"), (str(self.tmp / "folder"), "is a folder"), (str(self.tmp), "is a folder"),
                 (str(self.trace), "is the trace itself"), ("run.trace", "is the trace itself"),
                 (str(self.tmp / "link.trace"), "is the trace itself"),
                 (str(self.tmp / "hard.trace"), "is the trace itself"),
                 (str(self.tmp / "missing" / "x.csv"), "does not exist"),
                 (str(self.tmp / "file" / "x.csv"), "Not a directory"), (str(self.tmp / "new") + "/", "new/"),
                 (str(self.tmp / "fifo"), "not a regular file"), ("-", "standard output"), ("/proc/alloclab-surface.csv", "/proc/alloclab-surface.csv")]
        for path, problem in cases:
            with self.subTest(out=path):
                self.bad(["distill", str(self.trace), "--out", path], problem)

    def test_an_unwritable_folder(self) -> None:
        if os.geteuid() == 0:
            self.skipTest("root writes into any folder")
        folder = self.tmp / "locked"
        folder.mkdir()
        folder.chmod(0o500)
        self.addCleanup(folder.chmod, 0o700)
        self.bad(["distill", str(self.trace), "--out", str(folder / "x.csv")], "not writable")

    # --- files that lie --------------------------------------------------------------------------

    def test_bad_trace_files(self) -> None:
        (self.tmp / "folder.trace").mkdir()
        (self.tmp / "empty.trace").write_bytes(b"")
        (self.tmp / "text.trace").write_text("hello\n")
        (self.tmp / "binary.trace").write_bytes(bytes(range(256)) * 4)
        data = TRACE.read_bytes()
        (self.tmp / "head.trace").write_bytes(data[:100])
        (self.tmp / "eight.trace").write_bytes(data[:8])
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0xFF
        (self.tmp / "flipped.trace").write_bytes(bytes(flipped))
        cases = [("missing.trace", "No such file"), ("folder.trace", "folder"), ("empty.trace", "empty file"),
                 ("text.trace", "not an alloclab trace"), ("binary.trace", "not an alloclab trace"),
                 ("head.trace", "head.trace"), ("eight.trace", "header"), ("flipped.trace", "flipped.trace"),
                 ("/dev/zero", "not a regular file"), ("", "an empty path")]
        for name, problem in cases:
            for command in (["info"], ["info", "--json"], ["distill", "--out", str(self.csv)]):
                with self.subTest(file=name, command=command[0]):
                    line = self.bad([command[0], name, *command[1:]], name, problem)
                    if problem not in ("an empty path",):
                        self.assertIn(TRACE_VALID, line)

    def test_an_unreadable_trace(self) -> None:
        if os.geteuid() == 0:
            self.skipTest("root reads any file")
        self.trace.chmod(0)
        self.bad(["info", str(self.trace)], "run.trace", "cannot be read")

    # --- what still works ------------------------------------------------------------------------

    def test_info_and_distill_of_a_valid_trace(self) -> None:
        done = self.run_command([TOOL, "info", str(self.trace), "--json"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout)["schema"], 1)
        done = self.run_command([TOOL, "info", "--", "run.trace"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.csv.write_text("old")
        done = self.run_command([TOOL, "distill", "run.trace", "--out", "run.csv"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(self.csv.read_text().startswith("# alloclab distribution v1"))
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), ["run.csv", "run.trace"])

    def test_a_truncated_trace_is_read_as_its_prefix(self) -> None:
        data = TRACE.read_bytes()
        (self.tmp / "half.trace").write_bytes(data[:len(data) // 2])
        done = self.run_command([TOOL, "distill", "half.trace", "--out", "half.csv"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("truncated", done.stderr)
        self.assertTrue((self.tmp / "half.csv").is_file())

    def test_a_trace_through_a_pipe(self) -> None:
        done = self.run_command(["sh", "-c", f"'{TOOL}' info --json /dev/stdin < run.trace"])
        self.assertEqual(done.returncode, 0, done.stderr)
        done = self.run_command(["sh", "-c", f"cat run.trace | '{TOOL}' info --json /dev/stdin"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout)["schema"], 1)


if __name__ == "__main__":
    unittest.main()
