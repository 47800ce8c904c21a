#!/bin/bash
# tests/trace/hostile_recorder/kill_random.sh — SIGKILL (or another signal) at random moments:
# runs CMD under liballoclab_trace.so ROUNDS times, kills it after a random 0-MAXMS ms, and
# checks that every trace left is read back by `alloclab-trace info` (a truncated prefix).
# Usage: RECORDER=... TOOL=... kill_random.sh ROUNDS MAXMS SIGNAL CMD [ARGS...]
set -u
: "${RECORDER:?}" "${TOOL:?}"
rounds=$1 maxms=$2 sig=$3; shift 3
work=${WORK:-/tmp/hostrec}/kill_random; rm -rf "$work"; mkdir -p "$work"
bad=0 files=0 truncated=0 empty=0
for r in $(seq "$rounds"); do
  d=$work/$r; mkdir -p "$d"
  ALLOCLAB_TRACE_DIR=$d LD_PRELOAD=$RECORDER "$@" >/dev/null 2>"$d/stderr" &
  pid=$!
  sleep "$(awk -v m="$maxms" -v s="$RANDOM" 'BEGIN{srand(s); printf "%.3f", rand()*m/1000}')"
  kill -s "$sig" "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  for f in "$d"/*.trace; do
    [ -e "$f" ] || continue
    files=$((files + 1))
    if ! out=$("$TOOL" info "$f" --json 2>&1); then
      echo "round $r: $(basename "$f") rejected: $out"; bad=$((bad + 1)); continue
    fi
    read -r t e <<<"$(/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(int(d["truncated"]), d["events"]["total"])' <<<"$out")"
    truncated=$((truncated + t)); [ "$e" = 0 ] && empty=$((empty + 1))
  done
done
echo "rounds=$rounds files=$files rejected=$bad truncated=$truncated with_no_events=$empty"
[ "$bad" = 0 ]
