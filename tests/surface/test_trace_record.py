"""`python3 -m alloclab.traces record [--library SO] [--linger S] OUT -- CMD...` (what
`./run_all.sh trace OUT -- CMD` runs) as a hostile user drives it: OUT empty, a folder, in a
missing folder, already there or with an earlier recording's OUT-<pid>.trace beside it; no
command, a command that does not exist or cannot run; --linger that is not a number of
seconds; options twice; and kill -9 of the recorder leaving the recorded program running.
A program that exits non-zero is not bad input: its status is the recorder's.

Run: PYTHONPATH=harness:.:tests/surface python3 -m unittest -v tests/surface/test_trace_record.py
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import unittest

from surface_support import BINARY, PYTHON, TOOLS_ENV, SurfaceTest, processes_mentioning

RECORDER = BINARY.parent / "liballoclab_trace.so"


@unittest.skipUnless(RECORDER.exists(), f"recorder not built: {RECORDER}")
class TraceRecordSurface(SurfaceTest):
    def record(self, *args: str) -> list[str]:
        return [*self.tool("alloclab.traces"), "record", "--library", str(RECORDER), *args]

    def test_bad_out(self) -> None:
        (self.tmp / "folder").mkdir()
        (self.tmp / "dangling.trace").symlink_to(self.tmp / "nowhere")
        for out, named in (("", "''"), (str(self.tmp / "folder"), "folder"), (str(self.tmp / "folder") + "/", "folder"),
                           (str(self.tmp / "missing" / "x.trace"), "missing"), (" ", "' '"),
                           (str(self.tmp / "dangling.trace"), "dangling.trace")):
            with self.subTest(out=out):
                self.refused(self.record(out, "--", "true"), named)

    def test_an_earlier_recording_is_never_mixed_with_a_new_one(self) -> None:
        # OUT itself, or a sibling an earlier recording of the same OUT left (its children's files).
        for existing in ("x.trace", "x-1234.trace", "x-1234-2.trace"):
            with self.subTest(existing=existing):
                (self.tmp / existing).write_bytes(b"earlier")
                self.refused(self.record(str(self.tmp / "x.trace"), "--", "true"), existing, "x.trace")
                (self.tmp / existing).unlink()
        # A file of another stem is not an earlier recording of this OUT.
        (self.tmp / "xy-12.trace").write_bytes(b"other")
        (self.tmp / "x-notapid.trace").write_bytes(b"other")
        done = self.run_command(self.record("x.trace", "--", "sh", "-c", "ls / >/dev/null"))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue((self.tmp / "x.trace").is_file())
        # The same OUT again: refused, naming the earlier recording's files.
        siblings = sorted(p.name for p in self.tmp.glob("x-[0-9]*.trace"))
        self.assertTrue(siblings, "the recording of sh -c 'ls' wrote no file for ls")
        self.refused(self.record("x.trace", "--", "true"), "x.trace", siblings[0])
        self.assertIn("must be new", self.run_command([*self.tool("alloclab.traces"), "record", "--help"]).stdout)

    def test_bad_commands(self) -> None:
        plain = self.tmp / "plain.txt"
        plain.write_text("not a program\n")
        garbage = self.tmp / "garbage"
        garbage.write_bytes(b"\x00\x01 no interpreter line\n")
        garbage.chmod(0o755)
        out = str(self.tmp / "x.trace")
        for argv, named in ((self.record(out, "true"), "--"), (self.record(out, "--"), "--"),
                            (self.record(out), "--"), (self.record(out, "--", ""), "''"),
                            (self.record(out, "--", "alloclab-no-such-command"), "alloclab-no-such-command"),
                            (self.record(out, "--", str(self.tmp / "nope")), "nope"),
                            (self.record(out, "--", str(self.tmp)), str(self.tmp)),
                            (self.record(out, "--", str(plain)), "plain.txt"),
                            (self.record(out, "--", str(garbage)), "garbage")):
            with self.subTest(argv=argv[5:]):
                self.refused(argv, named)

    def test_bad_options(self) -> None:
        out = str(self.tmp / "x.trace")
        for value in ("nan", "inf", "-inf", "-1", "1_0", "", "3601", "1e999", "0x10", " 1"):
            with self.subTest(linger=value):
                self.refused(self.record("--linger", value, out, "--", "true"), "--linger", f"'{value}'")
        base = [*self.tool("alloclab.traces"), "record"]
        for argv, named in (([*base, "--library", str(self.tmp / "nope.so"), out, "--", "true"], "nope.so"),
                            ([*base, "--library", "/etc/passwd", out, "--", "true"], "/etc/passwd"),
                            ([*base, "--library", "", out, "--", "true"], "--library"),
                            (self.record("--library", str(RECORDER), out, "--", "true"), "--library"),
                            (self.record("--linger", "1", "--linger", "1", out, "--", "true"), "--linger"),
                            (self.record("--linger"), "--linger"),
                            (self.record("--bogus", out, "--", "true"), "--bogus"),
                            (self.record(out, str(self.tmp / "y.trace"), "--", "true"), "one OUT")):
            with self.subTest(argv=argv[3:]):
                self.refused(argv, named)
        self.refused([*self.tool("alloclab.traces"), "frob"], "frob")
        self.refused([*self.tool("alloclab.traces")], "record")

    def test_a_failing_program_keeps_its_status_and_is_recorded(self) -> None:
        done = self.run_command(self.record("f.trace", "--", "sh", "-c", "exit 7"))
        self.assertEqual(done.returncode, 7, done.stderr)
        self.assertTrue((self.tmp / "f.trace").is_file())

    def test_relative_out_is_the_callers(self) -> None:
        sub = self.tmp / "sub"
        sub.mkdir()
        done = self.run_command(self.record("rel.trace", "--", "true"), cwd=sub)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue((sub / "rel.trace").is_file())
        self.refused(self.record("missing/rel.trace", "--", "true"), "missing", cwd=sub)

    def test_kill_9_of_the_recorder_leaves_the_program_not_running(self) -> None:
        marker = f"47.{os.getpid()}{int(time.monotonic() * 1000) % 1000}"
        process = subprocess.Popen([PYTHON, "-m", "alloclab.traces", "record", "--library", str(RECORDER),
                                    str(self.tmp / "k.trace"), "--", "sleep", marker],
                                   env={**os.environ, **TOOLS_ENV}, cwd=self.tmp, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        self.addCleanup(lambda: [os.kill(p, signal.SIGKILL) for p, _ in processes_mentioning(marker)])
        deadline = time.monotonic() + 20
        while not any(cmd.startswith("sleep") for _, cmd in processes_mentioning(marker)) \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertTrue(processes_mentioning(marker), "the program did not start")
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.no_process_left(marker, within=5)


if __name__ == "__main__":
    unittest.main()
