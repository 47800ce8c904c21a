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
