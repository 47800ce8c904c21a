"""plot (python3 -m plots DIR [DIR...], ./run_all.sh plot): every folder and file it reads, and
its options. Bad input: exit 2, one line naming the file (and the line or field) and what is
valid, and no file created or changed in any folder. Good input: charts and report written
whole (no temporary file left). Folders are copies of tests/data/sample_run and
tests/data/programs_run, corrupted one file at a time."""

from __future__ import annotations

import os
import shutil
import unittest
from pathlib import Path

from surface_support import ROOT, SurfaceTest

SAMPLE = ROOT / "tests" / "data" / "sample_run"
PROGRAMS = ROOT / "tests" / "data" / "programs_run"
RUN_ALL = str(ROOT / "run_all.sh")


def small_copy(folder: Path) -> None:
    """A copy of the sample run with the small workload only (quick to draw)."""
    shutil.copytree(SAMPLE, folder)
    lines = (folder / "results.csv").read_text().splitlines(keepends=True)
    (folder / "results.csv").write_text(lines[0] + "".join(x for x in lines[1:] if x.startswith("small,")))


def leftovers(folder: Path) -> list[str]:
    """Temporary files a writer left behind (they start with a dot and end in .tmp)."""
    return sorted(str(p) for p in folder.rglob(".*") if p.name.endswith(".tmp"))


class PlotSurface(SurfaceTest):
    def setUp(self) -> None:
        super().setUp()
        self.run_dir = self.tmp / "run"
        shutil.copytree(SAMPLE, self.run_dir)
        self.programs_dir = self.tmp / "prun"
        shutil.copytree(PROGRAMS, self.programs_dir)

    def plot(self, *args: str | Path) -> list[str]:
        return [*self.tool("plots"), *map(str, args)]

    def corrupted(self, folder: Path, source: Path, cases: list[tuple[str, bytes | None, tuple[str, ...]]],
                  *extra: str | Path) -> None:
        """Each case: replace folder/name with the bytes (None: remove it, b"/": make it a
        folder), check the refusal names the names, put the file back."""
        for name, text, names in cases:
            with self.subTest(name=name, names=names):
                target = folder / name
                if text is None:
                    target.unlink()
                elif text == b"/":
                    target.unlink()
                    target.mkdir()
                else:
                    target.write_bytes(text)
                self.refused(self.plot(*extra, folder), *names)
                if target.is_dir():
                    target.rmdir()
                shutil.copy(source / name, target)

    # --- the folders -------------------------------------------------------------------------------

    def test_dirs_that_are_not_results_folders(self) -> None:
        (self.tmp / "empty").mkdir()
        (self.tmp / "other").mkdir()
        (self.tmp / "other" / "notes.txt").write_text("x")
        for d, names in ((self.tmp / "nowhere", ("nowhere", "no such folder")),
                         (self.run_dir / "results.csv", ("results.csv", "not a folder")),
                         (self.tmp / "empty", ("empty", "results.csv")),
                         (self.tmp / "other", ("other", "results.csv")),
                         ("", ("''",))):
            with self.subTest(d=d):
                self.refused(self.plot(d), *names)

    def test_the_same_dir_twice(self) -> None:
        (self.tmp / "link").symlink_to(self.run_dir)
        for second in (self.run_dir, f"{self.run_dir}/", self.tmp / "link", self.tmp / "run" / ".." / "run"):
            with self.subTest(second=second):
                self.refused(self.plot(self.run_dir, second), str(second), "again")

    # --- a sweep's files ---------------------------------------------------------------------------

    def test_results_csv_that_lies(self) -> None:
        good = (SAMPLE / "results.csv").read_bytes()
        header, first, rest = good.split(b"\n", 2)

        def row(old: bytes, new: bytes) -> bytes:
            assert old in first
            return header + b"\n" + first.replace(old, new, 1) + b"\n" + rest

        ns = b",29.602368584180635,"
        cases: list[tuple[str, bytes | None, tuple[str, ...]]] = [
            ("results.csv", header + b"\n" + first + b"\n" + first.replace(b"atomic", b"at\xffomic") + b"\n",
             ("results.csv", "line 3", "UTF-8")),
            ("results.csv", header.replace(b",ns_per_op", b"") + b"\n" + first + b"\n", ("results.csv", "ns_per_op")),
            ("results.csv", header + b"\n", ("results.csv", "no rows")),
            ("results.csv", b"", ("results.csv", "empty")),
            ("results.csv", b"\x00\x01", ("results.csv", "NUL")),
            ("results.csv", row(ns, b",nan,"), ("results.csv", "line 2", "ns_per_op", "'nan'")),
            ("results.csv", row(ns, b",inf,"), ("results.csv", "line 2", "'inf'")),
            ("results.csv", row(ns, b",-1,"), ("results.csv", "line 2", "'-1'")),
            ("results.csv", row(ns, b",1e31,"), ("results.csv", "line 2", "'1e31'")),
            ("results.csv", row(ns, b",fast,"), ("results.csv", "line 2", "'fast'")),
            ("results.csv", row(ns, b",,"), ("results.csv", "line 2", "ns_per_op")),
            ("results.csv", row(b",1,1,ok,", b",0,1,ok,"), ("results.csv", "line 2", "threads")),
            ("results.csv", row(b",1,1,ok,", b",x,1,ok,"), ("results.csv", "line 2", "'x'")),
            ("results.csv", row(b",1,1,ok,", b",1,1,fine,"), ("results.csv", "line 2", "'fine'")),
            ("results.csv", header + b"\n" + first + b",extra\n" + rest, ("results.csv", "line 2", "fields")),
            ("results.csv", header + b"\n" + first.rsplit(b",", 1)[0] + b"\n" + rest, ("results.csv", "line 2")),
            ("results.csv", header + b"\n" + first + b"\n" + first + b"\n", ("results.csv", "row 2", "again")),
            ("results.csv", b"/", ("results.csv",)),
        ]
        self.corrupted(self.run_dir, SAMPLE, cases)

    def test_machine_registry_command_and_claims_that_lie(self) -> None:
        cases: list[tuple[str, bytes | None, tuple[str, ...]]] = [
            ("machine.json", b"{", ("machine.json", "JSON")),
            ("machine.json", b"\xff", ("machine.json",)),
            ("machine.json", b"[1]", ("machine.json", "object")),
            ("machine.json", b'{"hardware_threads": "many"}', ("machine.json", "hardware_threads")),
            ("machine.json", b'{"threads": [1, "two"]}', ("machine.json", "threads")),
            ("machine.json", b'{"x": NaN}', ("machine.json", "NaN")),
            ("machine.json", None, ("machine.json",)),
            ("registry.json", b"[]", ("registry.json", "schema")),
            ("registry.json", b"{", ("registry.json", "JSON")),
            ("registry.json", b'{"schema": 1, "allocators": [{"name": "a", "kind": "library"}, '
                              b'{"name": "a", "kind": "library"}]}', ("registry.json", "'a'")),
            ("command.txt", b"\xff\xfe", ("command.txt",)),
        ]
        self.corrupted(self.run_dir, SAMPLE, cases)
        (self.run_dir / "claims.json").write_text('[{"id": "x", "verdict": "MAYBE"}]')
        self.refused(self.plot(self.run_dir), "claims.json", "REPRODUCED")

    # --- a programs run's files ---------------------------------------------------------------------

    def test_programs_files_that_lie(self) -> None:
        good = (PROGRAMS / "programs.csv").read_bytes()
        header, first, rest = good.split(b"\n", 2)
        cases: list[tuple[str, bytes | None, tuple[str, ...]]] = [
            ("programs.csv", header + b"\n" + first.replace(b",1.0,", b",nan,", 1) + b"\n" + rest,
             ("programs.csv", "line 2", "'nan'")),
            ("programs.csv", header + b"\n" + first.replace(b",1.0,", b",-1.0,", 1) + b"\n" + rest,
             ("programs.csv", "line 2", "'-1.0'")),
            ("programs.csv", header.replace(b",wall_s", b"") + b"\n", ("programs.csv", "wall_s")),
            ("programs.csv", header + b"\n", ("programs.csv", "no rows")),
            ("programs.csv", header + b"\n" + first + b",x\n" + rest, ("programs.csv", "line 2", "fields")),
            ("programs.csv", good + b"\xff\n", ("programs.csv", "UTF-8")),
            ("programs/plan.json", b"{", ("plan.json", "JSON")),
            ("programs/plan.json", None, ("plan.json", "missing")),
            ("programs/command.txt", b"\xff", ("command.txt", "UTF-8")),
            ("machine.json", b"{", ("machine.json", "JSON")),
        ]
        self.corrupted(self.programs_dir, PROGRAMS, cases)
        for name, text in (("registry.json", "{"), ("claims.json", "[")):
            with self.subTest(name=name):
                (self.programs_dir / name).write_text(text)
                self.refused(self.plot(self.programs_dir), name, "JSON")
                (self.programs_dir / name).unlink()

    # --- the options -----------------------------------------------------------------------------------

    def test_output_paths(self) -> None:
        (self.tmp / "afile").write_text("x")
        for out, names in (("", ("--out", "''")), (self.tmp / "afile", ("--out", "afile")),
                           (self.tmp / "no" / "parent", ("--out", "parent"))):
            with self.subTest(out=out):
                self.refused(self.plot(self.run_dir, "--out", out), *names)
                self.refused(self.plot(self.run_dir, self.programs_dir, "--out", out), *names)
        (self.run_dir / "report.md").mkdir()
        self.refused(self.plot(self.run_dir), "report.md", "folder")
        (self.run_dir / "report.md").rmdir()
        (self.run_dir / "charts").write_text("x")
        self.refused(self.plot(self.run_dir), "charts", "file")
        (self.run_dir / "charts").unlink()
        (self.run_dir / "charts" / "summary_t1.png").mkdir(parents=True)  # a chart's name taken by a folder
        self.refused(self.plot(self.run_dir), "summary_t1.png")

    def test_baselines(self) -> None:
        for args, names in ((["--baseline", ""], ("--baseline", "''")),
                            (["--baseline", "hoard"], ("--baseline", "hoard", "malloc")),
                            (["--programs-baseline", "glibc"], ("--programs-baseline", "programs.csv"))):
            with self.subTest(args=args):
                self.refused(self.plot(self.run_dir, *args), *names)
        self.refused(self.plot(self.programs_dir, "--programs-baseline", "hoard"), "hoard", "glibc")
        self.refused(self.plot(self.programs_dir, "--programs-baseline", ""), "--programs-baseline", "''")
        self.refused(self.plot(self.run_dir, self.run_dir.parent / "prun", "--baseline", "malloc"), "--baseline")

    def test_unknown_option_and_no_folder(self) -> None:
        self.refused(self.plot(self.run_dir, "--bogus"), "--bogus")
        self.refused(self.plot(), "DIR")

    # --- comparing runs, one of them bad ------------------------------------------------------------

    def test_comparison_with_one_bad_folder_writes_nothing(self) -> None:
        bad = self.tmp / "bad"
        shutil.copytree(SAMPLE, bad)
        (bad / "results.csv").write_bytes((SAMPLE / "results.csv").read_bytes().replace(b",ok,", b",okay,", 1))
        self.refused(self.plot(self.run_dir, bad), "bad", "results.csv", "okay")
        self.refused(self.plot(bad, self.run_dir), "bad", "results.csv", "okay")
        self.refused(self.plot(self.run_dir, self.programs_dir), "prun", "results.csv")
        (bad / "results.csv").write_bytes((SAMPLE / "results.csv").read_bytes())
        (bad / "machine.json").write_text("{")
        self.refused(self.plot(self.run_dir, bad, "--out", self.tmp / "cmp"), "machine.json")

    # --- good input: whole files -------------------------------------------------------------------

    def test_good_folders_are_drawn_whole(self) -> None:
        a, b = self.tmp / "a", self.tmp / "b"
        small_copy(a)
        small_copy(b)
        done = self.run_command(self.plot(a), timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertEqual(done.stderr, "")
        self.assertTrue((a / "report.md").is_file() and (a / "report.html").is_file())
        self.assertTrue(any((a / "charts").glob("*.png")))
        done = self.run_command(self.plot(a, b, "--out", self.tmp / "cmp"), timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertTrue((self.tmp / "cmp" / "compare.html").is_file())
        self.assertEqual(leftovers(self.tmp), [])
        # A refusal after a good drawing changes none of it.
        self.refused(self.plot(a, "--baseline", "hoard"), "hoard")

    def test_run_all_plot_takes_the_callers_paths(self) -> None:
        caller = self.tmp / "caller"
        (caller / "sub").mkdir(parents=True)
        shutil.move(str(self.programs_dir), caller / "sub" / "p")
        done = self.run_command([RUN_ALL, "plot", "sub/p"], cwd=caller, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertTrue((caller / "sub" / "p" / "report.md").is_file())
        self.assertEqual(leftovers(caller), [])
        self.refused([RUN_ALL, "plot", "sub/p", "sub/./p"], "again", cwd=caller)
        self.refused([RUN_ALL, "plot", "tests/data/sample_run"], "tests/data/sample_run", cwd=caller)
        self.assertFalse(os.path.exists(caller / "tests"))


if __name__ == "__main__":
    unittest.main()
