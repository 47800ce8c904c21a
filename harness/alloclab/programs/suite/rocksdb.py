"""rocksdb: RocksDB's db_bench (Debian package rocksdb-tools, /usr/bin/db_bench 7.8)
filling a database with random keys from T threads, then reading random keys from T
threads.

Workload: db_bench's own fillrandom and readrandom benchmarks (RocksDB's standard
benchmark tool), run on a database in the work folder. The key space is N keys (N from the
scale); each of the T threads writes and then reads ceil(N/T) keys drawn uniformly from it,
so the total work is the same at every thread count. Values are 16..1024 bytes (uniform),
uncompressed, without a write-ahead log; memtables of 16 MiB flush to SST files in the
background (flush and compaction threads), and a 256 MiB block cache holds what is read.
Stresses: memtable arenas, block cache entries (one malloc per block read), iterators and
per-read buffers from several threads at once, background threads freeing what the
foreground allocated. Does not test: durability (no WAL, no sync), compression, the read
results' contents (db_bench does not compare values).

Check: both benchmark lines present with T*ceil(N/T) operations, and readrandom's
"(X of Y found)" with Y = ceil(N/T) (db_bench prints one thread's count) and X within six
standard deviations of Y*p, where p = 1 - (1 - 1/N)^(T*ceil(N/T)) is the chance that a key
was written. The seed is fixed, so X is the same at every run of a (scale, seed, threads),
but predicting it exactly would mean re-implementing db_bench's generators.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from alloclab.programs.catalog import Drive, Invocation, Program
from alloclab.programs.suite._common import differs, read_text, short, sized

KEYS = 250_000    # the key space at scale 1


class Rocksdb(Program):
    name = "rocksdb"
    description = "db_bench fillrandom+readrandom: RocksDB with T writer/reader threads"
    origin = "Debian rocksdb-tools (db_bench 7.8), RocksDB's own benchmark tool"
    not_tested = "durability (no WAL), compression, the values read back"
    packages = ("rocksdb-tools",)
    executables = ("db_bench",)
    threaded = True

    def prepare(self, inputs: Path, scale: float, seed: int) -> None:
        # db_bench takes --seed=0 as "from the clock": keep it positive.
        params = {"keys": sized(KEYS, scale, 16), "seed": seed % 2_000_000_000 + 1}
        (inputs / "params.json").write_text(json.dumps(params) + "\n")

    def command(self, run: Invocation) -> list[str]:
        keys, seed = params(run)
        per_thread = -(-keys // max(run.threads, 1))
        return ["db_bench", f"--db={run.work / 'db'}", f"--threads={run.threads}",
                "--benchmarks=fillrandom,readrandom", f"--num={keys}",
                f"--writes={per_thread}", f"--reads={per_thread}", f"--seed={seed}",
                "--compression_type=none", "--disable_wal=1",
                "--value_size_distribution_type=uniform", "--value_size_min=16",
                "--value_size_max=1024", "--write_buffer_size=16777216",
                "--cache_size=268435456", "--statistics=0", "--histogram=0"]

    def check(self, run: Invocation, stdout: str, drive: Drive | None) -> str | None:
        keys, _ = params(run)
        if keys <= 0:
            return "inputs/params.json is missing or unreadable"
        per_thread = -(-keys // max(run.threads, 1))
        total = per_thread * run.threads
        found = None
        for bench in ("fillrandom", "readrandom"):
            line = re.search(rf"^{bench}\s*:.*?(\d+) operations;(.*)$", stdout, re.M)
            if line is None:
                return differs(f"{bench} line", f"'{bench} : ... operations;'",
                               short(stdout[-150:]) or "(no output)")
            if int(line.group(1)) != total:
                return differs(f"{bench} operations", total, line.group(1))
            found = re.search(r"\((\d+) of (\d+) found\)", line.group(2))
        if found is None:
            return "readrandom: no '(X of Y found)'"
        hits, reads = int(found.group(1)), int(found.group(2))
        if reads != per_thread:
            return differs("readrandom reads per thread", per_thread, reads)
        p = 1 - math.exp(total * math.log1p(-1 / keys))
        sd = math.sqrt(reads * p * (1 - p))
        if abs(hits - reads * p) > 6 * sd + 2:
            return differs("readrandom keys found", f"{reads * p:.0f} +- {6 * sd + 2:.0f}", hits)
        return None


def params(run: Invocation) -> tuple[int, int]:
    """(key space, db_bench seed) from inputs/params.json; (0, 1) when unreadable."""
    try:
        p = json.loads(read_text(run.inputs / "params.json") or "")
        return int(p["keys"]), int(p["seed"])
    except (ValueError, KeyError, TypeError):
        return 0, 1
