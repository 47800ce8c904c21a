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

    def test_plot_path_is_the_callers(self) -> None:
        # A folder that exists in the repository (results/) but not where the caller is: the
        # caller's meaning wins, so it is missing.
        sub = self.tmp / "elsewhere"
        sub.mkdir()
        self.refused([RUN_ALL, "plot", "tests/data/sample_run"], "tests/data/sample_run", cwd=sub)


if __name__ == "__main__":
    unittest.main()
