"""redis: the Redis server (Debian package redis-server 7.0) loaded by redis-benchmark
(Debian package redis-tools) on loopback.

Workload: redis-benchmark, Redis's own load generator, in two passes over random keys
(-r): small values (32 B) and large ones (4 KiB), each running SET, GET, LPUSH, LPOP, SADD,
HSET and MSET with 50 connections. Before the passes the drive writes a seeded dataset of
values from 16 B to 64 KiB (log-uniform sizes) with a small RESP client of its own, and reads
it back after them. The server runs as `redis-server` with no persistence, one I/O thread, on
127.0.0.1 only; the drive ends it with SHUTDOWN NOSAVE.
Stresses: a server's steady churn of small objects (keys, sds strings, dict entries, list
nodes, client buffers) and of 4 KiB and larger values, with memory growing as random keys
accumulate. Debian links redis-server with libjemalloc: without LD_PRELOAD it runs on
jemalloc 5.3, not glibc's malloc. A preloaded allocator takes malloc/free/realloc/calloc
and malloc_usable_size, which it must export (checked: under a preloaded mimalloc, INFO's
allocator_allocated, jemalloc's own count, stays near 28 KB); jemalloc's mallctl and nallocx
(statistics and size-class queries) still answer from libjemalloc.
Does not test: persistence (RDB/AOF, fork), replication, I/O threads, eviction.

requests_per_s: the two passes' requests over the seconds they took, the seconds of each
test being its requests / its reported rate (so a slow test weighs as much as it took).
Check: the dataset read back has the SHA-256 prepare() computed, and redis-benchmark
reported a rate for every test of both passes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import socket
import subprocess
import time
from pathlib import Path

from alloclab.programs.catalog import Drive, Invocation, Program
from alloclab.programs.suite._common import DIE_WITH_RUNNER, clean_env, differs, read_text, sized

TESTS = ("SET", "GET", "LPUSH", "LPOP", "SADD", "HSET", "MSET (10 keys)")
PASSES = ((32, 15_000), (4096, 4_000))   # (value bytes, requests per test) at scale 1
MAX_REPLY = 1 << 20                      # longest reply line or value the client accepts
BATCH = 64                               # pipelined commands per round trip


class Redis(Program):
    name = "redis"
    description = "redis-server under redis-benchmark (32 B and 4 KiB values) + dataset check"
    origin = "Debian redis-server/redis-tools 7.0; redis-benchmark's standard tests"
    not_tested = "persistence, replication, I/O threads, eviction"
    packages = ("redis-server", "redis-tools")
    executables = ("redis-server", "redis-benchmark")
    server = True

    def prepare(self, inputs: Path, scale: float, seed: int) -> None:
        keys = sized(600, scale, 4)
        params = {"seed": seed, "keys": keys,
                  "passes": [[size, sized(n, scale, 100)] for size, n in PASSES]}
        (inputs / "params.json").write_text(json.dumps(params) + "\n")
        digest = hashlib.sha256()
        for key, value in dataset(seed, keys):
            digest.update(key + b"\0" + value)
        (inputs / "expected.txt").write_text(f"dataset sha256 {digest.hexdigest()}\n")

    def command(self, run: Invocation) -> list[str]:
        return ["redis-server", "--bind", "127.0.0.1", "--port", str(run.port),
                "--protected-mode", "yes", "--daemonize", "no",
                "--save", "", "--appendonly", "no", "--io-threads", "1",
                "--dir", str(run.work), "--logfile", "", "--loglevel", "warning"]

    def drive(self, run: Invocation, deadline: float) -> Drive:
        try:
            p = json.loads(read_text(run.inputs / "params.json") or "")
            seed, keys, passes = int(p["seed"]), int(p["keys"]), list(p["passes"])
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f"redis: inputs/params.json unreadable ({e})") from e
        client = connect_when_ready(run.port, deadline)
        try:
            return self._load(client, seed, keys, passes, run.port, deadline)
        except OSError as e:
            raise RuntimeError(f"redis: {e}") from e
        finally:
            client.close()

    def _load(self, client: Resp, seed: int, keys: int, passes: list[list[int]], port: int,
              deadline: float) -> Drive:
        """The dataset written, the benchmark passes, the dataset read back, the shutdown."""
        data = dataset(seed, keys)
        for at in range(0, len(data), BATCH):
            replies = client.pipeline([[b"SET", k, v] for k, v in data[at:at + BATCH]],
                                      deadline)
            if any(r != "OK" for r in replies):
                raise RuntimeError(f"redis: SET answered {replies[0]!r}")
        lines, requests, seconds = [], 0, 0.0
        for size, n in passes:
            rates = benchmark(port, int(size), int(n), deadline)
            lines.append(f"pass -d {size}: " + ", ".join(f"{t}={r:.0f}"
                                                          for t, r in rates.items()))
            requests += int(n) * len(rates)
            seconds += sum(int(n) / r for r in rates.values() if r > 0)
        digest = hashlib.sha256()
        for at in range(0, len(data), BATCH):
            chunk = data[at:at + BATCH]
            for (key, _), value in zip(chunk, client.pipeline([[b"GET", k] for k, _ in chunk],
                                                              deadline)):
                digest.update(key + b"\0" + (value if isinstance(value, bytes) else b"?"))
        lines.insert(0, f"dataset sha256 {digest.hexdigest()}")
        client.shutdown(deadline)
        return Drive("\n".join(lines) + "\n", requests / seconds if seconds > 0 else None)

    def check(self, run: Invocation, stdout: str, drive: Drive | None) -> str | None:
        expected = (read_text(run.inputs / "expected.txt") or "").strip()
        if not expected:
            return "inputs/expected.txt is missing"
        if drive is None:
            return "no client output (drive)"
        lines = drive.output.splitlines()
        if not lines or lines[0] != expected:
            return differs("dataset read back", expected, lines[0] if lines else "(nothing)")
        passes = [line for line in lines[1:] if line.startswith("pass ")]
        for line in passes:
            missing = [t for t in TESTS if f"{t}=" not in line]
            if missing:
                return differs(line.split(":")[0] + " tests", ", ".join(TESTS),
                               "no " + ", ".join(missing))
        if len(passes) != len(PASSES):
            return differs("redis-benchmark passes", len(PASSES), len(passes))
        return None


def dataset(seed: int, keys: int) -> list[tuple[bytes, bytes]]:
    """The seeded dataset: keys alloclab:data:<i>, values of 16 B to 64 KiB (log-uniform)."""
    rng = random.Random(seed)
    return [(b"alloclab:data:%d" % i, rng.randbytes(int(2 ** rng.uniform(4, 16))))
            for i in range(keys)]


def benchmark(port: int, size: int, requests: int, deadline: float) -> dict[str, float]:
    """One redis-benchmark pass: {test: requests per second}; RuntimeError if it fails."""
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(requests),
            "-c", "50", "-r", "100000", "-d", str(size), "--csv",
            "-t", "set,get,lpush,lpop,sadd,hset,mset"]
    try:
        p = subprocess.run(DIE_WITH_RUNNER + argv, env=clean_env(), capture_output=True, text=True,
                           errors="replace", stdin=subprocess.DEVNULL,
                           timeout=max(1.0, deadline - time.monotonic()))
    except (OSError, subprocess.SubprocessError) as e:
        raise RuntimeError(f"redis-benchmark -d {size}: {e}") from e
    if p.returncode != 0:
        raise RuntimeError(f"redis-benchmark -d {size} exited {p.returncode}: "
                           f"{(p.stderr or p.stdout)[-200:]}")
    rates: dict[str, float] = {}
    for row in csv.reader(io.StringIO(p.stdout)):
        if len(row) >= 2 and row[0] in TESTS:
            try:
                rates[row[0]] = float(row[1])
            except ValueError:
                pass
    return rates


def connect_when_ready(port: int, deadline: float) -> Resp:
    """A client connected to a server that answered PING, polling until the deadline."""
    last = "no attempt"
    while time.monotonic() < deadline:
        try:
            client = Resp(port, deadline)
        except OSError as e:
            last = str(e)
            time.sleep(0.002)  # the wait is in the run's wall time: poll finely
            continue
        try:
            if client.pipeline([[b"PING"]], deadline) == ["PONG"]:
                return client
            last = "PING not answered PONG"
        except (OSError, RuntimeError) as e:
            last = str(e)
        client.close()
        time.sleep(0.002)
    raise RuntimeError(f"redis: no PONG from 127.0.0.1:{port} before the deadline ({last})")


Reply = str | int | bytes | None | list["Reply"]


class Resp:
    """A minimal RESP2 client: pipelined commands, bounded reads, every wait timed out."""

    def __init__(self, port: int, deadline: float) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=max(0.1, min(5.0, deadline - time.monotonic())))
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def pipeline(self, commands: list[list[bytes]], deadline: float) -> list[Reply]:
        out = b"".join(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in c)
                       for c in commands)
        self._timeout(deadline)
        self.sock.sendall(out)
        return [self._reply(deadline) for _ in commands]

    def shutdown(self, deadline: float) -> None:
        """SHUTDOWN NOSAVE: the server exits, so the answer is usually the closed socket."""
        self._timeout(deadline)
        self.sock.sendall(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
        try:
            reply = self._reply(deadline)
        except (OSError, RuntimeError):
            return
        raise RuntimeError(f"redis: SHUTDOWN NOSAVE answered {reply!r}")

    def _timeout(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError("redis: deadline passed")
        self.sock.settimeout(left)

    def _fill(self, deadline: float) -> None:
        self._timeout(deadline)
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise RuntimeError("redis: connection closed")
        self.buf += chunk

    def _line(self, deadline: float) -> bytes:
        while b"\r\n" not in self.buf:
            if len(self.buf) > MAX_REPLY:
                raise RuntimeError("redis: reply line too long")
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self, deadline: float) -> Reply:
        line = self._line(deadline)
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode("utf-8", "replace")
        if kind == b"-":
            raise RuntimeError(f"redis: error reply {rest[:100]!r}")
        if kind == b":":
            return number(rest)
        if kind == b"$":
            n = number(rest)
            if n < 0:
                return None
            if n > MAX_REPLY:
                raise RuntimeError(f"redis: bulk reply of {n} bytes")
            while len(self.buf) < n + 2:
                self._fill(deadline)
            value, self.buf = self.buf[:n], self.buf[n + 2:]
            return value
        if kind == b"*":
            n = number(rest)
            return None if n < 0 else [self._reply(deadline) for _ in range(min(n, MAX_REPLY))]
        raise RuntimeError(f"redis: unreadable reply {line[:40]!r}")


def number(text: bytes) -> int:
    try:
        return int(text)
    except ValueError:
        raise RuntimeError(f"redis: not a number {text[:40]!r}") from None
