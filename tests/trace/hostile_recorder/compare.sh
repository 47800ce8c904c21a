#!/bin/bash
# tests/trace/hostile_recorder/compare.sh — runs one command untraced and then under
# liballoclab_trace.so, compares stdout, stderr and the exit status, and validates every trace
# the traced run left with `alloclab-trace info --json`. A hostile check of the recorder's
# promise that a traced program behaves as untraced and leaves readable traces.
#
# Usage: RECORDER=path/liballoclab_trace.so TOOL=path/alloclab-trace compare.sh NAME CMD [ARGS...]
#   Runs CMD in the current directory twice; writes into ${WORK:-/tmp/hostrec}/NAME/.
#   Set FILTER to a sed expression applied to both outputs before comparing (run-specific
#   text: pids, times). Set NOSTDIN=1 to give the command /dev/null as stdin.
# Prints one line per finding; exit 0 when all matched and every trace validated, 1 otherwise.
set -u
name=$1; shift
: "${RECORDER:?set RECORDER to liballoclab_trace.so}" "${TOOL:?set TOOL to alloclab-trace}"
work=${WORK:-/tmp/hostrec}/$name
rm -rf "$work"; mkdir -p "$work/traces"
filter=${FILTER:-}
run() {  # $1 = out prefix; rest = env assignments then the command
  local out=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  env "$@" >"$work/$out.stdout" 2>"$work/$out.stderr" </dev/null
  echo $? >"$work/$out.rc"
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc >"$work/$out.seconds"
}
run plain -u LD_PRELOAD "$@"
run traced ALLOCLAB_TRACE_DIR="$work/traces" LD_PRELOAD="$RECORDER" "$@"
status=0
for s in stdout stderr; do
  if [ -n "$filter" ]; then
    sed -E "$filter" "$work/plain.$s" >"$work/plain.$s.f"; sed -E "$filter" "$work/traced.$s" >"$work/traced.$s.f"
  else
    cp "$work/plain.$s" "$work/plain.$s.f"; cp "$work/traced.$s" "$work/traced.$s.f"
  fi
  if ! cmp -s "$work/plain.$s.f" "$work/traced.$s.f"; then
    echo "$name: $s differs (diff $work/plain.$s.f $work/traced.$s.f)"; status=1
  fi
done
if [ "$(cat "$work/plain.rc")" != "$(cat "$work/traced.rc")" ]; then
  echo "$name: exit status $(cat "$work/plain.rc") untraced, $(cat "$work/traced.rc") traced"; status=1
fi
n=0; events=0; bytes=0
for f in "$work"/traces/*.trace; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  if ! "$TOOL" info "$f" --json >"$f.json" 2>"$f.err"; then
    echo "$name: $(basename "$f") rejected: $(cat "$f.err")"; status=1; continue
  fi
  read -r e tr dr <<<"$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["events"]["total"], d["truncated"], d["dropped_events"])' "$f.json" 2>/dev/null || echo "0 ? ?")"
  events=$((events + e))
  bytes=$((bytes + $(stat -c %s "$f")))
  [ "$tr" = "True" ] && echo "$name: $(basename "$f") truncated (no end record)"
  [ "$dr" != "0" ] && echo "$name: $(basename "$f") dropped_events=$dr"
done
bpe=$( [ "$events" -gt 0 ] && echo "scale=2; $bytes / $events" | bc || echo n/a)
echo "$name: rc=$(cat "$work/traced.rc") traces=$n events=$events bytes=$bytes bytes/event=$bpe time untraced=$(cat "$work/plain.seconds")s traced=$(cat "$work/traced.seconds")s"
exit $status
