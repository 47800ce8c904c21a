#!/bin/bash
# tests/trace/hostile_recorder/redis_check.sh — redis-server under liballoclab_trace.so (and
# redis-benchmark, also traced) on 127.0.0.1, bounded (-n ${N:-20000}); then SHUTDOWN NOSAVE so
# the server exits cleanly and writes its end record; validates every trace with
# `alloclab-trace info`. Usage: RECORDER=... TOOL=... redis_check.sh [PORT]
set -u
: "${RECORDER:?}" "${TOOL:?}"
port=${1:-16379}
work=${WORK:-/tmp/hostrec}/redis; rm -rf "$work"; mkdir -p "$work/traces" "$work/data"
export ALLOCLAB_TRACE_DIR=$work/traces
LD_PRELOAD=$RECORDER redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work/data" --daemonize no --io-threads 2 >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.2; done
LD_PRELOAD=$RECORDER redis-benchmark -p "$port" -n "${N:-20000}" -q -t set,get,lpush,lpop,sadd,hset,mset -d 200 \
  >"$work/bench.out" 2>&1; echo "benchmark rc=$?"
redis-cli -p "$port" dbsize; redis-cli -p "$port" info memory | grep used_memory_human
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
wait "$server"; echo "server rc=$?"
cat "$work/bench.out" | tr '\r' '\n' | grep -v '^$' | tail -8
grep -i alloclab "$work/server.log"
for f in "$work"/traces/*.trace; do
  "$TOOL" info "$f" | grep -E "program|state|total|dropped|untracked|bytes/event|threads:" | tr -s ' ' | paste -sd' '
done
