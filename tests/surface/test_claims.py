"""claims (python3 -m alloclab.claims, ./run_all.sh claims|targets): every field of a claims
file, every option, every folder --from reads. Bad input: exit 2, one line naming the value (the
claim and the field) and the valid choices, nothing written. Claims are judged on copies of
tests/data/sample_run and tests/data/programs_run (--from), so nothing is measured except one
tiny run when the driver is built."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import unittest
from pathlib import Path
from typing import Any

from surface_support import BINARY, ROOT, SurfaceTest

SAMPLE = ROOT / "tests" / "data" / "sample_run"
PROGRAMS = ROOT / "tests" / "data" / "programs_run"
RUN_ALL = str(ROOT / "run_all.sh")
NO_DRIVER = "/nonexistent/alloclab"  # names come from the folder's registry.json: nothing is run

RATIO = dict(id="c1", sentence="A sentence.", source="a source", workload="small", a="chained_arena", b="malloc",
             metric="throughput", relation="ratio_at_least", bound=1.0)
GROWTH = dict(id="g1", sentence="Grows.", source="a source", workloads=["ast_1k", "ast_16k"], sizes=[1024, 16384],
              a="chained_arena", metric="destroy_time", relation="growth_at_most", exponent=0.2)
PROGRAM = dict(id="p1", sentence="Programs.", source="a source", program="lua", a="mimalloc", b="glibc",
               metric="time", relation="ratio_at_least", bound=1.0)


class Raw(str):
    """A TOML value written as is (nan, inf, a table)."""


def value(v: Any) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    return json.dumps(v)


def claim(base: dict[str, Any], **changes: Any) -> str:
    """One [[claim]] table: base with changes (None drops a field)."""
    fields = {**base, **changes}
    return "[[claim]]\n" + "".join(f"{k} = {value(v)}\n" for k, v in fields.items() if v is not None)


class ClaimsSurface(SurfaceTest):
    def setUp(self) -> None:
        super().setUp()
        self.run_dir = self.tmp / "run"
        shutil.copytree(SAMPLE, self.run_dir)
        self.programs_dir = self.tmp / "prun"
        shutil.copytree(PROGRAMS, self.programs_dir)

    def claims(self, *args: str) -> list[str]:
        return [*self.tool("alloclab.claims"), *args]

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.tmp / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def refused_file(self, text: str | bytes, *names: str, folder: Path | None = None) -> str:
        path = self.write("claims.toml", text)
        return self.refused(self.claims(str(path), "--from", str(folder or self.run_dir), "--binary", NO_DRIVER),
                            *names)

    # --- the file as a whole ------------------------------------------------------------------

    def test_file_that_is_not_utf8_names_the_line(self) -> None:
        self.refused_file(claim(RATIO).encode() + b'note = "caf\xe9"\n', "claims.toml", "line 11", "UTF-8")

    def test_invalid_toml_names_the_line(self) -> None:
        self.refused_file(claim(RATIO) + "bound = = 3\n", "claims.toml", "TOML syntax", "line 11")

    def test_file_missing_empty_or_not_a_file(self) -> None:
        os.mkfifo(self.tmp / "fifo.toml")  # reading a pipe would block: refused unread
        for argv, names in (([str(self.tmp / "absent.toml")], ("absent.toml",)),
                            ([str(self.tmp / "fifo.toml")], ("fifo.toml", "not a regular file")),
                            (["/dev/zero"], ("/dev/zero", "not a regular file")),
                            ([""], ("''",)),
                            ([str(self.run_dir)], ("run", "not a regular file"))):
            with self.subTest(argv=argv):
                self.refused(self.claims(*argv, "--from", str(self.run_dir), "--binary", NO_DRIVER), *names)

    def test_no_claims(self) -> None:
        for text in ("", "# nothing\n", "claim = []\n", "claim = 3\n", "[claim]\nid = \"x\"\n",
                     'title = "only a title"\n'):
            with self.subTest(text=text):
                self.refused_file(text, "[[claim]]")

    def test_claim_that_is_not_a_table(self) -> None:
        self.refused_file("claim = [1]\n", "claim #1", "'1'")

    def test_unknown_top_level_key(self) -> None:
        self.refused_file('titel = "x"\n' + claim(RATIO), "'titel'", "title, output, claim")

    def test_title_and_output(self) -> None:
        for head, names in (('title = 3\n', ("'title'", "'3'")),
                            ('title = """two\nlines"""\n', ("'title'",)),
                            ('title = ""\n', ("'title'",)),
                            ('output = "machine"\n', ("'output'", "machine", "would replace")),
                            ('output = "../x"\n', ("'output'", "../x")),
                            ('output = 1\n', ("'output'", "'1'"))):
            with self.subTest(head=head):
                self.refused_file(head + claim(RATIO), *names)

    def test_duplicate_ids(self) -> None:
        self.refused_file(claim(RATIO) + claim(RATIO, workload="mixed"), "'c1'", "field 'id'", "earlier")

    # --- every field -------------------------------------------------------------------------------

    def test_every_field_of_a_sweep_claim(self) -> None:
        cases: list[tuple[dict[str, Any], dict[str, Any], str, str]] = [
            # (base, changes, field, the bad value as the message quotes it)
            (RATIO, dict(bogus=1), "bogus", "unknown field"),
            (RATIO, dict(id=3), "id", "'3'"),
            (RATIO, dict(id="a b"), "id", "'a b'"),
            (RATIO, dict(sentence=""), "sentence", "''"),
            (RATIO, dict(source=None), "source", "missing"),
            (RATIO, dict(sentence="x" * 2001), "sentence", "2001 characters"),
            (RATIO, dict(note=3), "note", "'3'"),
            (RATIO, dict(metric="speed"), "metric", "speed"),
            (RATIO, dict(relation="faster"), "relation", "faster"),
            (RATIO, dict(workload="smal"), "workload", "smal"),
            (RATIO, dict(workload=3), "workload", "'3'"),
            (RATIO, dict(workload=None), "workload", "missing"),
            (RATIO, dict(workload="trace:"), "workload", "trace:"),
            (RATIO, dict(a="hoard"), "a", "hoard"),
            (RATIO, dict(b="ptmalloc3"), "b", "ptmalloc3"),
            (RATIO, dict(a=1), "a", "'1'"),
            (RATIO, dict(b="chained_arena"), "b", "chained_arena"),
            (RATIO, dict(bound="1"), "bound", "'1'"),
            (RATIO, dict(bound=True), "bound", "'true'"),
            (RATIO, dict(bound=-1.0), "bound", "'-1.0'"),
            (RATIO, dict(bound=0), "bound", "'0'"),
            (RATIO, dict(bound=math.nan), "bound", "'nan'"),
            (RATIO, dict(bound=math.inf), "bound", "'inf'"),
            (RATIO, dict(bound=-math.inf), "bound", "'-inf'"),
            (RATIO, dict(bound=1e308), "bound", "'1e+308'"),
            (RATIO, dict(bound=None), "bound", "missing"),
            (RATIO, dict(relation="greater"), "bound", "not used by"),
            (RATIO, dict(relation="within", bound=None, tolerance=-0.1), "tolerance", "'-0.1'"),
            (RATIO, dict(relation="within", bound=None, tolerance=1.0), "tolerance", "'1.0'"),
            (RATIO, dict(relation="within", bound=None, tolerance=math.nan), "tolerance", "'nan'"),
            (RATIO, dict(relation="within", bound=None, tolerance=math.inf), "tolerance", "'inf'"),
            (RATIO, dict(threads=0), "threads", "'0'"),
            (RATIO, dict(threads=-2), "threads", "'-2'"),
            (RATIO, dict(threads=1025), "threads", "'1025'"),
            (RATIO, dict(threads=2.0), "threads", "'2.0'"),
            (RATIO, dict(threads="2"), "threads", "'2'"),
            (RATIO, dict(threads=True), "threads", "'true'"),
            (RATIO, dict(threads_b=10 ** 12), "threads_b", str(10 ** 12)),
            (GROWTH, dict(exponent=math.nan), "exponent", "'nan'"),
            (GROWTH, dict(exponent=math.inf), "exponent", "'inf'"),
            (GROWTH, dict(exponent=11), "exponent", "'11'"),
            (GROWTH, dict(exponent="0.1"), "exponent", "'0.1'"),
            (GROWTH, dict(exponent=None), "exponent", "missing"),
            (GROWTH, dict(workloads=[], sizes=[]), "workloads", "'[]'"),
            (GROWTH, dict(workloads=["ast_1k"], sizes=[1024]), "workloads", "ast_1k"),
            (GROWTH, dict(workloads="ast_1k"), "workloads", "ast_1k"),
            (GROWTH, dict(workloads=["ast_1k", "ast_1k"]), "workloads", "named twice"),
            (GROWTH, dict(workloads=["ast_1k", "ast_2k"]), "workloads", "ast_2k"),
            (GROWTH, dict(sizes=[1024, 1024]), "sizes", "two different sizes"),
            (GROWTH, dict(workloads=["ast_1k", "ast_16k", "small"], sizes=[1, 1, 2]), "sizes", "given twice"),
            (GROWTH, dict(sizes=[0, 1024]), "sizes", "[0, 1024]"),
            (GROWTH, dict(sizes=[-1, 1024]), "sizes", "[-1, 1024]"),
            (GROWTH, dict(sizes=[math.inf, 1024]), "sizes", "inf"),
            (GROWTH, dict(sizes=[math.nan, 1024]), "sizes", "nan"),
            (GROWTH, dict(sizes=["1k", 1024]), "sizes", "1k"),
            (GROWTH, dict(sizes=[1024]), "sizes", "[1024]"),
            (GROWTH, dict(sizes=None), "sizes", "missing"),
        ]
        for base, changes, field, shown in cases:
            with self.subTest(field=field, changes=changes):
                line = self.refused_file(claim(base, **changes), "claims.toml", f"field '{field}'", shown)
                claim_id = changes.get("id", base["id"])
                if isinstance(claim_id, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", claim_id):
                    self.assertIn(f"claim '{claim_id}'", line)

    def test_every_field_of_a_program_claim(self) -> None:
        cases: list[tuple[dict[str, Any], str, str]] = [
            (dict(program="gcc"), "program", "gcc"),
            (dict(program=3), "program", "'3'"),
            (dict(program=None, programs=[]), "programs", "'[]'"),
            (dict(program=None, programs=["lua", "lua"]), "programs", "named twice"),
            (dict(program=None, programs="some"), "programs", "some"),
            (dict(programs=["lua"]), "programs", "not both"),
            (dict(a="glibcx"), "a", "glibcx"),
            (dict(b="mimalloc"), "b", "mimalloc"),
            (dict(metric="throughput"), "metric", "throughput"),
            (dict(relation="growth_at_most"), "relation", "growth_at_most"),
            (dict(program=None, programs="all", relation="greater", bound=None), "relation", "greater"),
            (dict(threads=4), "threads", "4"),
            (dict(threads=0), "threads", "'0'"),
            (dict(bound=math.nan), "bound", "'nan'"),
            (dict(bound=-1), "bound", "'-1'"),
            (dict(relation="within", bound=None, tolerance=-0.5), "tolerance", "'-0.5'"),
            (dict(workload="small"), "workload", "not used by a program claim"),
            (dict(relation="fastest", b=None, bound=None, metric="peak_rss"), "metric", "peak_rss"),
        ]
        for changes, field, shown in cases:
            with self.subTest(changes=changes):
                self.refused_file(claim(PROGRAM, **changes), "claim 'p1'", f"field '{field}'", shown,
                                  folder=self.programs_dir)

    def test_driver_ceiling_is_the_drivers(self) -> None:
        # The file's thread ceiling (claims.MAX_THREADS) is the driver's own (thread_spec.hpp).
        header = (ROOT / "harness" / "src" / "thread_spec.hpp").read_text()
        match = re.search(r"max_threads = ([0-9]+)", header)
        assert match is not None
        self.refused_file(claim(RATIO, threads=int(match.group(1)) + 1), "field 'threads'",
                          f"from 1 to {match.group(1)}")

    def test_names_from_the_drivers_registry(self) -> None:
        if not os.access(BINARY, os.X_OK):
            self.skipTest(f"driver not built: {BINARY}")
        path = self.write("claims.toml", claim(RATIO, a="hoard"))
        line = self.refused(self.claims(str(path), "--from", str(self.run_dir), "--binary", str(BINARY)),
                            "'c1'", "field 'a'", "hoard")
        self.assertIn("thread_cached_pool", line)  # a name the driver has and the old run does not

    def test_targets_file_is_checked_by_the_same_validator(self) -> None:
        targets = (ROOT / "harness" / "targets.toml").read_text(encoding="utf-8")
        broken = targets.replace('bound = 2.0', 'bound = -2.0', 1)
        self.assertNotEqual(broken, targets)
        self.refused_file(broken, "'harness-loop-small'", "field 'bound'", "'-2.0'")
        self.refused_file(targets + claim(RATIO, id="harness-loop-small"), "'harness-loop-small'", "field 'id'")

    # --- the options ---------------------------------------------------------------------------------

    def test_numbers_that_are_not_numbers(self) -> None:
        path = str(self.write("claims.toml", claim(RATIO)))
        out = str(self.tmp / "new")
        for flag, bad in (("--repetitions", ("nan", "inf", "0", "-1", "1_0", "99999999999999999999", "10.0", " 9",
                                              "")),
                          ("--min-time", ("nan", "inf", "-inf", "0", "-1", "1_0", "1e400", "0x10", "3601", "")),
                          ("--program-scale", ("nan", "inf", "0", "-1", "1_0", "51", "1e400"))):
            for text in bad:
                with self.subTest(flag=flag, text=text):
                    self.refused(self.claims(path, f"{flag}={text}", "--out", out), flag, f"'{text}'")
        self.refused(self.claims(path, "--repetitions", "8", "--out", out), "--repetitions", "8", "from 9")

    def test_output_paths_refused_before_anything_runs(self) -> None:
        path = str(self.write("claims.toml", claim(RATIO)))
        (self.tmp / "afile").write_text("x")
        for out, names in (("", ("--out", "''")),
                           (str(self.run_dir), ("--out", "exists")),
                           (str(self.tmp / "afile"), ("--out", "exists")),
                           (str(self.tmp / "no" / "such" / "parent"), ("--out", "parent")),
                           (str(self.tmp / "afile" / "x"), ("--out", "parent"))):
            with self.subTest(out=out):
                self.refused(self.claims(path, "--out", out, "--binary", str(BINARY)), *names,
                             watch=[ROOT / "results"])

    def test_options_that_shape_a_run_are_refused_with_from(self) -> None:
        path = str(self.write("claims.toml", claim(RATIO)))
        for extra in (["--out", str(self.tmp / "new")], ["--repetitions", "9"], ["--min-time", "1"],
                      ["--program-scale", "1"], ["--one-run"]):
            with self.subTest(extra=extra):
                self.refused(self.claims(path, "--from", str(self.run_dir), *extra), extra[0], "--from")

    def test_unknown_option(self) -> None:
        self.refused(self.claims("--bogus"), "--bogus")

    # --- the folder --from reads ---------------------------------------------------------------------

    def test_from_what_is_not_a_results_folder(self) -> None:
        path = str(self.write("claims.toml", claim(RATIO)))
        (self.tmp / "empty").mkdir()
        (self.tmp / "other").mkdir()
        (self.tmp / "other" / "notes.txt").write_text("x")
        for folder, names in (("", ("--from", "''")), (str(self.tmp / "nowhere"), ("nowhere", "no such folder")),
                              (path, ("claims.toml", "not a folder")), (str(self.tmp / "empty"), ("empty",)),
                              (str(self.tmp / "other"), ("other", "results.csv"))):
            with self.subTest(folder=folder):
                self.refused(self.claims(path, "--from", folder, "--binary", NO_DRIVER), *names)

    def corrupt(self, name: str, edit: Any) -> None:
        target = self.run_dir / name
        if callable(edit):
            target.write_bytes(edit(target.read_bytes()))
        else:
            target.write_bytes(edit)

    def test_from_a_folder_whose_files_lie(self) -> None:
        path = str(self.write("claims.toml", claim(RATIO)))
        header, first, rest = SAMPLE.joinpath("results.csv").read_bytes().split(b"\n", 2)
        cases: list[tuple[str, Any, tuple[str, ...]]] = [
            ("results.csv", header + b"\n" + first + b"\n" + b"small,malloc,1,1,ok,\xff\n", ("results.csv", "line 3")),
            ("results.csv", header.replace(b",ns_per_op", b"") + b"\n", ("results.csv", "ns_per_op")),
            ("results.csv", header + b"\n", ("results.csv", "no rows")),
            ("results.csv", b"", ("results.csv", "empty")),
            ("results.csv", header + b"\n" + first.replace(b",29.602368584180635,", b",nan,") + b"\n",
             ("results.csv", "line 2", "'nan'")),
            ("results.csv", header + b"\n" + first.replace(b",29.602368584180635,", b",-1,") + b"\n",
             ("results.csv", "line 2", "'-1'")),
            ("results.csv", header + b"\n" + first + b",extra\n", ("results.csv", "line 2", "fields")),
            ("results.csv", header + b"\n" + first + b"\n" + first + b"\n", ("results.csv", "row 2", "again")),
            ("machine.json", b"{", ("machine.json", "JSON")),
            ("machine.json", b'{"hardware_threads": "many"}', ("machine.json", "hardware_threads")),
            ("registry.json", b"[]", ("registry.json", "schema")),
            ("command.txt", b"\xff\xfe", ("command.txt",)),
        ]
        for name, text, names in cases:
            with self.subTest(name=name, names=names):
                self.corrupt(name, text)
                self.refused(self.claims(path, "--from", str(self.run_dir), "--binary", NO_DRIVER), *names)
                shutil.copy(SAMPLE / name, self.run_dir / name)

    def test_from_programs_whose_files_lie(self) -> None:
        path = str(self.write("claims.toml", claim(PROGRAM)))
        csv_path = self.programs_dir / "programs.csv"
        good = csv_path.read_bytes()
        header, first, _ = good.split(b"\n", 2)
        for text, names in ((header + b"\n", ("programs.csv", "no rows")),
                            (header + b"\n" + first.replace(b",1.0,", b",nan,") + b"\n", ("programs.csv", "'nan'")),
                            (header + b"\n" + first + b",x\n", ("programs.csv", "line 2", "fields")),
                            (good + b"\xff\n", ("programs.csv", "UTF-8"))):
            with self.subTest(names=names):
                csv_path.write_bytes(text)
                self.refused(self.claims(path, "--from", str(self.programs_dir), "--binary", NO_DRIVER), *names)
        csv_path.write_bytes(good)
        (self.programs_dir / "programs" / "plan.json").write_text("{")
        self.refused(self.claims(path, "--from", str(self.programs_dir), "--binary", NO_DRIVER), "plan.json")

    def test_from_a_folder_that_holds_no_claims_case_names_it(self) -> None:
        path = str(self.write("claims.toml", claim(RATIO, threads=8) + claim(RATIO, id="c2", workload="frame")))
        self.refused(self.claims(path, "--from", str(self.run_dir), "--binary", NO_DRIVER),
                     "'c1'", "small/chained_arena/threads:8")
        self.refused(self.claims(str(self.write("p.toml", claim(PROGRAM))), "--from", str(self.run_dir),
                                 "--binary", NO_DRIVER), "'p1'", "programs run")

    def test_from_a_folder_missing_some_cases_judges_the_others_and_names_the_missing(self) -> None:
        path = str(self.write("claims.toml", claim(RATIO) + claim(RATIO, id="c2", workload="frame", b=None,
                                                                   relation="at_least")))
        done = self.run_command(self.claims(path, "--from", str(self.run_dir), "--binary", NO_DRIVER))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr, "")
        self.assertIn("c2: not measured in", done.stdout)
        self.assertIn("frame/chained_arena/threads:1", done.stdout)
        verdicts = {c["id"]: c for c in json.loads((self.run_dir / "claims.json").read_text())}
        self.assertEqual(verdicts["c1"]["verdict"], "REPRODUCED")
        self.assertEqual(verdicts["c2"]["verdict"], "INCONCLUSIVE")
        self.assertIn("frame/chained_arena/threads:1", verdicts["c2"]["detail"])
        self.assertEqual(sorted(p.name for p in self.run_dir.iterdir() if p.name.startswith(".")), [])

    # --- run_all.sh, from another folder ----------------------------------------------------------------

    def test_run_all_claims_and_targets_take_the_callers_paths(self) -> None:
        caller = self.tmp / "caller"
        (caller / "sub").mkdir(parents=True)
        shutil.move(str(self.run_dir), caller / "sub" / "r")
        # Only the small workload's rows: the report redrawn after the verdicts has few charts to draw.
        csv_path = caller / "sub" / "r" / "results.csv"
        lines = csv_path.read_text().splitlines(keepends=True)
        csv_path.write_text(lines[0] + "".join(x for x in lines[1:] if x.startswith("small,")))
        (caller / "sub" / "c.toml").write_text(claim(RATIO))
        done = self.run_command([RUN_ALL, "claims", "sub/c.toml", "--from", "sub/r"], cwd=caller, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertTrue((caller / "sub" / "r" / "claims.md").is_file())
        self.assertTrue((caller / "sub" / "r" / "report.md").is_file())  # redrawn with the verdicts
        done = self.run_command([RUN_ALL, "targets", "--from=sub/r"], cwd=caller, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertTrue((caller / "sub" / "r" / "targets.md").is_file())
        # The repository's folders of the same names mean nothing to the caller.
        self.refused([RUN_ALL, "claims", "harness/claims.toml", "--from", "sub/r"], "harness/claims.toml",
                     cwd=caller)
        self.refused([RUN_ALL, "claims", "sub/c.toml", "--from", "tests/data/sample_run"], "tests/data/sample_run",
                     cwd=caller)

    # --- one tiny real run --------------------------------------------------------------------------------

    def test_tiny_run_into_a_new_folder(self) -> None:
        if not os.access(BINARY, os.X_OK):
            self.skipTest(f"driver not built: {BINARY}")
        path = str(self.write("claims.toml", claim(RATIO)))
        out = self.tmp / "new"
        done = self.run_command(self.claims(path, "--out", str(out), "--one-run", "--tiny", "--repetitions", "3",
                                            "--min-time", "0.001", "--binary", str(BINARY)), timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertTrue((out / "claims.md").is_file())
        self.assertEqual(json.loads((out / "claims.json").read_text())[0]["id"], "c1")


if __name__ == "__main__":
    unittest.main()
