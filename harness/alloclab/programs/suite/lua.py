"""lua: the Lua 5.4 interpreter (Debian package lua5.4) on scripts/churn.lua.

Workload: written for the project. Binary trees of tables built and dropped under one
long-lived tree (the shape of the Computer Language Benchmarks Game's binary-trees), then
string and table churn: a seeded 64-bit LCG makes words, table.concat, gsub, string.format,
table.insert/remove on a bounded pool, and a counting dictionary. Lua allocates every table,
string and closure through one realloc-style function over malloc/realloc/free, and its
incremental collector frees them in bursts.
Stresses: very many small objects with short and mixed lifetimes, realloc of growing
tables. Does not test: threads (single threaded), large objects, the C API.

Expected answer: node counts in closed form; the string part by an independent Python
computation of the same LCG and string operations.
"""

from __future__ import annotations

import re
from pathlib import Path

from alloclab.programs.catalog import Drive, Invocation, Program
from alloclab.programs.suite._common import SCRIPTS, differs, read_text, sized

DEPTH = 14     # the long-lived tree's depth; short-lived trees cycle through depths 4..DEPTH
POOL = 500     # strings kept alive at once
MASK = (1 << 64) - 1


class Lua(Program):
    name = "lua"
    description = "lua5.4: binary trees of tables, then gsub/concat/format and table churn"
    origin = "Debian lua5.4; script written for the project (binary-trees shape + strings)"
    not_tested = "threads, large objects, Lua's C API"
    packages = ("lua5.4",)
    executables = ("lua5.4",)

    def prepare(self, inputs: Path, scale: float, seed: int) -> None:
        rounds, strings = sized(1200, scale), sized(80_000, scale)
        args = [DEPTH, rounds, strings, POOL, seed % (1 << 62)]
        (inputs / "args.txt").write_text(" ".join(map(str, args)) + "\n")
        (inputs / "expected.txt").write_text(expected(*args) + "\n")

    def command(self, run: Invocation) -> list[str]:
        args = (read_text(run.inputs / "args.txt") or "").split()
        return ["lua5.4", str(SCRIPTS / "churn.lua"), *args]

    def check(self, run: Invocation, stdout: str, drive: Drive | None) -> str | None:
        want = (read_text(run.inputs / "expected.txt") or "").strip()
        got = stdout.strip()
        return None if want and got == want else differs("result", want or "(no expected.txt)",
                                                         got or "(no output)")


def expected(depth: int, rounds: int, strings: int, pool_size: int, seed: int) -> str:
    """churn.lua's output line, computed here without Lua."""
    nodes = sum((1 << (4 + r % (depth - 3) + 1)) - 1 for r in range(rounds))
    nodes += (1 << (depth + 1)) - 1
    state = seed

    def rnd(n: int) -> int:
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        return (state >> 33) % n

    pool: list[str] = []
    keys: set[str] = set()
    total = vowels = 0
    for i in range(1, strings + 1):
        word = "".join(chr(97 + rnd(26)) for _ in range(1 + rnd(24)))
        doubled, n = re.subn("[aeiou]", lambda m: m.group(0) * 2, word)
        s = f"{i}:{doubled}"
        total, vowels = total + len(s), vowels + n
        pool.append(s)
        if len(pool) > pool_size:
            del pool[rnd(len(pool))]
        keys.add(doubled[:3])
    kept = sum(map(len, pool))
    return f"nodes={nodes} chars={total} vowels={vowels} keys={len(keys)} kept={kept}"
