"""Traces on the Python side: the framing scan, `trace OUT -- CMD` (bad input, the files' layout,
interruption), `programs run --record` and its index, the sweep's trace:/empirical: workloads
(planning, and a whole sweep through a stand-in driver), charts, report and claims of a folder
holding a trace workload.

Trace files are written here by a small encoder of workloads/TRACE_FORMAT.md (TraceFile). The
recorder is a stand-in compiled here (FAKE_RECORDER: every process writes a valid trace of a few
events at load), so the layout is tested whether or not the real one is built; where the real
liballoclab_trace.so, alloclab-trace and a driver that replays traces are built (beside
ALLOCLAB_BINARY), they are run too, else those tests are skipped.

Usage: PYTHONPATH=harness:. python3 -m unittest tests/tools/test_traces.py
"""

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("ALLOCLAB_BINARY", os.path.join(ROOT, "build", "release", "harness", "alloclab"))
HARNESS = os.path.dirname(BINARY)
REAL_RECORDER = os.path.join(HARNESS, "liballoclab_trace.so")
TOOL = os.path.join(HARNESS, "alloclab-trace")
LAUNCHER = os.path.join(HARNESS, "alloclab_launch")
SAMPLE = os.path.join(ROOT, "tests", "data", "sample_run")
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}/harness:{ROOT}"}

from alloclab import claims, results, sweep
from alloclab.cli import UsageError
from alloclab.registry import AllocatorInfo, Registry, WorkloadInfo
from alloclab.results import ResultRow
from alloclab.traces import suite
from alloclab.traces.scan import TraceError, scan


# ----------------------------------------------------------------------------- trace files

def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def fnv(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


class TraceFile:
    """A valid trace: `threads` threads, each making `per_thread` objects and freeing every one
    it made (a thread t > 0 frees the objects of thread t - 1: cross-thread frees), stamps
    interleaved round robin; one chunk per thread per `chunk` events."""

    def __init__(self, threads=2, per_thread=6, chunk=4, metadata=None):
        self.threads, self.metadata = threads, metadata or {"program": "/usr/bin/fixture", "args": ["fixture"],
                                                            "pid": 4242, "parent_pid": 1, "started_unix_ns": 1}
        events = {t: [] for t in range(threads)}  # (stamp, kind, value): malloc size, or free object id
        stamp = 0
        made = {t: [] for t in range(threads)}
        for i in range(per_thread):
            for t in range(threads):
                stamp += 1
                events[t].append((stamp, 0, 16 + 8 * ((i + t) % 5)))
                made[t].append(stamp)
        for t in range(threads):
            for obj in made[(t - 1) % threads]:
                stamp += 1
                events[t].append((stamp, 3, obj))
        self.events = events
        self.chunks = []  # (thread, [events])
        for t in range(threads):
            for k in range(0, len(events[t]), chunk):
                self.chunks.append((t, events[t][k:k + chunk]))
        self.chunks.sort(key=lambda c: c[1][0][0])  # written in the order they would fill

    @property
    def total(self):
        return sum(len(e) for e in self.events.values())

    def header(self, version=1, magic=b"ALCTRACE"):
        meta = json.dumps(self.metadata).encode()
        return magic + struct.pack("<HH", version, 0) + varint(len(meta)) + meta

    def chunk_bytes(self, thread, events):
        payload = bytearray([5]) + varint(0)  # a time mark
        previous = 0
        for stamp, kind, value in events:
            delta = stamp - previous
            if delta == 1:
                payload.append(kind | 0x08)
            else:
                payload.append(kind)
                payload += varint(delta)
            payload += varint(value if kind == 0 else stamp - value)
            previous = stamp
        return (b"C" + varint(thread) + varint(0) + varint(len(events)) + varint(len(payload))
                + struct.pack("<I", fnv(payload)) + bytes(payload))

    def end_bytes(self, total=None):
        body = (b"E" + varint(self.total if total is None else total) + varint(len(self.chunks))
                + varint(self.threads) + varint(0) + varint(1000) + varint(0))
        return body + struct.pack("<I", fnv(body))

    def write(self, path, end=True, **header):
        data = self.header(**header) + b"".join(self.chunk_bytes(t, e) for t, e in self.chunks)
        if end:
            data += self.end_bytes()
        Path(path).write_bytes(data)
        return Path(path)


FAKE_RECORDER = r"""
/* A stand-in for liballoclab_trace.so: at load, every process writes
 * <ALLOCLAB_TRACE_DIR>/<pid>.trace, a valid trace of as many 16-byte mallocs as its command
 * line has bytes (so processes differ), one chunk, an end record. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static size_t put(unsigned char* o, unsigned long long v) { size_t n = 0; while (v >= 0x80) { o[n++] = (unsigned char)(v | 0x80); v >>= 7; } o[n++] = (unsigned char)v; return n; }
static unsigned fnv(const unsigned char* p, size_t n) { unsigned h = 2166136261u; for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u; return h; }
static void u32(unsigned char* o, unsigned v) { for (int i = 0; i < 4; ++i) o[i] = (unsigned char)(v >> (8 * i)); }
__attribute__((constructor)) static void fake(void) {
  const char* dir = getenv("ALLOCLAB_TRACE_DIR");
  if (dir == NULL) return;
  char cmd[2048] = {0};
  int fd = open("/proc/self/cmdline", O_RDONLY);
  ssize_t got = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : 0;
  if (fd >= 0) close(fd);
  size_t events = got > 0 ? (size_t)got : 1;
  char meta[4096];
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  int m = snprintf(meta, sizeof meta, "{\"program\":\"%s\",\"pid\":%d,\"parent_pid\":%d,\"started_unix_ns\":%lld}",
                   cmd, (int)getpid(), (int)getppid(), (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
  static unsigned char b[1 << 15], pl[1 << 14];
  size_t n = 0, p = 0;
  memcpy(b, "ALCTRACE\1\0\0\0", 12); n = 12;
  n += put(b + n, (unsigned)m); memcpy(b + n, meta, (size_t)m); n += (size_t)m;
  pl[p++] = 5; pl[p++] = 0;
  for (size_t i = 0; i < events; ++i) { pl[p++] = 0x08; pl[p++] = 16; }
  b[n++] = 'C'; n += put(b + n, 0); n += put(b + n, 0); n += put(b + n, events); n += put(b + n, p);
  u32(b + n, fnv(pl, p)); n += 4; memcpy(b + n, pl, p); n += p;
  size_t e = n;
  b[n++] = 'E'; n += put(b + n, events); n += put(b + n, 1); n += put(b + n, 1); n += put(b + n, 0);
  n += put(b + n, 1000); n += put(b + n, 0); u32(b + n, fnv(b + e, n - e)); n += 4;
  char path[4096];
  snprintf(path, sizeof path, "%s/%d.trace", dir, (int)getpid());
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  if (write(fd, b, n) != (ssize_t)n) {}
  close(fd);
}
"""


def compile_library(folder, name, source):
    """A shared library from C source, with the system's C compiler; None without one."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    src, lib = Path(folder) / f"{name}.c", Path(folder) / f"lib{name}.so"
    src.write_text(source)
    done = subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(lib), str(src)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise AssertionError(f"cannot build the stand-in recorder: {done.stderr}")
    return lib


def record(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "alloclab.traces", "record", *args], capture_output=True, text=True,
                          env=env or ENV, cwd=cwd, timeout=120)


def listing(folder):
    """Every name under folder, hidden ones included."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def running_with(marker):
    """Pids of live `sleep MARKER` processes."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if f.read().split(b"\0")[:2] == [b"sleep", marker.encode()]:
                        with open(f"/proc/{entry}/stat") as s:
                            if s.read().rsplit(")", 1)[1].split()[0] != "Z":
                                out.append(int(entry))
            except OSError:
                continue
    return out


# ----------------------------------------------------------------------------- the scan

class ScanTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="alloclab-traces-scan-"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_a_whole_trace(self):
        t = TraceFile(threads=3, per_thread=5)
        facts = scan(t.write(self.tmp / "x.trace"))
        self.assertEqual((facts.events, facts.threads, facts.chunks), (t.total, 3, len(t.chunks)))
        self.assertFalse(facts.truncated)
        self.assertEqual((facts.pid, facts.parent_pid, facts.program_name), (4242, 1, "fixture"))
        self.assertEqual(facts.thread_events, {k: len(v) for k, v in t.events.items()})
        self.assertAlmostEqual(facts.bytes_per_event, (self.tmp / "x.trace").stat().st_size / t.total)

    def test_a_trace_without_its_end_record_is_truncated_and_counts_its_threads(self):
        t = TraceFile(threads=4, per_thread=4)
        facts = scan(t.write(self.tmp / "x.trace", end=False))
        self.assertTrue(facts.truncated)
        self.assertEqual((facts.events, facts.threads), (t.total, 4))

    def test_a_torn_last_chunk_is_dropped(self):
        t = TraceFile(threads=2, per_thread=6, chunk=4)
        path = t.write(self.tmp / "x.trace", end=False)
        data = path.read_bytes()
        last = t.chunk_bytes(*t.chunks[-1])
        path.write_bytes(data[:-len(last) // 2])
        facts = scan(path)
        self.assertTrue(facts.truncated and facts.torn_tail)
        self.assertEqual(facts.events, t.total - len(t.chunks[-1][1]))

    def test_what_is_not_a_readable_trace_is_one_line_naming_the_file(self):
        t = TraceFile()
        good = t.header() + b"".join(t.chunk_bytes(th, e) for th, e in t.chunks)
        cases = {
            "not an alloclab trace": b"PK\x03\x04 something else",
            "format version 2; this reader reads 1": t.header(version=2) + b"".join(
                t.chunk_bytes(th, e) for th, e in t.chunks),
            "unknown record tag": good + b"Z123",
            "bytes after the end record": good + t.end_bytes() + t.chunk_bytes(*t.chunks[0]),
            "the end record counts": good + t.end_bytes(total=t.total + 1),
            "truncated in its header": b"ALCTRACE\x01\x00",
        }
        for expected, data in cases.items():
            path = self.tmp / "bad.trace"
            path.write_bytes(data)
            with self.assertRaises(TraceError, msg=expected) as caught:
                scan(path)
            message = str(caught.exception)
            self.assertIn(expected, message)
            self.assertTrue(message.startswith(str(path) + ": "), message)
            self.assertNotIn("\n", message)
        with self.assertRaises(TraceError) as caught:
            scan(self.tmp / "missing.trace")
        self.assertIn("No such file", str(caught.exception))
        with self.assertRaises(TraceError) as caught:
            scan(self.tmp)
        self.assertIn("is a folder", str(caught.exception))

    def test_scan_command_prints_the_facts(self):
        path = TraceFile(threads=2, per_thread=3).write(self.tmp / "x.trace")
        done = subprocess.run([sys.executable, "-m", "alloclab.traces", "scan", str(path), "--json"],
                              capture_output=True, text=True, env=ENV)
        self.assertEqual(done.returncode, 0, done.stderr)
        doc = json.loads(done.stdout)
        self.assertEqual((doc[0]["events"], doc[0]["threads"], doc[0]["truncated"]), (12, 2, False))
        bad = subprocess.run([sys.executable, "-m", "alloclab.traces", "scan", str(self.tmp / "nope")],
                             capture_output=True, text=True, env=ENV)
        self.assertEqual((bad.returncode, len(bad.stderr.strip().splitlines())), (2, 1))

    @unittest.skipUnless(os.access(TOOL, os.X_OK), f"alloclab-trace not built: {TOOL}")
    def test_the_cxx_reader_reads_these_fixtures_alike(self):
        t = TraceFile(threads=3, per_thread=5)
        path = t.write(self.tmp / "x.trace")
        for end in (True, False):
            path = t.write(self.tmp / "x.trace", end=end)
            done = subprocess.run([TOOL, "info", str(path), "--json"], capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            doc, facts = json.loads(done.stdout), scan(path)
            self.assertEqual((doc["events"]["total"], doc["threads"]["count"], doc["truncated"]),
                             (facts.events, facts.threads, facts.truncated))
            self.assertEqual(doc["cross_thread"]["frees_by_other_thread"], t.total // 2)  # every free, as made
        cut = self.tmp / "cut.trace"
        cut.write_bytes(b"ALCTRACE\x02\x00\x00\x00\x00")
        done = subprocess.run([TOOL, "info", str(cut)], capture_output=True, text=True)
        self.assertEqual(done.returncode, 2)
        self.assertEqual(len(done.stderr.strip().splitlines()), 1, done.stderr)


# ----------------------------------------------------------------------------- trace OUT -- CMD

class RecordTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="alloclab-traces-record-"))
        cls.fake = compile_library(cls.tmp, "fake_trace", FAKE_RECORDER)
        cls.silent = compile_library(cls.tmp, "silent", "int alloclab_silent_stand_in;\n")
        if cls.fake is None:
            raise unittest.SkipTest("no C compiler to build the stand-in recorder")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.out = Path(tempfile.mkdtemp(prefix="out-", dir=self.tmp))

    def test_bad_input_is_one_line_exit_2_and_nothing_written(self):
        plain = self.out / "plain.txt"
        plain.write_text("not a program\n")
        garbage = self.out / "garbage"
        garbage.write_bytes(b"\x00\x01 no interpreter line\n")
        garbage.chmod(0o755)
        (self.out / "folder").mkdir()
        before = listing(self.out)
        lib = ["--library", str(self.fake)]
        cases = [
            ([*lib, "", "--", "true"], "bad OUT ''"),
            ([*lib, str(self.out / "folder"), "--", "true"], "is a folder"),
            ([*lib, str(self.out / "missing" / "x.trace"), "--", "true"], "does not exist"),
            ([*lib, str(self.out / "x.trace"), "true"], "no command"),
            ([*lib, str(self.out / "x.trace"), "--"], "no command after"),
            ([*lib, str(self.out / "x.trace"), "--", "alloclab-no-such-command"], "not found on PATH"),
            ([*lib, str(self.out / "x.trace"), "--", str(plain)], "not an executable file"),
            ([*lib, str(self.out / "x.trace"), "--", str(self.out / "nope")], "does not exist"),
            ([*lib, "--bogus", str(self.out / "x.trace"), "--", "true"], "unknown option"),
            ([*lib, str(self.out / "a.trace"), str(self.out / "b.trace"), "--", "true"], "give one OUT"),
            (["--library", str(self.out / "nope.so"), str(self.out / "x.trace"), "--", "true"], "does not exist"),
            (["--library", str(plain), str(self.out / "x.trace"), "--", "true"], "not an ELF file"),
            ([*lib, "--linger", "-1", str(self.out / "x.trace"), "--", "true"], "bad --linger"),
            ([*lib, str(self.out / "x.trace"), "--", str(garbage)], "cannot be run: Exec format error"),
        ]
        if os.geteuid() != 0:  # root writes anywhere
            locked = self.out / "locked"
            locked.mkdir()
            locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
            before = listing(self.out)
            cases.append(([*lib, str(locked / "x.trace"), "--", "true"], "cannot write"))
        for args, expected in cases:
            done = record(*args)
            self.assertEqual(done.returncode, 2, (args, done.stderr))
            lines = done.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, (args, done.stderr))
            self.assertIn(expected, lines[0], args)
            self.assertTrue(lines[0].startswith("trace: "), lines[0])
            self.assertEqual(done.stdout, "")
            self.assertEqual(listing(self.out), before, args)

    def test_the_layout_the_command_and_each_process_it_started(self):
        out = self.out / "sh.trace"
        done = record("--library", str(self.fake), str(out), "--", "sh", "-c",
                      "cat /dev/null; ls / >/dev/null; echo hello; exit 3")
        self.assertEqual(done.returncode, 3, done.stderr)  # the program's status
        self.assertEqual(done.stdout, "hello\n")  # the program's stdout, untouched
        names = listing(self.out)
        self.assertFalse([n for n in names if n.startswith(".")], f"scratch left behind: {names}")
        root = scan(out)
        self.assertEqual(root.program_name, "sh")
        others = sorted(n for n in names if n != "sh.trace")
        self.assertEqual(len(others), 2, names)
        programs = set()
        for name in others:
            facts = scan(self.out / name)
            self.assertEqual(name, f"sh-{facts.pid}.trace")
            self.assertEqual(facts.parent_pid, root.pid)
            programs.add(facts.program_name)
        self.assertEqual(programs, {"cat", "ls"})
        # the table: every file, and the one with the most events named
        for name in names:
            self.assertIn(name, done.stderr)
        busiest = max(names, key=lambda n: scan(self.out / n).events)
        self.assertIn(f"most events: {self.out / busiest}", done.stderr)

    def test_relative_out_is_the_callers_and_the_command_runs_there(self):
        done = record("--library", str(self.fake), "rel.trace", "--", "sh", "-c", "pwd", cwd=self.out)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(), str(self.out))
        self.assertTrue((self.out / "rel.trace").is_file())

    def test_an_existing_preload_stays_after_the_recorder(self):
        done = record("--library", str(self.fake), str(self.out / "p.trace"), "--", "sh", "-c", 'echo "$LD_PRELOAD"',
                      env={**ENV, "LD_PRELOAD": str(self.silent)})
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.split(), [str(self.fake), str(self.silent)])

    def test_a_program_that_loads_no_recorder_writes_nothing(self):
        done = record("--library", str(self.silent), str(self.out / "x.trace"), "--", "true")
        self.assertEqual(done.returncode, 1)
        self.assertIn("no process wrote a trace", done.stderr)
        self.assertEqual(listing(self.out), [])
        failing = record("--library", str(self.silent), str(self.out / "x.trace"), "--", "sh", "-c", "exit 5")
        self.assertEqual(failing.returncode, 5)

    def test_an_interrupt_stops_everything_and_writes_nothing(self):
        marker = f"31.{os.getpid()}"
        process = subprocess.Popen([sys.executable, "-m", "alloclab.traces", "record", "--library", str(self.fake),
                                    str(self.out / "i.trace"), "--", "sh", "-c",
                                    f"trap '' INT; sleep {marker} & sleep {marker}; wait"],
                                   env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while len(running_with(marker)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(running_with(marker)), 2, "the program did not start")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        self.assertEqual(process.returncode, 130, err)
        self.assertIn("nothing written", err)
        self.assertEqual(listing(self.out), [])
        self.assertEqual(running_with(marker), [], "a process of the recording was left running")

    def test_a_descendant_that_outlives_the_command_is_stopped_after_the_linger(self):
        marker = f"32.{os.getpid()}"
        started = time.monotonic()
        done = record("--library", str(self.fake), "--linger", "0.5", str(self.out / "l.trace"), "--", "sh", "-c",
                      f"setsid sleep {marker} >/dev/null 2>&1 & exit 0")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertLess(time.monotonic() - started, 20)
        self.assertIn("still ran", done.stderr)
        self.assertEqual(running_with(marker), [])

    @unittest.skipUnless(os.path.exists(REAL_RECORDER), f"recorder not built: {REAL_RECORDER}")
    def test_the_real_recorder_a_fork_and_an_exec(self):
        out = self.out / "py.trace"
        script = ("import os, subprocess, sys\n"
                  "blocks = [bytearray(100 + i) for i in range(200)]\n"
                  "pid = os.fork()\n"
                  "if pid == 0:\n"
                  "    more = [bytearray(50) for _ in range(100)]\n"
                  "    os._exit(0)\n"
                  "os.waitpid(pid, 0)\n"
                  "subprocess.run(['ls', '/'], stdout=subprocess.DEVNULL, check=True)\n")
        done = record("--library", REAL_RECORDER, str(out), "--", sys.executable, "-c", script)
        self.assertEqual(done.returncode, 0, done.stderr)
        processes = {n: scan(self.out / n) for n in listing(self.out)}
        root = processes.pop("py.trace")
        self.assertFalse(root.truncated)
        self.assertGreater(root.events, 200)
        forked = [f for f in processes.values() if f.forked]
        execd = [f for f in processes.values() if f.program_name == "ls"]
        self.assertEqual(len(forked), 1, processes)
        self.assertEqual(forked[0].parent_pid, root.pid)
        self.assertEqual(len(execd), 1, processes)
        for name, facts in processes.items():
            self.assertEqual(name, f"py-{facts.pid}.trace")
        if os.access(TOOL, os.X_OK):
            info = subprocess.run([TOOL, "info", str(out)], capture_output=True, text=True)
            self.assertEqual(info.returncode, 0, info.stderr)


# ----------------------------------------------------------------------------- programs --record

class RecordSuiteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(LAUNCHER, os.X_OK):
            raise unittest.SkipTest(f"alloclab_launch not built: {LAUNCHER}")
        cls.tmp = Path(tempfile.mkdtemp(prefix="alloclab-traces-suite-"))
        cls.fake = compile_library(cls.tmp, "fake_trace", FAKE_RECORDER)
        if cls.fake is None:
            raise unittest.SkipTest("no C compiler to build the stand-in recorder")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @staticmethod
    def program(name, script, answer="done"):
        from alloclab.programs.catalog import Program

        class Fixture(Program):
            def prepare(self, inputs, scale, seed):
                (inputs / "input.txt").write_text("x" * int(100 * scale) + "\n")

            def command(self, run):
                return ["sh", "-c", script, "fixture", str(run.inputs / "input.txt")]

            def check(self, run, stdout, drive):
                return None if stdout.strip().endswith(answer) else f"expected {answer}, got {stdout.strip()[-40:]!r}"

        Fixture.name = name
        return Fixture()

    def job(self, folder, programs, repetitions=1):
        suite.check_folder(folder)
        return suite.Job(folder, programs, self.fake, Path(LAUNCHER), 2, 1.0, 42, repetitions, 60, 0.005)

    def test_index_names_every_process_and_keeps_the_busiest_as_the_programs_trace(self):
        from alloclab.programs.__main__ import prepare_inputs
        folder = self.tmp / "run"
        # The shell's children: cat with a long command line (the stand-in's most events), and ls.
        busy = self.program("busy", 'set -- "$1"; for i in $(seq 80); do set -- "$@" /dev/null; done; '
                            'cat "$@" >/dev/null; ls / >/dev/null; echo done')
        broken = self.program("broken", "echo nope")
        job = self.job(folder, [busy, broken], repetitions=2)
        with contextlib.redirect_stdout(io.StringIO()):
            entries = suite.record_suite(job, prepare_inputs)
        index = json.loads((folder / "traces" / "index.json").read_text())
        self.assertEqual(index["programs"], entries)
        self.assertEqual([e["program"] for e in entries], ["busy", "broken"])
        ok, failed = entries
        self.assertEqual((ok["status"], ok["trace"]), ("ok", "busy.trace"), ok["reason"])
        files = {p["file"]: p for p in ok["processes"]}
        self.assertEqual(set(files), {f for f in os.listdir(folder / "traces") if f.startswith("busy")})
        self.assertEqual(sorted(os.path.basename(p["program"]) for p in files.values()), ["cat", "ls", "seq", "sh"])
        kept = scan(folder / "traces" / "busy.trace")
        self.assertEqual(kept.program_name, "cat")
        self.assertEqual(kept.events, max(p["events"] for p in files.values()))
        self.assertEqual(ok["main"]["program"], "cat")
        self.assertIn("most events", ok["main"]["why"])
        for name, p in files.items():
            if name != "busy.trace":
                self.assertEqual(name, f"busy-{p['pid']}.trace")
            self.assertEqual(p["events"], scan(folder / "traces" / name).events)
        self.assertEqual(ok["events"], sum(p["events"] for p in files.values()))
        self.assertEqual((len(ok["wall_s_untraced"]), len(ok["wall_s_traced"])), (2, 2))
        self.assertGreater(ok["overhead"], 0)
        # the failing program is recorded as failed with its reason; its trace is kept all the same
        self.assertEqual(failed["status"], "failed")
        self.assertIn("wrong output", failed["reason"])
        self.assertEqual(failed["trace"], "broken.trace")
        self.assertFalse([n for n in os.listdir(folder / "traces") if n.startswith(".")], "scratch left behind")

    def test_a_folder_with_traces_is_not_written_into(self):
        folder = self.tmp / "twice"
        suite.check_folder(folder)
        with self.assertRaises(UsageError):
            suite.check_folder(folder)

    def test_the_command_line(self):
        binary_ok = os.access(BINARY, os.X_OK)
        out = self.tmp / "cli"
        base = [sys.executable, "-m", "alloclab.programs", "run", "--record", "--binary", BINARY,
                "--probe", os.path.join(HARNESS, "liballoclab_probe.so"), "--recorder", str(self.fake)]
        for extra, expected in ((["--resume", str(out)], "--resume does not apply"),
                                (["--allocators", "jemalloc"], "--allocators does not apply"),
                                (["--recorder", str(self.tmp / "nope.so")], "does not exist"),
                                (["--programs", "nope"], "unknown program 'nope'")):
            if extra[0] == "--programs" and not binary_ok:
                continue
            # --recorder given with the case's own value replaces the base's (an option twice is refused).
            argv = base[:-2] + extra if extra[0] == "--recorder" else [*base, *extra]
            done = subprocess.run([*argv, "--out", str(out)], capture_output=True, text=True, env=ENV)
            self.assertEqual(done.returncode, 2, done.stderr)
            self.assertEqual(len(done.stderr.strip().splitlines()), 1, done.stderr)
            self.assertIn(expected, done.stderr)
            self.assertFalse(out.exists())
        if not binary_ok or shutil.which("lua5.4") is None:
            self.skipTest("driver or lua5.4 missing")
        done = subprocess.run([*base, "--programs", "lua", "--scale", "0.05", "--out", str(out)],
                              capture_output=True, text=True, env=ENV, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        index = json.loads((out / "traces" / "index.json").read_text())
        self.assertEqual(index["programs"][0]["status"], "ok", index["programs"][0]["reason"])
        self.assertEqual(scan(out / "traces" / "lua.trace").program_name, "lua5.4")


# ----------------------------------------------------------------------------- the sweep

def registry_with_files(parametric=("trace", "empirical")):
    return Registry((AllocatorInfo("malloc", "peer"), AllocatorInfo("null", "reference"),
                     AllocatorInfo("coalescing_pool", "library"),
                     AllocatorInfo("bump", "preloaded", supports_free=False, measured_as="malloc", library="libb.so")),
                    (WorkloadInfo("small"), WorkloadInfo("mixed", needs_free=True),
                     *(WorkloadInfo(k, parametric=True, argument="FILE") for k in parametric)), (1, 2, 4))


DISTRIBUTION = "# distilled from fixture\nsize,rate,mean_live\n16,0.25,3.5\n64,0.25,1.0\n"


class SweepPlanningTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="alloclab-traces-sweep-"))
        TraceFile(threads=3).write(self.tmp / "tiny.trace")
        (self.tmp / "shape.csv").write_text(DISTRIBUTION)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_workloads_of_files_resolved_from_the_callers_folder(self):
        names, files = sweep.parse_workloads("small,trace:tiny.trace,empirical:shape.csv", registry_with_files(),
                                             self.tmp)
        self.assertEqual(names, ["small", "trace:tiny", "empirical:shape"])
        by_case = {p.case: p for p in files}
        self.assertEqual(by_case["trace:tiny"].argument, f"trace:{self.tmp / 'tiny.trace'}")
        self.assertEqual(by_case["trace:tiny"].threads, 3)
        self.assertEqual((by_case["empirical:shape"].argument, by_case["empirical:shape"].threads),
                         (f"empirical:{self.tmp / 'shape.csv'}", 0))
        names, _ = sweep.parse_workloads(f"all,trace:{self.tmp / 'tiny.trace'}", registry_with_files(), Path("/"))
        self.assertEqual(names, ["small", "mixed", "trace:tiny"])  # "all" is the built-in workloads
        # a link's own name is the stem
        (self.tmp / "nice.trace").symlink_to(self.tmp / "tiny.trace")
        names, _ = sweep.parse_workloads("trace:nice.trace", registry_with_files(), self.tmp)
        self.assertEqual(names, ["trace:nice"])

    def test_bad_workloads_of_files_are_one_line(self):
        (self.tmp / "other").mkdir()
        TraceFile().write(self.tmp / "other" / "tiny.trace")
        TraceFile().write(self.tmp / "a b.trace")
        (self.tmp / "bad.csv").write_text("size,count\n1,2\n")
        (self.tmp / "empty.trace").write_bytes(TraceFile().header() + TraceFile(per_thread=0).end_bytes())
        cases = {
            "trace:missing.trace": "does not exist",
            "trace:other": "is not a regular file",
            "trace:shape.csv": "not an alloclab trace",
            "trace:": "names no file",
            "trace:a b.trace": "is not a name",
            "trace:tiny.trace,trace:other/tiny.trace": "two trace files with the stem 'tiny'",
            "empirical:bad.csv": "not a distribution",
            "empirical:tiny.trace": "not a distribution",
            "trace:empty.trace": "holds no events",
            "smal": "unknown workload 'smal'",
        }
        for text, expected in cases.items():
            with self.assertRaises(UsageError, msg=text) as caught:
                sweep.parse_workloads(text, registry_with_files(), self.tmp)
            self.assertIn(expected, str(caught.exception), text)
            self.assertNotIn("\n", str(caught.exception))
        with self.assertRaises(UsageError) as caught:
            sweep.parse_workloads("trace:tiny.trace", registry_with_files(parametric=()), self.tmp)
        self.assertIn("does not run trace: workloads", str(caught.exception))

    def test_a_trace_runs_at_its_own_thread_count_only(self):
        units = sweep.plan_units(["malloc", "bump", "null"], ["small", "trace:tiny"], 2, frozenset({"bump"}),
                                 [1, 2, 4], {"trace:tiny": 3})
        trace_units = [u for u in units if u.workload == "trace:tiny"]
        self.assertEqual(len(trace_units), 2 * 3)  # one process per allocator and repetition, never-free included
        self.assertTrue(all(u.thread_counts([1, 2, 4]) == [3] for u in trace_units))
        small_bump = [u for u in units if u.workload == "small" and u.allocator == "bump"]
        self.assertEqual(sorted(u.threads for u in small_bump), [1, 1, 2, 2, 4, 4])
        self.assertTrue(all(u.threads == 0 for u in units if u.workload == "small" and u.allocator != "bump"))
        self.assertEqual(sweep.cannot_run(registry_with_files(), "trace:tiny", "bump"), "")
        needs_free = Registry(registry_with_files().allocators, (WorkloadInfo("trace", parametric=True),
                                                                 WorkloadInfo("empirical", parametric=True,
                                                                              needs_free=True)))
        self.assertIn("free does nothing", sweep.cannot_run(needs_free, "empirical:shape", "bump"))
        self.assertEqual(sweep.cannot_run(needs_free, "trace:tiny", "bump"), "")


# A stand-in for the driver: answers --list --json with parametric workloads, and a run with a
# Google Benchmark JSON whose counters are those the contract gives a trace replay.
FAKE_DRIVER = r'''#!PYTHON
import json, sys
sys.path.insert(0, HARNESS)
from alloclab.traces.scan import scan
args = sys.argv[1:]
def value(flag):
    return args[args.index(flag) + 1] if flag in args else None
if "--list" in args:
    threads = [int(t) for t in (value("--threads") or "1,2").split(",")]
    print(json.dumps({"schema": 1, "threads": threads,
        "allocators": [{"name": "malloc", "kind": "peer"}, {"name": "null", "kind": "reference"},
                       {"name": "coalescing_pool", "kind": "library"}],
        "workloads": [{"name": "small"}, {"name": "trace", "parametric": True, "argument": "FILE"},
                      {"name": "empirical", "parametric": True, "argument": "FILE"}]}))
    sys.exit(0)
with open(LOG, "a") as log:
    log.write(json.dumps(args) + "\n")
workload, allocator = value("--workloads"), value("--allocators")
kind, _, path = workload.partition(":")
stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
speed = {"malloc": 2e7, "null": 1e8, "coalescing_pool": 1e7}[allocator]
benchmarks = []
if kind == "trace":
    facts = scan(path)
    b = {"name": f"trace:{stem}/{allocator}/threads:{facts.threads}", "run_type": "iteration",
         "events": facts.events, "ns_per_event": 1e9 / speed, "events_per_second": speed,
         "peak_live_requested_bytes": 1 << 20, "peak_rss_bytes": 8 << 20}
    b.update({f"rss_at_{k}0pct": (4 + k) * (1 << 20) for k in range(1, 11)})
    if allocator == "coalescing_pool":
        b.update({"bytes_reserved_at_peak": 1.25 * (1 << 20), "fragmentation_ratio": 1.25})
    benchmarks.append(b)
else:
    name = f"empirical:{stem}" if kind == "empirical" else workload
    for t in value("--threads").split(","):
        benchmarks.append({"name": f"{name}/{allocator}/threads:{t}", "run_type": "iteration",
                           "ns_per_op": 1e9 / speed, "items_per_second": speed * int(t)})
with open(value("--out"), "w") as f:
    json.dump({"context": {"host_name": "fixture", "num_cpus": 2, "active_malloc": "libc.so.6"},
               "benchmarks": benchmarks}, f)
'''


class SweepWithTracesTest(unittest.TestCase):
    """A whole sweep with trace: and empirical: workloads through the stand-in driver, then its
    charts, report and a claim over the trace."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="alloclab-traces-sweep-run-"))
        cls.log = cls.tmp / "driver.log"
        driver = cls.tmp / "alloclab"
        driver.write_text(FAKE_DRIVER.replace("#!PYTHON", "#!" + sys.executable)
                          .replace("HARNESS", repr(os.path.join(ROOT, "harness")))
                          .replace("LOG", repr(str(cls.log))))
        driver.chmod(0o755)
        cls.driver = driver
        (cls.tmp / "data").mkdir()
        TraceFile(threads=3).write(cls.tmp / "data" / "tiny.trace")
        (cls.tmp / "data" / "shape.csv").write_text(DISTRIBUTION)
        cls.folder = cls.tmp / "run"
        cls.done = subprocess.run(
            [sys.executable, "-m", "alloclab.sweep", "run", "--binary", str(driver), "--out", str(cls.folder),
             "--workloads", "small,trace:data/tiny.trace,empirical:data/shape.csv",
             "--allocators", "malloc,null,coalescing_pool", "--threads", "1,2", "--repetitions", "3",
             "--touch", "all"],
            capture_output=True, text=True, env=ENV, cwd=cls.tmp, timeout=300)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_the_sweep_runs_the_trace_at_its_threads_with_absolute_paths(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        calls = [json.loads(line) for line in self.log.read_text().splitlines()]
        trace_calls = [c for c in calls if c[c.index("--workloads") + 1].startswith("trace:")]
        self.assertEqual(len(trace_calls), 9)  # 3 allocators x 3 repetitions, one process each
        for c in trace_calls:
            self.assertEqual(c[c.index("--workloads") + 1], f"trace:{self.tmp / 'data' / 'tiny.trace'}")
            self.assertEqual(c[c.index("--touch") + 1], "all")
        run = results.read_run(self.folder)
        trace_rows = [r for r in run.rows if r.workload == "trace:tiny"]
        self.assertEqual({r.threads for r in trace_rows}, {3})
        self.assertEqual(len(trace_rows), 9)
        pool = [r for r in trace_rows if r.allocator == "coalescing_pool"]
        self.assertTrue(all(r.overhead_ratio == 1.25 and r.ns_per_op == 100.0 and r.items_per_second == 1e7
                            and r.bytes_requested_at_peak == 1 << 20 and r.rss_at_50pct == 9 << 20 for r in pool))
        self.assertEqual({r.threads for r in run.rows if r.workload == "empirical:shape"}, {1, 2})
        self.assertEqual(run.facts["workload_files"], {"trace:tiny": str(self.tmp / "data" / "tiny.trace"),
                                                       "empirical:shape": str(self.tmp / "data" / "shape.csv")})
        self.assertEqual(run.facts["workloads"], ["small", "trace:tiny", "empirical:shape"])
        self.assertEqual(run.threads_of("trace:tiny", 1), 3)
        self.assertEqual(run.threads_of("small", 1), 1)

    def test_charts_and_report_treat_the_trace_like_any_workload(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        folder = self.tmp / "drawn"
        if not folder.exists():
            shutil.copytree(self.folder, folder)
        done = subprocess.run([sys.executable, "-m", "plots", str(folder)], capture_output=True, text=True, env=ENV,
                              timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        stems = {n[:-4] for n in os.listdir(folder / "charts") if n.endswith(".png")}
        for stem in ("trace_speed_trace_tiny", "trace_rss_trace_tiny", "throughput_empirical_shape",
                     "throughput_small", "summary_vs_malloc_t1", "summary_vs_malloc_t2"):
            self.assertIn(stem, stems)
        self.assertNotIn("throughput_trace_tiny", stems)  # one thread count: bars, not a line over threads
        md = (folder / "report.md").read_text()
        self.assertIn("trace:tiny (3 threads)", md)  # its column in each summary table, at its own count
        self.assertIn("Traces and distributions", md)
        self.assertIn(str(self.tmp / "data" / "tiny.trace"), md)
        self.assertIn("charts/trace_speed_trace_tiny.png", md)
        # the numbers drawn are those of the CSV, the null reference among them
        from plots import analysis, charts
        run = results.read_run(folder)
        chart = charts.trace_speed_chart(run, self.tmp / "scratch", "trace:tiny")
        self.assertEqual({a: v["median"] for a, v in chart.data["series"].items()},
                         {"malloc": 2e7, "null": 1e8, "coalescing_pool": 1e7})
        rss = charts.trace_rss_chart(run, self.tmp / "scratch", "trace:tiny")
        self.assertEqual(rss.data["median_mib"]["malloc"], [float(4 + k) for k in range(1, 11)])  # no start: as is
        self.assertEqual(rss.data["ideal_mib"], 1.0)
        rel = analysis.relative_summary(run, "malloc", 1)
        self.assertEqual(rel["threads_of"]["trace:tiny"], 3)
        self.assertAlmostEqual(rel["ratio"]["coalescing_pool"]["trace:tiny"], 0.5)
        overhead = charts.overhead_chart(run, self.tmp / "scratch")
        self.assertEqual(overhead.data["median"]["coalescing_pool"]["trace:tiny"], 1.25)
        # two folders compared: the trace's panel and its ratios at its own thread count
        compared = subprocess.run([sys.executable, "-m", "plots", str(self.folder), str(folder), "--out",
                                   str(self.tmp / "compare")], capture_output=True, text=True, env=ENV, timeout=300)
        self.assertEqual(compared.returncode, 0, compared.stderr)
        self.assertTrue((self.tmp / "compare" / "compare_throughput_trace_tiny.png").is_file())
        self.assertIn("| trace:tiny | malloc |", (self.tmp / "compare" / "compare.md").read_text())

    def test_a_claim_over_the_trace_reads_the_traces_own_thread_count(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        claims_file = self.tmp / "claims.toml"
        claims_file.write_text(
            '[[claim]]\nid = "pool-on-trace"\nsentence = "s"\nsource = "t"\n'
            'workload = "trace:data/tiny.trace"\na = "coalescing_pool"\nmetric = "overhead_ratio"\n'
            'relation = "at_most"\nbound = 1.3\n\n'
            '[[claim]]\nid = "malloc-faster-on-trace"\nsentence = "s"\nsource = "t"\n'
            'workload = "trace:data/tiny.trace"\na = "malloc"\nb = "coalescing_pool"\nmetric = "throughput"\n'
            'relation = "ratio_at_least"\nbound = 3.0\n')
        loaded = claims.load_claims_file(str(claims_file), ["malloc", "coalescing_pool"], ["small"])
        first = loaded.claims[0]
        self.assertEqual(first.workloads, ("trace:tiny",))
        self.assertEqual(first.argument("trace:tiny"), f"trace:{self.tmp / 'data' / 'tiny.trace'}")
        run = results.read_run(self.folder)
        self.assertEqual(claims.judge(first, run.rows).n, 3)  # read at 3 threads, the trace's, not 1
        self.assertEqual(claims.judge(loaded.claims[1], run.rows).verdict, "NOT REPRODUCED")  # 2x, not 3x
        done = subprocess.run([sys.executable, "-m", "alloclab.claims", str(claims_file), "--from", str(self.folder),
                               "--binary", str(self.driver)], capture_output=True, text=True, env=ENV, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        checked = {c["id"]: c for c in json.loads((self.folder / "claims.json").read_text())}
        self.assertEqual(checked["pool-on-trace"]["n"], 3)
        self.assertEqual(checked["malloc-faster-on-trace"]["verdict"], "NOT REPRODUCED")
        (self.folder / "claims.json").unlink()
        (self.folder / "claims.md").unlink()
        bad = self.tmp / "bad_claims.toml"
        bad.write_text('[[claim]]\nid = "x"\nsentence = "s"\nsource = "t"\nworkload = "trace:data/tiny.trace"\n'
                       'a = "malloc"\nmetric = "throughput"\nrelation = "at_least"\nbound = 1.0\nthreads = 2\n')
        with self.assertRaises(claims.ClaimsError) as caught:
            claims.load_claims_file(str(bad), ["malloc"], ["small"])
        self.assertIn("its own recorded thread count", str(caught.exception))


class ResultsTest(unittest.TestCase):
    def test_a_trace_replays_counters_fill_the_usual_columns(self):
        doc = {"context": {"active_malloc": "libc.so.6"}, "benchmarks": [
            {"name": "trace:gcc-12/malloc/threads:1", "run_type": "iteration", "ns_per_event": 50.0,
             "events_per_second": 2e7, "peak_live_requested_bytes": 1000.0, "rss_at_100pct": 4096.0},
            {"name": "trace:gcc-12/mutex_arena/threads:1", "run_type": "iteration", "error_occurred": True,
             "error_message": "skipped: exhausted at event 10 of 20"},
            {"name": "trace:gcc-12/atomic_bump_arena/threads:1", "run_type": "iteration", "error_occurred": True,
             "error_message": "exhausted at event 11 of 20"},
            {"name": "trace:gcc-12/coalescing_pool/threads:1", "run_type": "iteration", "error_occurred": True,
             "error_message": "exhausted at event 11 of 20, and more"}]}
        ok, skipped, exhausted, failed = results.rows_from_driver_json(doc, 1, "u")
        self.assertEqual((ok.workload, ok.ns_per_op, ok.items_per_second, ok.bytes_requested_at_peak,
                          ok.rss_at_100pct), ("trace:gcc-12", 50.0, 2e7, 1000.0, 4096.0))
        self.assertEqual((skipped.status, skipped.reason), ("skipped", "exhausted at event 10 of 20"))
        self.assertEqual((exhausted.status, exhausted.reason), ("skipped", "exhausted at event 11 of 20"))
        self.assertEqual(failed.status, "failed")

    def test_results_written_with_trace_names_read_back_and_old_files_still_read(self):
        tmp = Path(tempfile.mkdtemp(prefix="alloclab-traces-results-"))
        try:
            rows = [ResultRow("trace:gcc-12", "malloc", 2, ns_per_op=1.0, items_per_second=1e9, rss_at_10pct=5.0),
                    ResultRow("empirical:shape", "malloc", 1, ns_per_op=1.0, items_per_second=1e9)]
            results.write_csv(tmp / "results.csv", rows)
            self.assertEqual(results.read_csv(tmp / "results.csv"), rows)
            with open(tmp / "results.csv", "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(results.COLUMNS)
                writer.writerow(["trace:a:b" if c == "workload" else rows[0].csv_fields()[c] for c in results.COLUMNS])
            with self.assertRaises(results.ResultsError):
                results.read_csv(tmp / "results.csv")
            self.assertTrue(results.read_run(SAMPLE).rows)  # a folder from before the trace columns
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@unittest.skipUnless(os.access(BINARY, os.X_OK), f"driver not built: {BINARY}")
class RealDriverTest(unittest.TestCase):
    """The sweep and the real driver on a trace written here (skipped until the driver replays)."""

    def test_a_trace_sweep_with_the_real_driver(self):
        from alloclab.registry import ask_driver
        if "trace" not in ask_driver(BINARY).parametric_names():
            self.skipTest("this driver does not replay traces yet")
        tmp = Path(tempfile.mkdtemp(prefix="alloclab-traces-real-"))
        try:
            TraceFile(threads=2, per_thread=50).write(tmp / "fixture.trace")
            done = subprocess.run([sys.executable, "-m", "alloclab.sweep", "run", "--binary", BINARY,
                                   "--out", str(tmp / "run"), "--workloads", f"trace:{tmp / 'fixture.trace'}",
                                   "--allocators", "malloc,null,coalescing_pool,mutex_arena", "--repetitions", "1",
                                   "--min-time", "0.002", "--tiny"], capture_output=True, text=True, env=ENV,
                                  timeout=300)
            self.assertEqual(done.returncode, 0, done.stderr)
            run = results.read_run(tmp / "run")
            self.assertEqual({r.threads for r in run.rows}, {2})
            self.assertEqual({r.workload for r in run.rows}, {"trace:fixture"})
            ok = {r.allocator for r in run.rows if r.ok}
            self.assertTrue({"malloc", "null"} <= ok, [(r.allocator, r.reason) for r in run.rows])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
