"""alloclab traces: record a program's allocations, and the framing facts of trace files.

  python3 -m alloclab.traces record [--library SO] [--linger S] OUT.trace -- CMD [ARG...]
        records CMD and every process it starts (alloclab.traces.record says how); exit: CMD's.
        OUT must be new: an OUT, or an OUT-<pid>.trace beside it, left by an earlier recording
        is refused (valid: a new OUT, or remove the earlier files); `record --help` says more
  python3 -m alloclab.traces scan FILE [FILE...] [--json]
        each file's program, pid, threads, events, bytes per event, truncated or not, from its
        framing alone (`alloclab-trace info FILE` decodes and checks every event)

`./run_all.sh trace ...` runs these after building the recorder; `./run_all.sh trace info` and
`trace distill` run the C++ tool `alloclab-trace`. Bad input: one line, exit 2, nothing written.
"""

from __future__ import annotations

import json
import sys

from alloclab.processes import die_with_launcher
from alloclab.traces import record
from alloclab.traces.scan import TraceError, scan


def command_scan(argv: list[str]) -> int:
    as_json = "--json" in argv
    files = [a for a in argv if a != "--json"]
    unknown = [a for a in files if a.startswith("--")]
    if unknown or not files:
        print(f"trace scan: {'unknown option ' + repr(unknown[0]) if unknown else 'no file given'} "
              "(valid: scan FILE [FILE...] [--json])", file=sys.stderr)
        return 2
    try:
        facts = [scan(f) for f in files]
    except TraceError as e:
        print(f"trace scan: {e}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps([{"file": str(f.path), **f.to_json()} for f in facts], indent=2))
        return 0
    for f in facts:
        per_event = f"{f.bytes_per_event:.2f} bytes/event" if f.bytes_per_event is not None else "no events"
        print(f"{f.path}: {f.program_name} (pid {f.pid}), {f.threads} thread{'s' if f.threads != 1 else ''}, "
              f"{f.events:,} events, {f.file_bytes:,} bytes ({per_event})"
              + (", truncated" if f.truncated else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    die_with_launcher()  # started by run_all.sh: dies with it
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    if argv and argv[0] == "record":
        return record.main(argv[1:])
    if argv and argv[0] == "scan":
        return command_scan(argv[1:])
    print(f"trace: unknown command {argv[0]!r} (valid: record, scan)" if argv else
          "trace: no command (valid: record, scan)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
