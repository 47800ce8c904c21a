"""Results on disk: the run folder's layout, the merged CSV's columns, atomic writes.

A run folder (results/<UTC time>-<host>/) holds:
  raw/<unit>.json         the driver's JSON of one process (Google Benchmark format)
  raw/<unit>.failed.json  a unit that crashed, hung or exited non-zero: status, stderr, command
  results.csv             one row per case x repetition (COLUMNS below), merged from raw/
  machine.json            machine and build facts, the command, the profile
  command.txt             the exact command that made the run
Files are written to a temporary name and renamed, so a reader sees a whole file or none.
"""

import csv
import json
import os
import socket
import tempfile
from datetime import datetime, timezone

# The merged CSV, one row per case x repetition. Documented in results/README.md.
COLUMNS = [
    "workload", "allocator", "threads", "repetition", "status", "reason",
    "ns_per_op", "items_per_second", "bytes_per_second",
    "latency_p50_ns", "latency_p99_ns", "latency_p999_ns", "latency_max_ns",
    "peak_rss_bytes", "rss_at_start_bytes", "page_faults",
    "overhead_ratio", "bytes_requested_at_peak", "bytes_reserved_at_peak",
    "destroy_ns_per_tree", "active_malloc", "unit",
]
METRICS = COLUMNS[6:20]


def new_run_name(suffix=""):
    """A run folder's name: <UTC time>-<short host name><suffix>, as results/ lists them."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{socket.gethostname().split('.')[0]}{suffix}"


def write_atomically(path, text):
    """Writes text to path through a temporary file in the same folder and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def write_csv(path, rows):
    import io
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS})
    write_atomically(path, buffer.getvalue())


class ResultsError(Exception):
    """A results folder or file that cannot be read: the message names the file and the fault."""


def read_csv(path):
    """Rows of a results.csv with metrics as floats (None where empty)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ("workload", "allocator", "threads", "status") if c not in (reader.fieldnames or [])]
            if missing:
                raise ResultsError(f"{path}: not a results.csv (no column {', '.join(missing)})")
            rows = []
            for line, row in enumerate(reader, start=2):
                try:
                    row["threads"] = int(row["threads"])
                    row["repetition"] = int(row.get("repetition") or 1)
                    for m in METRICS:
                        value = row.get(m)
                        row[m] = float(value) if value not in (None, "") else None
                except ValueError as e:
                    raise ResultsError(f"{path}, line {line}: {e}") from None
                rows.append(row)
            return rows
    except OSError as e:
        raise ResultsError(f"{path}: {e.strerror}") from None
    except csv.Error as e:
        raise ResultsError(f"{path}: {e}") from None


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise ResultsError(f"{path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}: not valid JSON ({e})") from None


def split_name(name):
    """'small/malloc/threads:2' -> ('small', 'malloc', 2); None for other names."""
    parts = name.split("/")
    if len(parts) != 3 or not parts[2].startswith("threads:"):
        return None
    try:
        return parts[0], parts[1], int(parts[2][len("threads:"):])
    except ValueError:
        return None


def rows_from_driver_json(doc, repetition, unit):
    """One row per benchmark of a driver JSON (aggregates skipped: the CSV holds repetitions)."""
    rows = []
    active = doc.get("context", {}).get("active_malloc", "")
    for b in doc.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        parsed = split_name(b.get("name", ""))
        if parsed is None:
            continue
        workload, allocator, threads = parsed
        row = {"workload": workload, "allocator": allocator, "threads": threads,
               "repetition": repetition, "unit": unit, "active_malloc": active}
        if b.get("error_occurred"):
            message = b.get("error_message", "")
            row["status"] = "skipped" if message.startswith("skipped: ") else "failed"
            row["reason"] = message[len("skipped: "):] if message.startswith("skipped: ") else message
        else:
            row["status"] = "ok"
            row["reason"] = ""
            for m in METRICS:
                if m in b:
                    row[m] = b[m]
        rows.append(row)
    return rows
