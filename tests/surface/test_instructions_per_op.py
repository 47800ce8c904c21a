"""instructions_per_op: empty and duplicate selections, a bad driver, an option twice: one line,
exit 2, nothing written (the arguments are checked before valgrind is looked for).

Run: PYTHONPATH=harness:.:tests/surface python3 -m unittest -v tests/surface/test_instructions_per_op.py
"""

from __future__ import annotations

import os
import unittest

from surface_support import BINARY, SurfaceTest


@unittest.skipUnless(os.access(BINARY, os.X_OK), f"driver not built: {BINARY}")
class InstructionsPerOpSurface(SurfaceTest):
    def test_bad_selections_and_options(self) -> None:
        tool = [*self.tool("alloclab.instructions_per_op"), "--binary", str(BINARY)]
        for argv, needle in ((["--workloads", ""], "no workload"), (["--workloads", ","], "no workload"),
                             (["--workloads", "small,small"], "twice"), (["--workloads", "small,,mixed"], "empty"),
                             (["--workloads", "nope"], "'nope'"), (["--allocators", "malloc,malloc"], "twice"),
                             (["--allocators", "malloc,,null"], "empty"), (["--allocators", "jemalloc"], "'jemalloc'"),
                             (["--workloads", "small", "--workloads", "mixed"], "twice")):
            with self.subTest(argv=argv):
                self.refused([*tool, *argv], needle)
        # argparse's own: one line naming the option (cli.Parser points to --help for the choices)
        self.refused([*tool, "--bogus"], "--bogus", needs_choices=False)
        self.refused([*self.tool("alloclab.instructions_per_op"), "--binary", ""], "--binary ''")
        self.refused([*self.tool("alloclab.instructions_per_op"), "--binary", str(self.tmp / "nope")], "nope",
                     needs_choices=False)


if __name__ == "__main__":
    unittest.main()
