"""`programs run|merge|list` (and `./run_all.sh programs merge`) as a hostile user drives them:
every numeric option with numbers that are not numbers, empty and duplicate selections, every
kind of bad --preload, options --record cannot take, output paths that cannot be a new run,
--resume with a selection that conflicts with its plan, merge inputs that cannot be merged,
and kill -9 of a run (and of its run_all.sh parent) leaving no program, server or load
generator running. Each refusal: exit 2, one line naming the value and the valid choices,
nothing created or changed.

Run: PYTHONPATH=harness:.:tests/surface python3 -m unittest -v tests/surface/test_programs.py
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from surface_support import BINARY, PYTHON, ROOT, TOOLS_ENV, SurfaceTest, snapshot

PROBE = BINARY.parent / "liballoclab_probe.so"
JEMALLOC = Path("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
MIMALLOC = Path("/usr/lib/x86_64-linux-gnu/libmimalloc.so.2")
RUN_ALL = str(ROOT / "run_all.sh")
TINY = ["--programs", "lua", "--allocators", "glibc", "--scale", "0.05", "--repetitions", "1"]
NUMBERS = ("nan", "inf", "-inf", "-1", "1_0", "1e999", "0x10", " 1", "", "99999999999999999999999")


def run_tree(folder: Path) -> list[tuple[int, str]]:
    """Live processes of a run: their command line names the folder, or their current folder is
    in it (redis-server renames itself 'redis-server 127.0.0.1:PORT' but runs in the run's
    work folder)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if state != "Z" and (str(folder) in cmd or cwd.startswith(str(folder))):
            found.append((int(entry), cmd.strip()))
    return found


def descendants(root: int) -> dict[int, str]:
    """root's live descendants: pid -> command line (redis-benchmark runs in the runner's folder)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if stat[0] != "Z":
            parents[int(entry)], commands[int(entry)] = int(stat[1]), cmd.strip()
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        parent = todo.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = commands[pid]
                todo.append(pid)
    return found


def alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                out.append(pid)
        except OSError:
            continue
    return out


def listening_addresses(pid: int) -> list[str]:
    """The local addresses (hex, as /proc/net/tcp shows them) of the TCP sockets pid listens on."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                out.append(fields[1].split(":")[0])
    return out


@unittest.skipUnless(os.access(BINARY, os.X_OK) and PROBE.exists(), f"driver or probe not built: {BINARY}")
class ProgramsSurface(SurfaceTest):
    @classmethod
    def setUpClass(cls) -> None:
        # Two shards of one run (made from the class's folder with relative paths: the caller's).
        cls.base = Path(tempfile.mkdtemp(prefix="alloclab-surface-programs-"))
        common = [*TINY[:4], "--scale", "0.05", "--repetitions", "2", "--binary", str(BINARY), "--probe", str(PROBE)]
        for k in (1, 2):
            done = subprocess.run([PYTHON, "-m", "alloclab.programs", "run", *common, "--shard", f"{k}/2",
                                   "--out", f"shard{k}"], cwd=cls.base, env={**os.environ, **TOOLS_ENV},
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
        cls.shards = [cls.base / "shard1", cls.base / "shard2"]

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.base, ignore_errors=True)

    def run_argv(self, *args: str, out: str | None = "new") -> list[str]:
        tail = ["--out", str(self.tmp / out)] if out else []
        return [*self.tool("alloclab.programs"), "run", "--binary", str(BINARY), "--probe", str(PROBE), *args, *tail]

    def refused_here(self, argv: list[str], *names: str) -> None:
        """refused(), in this process (alloclab.programs' main, its exit status, its stderr): the
        large tables of bad values, each checked as a process would be, without a process each.
        A sample of each table runs as a process too (refused)."""
        from alloclab.programs.__main__ import main
        assert argv[:3] == self.tool("alloclab.programs")
        before = snapshot([self.tmp])
        err, out = io.StringIO(), io.StringIO()
        handler = signal.getsignal(signal.SIGTERM)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                try:
                    code = main(argv[3:])
                except SystemExit as e:
                    code = e.code
        finally:
            signal.signal(signal.SIGTERM, handler)
        shown = f"\n  argv: {argv[3:]}\n  stdout: {out.getvalue()[-2000:]!r}\n  stderr: {err.getvalue()[-2000:]!r}"
        self.assertEqual(code, 2, shown)
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, shown)
        for name in (*names, "valid"):
            self.assertIn(name, lines[0], shown)
        self.assertEqual(out.getvalue().strip(), "", shown)
        self.assertEqual(snapshot([self.tmp]), before, shown)

    def copy_shard(self, k: int, name: str) -> Path:
        target = self.tmp / name
        shutil.copytree(self.shards[k - 1], target, ignore=shutil.ignore_patterns(".lock"))
        return target

    # ------------------------------------------------------------------ numbers

    def test_numbers_that_are_not_numbers(self) -> None:
        bad = {"--scale": [*NUMBERS, "0", "50.5"], "--repetitions": [*NUMBERS, "0", "1001", "1.5"],
               "--timeout": [*NUMBERS, "0", "86401"], "--sample-ms": [*NUMBERS, "0", "10001", "2.5"],
               "--seed": [*NUMBERS, "2147483648", "4.2"]}
        for option, values in bad.items():
            for value in values:
                with self.subTest(option=option, value=value):
                    args = [a for a in TINY if a not in ("--scale", "0.05")] if option == "--scale" else TINY
                    args = [a for a in args if a not in ("--repetitions", "1")] if option == "--repetitions" else args
                    check = self.refused if value == {"--scale": "nan", "--timeout": "-inf"}.get(option, "1_0") \
                        else self.refused_here
                    check(self.run_argv(*args, option, value), option, f"'{value}'")

    def test_threads_and_shards_that_are_not_counts(self) -> None:
        for value in ("0", "-1", "1_0", "", ",", "1,,2", "1,1", "2..1", "1..0", "nan", "2000", "1.5", " 2", "4..4..8"):
            with self.subTest(threads=value):
                check = self.refused if value in ("1_0", "1,1") else self.refused_here
                check(self.run_argv(*TINY, "--threads", value), "--threads", f"'{value}'")
        for value in ("0/1", "2/1", "1_0/20", " 1/2", "1/2/3", "1", "", "a/b", "-1/2", "1/0"):
            with self.subTest(shard=value):
                check = self.refused if value in ("1_0/20", "-1/2") else self.refused_here
                check(self.run_argv(*TINY, "--shard", value), "--shard", f"'{value}'")
        # A shard that would select nothing (lua at 1 repetition is one pass).
        self.refused(self.run_argv(*TINY, "--shard", "2/2"), "--shard 2/2")

    def test_an_option_given_twice(self) -> None:
        for option, value in (("--scale", "0.05"), ("--repetitions", "1"), ("--seed", "1"), ("--timeout", "9"),
                              ("--sample-ms", "5"), ("--programs", "lua"), ("--allocators", "glibc"),
                              ("--threads", "1"), ("--profile", "quick"), ("--out", str(self.tmp / "o")),
                              ("--shard", "1/1")):
            with self.subTest(option=option):
                check = self.refused if option == "--scale" else self.refused_here
                check(self.run_argv(*TINY, option, value, option, value, out=None), option, "twice")

    # ------------------------------------------------------------------ selections

    def test_empty_and_duplicate_selections(self) -> None:
        for option, values in (("--programs", ["", ",", "lua,,lua", "lua,lua", "lua,", "nosuch", "all,lua"]),
                               ("--allocators", ["", ",", "glibc,,glibc", "glibc,glibc", "glibc,", "nosuch"])):
            for value in values:
                with self.subTest(option=option, value=value):
                    args = [a for a in TINY if a not in (option, "lua" if option == "--programs" else "glibc")]
                    named = "'all'" if value.startswith("all,") else f"'{value}'"
                    check = self.refused if value in ("", "lua,lua", "glibc,glibc") else self.refused_here
                    check(self.run_argv(*args, option, value), named)

    def test_bad_preloads(self) -> None:
        (self.tmp / "folder.so").mkdir()
        text = self.tmp / "text.so"
        text.write_text("not a library\n")
        libz = next((p for p in ("/usr/lib/x86_64-linux-gnu/libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1")
                     if os.path.exists(p)), None)
        cases = [("mine=/no/such/lib.so", "/no/such/lib.so"), (f"mine={self.tmp / 'folder.so'}", "folder.so"),
                 (f"mine={text}", "text.so"), ("mine=/bin/true", "/bin/true"),
                 (f"jemalloc={JEMALLOC}", "jemalloc"), (f"glibc={JEMALLOC}", "glibc"), (f"={JEMALLOC}", f"'={JEMALLOC}'"),
                 ("justapath.so", "justapath.so"), ("mine=", "mine="), (f"all={JEMALLOC}", "all"),
                 (f"bad/label={JEMALLOC}", "bad/label"), ("mine=/tmp/a b.so", "a b.so")]
        if libz:
            cases.append((f"nomalloc={libz}", "nomalloc"))  # a shared library with no malloc: no effect
        for i, (value, named) in enumerate(cases):
            with self.subTest(preload=value):
                check = self.refused if i % 4 == 0 else self.refused_here
                check(self.run_argv(*TINY, "--preload", value), named)
        if MIMALLOC.exists():
            # The same label twice; the same library under two labels (one allocator measured twice).
            self.refused_here(self.run_argv(*TINY, "--preload", f"a={JEMALLOC}", "--preload", f"a={MIMALLOC}"), "'a'")
            self.refused_here(self.run_argv(*TINY, "--preload", f"a={JEMALLOC}", "--preload", f"b={JEMALLOC}"),
                         "'a'", "'b'")
        line = self.refused(self.run_argv(*TINY[:2], "--allocators", "jemalloc", "--preload", f"mine={JEMALLOC}"),
                            "'jemalloc'", "'mine'")
        self.assertIn("same library", line)

    def test_relative_preload_is_the_callers(self) -> None:
        # A path that exists from the repository but not from the caller's folder is missing.
        rel = os.path.relpath(PROBE, ROOT)
        self.refused(self.run_argv(*TINY, "--preload", f"mine={rel}"), rel, cwd=self.tmp)

    def test_options_record_cannot_take(self) -> None:
        for extra in (["--resume", str(self.shards[0])], ["--shard", "1/2"], ["--preload", f"mine={JEMALLOC}"],
                      ["--allocators", "glibc"], ["--allocators", "all"]):
            with self.subTest(extra=extra):
                self.refused_here(self.run_argv("--record", "--programs", "lua", *extra), extra[0])
        for extra in (["--recorder", str(PROBE)], ["--compare-heaptrack"]):
            with self.subTest(extra=extra):
                self.refused(self.run_argv(*TINY, *extra), extra[0])
        self.refused(self.run_argv("--record", "--programs", "lua", "--recorder", str(self.tmp / "no.so")), "no.so")

    # ------------------------------------------------------------------ output paths

    def test_output_paths(self) -> None:
        plain = self.tmp / "plain"
        plain.mkdir()
        (plain / "notes.txt").write_text("mine\n")
        (self.tmp / "empty").mkdir()
        (self.tmp / "file").write_text("x\n")
        for out, named in (("", "''"), (str(plain), "plain"), (str(self.tmp / "empty"), "empty"),
                           (str(self.tmp / "file"), "file"), (str(self.tmp / "no" / "such" / "run"), "no/such"),
                           (str(self.shards[0]), "shard1")):
            with self.subTest(out=out):
                check = self.refused if out in ("", str(plain)) else self.refused_here
                check([*self.run_argv(*TINY, out=None), "--out", out], named)
        for results, named in (("", "''"), (str(self.tmp / "file"), "file"), (str(self.tmp / "missing"), "missing")):
            with self.subTest(results=results):
                self.refused_here([*self.run_argv(*TINY, out=None), "--results", results], "--results", named)
        self.refused([*self.run_argv(*TINY), "--results", str(self.tmp)], "--out", "--results")
        for value in ("", str(self.tmp), str(self.tmp / "no" / "f.txt")):
            with self.subTest(folder_file=value):
                self.refused_here(self.run_argv(*TINY, "--folder-file", value), "--folder-file")
        for option in ("--binary", "--probe"):
            for value in ("", str(self.tmp / "file"), str(self.tmp / "nope")):
                with self.subTest(option=option, value=value):
                    self.refused_here(self.run_argv(*TINY, option, value), option)
        # --record: a folder that is no run, or one that holds traces already.
        (self.tmp / "has" / "traces").mkdir(parents=True)
        (self.tmp / "has" / "results.csv").write_text("x\n")
        for out in (plain, self.tmp / "has", self.tmp / "file", self.tmp / "no" / "such"):
            with self.subTest(record_out=out):
                self.refused_here(self.run_argv("--record", "--programs", "lua", out=None) + ["--out", str(out)],
                                  out.name)

    @unittest.skipIf(os.geteuid() == 0, "root writes anywhere")
    def test_unwritable_parent(self) -> None:
        locked = self.tmp / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        self.addCleanup(locked.chmod, 0o700)
        self.refused(self.run_argv(*TINY, out=None) + ["--out", str(locked / "run")], "locked")

    # ------------------------------------------------------------------ resume

    def test_resume_refuses_a_conflicting_selection(self) -> None:
        folder = self.copy_shard(1, "resumed")
        for extra, named in ((["--programs", "lua,sqlite"], "--programs"), (["--allocators", "glibc,jemalloc"],
                             "--allocators"), (["--scale", "0.1"], "--scale"), (["--repetitions", "3"],
                             "--repetitions"), (["--seed", "7"], "--seed"), (["--timeout", "9"], "--timeout"),
                             (["--threads", "1,2,3"], "--threads"), (["--profile", "default"], "--profile"),
                             (["--preload", f"mine={JEMALLOC}"], "mine"), (["--out", str(self.tmp / "o")], "--out"),
                             (["--results", str(self.tmp)], "--results")):
            with self.subTest(extra=extra):
                check = self.refused if named == "--scale" else self.refused_here
                check(self.run_argv("--resume", str(folder), *extra, out=None), named)
        for value, named in (("", "''"), (str(self.tmp / "nope"), "nope"), (str(self.tmp), str(self.tmp))):
            with self.subTest(resume=value):
                self.refused_here(self.run_argv("--resume", value, out=None), "--resume", named)
        # Made on another machine: its numbers and this one's would not compare.
        facts = folder / "programs" / "machine.json"
        facts.write_text(json.dumps({**json.loads(facts.read_text()), "cpu_model": "Some Other CPU"}))
        self.refused(self.run_argv("--resume", str(folder), out=None), "Some Other CPU")

    def test_resume_with_the_plans_own_options_runs(self) -> None:
        folder = self.copy_shard(1, "again")
        raw = sorted((folder / "programs" / "raw").glob("*.json"))
        raw[0].unlink()
        done = self.run_command(self.run_argv("--resume", "again", "--programs", "lua", "--allocators", "glibc",
                                              "--scale", "0.05", "--repetitions", "2", out=None), timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(raw[0].is_file())

    def test_a_second_run_on_a_locked_folder_is_refused(self) -> None:
        from alloclab.processes import FolderLock
        folder = self.copy_shard(1, "busy")
        with FolderLock(folder):
            self.refused(self.run_argv("--resume", str(folder), out=None), "in use", str(os.getpid()))
            self.refused([*self.tool("alloclab.programs"), "merge", str(self.tmp / "m"), str(folder),
                          str(self.shards[1])], "in use", watch=[self.shards[1]])

    # ------------------------------------------------------------------ merge

    def merge(self, out: str, *dirs: str) -> list[str]:
        return [*self.tool("alloclab.programs"), "merge", out, *dirs]

    def test_merge_checks_every_input_before_writing(self) -> None:
        one, two = map(str, self.shards)
        other_plan = self.copy_shard(2, "otherplan")
        plan = json.loads((other_plan / "programs" / "plan.json").read_text())
        (other_plan / "programs" / "plan.json").write_text(json.dumps({**plan, "seed": 7}))
        other_machine = self.copy_shard(2, "othermachine")
        facts = other_machine / "programs" / "machine.json"
        facts.write_text(json.dumps({**json.loads(facts.read_text()), "num_cpus": 977}))
        overlap = self.copy_shard(1, "overlap")
        broken = self.copy_shard(2, "broken")
        record = sorted((broken / "programs" / "raw").glob("*.json"))[-1]
        record.write_text("{not json")
        (self.tmp / "existing").mkdir()
        out = str(self.tmp / "merged")
        for argv, named in ((self.merge("", one, two), "''"), (self.merge(str(self.tmp / "existing"), one, two),
                            "existing"), (self.merge(str(self.tmp / "no" / "m"), one, two), "no"),
                            (self.merge(out, one, one), "twice"), (self.merge(out, one, str(self.tmp / "nope")), "nope"),
                            (self.merge(out, one, ""), "''"), (self.merge(out, one, str(other_plan)), "otherplan"),
                            (self.merge(out, one, str(other_machine)), "977"), (self.merge(out, one, str(overlap)),
                            "overlap"), (self.merge(out, one, str(broken)), record.name),
                            (self.merge(str(self.tmp / "overlap" / "m"), str(overlap), two), "inside"),
                            (self.merge(one, one, two), "shard1")):
            with self.subTest(argv=argv[3:]):
                self.refused(argv, named, watch=self.shards)
        # The same merge, fixed, succeeds, and leaves no temporary sibling.
        done = self.run_command(self.merge("merged", one, two))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue((self.tmp / "merged" / "programs.csv").is_file())
        self.assertEqual(json.loads((self.tmp / "merged" / "machine.json").read_text())["num_cpus"],
                         json.loads((self.shards[0] / "programs" / "machine.json").read_text())["num_cpus"])
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir() if p.name.startswith(".")), [])

    def test_run_all_merge_paths_are_the_callers(self) -> None:
        here = self.tmp / "here"
        here.mkdir()
        for k in (1, 2):
            shutil.copytree(self.shards[k - 1], here / f"s{k}", ignore=shutil.ignore_patterns(".lock"))
        self.refused([RUN_ALL, "programs", "merge", "m", "s1", "nope"], "nope", cwd=here)
        done = self.run_command([RUN_ALL, "programs", "merge", "m", "s1", "s2"], cwd=here, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertTrue((here / "m" / "programs.csv").is_file())

    # ------------------------------------------------------------------ processes

    def start_redis_run(self, folder: Path, parent: bool) -> subprocess.Popen[bytes]:
        argv = [PYTHON, "-m", "alloclab.programs", "run", "--binary", str(BINARY), "--probe", str(PROBE),
                "--programs", "redis", "--allocators", "glibc", "--scale", "2", "--repetitions", "5",
                "--out", str(folder)]
        env = {**os.environ, **TOOLS_ENV}
        if parent:  # as run_all.sh starts it: a shell that exports its pid, the tool its child
            argv = ["bash", "-c", 'export ALLOCLAB_PARENT_PID=$$; "$@"; echo done', "run_all", *argv]
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def wait_for_server(self, folder: Path, process: subprocess.Popen[bytes]) -> tuple[int, dict[int, str]]:
        """The run's redis-server, once its load generator runs too: (server pid, the runner's tree)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            tree = descendants(process.pid)
            servers = [pid for pid, cmd in run_tree(folder) if cmd.startswith("redis-server")]
            if servers and any("redis-benchmark" in cmd for cmd in tree.values()):
                return servers[0], tree
            time.sleep(0.02)
        self.fail(f"no redis-server and redis-benchmark of the run started: {run_tree(folder)}")

    def kill_and_check(self, parent: bool) -> None:
        folder = self.tmp / ("killed-parent" if parent else "killed")
        process = self.start_redis_run(folder, parent)
        self.addCleanup(lambda: [os.kill(p, signal.SIGKILL) for p, _ in run_tree(folder)])
        server, tree = self.wait_for_server(folder, process)
        # The suite's server listens on loopback only (127.0.0.1 is 0100007F in /proc/net/tcp).
        self.assertEqual(set(listening_addresses(server)), {"0100007F"})
        started = sorted(set(tree) | {pid for pid, _ in run_tree(folder)})
        process.send_signal(signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 10
        while (run_tree(folder) or alive(started)) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(run_tree(folder), [], "processes of the killed run left running")
        self.assertEqual({p: tree.get(p, "") for p in alive(started)}, {}, "processes of the killed run left running")
        # The folder is free again: a resume of it is not refused as in use (checked, not run).
        self.refused(self.run_argv("--resume", str(folder), "--scale", "9", out=None), "--scale", watch=[folder])

    def test_kill_9_of_the_runner_leaves_nothing_running(self) -> None:
        self.kill_and_check(parent=False)

    def test_kill_9_of_run_all_leaves_nothing_running(self) -> None:
        self.kill_and_check(parent=True)

    def test_a_second_run_on_a_folder_in_use_is_refused(self) -> None:
        other = Path(tempfile.mkdtemp(prefix="alloclab-surface-busy-"))
        self.addCleanup(shutil.rmtree, other, True)
        folder = other / "run"
        process = self.start_redis_run(folder, parent=False)
        self.addCleanup(lambda: [os.kill(p, signal.SIGKILL) for p, _ in run_tree(folder)])
        self.wait_for_server(folder, process)
        before = snapshot([self.tmp])
        done = self.run_command(self.run_argv("--resume", str(folder), out=None))
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertEqual(len(done.stderr.strip().splitlines()), 1, done.stderr)
        self.assertIn("in use", done.stderr)
        self.assertIn(str(process.pid), done.stderr)
        self.assertEqual(snapshot([self.tmp]), before)

    def test_servers_bind_loopback_only(self) -> None:
        from alloclab.programs.catalog import Invocation
        from alloclab.programs.suite import PROGRAMS
        for program in PROGRAMS:
            if program.server:
                command = program.command(Invocation(self.tmp, self.tmp, 1, 7777))
                self.assertIn("127.0.0.1", command, program.name)
                self.assertFalse({"0.0.0.0", "::", "*"} & set(command), program.name)

    # ------------------------------------------------------------------ list and usage

    def test_list_and_usage(self) -> None:
        self.refused([*self.tool("alloclab.programs")], "programs")
        self.refused([*self.tool("alloclab.programs"), "frob"], "frob")
        self.refused([*self.tool("alloclab.programs"), "run", "--frob"], "--frob", needs_choices=False)
        for value in ("", str(self.tmp), str(self.tmp / "nope")):
            with self.subTest(binary=value):
                self.refused([*self.tool("alloclab.programs"), "list", "--binary", value], "--binary")


if __name__ == "__main__":
    unittest.main()
