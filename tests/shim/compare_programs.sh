#!/usr/bin/env bash
# Runs a few real programs with and without LD_PRELOAD=SHIM and compares what they print:
# sort (external merge with temporary files and 2 threads), awk and python3 (hash tables and
# lists, printing checksums), sqlite3 (if installed). Any difference, a non-zero exit or an
# "alloclab:" line on stderr under the shim fails the test.
#   compare_programs.sh SHIM WORK_DIR
set -u
shim=$1
work=$2
[ -f "$shim" ] || { echo "compare_programs: no shim at '$shim'" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work" || exit 1
cd "$work" || exit 1

# 200000 pseudo-random lines (an LCG, so the input is the same every run).
awk 'BEGIN { x = 12345; for (i = 0; i < 200000; i++) { x = (x * 1103515245 + 12345) % 2147483648;
       printf "%d %s%d\n", x % 100000, substr("kqzjxvbwmf", x % 10 + 1, 3), i } }' > input.txt || exit 1

python=$(command -v /usr/bin/python3 python3 | head -n 1)
failures=0
ran=0

# compare NAME COMMAND...: the command's stdout and exit code, plain and preloaded.
compare() {
  local name=$1
  shift
  "$@" > "$name.plain" 2> "$name.plain.err"
  local plain_rc=$?
  LD_PRELOAD=$shim "$@" > "$name.shim" 2> "$name.shim.err"
  local shim_rc=$?
  ran=$((ran + 1))
  if [ $plain_rc -ne 0 ]; then
    echo "FAIL $name: exit $plain_rc without the shim (a broken test command)"; cat "$name.plain.err"
    failures=$((failures + 1))
  elif [ $shim_rc -ne 0 ]; then
    echo "FAIL $name: exit $shim_rc under the shim"; cat "$name.shim.err"
    failures=$((failures + 1))
  elif grep -q '^alloclab' "$name.shim.err"; then
    echo "FAIL $name: the shim complained"; cat "$name.shim.err"
    failures=$((failures + 1))
  elif ! cmp -s "$name.plain" "$name.shim"; then
    echo "FAIL $name: output differs under the shim"; diff "$name.plain" "$name.shim" | head -n 10
    failures=$((failures + 1))
  else
    echo "ok   $name ($(wc -c < "$name.shim") bytes of output)"
  fi
}

compare sort_external sh -c 'sort -S 1M --parallel=2 -T . -k1,1n -k2 input.txt | cksum'
compare sort_unique sh -c 'sort -u -r input.txt | cksum'
compare awk_tables awk '{ count[$1]++; words[$2] = words[$2] $1 "," }
  END { n = 0; for (k in count) n += count[k] * (k % 7); m = 0; for (w in words) m += length(words[w]);
        print n, m, length(count) }' input.txt
if [ -n "$python" ]; then
  compare python_churn "$python" -c '
import hashlib, random
random.seed(5)
d = {}
for i in range(150000):
    k = str(random.randrange(60000))
    if i % 3 == 0:
        d.pop(k, None)
    else:
        d[k] = [i] * (i % 9) + [k * (i % 5)]
rows = sorted((k, len(v), sum(x for x in v if isinstance(x, int))) for k, v in d.items())
big = [bytes(random.randrange(256) for _ in range(100)) * 50 for _ in range(300)]
print(len(d), hashlib.sha256(repr(rows).encode()).hexdigest(), sum(map(len, big)))
'
else
  echo "skip python_churn: no python3"
fi
if command -v sqlite3 > /dev/null; then
  compare sqlite_groups sqlite3 :memory: '
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
SELECT i % 97, count(*), sum(i), group_concat(substr(hex(i * 7919), 1, 2), "") IS NOT NULL FROM n
GROUP BY i % 97 ORDER BY 2 DESC, 1 LIMIT 20;
CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
INSERT INTO t SELECT i, printf("%08d-%s", i * 31 % 50000, hex(i)) FROM n;
CREATE INDEX tv ON t(v);
SELECT count(*), min(v), max(v), sum(length(v)) FROM t;
DELETE FROM t WHERE k % 3 = 0;
VACUUM;
SELECT count(*), sum(k) FROM t;'
else
  echo "skip sqlite_groups: sqlite3 is not installed"
fi

echo "$ran programs compared under $(basename "$shim"), $failures failed"
[ $failures -eq 0 ]
