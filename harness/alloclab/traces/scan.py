"""The framing of one trace file (workloads/TRACE_FORMAT.md): its header and metadata, each
chunk's header, the end record. Events are not decoded and chunk checksums are not checked
(payloads are skipped with a seek, so a 1 GB trace scans in milliseconds): that is the C++
reader's job (`alloclab-trace info`). What a scan gives is what the Python tools need before a
replay: the program and pid, the thread count a replay runs at, the number of events, the bytes
per event, and whether the trace is truncated.

A file that is not a trace at all (wrong magic, a newer version, a broken header or record
framing, an end record that disagrees with the chunks) raises TraceError with one line naming
the file and the problem, as the C++ reader words it.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"ALCTRACE"
VERSION = 1
CHUNK_TAG = ord("C")
END_TAG = ord("E")
MAX_VARINT_BYTES = 10
# Longest record header: a tag, four varints and a u32 (chunk); a tag, six varints and a u32 (end).
MAX_RECORD_HEAD = 1 + 6 * MAX_VARINT_BYTES + 4
MAX_METADATA = 1 << 24  # a header's JSON beyond 16 MiB is not a recorder's


class TraceError(Exception):
    """A file that is not a readable trace: the message is 'FILE: problem', one line."""


@dataclass(frozen=True)
class TraceFacts:
    path: Path
    file_bytes: int
    metadata: dict[str, Any]
    events: int            # sum of the complete chunks' event counts
    chunks: int
    threads: int           # the end record's count; truncated: highest thread index seen + 1
    truncated: bool        # no end record (the process was killed or crashed): a prefix
    torn_tail: bool = False  # a last chunk cut short by the end of the file (dropped by readers)
    dropped_events: int = 0  # from the end record
    untracked_frees: int = 0  # from the end record
    thread_events: dict[int, int] = field(default_factory=dict)  # thread index -> events

    @property
    def program(self) -> str:
        """The process's argv[0] as it saw it, or '' when the metadata does not say."""
        value = self.metadata.get("program")
        return value if isinstance(value, str) else ""

    @property
    def program_name(self) -> str:
        return os.path.basename(self.program) or "?"

    def _int(self, key: str) -> int | None:
        value = self.metadata.get(key)
        return value if type(value) is int and value >= 0 else None

    @property
    def pid(self) -> int | None:
        return self._int("pid")

    @property
    def parent_pid(self) -> int | None:
        return self._int("parent_pid")

    @property
    def forked(self) -> bool:
        """A child of fork() without exec (its trace starts mid-way through its parent's life)."""
        return "forked_from_stamp" in self.metadata

    @property
    def started_unix_ns(self) -> int:
        return self._int("started_unix_ns") or 0

    @property
    def bytes_per_event(self) -> float | None:
        return self.file_bytes / self.events if self.events else None

    def to_json(self) -> dict[str, Any]:
        """What an index (traces/index.json) and `--json` say of a file."""
        per_event = self.bytes_per_event
        return {"pid": self.pid, "parent_pid": self.parent_pid, "program": self.program,
                "args": self.metadata.get("args") if isinstance(self.metadata.get("args"), list) else [],
                "forked": self.forked, "events": self.events, "threads": self.threads, "bytes": self.file_bytes,
                "bytes_per_event": round(per_event, 3) if per_event is not None else None,
                "truncated": self.truncated, "dropped_events": self.dropped_events}


def _varint(data: bytes, at: int) -> tuple[int, int] | None:
    """(value, next offset) of the LEB128 varint at data[at:], or None when it is cut short or
    longer than 64 bits."""
    value = 0
    for i in range(MAX_VARINT_BYTES):
        if at + i >= len(data):
            return None
        byte = data[at + i]
        bits = byte & 0x7F
        if i == 9 and bits > 1:
            return None
        value |= bits << (7 * i)
        if not byte & 0x80:
            return value, at + i + 1
    return None


def checksum(data: bytes) -> int:
    """FNV-1a, 32 bits: the format's chunk and end-record checksum."""
    h = 2166136261
    for byte in data:
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)


def scan(path: str | Path) -> TraceFacts:
    """The facts of one trace file; TraceError naming the file and the problem."""
    path = Path(path)
    name = str(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            return _scan(f, size, path, name)
    except IsADirectoryError:
        raise TraceError(f"{name}: is a folder, not a trace file") from None
    except OSError as e:
        raise TraceError(f"{name}: {e.strerror or 'cannot be read'}") from None


def _scan(f: BinaryIO, size: int, path: Path, name: str) -> TraceFacts:
    head = f.read(12 + MAX_VARINT_BYTES)
    if len(head) < 8 or head[:8] != MAGIC:
        raise TraceError(f"{name}: not an alloclab trace (no ALCTRACE magic)")
    if len(head) < 12:
        raise TraceError(f"{name}: truncated in its header")
    version, flags = struct.unpack_from("<HH", head, 8)
    if version > VERSION:
        raise TraceError(f"{name}: format version {version}; this reader reads {VERSION}")
    if version == 0 or flags != 0:
        raise TraceError(f"{name}: corrupt header (version {version}, flags {flags})")
    got = _varint(head, 12)
    if got is None:
        raise TraceError(f"{name}: truncated in its header")
    metadata_bytes, offset = got
    if metadata_bytes > MAX_METADATA or offset + metadata_bytes > size:
        raise TraceError(f"{name}: truncated in its header (metadata of {metadata_bytes} bytes)")
    try:
        metadata = json.loads(_read_at(f, offset, metadata_bytes).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise TraceError(f"{name}: corrupt header (the metadata is not JSON)") from None
    if not isinstance(metadata, dict):
        raise TraceError(f"{name}: corrupt header (the metadata is not a JSON object)")
    offset += metadata_bytes

    events = chunks = 0
    per_thread: dict[int, int] = {}
    end: tuple[int, ...] | None = None
    torn = False
    while offset < size:
        record = _read_at(f, offset, MAX_RECORD_HEAD)
        cut = offset + len(record) >= size  # the record header may run past the end of the file
        tag = record[0]
        if end is not None:
            raise TraceError(f"{name}: corrupt at byte {offset}: bytes after the end record")
        if tag == CHUNK_TAG:
            fields, at = _varints(record, 1, 4)
            if fields is None or at + 4 > len(record):
                if not cut:
                    raise TraceError(f"{name}: corrupt at byte {offset}: a chunk header's varint past 64 bits")
                torn = True  # a chunk header cut by the end of the file: the torn last write
                break
            thread, _base, count, payload = fields
            if offset + at + 4 + payload > size:
                torn = True
                break
            if count == 0:
                raise TraceError(f"{name}: corrupt at byte {offset}: a chunk of no events")
            events += count
            chunks += 1
            per_thread[thread] = per_thread.get(thread, 0) + count
            offset += at + 4 + payload
        elif tag == END_TAG:
            fields, at = _varints(record, 1, 6)
            if fields is None or at + 4 > len(record):
                if not cut:
                    raise TraceError(f"{name}: corrupt at byte {offset}: an end record's varint past 64 bits")
                torn = True
                break
            if struct.unpack_from("<I", record, at)[0] != checksum(record[:at]):
                raise TraceError(f"{name}: corrupt at byte {offset}: the end record's checksum differs")
            end = tuple(fields)
            offset += at + 4
        else:
            raise TraceError(f"{name}: corrupt at byte {offset}: unknown record tag {tag:#04x}")
    if end is not None:
        total, end_chunks, threads, untracked, _end_ns, dropped = end
        if total != events or end_chunks != chunks:
            raise TraceError(f"{name}: corrupt: the end record counts {total} events in {end_chunks} chunks, "
                             f"the file holds {events} in {chunks}")
        return TraceFacts(path, size, metadata, events, chunks, threads, False, False, dropped, untracked,
                          per_thread)
    threads = max(per_thread) + 1 if per_thread else 0
    return TraceFacts(path, size, metadata, events, chunks, threads, True, torn, 0, 0, per_thread)


def _varints(data: bytes, at: int, n: int) -> tuple[list[int] | None, int]:
    out = []
    for _ in range(n):
        got = _varint(data, at)
        if got is None:
            return None, at
        value, at = got
        out.append(value)
    return out, at
