"""Allocation traces on the Python side: recording programs under liballoclab_trace.so, the
files' layout and index, and the framing facts the tools need before they replay a trace.

The format is workloads/TRACE_FORMAT.md; the recorder (harness/src/trace_recorder/), the
reader, `alloclab-trace info|distill` and the replay (`alloclab --workloads trace:FILE`) are
C++. This package reads only the framing (header, metadata, chunk headers, end record): enough
to name a trace's program, pid, threads, events and whether it is truncated, without decoding
an event. `alloclab-trace info` is the reader that checks every event.

Modules:
  scan      the framing of one trace file: TraceFacts, or TraceError naming the file
  layout    a recorder folder (one <pid>.trace per process) moved to its final names; the table
  record    `python3 -m alloclab.traces record OUT -- CMD...`: one program recorded, its
            signals forwarded, nothing left running
  suite     `programs run --record`: each program of the suite recorded into traces/
"""
