"""The driver, `alloclab`: every option with every class of bad input (numbers that are not
numbers, empty and duplicate selections, unknown options and CLI errors, Google Benchmark's
flags, output paths, files that lie) is refused with one line naming the value and the valid
choices, exit 2, before anything runs, and nothing is written; and the positive side of each
fix (a trace path with a comma runs, a filter that matches runs only its cases, results are
replaced atomically, a killed run leaves no temporary file)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import unittest
from pathlib import Path

from surface_support import BINARY, ROOT, SurfaceTest

DRIVER = str(BINARY)
DATA = ROOT / "tests" / "data"
TRACE = DATA / "traces" / "rocksdb_small.trace"
# A case that runs in milliseconds.
QUICK = ["--workloads", "small", "--allocators", "mutex_arena", "--tiny", "--no-latency"]
TIME = ["--min-time", "0.001"]
VALUE_OPTIONS = ["--allocators", "--workloads", "--touch", "--threads", "--repetitions", "--min-time",
                 "--iterations", "--seed", "--out", "--malloc-label", "--expect-malloc"]
FLAGS = ["--list", "--json", "--tiny", "--no-latency"]


def default_signals() -> None:
    """In the child: the signals at their default, as a shell's background job would not have
    them (it ignores SIGINT), so that the driver installs its own handlers."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


class DriverSurface(SurfaceTest):
    def setUp(self) -> None:
        super().setUp()
        self.assertTrue(BINARY.is_file(), f"no driver at {BINARY} (build it, or set ALLOCLAB_BINARY)")
        self.out = self.tmp / "out.json"

    def bad(self, args: list[str], *names: str, base: list[str] | None = None, out: bool = True) -> str:
        """Refused: the quick case with args (and --out OUT unless out is False)."""
        argv = [DRIVER, *(QUICK if base is None else base), *args]
        if out and "--out" not in args:
            argv += ["--out", str(self.out)]
        return self.refused(argv, *names, watch=[DATA])

    def trace_copy(self, name: str = "rocksdb_small.trace", folder: Path | None = None) -> Path:
        folder = folder or self.tmp
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        shutil.copyfile(TRACE, target)
        return target

    def run_ok(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = self.run_command([DRIVER, *args], timeout=timeout)
        self.assertEqual(done.returncode, 0, f"{args}: {done.stderr[-2000:]}")
        return done

    def case_names(self, path: Path) -> list[str]:
        with open(path) as f:
            return [b["name"] for b in json.load(f)["benchmarks"]]

    def temporaries(self) -> list[Path]:
        return sorted(p for p in self.tmp.rglob("*") if p.name.endswith(".tmp") or ".tmp." in p.name)

    # --- numbers that are not numbers ----------------------------------------------------------

    def test_iterations(self) -> None:
        for value in ["0", "-1", "1_0", "0x10", " 5", "5 ", "+5", "5.0", "1e3", "nan", "inf", "",
                      "99999999999999999999", "1000000001", "18446744073709551616"]:
            with self.subTest(value=value):
                self.bad(["--iterations", value], "--iterations", value, "1000000000")

    def test_iterations_in_range_runs(self) -> None:
        self.run_ok([*QUICK, "--iterations", "3", "--out", str(self.out)])
        self.assertEqual(self.case_names(self.out), ["small/mutex_arena/threads:1"])

    def test_repetitions(self) -> None:
        for value in ["0", "-1", "1_0", "2.0", "10001", "99999999999999999999", "nan", "", " 2", "0x2"]:
            with self.subTest(value=value):
                self.bad(["--repetitions", value, *TIME], "--repetitions", value, "10000")

    def test_min_time(self) -> None:
        for value in ["nan", "inf", "-inf", "infinity", "-1", "0", "0.0", "86401", "1e999", "1_0", "0x1p-3", " 1",
                      "1 ", "+1", ".", "", "abc", "1,5"]:
            with self.subTest(value=value):
                self.bad(["--min-time", value], "--min-time", value, "86400")

    def test_seed(self) -> None:
        for value in ["-5", "18446744073709551616", "99999999999999999999999", "1_0", " 1", "", "0x10", "1e3",
                      "nan", "+1"]:
            with self.subTest(value=value):
                self.bad(["--seed", value, *TIME], "--seed", value, "2^64 - 1")

    def test_threads(self) -> None:
        for value in ["0", "0..4", "4..1", "1,1", "2,1,2", "1..1,2", "1025", "99999999999", "1,", ",1", "", "x",
                      "1...4", "4..4..8", "-1", "nan", "1_0", "0x4", " 1", "1, 2", "1..", "..4"]:
            with self.subTest(value=value):
                self.bad(["--threads", value, *TIME], "--threads", value, "1024")

    def test_threads_of_the_listing(self) -> None:
        for value in ["0", "1,1", "4..1", "99999999999"]:
            with self.subTest(value=value):
                self.refused([DRIVER, "--list", "--json", "--threads", value], "--threads", value, "valid")

    def test_touch(self) -> None:
        for value in ["", "x", "Pages", " pages", "pages,all", "1"]:
            with self.subTest(value=value):
                self.bad(["--touch", value, *TIME], "--touch", value, "none, pages, all")

    def test_iterations_and_min_time_exclude_each_other(self) -> None:
        self.bad(["--iterations", "5", "--min-time", "1"], "--iterations", "--min-time")

    # --- selections ------------------------------------------------------------------------------

    def test_allocators(self) -> None:
        cases = [("", "empty"), (",", "empty item"), ("mutex_arena,", "empty item"), (",mutex_arena", "empty item"),
                 ("mutex_arena,,malloc", "empty item"), ("mutex_arena,mutex_arena", "twice"),
                 ("malloc,mutex_arena,malloc", "twice"), ("nope", "nope"), ("all,malloc", "all"),
                 ("MALLOC", "MALLOC"), (" malloc", " malloc")]
        for value, name in cases:
            with self.subTest(value=value):
                self.bad(["--allocators", value, *TIME], "--allocators", name, "mutex_arena",
                         base=["--workloads", "small", "--tiny"])

    def test_workloads(self) -> None:
        cases = [("", "empty"), (",", "empty item"), ("small,", "empty item"), ("small,,mixed", "empty item"),
                 ("small,small", "twice"), ("all,small", "all includes it"), ("all,all", "all named twice"), ("nope", "nope"),
                 ("trace:", "trace:FILE"), ("empirical:", "empirical:FILE"), ("zzz:x", "zzz:x")]
        for value, name in cases:
            with self.subTest(value=value):
                self.bad(["--workloads", value, *TIME], "--workloads", name,
                         base=["--allocators", "mutex_arena", "--tiny"])

    def test_the_same_trace_twice(self) -> None:
        trace = self.trace_copy()
        (self.tmp / "link.trace").symlink_to(trace)
        for second in [str(trace), "rocksdb_small.trace", "./rocksdb_small.trace", "link.trace"]:
            with self.subTest(second=second):
                self.bad(["--workloads", f"trace:{trace},trace:{second}", *TIME], "twice", "each file once",
                         base=["--allocators", "malloc"])

    def test_the_same_table_twice(self) -> None:
        table = self.tmp / "t.csv"
        table.write_text("size,rate,mean_live\n16,0.5,2\n")
        self.bad(["--workloads", f"empirical:{table},empirical:t.csv", *TIME], "twice", base=["--allocators", "malloc"])

    def test_two_traces_with_one_stem(self) -> None:
        first = self.trace_copy(folder=self.tmp / "a")
        second = self.trace_copy(folder=self.tmp / "b")
        self.bad(["--workloads", f"trace:{first},trace:{second}", *TIME], "same stem", base=["--allocators", "malloc"])

    def test_a_trace_path_with_a_comma_runs(self) -> None:
        trace = self.trace_copy(folder=self.tmp / "a,b")
        self.run_ok(["--workloads", f"trace:{trace},small", "--allocators", "mutex_arena", "--tiny", "--no-latency",
                     *TIME, "--out", str(self.out)])
        names = self.case_names(self.out)
        self.assertIn("small/mutex_arena/threads:1", names)
        self.assertTrue(any(n.startswith("trace:rocksdb_small/mutex_arena/") for n in names), names)
        with open(self.out) as f:
            self.assertEqual(json.loads(json.load(f)["context"]["workload_files"]),
                             {"trace:rocksdb_small": str(trace)})

    def test_a_relative_trace_path_with_a_comma_runs_at_the_end(self) -> None:
        self.trace_copy(folder=self.tmp / "x,y")
        self.run_ok(["--workloads", "small,trace:x,y/rocksdb_small.trace", "--allocators", "mutex_arena",
                     "--tiny", "--no-latency", *TIME, "--out", str(self.out)])
        self.assertEqual(len(self.case_names(self.out)), 2)

    def test_a_missing_path_with_a_comma_names_its_first_part(self) -> None:
        self.bad(["--workloads", "trace:no,such/file.trace", *TIME], "trace:no", "No such file",
                 base=["--allocators", "malloc"])

    # --- unknown options and command-line errors --------------------------------------------------

    def test_unknown_options(self) -> None:
        for args, name in [(["--bogus"], "--bogus"), (["-x"], "-x"), (["--Tiny"], "--Tiny"), (["foo"], "foo"),
                           (["--filter", "zzz"], "--benchmark_filter"), (["--min_time", "1"], "--min-time"),
                           (["--"], "--"), (["-"], "-")]:
            with self.subTest(args=args):
                line = self.bad(args, name)
                if name.startswith("--benchmark") or name == "--min-time":
                    self.assertIn("did you mean", line)

    def test_a_value_with_a_newline_stays_one_line(self) -> None:
        (self.tmp / "a\nb").mkdir()
        for args in (["--allocators", "a\nb"], ["--threads", "1\n2"], ["--workloads", "trace:a\nb/x.trace"],
                     ["--out", "a\nb"], ["--bogus\nx"]):
            with self.subTest(args=args):
                self.bad([*args, *TIME], "valid")

    def test_a_value_missing(self) -> None:
        for option in VALUE_OPTIONS:
            with self.subTest(option=option, at="end"):
                self.refused([DRIVER, "--tiny", option], option, "needs a value", "valid")
            with self.subTest(option=option, at="before another option"):
                self.refused([DRIVER, option, "--tiny"], option, "needs a value", "valid")

    def test_an_option_given_twice(self) -> None:
        values = {"--allocators": "mutex_arena", "--workloads": "small", "--touch": "all", "--threads": "1",
                  "--repetitions": "1", "--min-time": "0.001", "--iterations": "2", "--seed": "1",
                  "--out": str(self.out), "--malloc-label": "x", "--expect-malloc": "libc"}
        for option in VALUE_OPTIONS:
            with self.subTest(option=option):
                self.refused([DRIVER, option, values[option], option, values[option]], option, "twice", "valid")
        for flag in FLAGS:
            with self.subTest(flag=flag):
                self.refused([DRIVER, flag, flag], flag, "twice", "valid")

    def test_a_flag_given_a_value(self) -> None:
        for flag in FLAGS:
            with self.subTest(flag=flag):
                self.refused([DRIVER, f"{flag}=1"], flag, "takes no value", "valid")

    def test_json_without_list(self) -> None:
        self.bad(["--json"], "--json", "--list")

    def test_list_with_options_that_do_not_apply(self) -> None:
        for args, name in [(["--out", "x.json"], "--out"), (["--allocators", "malloc"], "--allocators"),
                           (["--tiny"], "--tiny"), (["--threads", "2"], "--threads"),
                           (["--benchmark_filter=x"], "--benchmark_filter")]:
            with self.subTest(args=args):
                self.refused([DRIVER, "--list", *args], name, "--list", "valid")

    def test_help_and_listings_run(self) -> None:
        done = self.run_ok(["--help"])
        for text in ["--iterations", "1000000000", "A FILE may hold commas", "--benchmark_filter",
                     "Exit status"]:
            self.assertIn(text, done.stdout)
        listing = json.loads(self.run_ok(["--list", "--json", "--threads", "1..4"]).stdout)
        self.assertEqual(listing["threads"], [1, 2, 4])
        self.assertIn("allocators (name", self.run_ok(["--list"]).stdout)

    def test_malloc_label(self) -> None:
        for value, name in [("", "--malloc-label"), ("a b", "a b"), ("x/y", "x/y"), ("x" * 65, "x" * 65),
                            ("tbbmalloc", "another allocator")]:
            with self.subTest(value=value):
                self.bad(["--malloc-label", value, *TIME], name, base=["--workloads", "small", "--allocators", "malloc"])
        self.bad(["--malloc-label", "jemalloc", *TIME], "without malloc")

    def test_reference(self) -> None:
        for value in ["", "malloc", "nope", "all", "tbbmalloc,null", "TBBMALLOC"]:
            with self.subTest(value=value):
                line = self.bad(["--reference", value, *TIME], "--reference", f"'{value}'")
                self.assertNotIn(" malloc,", line.split("valid:")[1] + ",")  # malloc is not offered
        self.bad(["--reference", "tbbmalloc", "--benchmark_context=paired_reference=null", *TIME], "paired_reference")
        # The context key says a reference case ran: set by hand, no case would back it.
        self.bad(["--benchmark_context=a=b,paired_reference=tbbmalloc", *TIME], "paired_reference", "--reference")
        # Added after the user's allocators, without a latency pass; the context names it.
        self.run_ok([*QUICK[:-1], "--reference", "tbbmalloc", *TIME, "--out", str(self.out)])
        doc = json.loads(self.out.read_text())
        self.assertEqual(doc["context"]["paired_reference"], "tbbmalloc")
        self.assertEqual([(b["name"], "latency_p50_ns" in b) for b in doc["benchmarks"]],
                         [("small/mutex_arena/threads:1", True), ("small/tbbmalloc/threads:1", False)])
        # Among the user's own allocators, it is one of theirs: nothing added, its latency sampled.
        self.run_ok(["--workloads", "small", "--allocators", "tbbmalloc", "--tiny", "--reference", "tbbmalloc", *TIME,
                     "--out", str(self.out)])
        doc = json.loads(self.out.read_text())
        self.assertEqual([(b["name"], "latency_p50_ns" in b) for b in doc["benchmarks"]],
                         [("small/tbbmalloc/threads:1", True)])

    def test_expect_malloc(self) -> None:
        for value in ["", "a/b"]:
            with self.subTest(value=value):
                self.bad(["--expect-malloc", value, *TIME], "--expect-malloc")

    # --- Google Benchmark's flags ------------------------------------------------------------------

    def test_benchmark_flags(self) -> None:
        cases = [
            ("--benchmark_min_time=nan", "nan"), ("--benchmark_min_time=inf", "inf"), ("--benchmark_min_time=0", "0"),
            ("--benchmark_min_time=-1", "-1"), ("--benchmark_min_time=1_0", "1_0"), ("--benchmark_min_time=", "''"),
            ("--benchmark_min_time", "needs a value"), ("--benchmark_min_warmup_time=nan", "nan"),
            ("--benchmark_min_warmup_time=-1", "-1"), ("--benchmark_repetitions=0", "'0'"),
            ("--benchmark_repetitions=-1", "-1"), ("--benchmark_repetitions=1_0", "1_0"),
            ("--benchmark_repetitions=10001", "10001"), ("--benchmark_repetitions=99999999999999999999", "9999"),
            ("--benchmark_enable_random_interleaving=yes", "yes"), ("--benchmark_report_aggregates_only=1", "'1'"),
            ("--benchmark_display_aggregates_only=", "''"), ("--benchmark_list_tests=maybe", "maybe"),
            ("--benchmark_time_unit=zzz", "zzz"), ("--benchmark_format=zzz", "--benchmark_format"),
            ("--benchmark_format=json", "--benchmark_format"), ("--benchmark_color=zzz", "--benchmark_color"),
            ("--benchmark_counters_tabular=true", "--benchmark_counters_tabular"),
            ("--benchmark_out=x.json", "--out FILE"), ("--benchmark_out_format=csv", "--benchmark_out_format"),
            ("--benchmark_perf_counters=CYCLES", "--benchmark_perf_counters"),
            ("--benchmark_context=a", "'a'"), ("--benchmark_context==b", "'=b'"),
            ("--benchmark_context=a=b=c", "a=b=c"), ("--benchmark_context=a=1,a=2", "twice"),
            ("--benchmark_context=seed=1", "seed"), ("--benchmark_context=", "''"),
            ("--benchmark_bogus=1", "--benchmark_bogus"), ("--benchmark_filter", "needs a value"),
            ("--benchmark_filter=", "''"),
        ]
        for flag, name in cases:
            with self.subTest(flag=flag):
                self.bad([flag, *TIME], name)

    def test_benchmark_flag_given_twice(self) -> None:
        self.bad(["--benchmark_filter=small", "--benchmark_filter=small", *TIME], "--benchmark_filter", "twice")

    def test_benchmark_flags_that_exclude_ours(self) -> None:
        self.bad(["--benchmark_min_time=0.01", *TIME], "--benchmark_min_time", "--min-time")
        self.bad(["--benchmark_min_time=0.01", "--iterations", "3"], "--benchmark_min_time", "--iterations")
        self.bad(["--benchmark_repetitions=2", "--repetitions", "2", *TIME], "--benchmark_repetitions")
        self.bad(["--benchmark_list_tests=true", *TIME], "--benchmark_list_tests", "--out")

    def test_a_filter_that_matches_nothing(self) -> None:
        self.bad(["--benchmark_filter=zzz", *TIME], "'zzz'", "matches none", "small/mutex_arena")
        self.bad(["--benchmark_filter=-small", *TIME], "'-small'", "matches none")

    def test_a_filter_that_does_not_compile(self) -> None:
        for regex in ["(", "[a-", "*"]:
            with self.subTest(regex=regex):
                self.bad([f"--benchmark_filter={regex}", *TIME], regex, "--benchmark_filter")

    def test_a_filter_that_matches_runs_only_its_cases(self) -> None:
        self.run_ok(["--workloads", "small,mixed", "--allocators", "mutex_arena", "--tiny", "--no-latency", *TIME,
                     "--benchmark_filter=mixed", "--benchmark_context=run=surface", "--out", str(self.out)])
        self.assertEqual(self.case_names(self.out), ["mixed/mutex_arena/threads:1"])
        with open(self.out) as f:
            self.assertEqual(json.load(f)["context"]["run"], "surface")

    # --- output paths ----------------------------------------------------------------------------

    def test_output_paths(self) -> None:
        (self.tmp / "folder").mkdir()
        (self.tmp / "file").write_text("x")
        os.mkfifo(self.tmp / "fifo")  # not a device: a run of a faulty build must not replace /dev/null
        cases = [("", "an empty path"), ("-", "standard output"), (str(self.tmp / "folder"), "is a folder"), (str(self.tmp), "is a folder"),
                 (str(self.tmp / "missing" / "x.json"), "does not exist"),
                 (str(self.tmp / "file" / "x.json"), "Not a directory"), (str(self.tmp / "new") + "/", "new/"),
                 (str(self.tmp / "fifo"), "not a regular file"), ("/proc/alloclab-surface.json", "/proc/alloclab-surface.json")]
        for path, name in cases:
            with self.subTest(path=path):
                self.bad([*TIME, "--out", path], "--out", name)

    def test_an_unwritable_folder(self) -> None:
        if os.geteuid() == 0:
            self.skipTest("root writes into any folder")
        folder = self.tmp / "locked"
        folder.mkdir()
        folder.chmod(0o500)
        self.addCleanup(folder.chmod, 0o700)
        self.bad([*TIME, "--out", str(folder / "x.json")], "not writable")

    def test_the_output_is_not_an_input(self) -> None:
        trace = self.trace_copy()
        self.bad(["--out", str(trace), *TIME], "is the input file", base=["--workloads", f"trace:{trace}",
                                                                         "--allocators", "malloc"])

    def test_results_replace_a_file_atomically_and_leave_no_temporary(self) -> None:
        self.out.write_text("old")
        self.run_ok([*QUICK, *TIME, "--out", str(self.out)])
        self.assertEqual(self.case_names(self.out), ["small/mutex_arena/threads:1"])
        self.assertEqual(self.temporaries(), [])

    def test_a_killed_run_leaves_no_temporary(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with self.subTest(signal=sig.name):
                process = subprocess.Popen([DRIVER, "--workloads", "small,mixed", "--allocators", "malloc",
                                            "--no-latency", "--min-time", "5", "--out", str(self.out)],
                                           cwd=self.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           start_new_session=True, preexec_fn=default_signals)
                deadline = time.monotonic() + 20
                while not self.temporaries() and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.assertTrue(self.temporaries(), "the run made no temporary file")
                process.send_signal(sig)
                self.assertEqual(process.wait(timeout=20), -sig)
                self.assertEqual(self.temporaries(), [])
                self.assertFalse(self.out.exists())

    # --- files that lie --------------------------------------------------------------------------

    def test_bad_trace_files(self) -> None:
        (self.tmp / "folder.trace").mkdir()
        (self.tmp / "empty.trace").write_bytes(b"")
        (self.tmp / "text.trace").write_text("hello\n")
        data = TRACE.read_bytes()
        (self.tmp / "head.trace").write_bytes(data[:100])
        (self.tmp / "eight.trace").write_bytes(data[:8])
        (self.tmp / "bad name.trace").write_bytes(data)
        cases = [("missing.trace", "No such file"), ("folder.trace", "folder"), ("empty.trace", "empty file"),
                 ("text.trace", "not an alloclab trace"), ("head.trace", "head.trace"), ("eight.trace", "header"),
                 ("/dev/zero", "not a regular file"), ("bad name.trace", "stem")]
        for name, problem in cases:
            with self.subTest(file=name):
                self.bad(["--workloads", f"trace:{name}", *TIME], name, problem, base=["--allocators", "malloc"])

    def test_an_unreadable_trace(self) -> None:
        if os.geteuid() == 0:
            self.skipTest("root reads any file")
        trace = self.trace_copy()
        trace.chmod(0)
        self.bad(["--workloads", f"trace:{trace}", *TIME], "rocksdb_small.trace", "cannot be read",
                 base=["--allocators", "malloc"])

    def test_a_truncated_trace_replays_its_prefix_and_says_so(self) -> None:
        data = TRACE.read_bytes()
        (self.tmp / "half.trace").write_bytes(data[:len(data) // 2])
        done = self.run_ok(["--workloads", "trace:half.trace", "--allocators", "mutex_arena", "--no-latency", *TIME,
                            "--out", str(self.out)])
        self.assertIn("half.trace: truncated (no end record)", done.stderr)
        self.assertEqual(len(self.case_names(self.out)), 1)

    def test_bad_size_tables(self) -> None:
        header = "size,rate,mean_live\n"
        tables = {"empty.csv": (b"", "empty file"), "rows.csv": (header.encode(), "no rows"),
                  "nan.csv": ((header + "16,nan,1\n").encode(), "rate 'nan'"),
                  "inf.csv": ((header + "16,inf,1\n").encode(), "rate 'inf'"),
                  "negative.csv": ((header + "16,-0.5,1\n").encode(), "rate '-0.5'"),
                  "live.csv": ((header + "16,0.5,-1\n").encode(), "mean_live '-1'"),
                  "binary.csv": ((header + "16,0.5,1\xff\n").encode("latin-1"), "not UTF-8"),
                  "header.csv": (b"size,rate\n16,0.5\n", "header"),
                  "twice.csv": ((header + "16,0.5,1\n16,0.5,1\n").encode(), "twice")}
        for name, (content, _) in tables.items():
            (self.tmp / name).write_bytes(content)
        (self.tmp / "folder.csv").mkdir()
        cases = [(name, problem) for name, (_, problem) in tables.items()]
        cases += [("missing.csv", "missing.csv"), ("folder.csv", "folder"), (str(TRACE), "not UTF-8")]
        for name, problem in cases:
            with self.subTest(file=name):
                self.bad(["--workloads", f"empirical:{name}", *TIME], name, problem, base=["--allocators", "malloc"])

    def test_a_size_table_runs(self) -> None:
        (self.tmp / "t.csv").write_text("size,rate,mean_live\n16,0.5,2\n64,0.25,1\n")
        self.run_ok(["--workloads", "empirical:t.csv", "--allocators", "malloc", "--tiny", "--no-latency", *TIME,
                     "--out", str(self.out)])
        self.assertEqual(self.case_names(self.out), ["empirical:t/malloc/threads:1"])


if __name__ == "__main__":
    unittest.main()
