"""run_all.sh itself: unknown commands and presets, and paths relative to the caller's folder."""

from __future__ import annotations

import unittest

from surface_support import ROOT, SurfaceTest

RUN_ALL = str(ROOT / "run_all.sh")


class RunAllSurface(SurfaceTest):
    def test_unknown_command(self) -> None:
        self.refused([RUN_ALL, "frobnicate"], "frobnicate", "sweep")

    def test_unknown_test_preset(self) -> None:
        self.refused([RUN_ALL, "test", "releese"], "releese", "release")

    def test_plot_needs_a_folder(self) -> None:
        self.refused([RUN_ALL, "plot"], "plot")

    def test_merge_needs_inputs(self) -> None:
        self.refused([RUN_ALL, "merge", "out"], "merge", "OUT DIR")

    def test_bad_test_preset_among_good_ones_runs_nothing(self) -> None:
        self.refused([RUN_ALL, "test", "release", "tsan", "bogus"], "bogus", "release")

    def test_repeatability_refuses_what_would_not_give_two_new_runs(self) -> None:
        for option in ("--out", "--resume", "--shard", "--slurm", "--check", "--out=x", "--ou", "--resu=x",
                       "--chec", "--folder-fil"):
            with self.subTest(option=option):
                self.refused([RUN_ALL, "repeatability", "--workloads", "small", option, "x"], option.split("=")[0],
                             "repeatability")

    def test_repeatability_compares_the_callers_folders(self) -> None:
        import shutil
        for name in ("one", "two"):
            shutil.copytree(ROOT / "tests" / "data" / "sample_run", self.tmp / "here" / name)
        done = self.run_command([RUN_ALL, "repeatability", "--compare", "one", "two"], cwd=self.tmp / "here",
                                timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertIn("contradicted (the runs call a pair different, opposite ways): 0 (0.0%)", done.stdout)
        self.assertIn("ratio discrepancy |r2/r1 - 1|: median 0.0%", done.stdout)
        self.refused([RUN_ALL, "repeatability", "--compare", "one", "nope"], "nope", cwd=self.tmp / "here")
        self.refused([RUN_ALL, "repeatability", "--compare", "one", "./one"], "same folder", cwd=self.tmp / "here")

    def test_repeatability_checks_the_sweeps_options_before_it_prints_anything(self) -> None:
        self.refused([RUN_ALL, "repeatability", "--workloads", "nosuch"], "nosuch")

    def test_plot_path_is_the_callers(self) -> None:
        # A folder that exists in the repository (results/) but not where the caller is: the
        # caller's meaning wins, so it is missing.
        sub = self.tmp / "elsewhere"
        sub.mkdir()
        self.refused([RUN_ALL, "plot", "tests/data/sample_run"], "tests/data/sample_run", cwd=sub)


    def test_plot_relative_folder_is_found_from_the_callers_folder(self) -> None:
        # The positive side: a relative folder that exists only under the caller's folder is drawn.
        import shutil
        shutil.copytree(ROOT / "tests" / "data" / "sample_run", self.tmp / "here" / "run")
        done = self.run_command([RUN_ALL, "plot", "run"], cwd=self.tmp / "here", timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertTrue((self.tmp / "here" / "run" / "report.md").is_file())


if __name__ == "__main__":
    unittest.main()
