"""python: the CPython 3 interpreter (Debian package python3, /usr/bin/python3) on
scripts/churn.py.

Workload: written for the project. Full binary trees of dicts and of tuples built and
dropped under one long-lived tree, generated records (dicts, lists, tuples, strings) through
json.dumps/json.loads in chunks, and a counting dictionary of formatted strings. CPython
takes small objects from its own pymalloc arenas (256 KiB, from mmap) and goes to malloc for
objects over 512 bytes, dict/list storage that grows, and the JSON text; so an allocator
mostly sees medium and large blocks and resizes.
Stresses: realloc of growing lists and dicts, medium-sized strings, bursts of frees when a
tree is dropped. Does not test: threads (the GIL, one thread), pymalloc's own small objects
(they never reach malloc), C extensions.

Expected answer: closed forms (node counts and preorder sums of full trees, arithmetic
series, digit counts, periodic sums), never by running the script.
"""

from __future__ import annotations

from pathlib import Path

from alloclab.programs.catalog import Drive, Invocation, Program
from alloclab.programs.suite._common import SCRIPTS, differs, read_text, sized

DEPTH = 14
CHUNK = 2000       # records per json.dumps
KEYS = 1009        # churn.py counts keys "w%d" % (i * 7919 % 1009): a bijection per block


class Python(Program):
    name = "python"
    description = "python3: trees of dicts/tuples, JSON round trips, string-keyed counting"
    origin = "Debian python3 (/usr/bin/python3); script written for the project"
    not_tested = "threads, pymalloc's small objects (they bypass malloc), C extensions"
    packages = ("python3",)
    executables = ("/usr/bin/python3",)

    def prepare(self, inputs: Path, scale: float, seed: int) -> None:
        args = [DEPTH, sized(500, scale), sized(250_000, scale), CHUNK, seed]
        (inputs / "args.txt").write_text(" ".join(map(str, args)) + "\n")
        (inputs / "expected.txt").write_text(expected(*args) + "\n")

    def command(self, run: Invocation) -> list[str]:
        args = (read_text(run.inputs / "args.txt") or "").split()
        # -I: isolated (no user site, no PYTHON* variables), -S: no site imports, -B: no .pyc
        return ["/usr/bin/python3", "-I", "-S", "-B", str(SCRIPTS / "churn.py"), *args]

    def check(self, run: Invocation, stdout: str, drive: Drive | None) -> str | None:
        want = (read_text(run.inputs / "expected.txt") or "").strip()
        got = stdout.strip()
        return None if want and got == want else differs("result", want or "(no expected.txt)",
                                                         got or "(no output)")


def expected(depth: int, rounds: int, records: int, chunk: int, seed: int) -> str:
    """churn.py's output line in closed form."""
    def full(d: int) -> tuple[int, int]:  # a full tree: nodes, sum of preorder numbers
        n = (1 << (d + 1)) - 1
        return n, n * (n - 1) // 2

    trees = [full(4 + r % (depth - 3)) for r in range(rounds)] + [full(depth)]
    lo, hi = seed % 1000, seed % 1000 + records   # ids are lo..hi-1

    def digits_below(x: int) -> int:    # total decimal digits of 0..x-1
        return x + sum(max(0, x - 10 ** k) for k in range(1, len(str(max(x, 1))) + 1))

    def mod_below(x: int, m: int) -> int:   # sum of i % m over 0..x-1
        q, r = divmod(x, m)
        return q * m * (m - 1) // 2 + r * (r - 1) // 2

    period = [i * i % 1000 for i in range(1000)]

    def squares_below(x: int) -> int:   # sum of i*i % 1000 over 0..x-1 (period 1000)
        q, r = divmod(x, 1000)
        return q * sum(period) + sum(period[:r])

    ids = (lo + hi - 1) * records // 2
    namelen = 4 * records + digits_below(hi) - digits_below(lo)
    pt = squares_below(hi) - squares_below(lo)
    tags = sum(mod_below(hi, m) - mod_below(lo, m) for m in (7, 11))
    keys, most = min(records, KEYS), -(-records // KEYS)
    return (f"nodes={sum(n for n, _ in trees)} vsum={sum(s for _, s in trees)} ids={ids} "
            f"namelen={namelen} pt={pt} tags={tags} keys={keys} most={most}")
