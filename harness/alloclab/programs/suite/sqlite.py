"""sqlite: the sqlite3 shell (Debian package sqlite3) running a generated SQL workload.

Workload: the classic shape of an application database session: create tables, insert
seeded rows in transactions (multi-row INSERTs, so the parser and the B-tree both work),
build indexes, then joins, GROUP BY, correlated subqueries, string functions, UPDATEs and
DELETEs, and final SELECTs whose exact results this module computes from the same generated
rows. The database is a file in the work folder with a large page cache, so SQLite's page
cache, parser and VDBE allocate through malloc (sqlite3's default memory methods).
Stresses: many small short-lived allocations (parse trees, VDBE programs, records, sorter
buffers) and a few long-lived ones (page cache). Does not test: threads (the shell is single
threaded), durable I/O (synchronous=OFF, in-memory journal), floating point output.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from alloclab.programs.catalog import Drive, Invocation, Program
from alloclab.programs.suite._common import differs, read_text, sized

CITIES = ("amsterdam", "berlin", "cairo", "dakar", "essen", "fes", "gdansk", "hanoi",
          "izmir", "jaipur", "kyoto", "lagos", "madrid", "nairobi", "oslo", "porto")
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo")
ROWS_PER_INSERT = 500


class Sqlite(Program):
    name = "sqlite"
    description = "sqlite3 shell: generated tables, indexes, joins, GROUP BY, updates"
    origin = "Debian sqlite3; workload generated here (an application session's SQL mix)"
    not_tested = "threads, durable I/O (synchronous=OFF), floating-point results"
    packages = ("sqlite3",)
    executables = ("sqlite3",)

    def prepare(self, inputs: Path, scale: float, seed: int) -> None:
        rng = random.Random(seed)
        n_customers = sized(6000, scale, 8)
        n_orders = sized(150_000, scale, 20)
        customers = [(i, f"cust{rng.randrange(10**6):06d}", rng.choice(CITIES))
                     for i in range(1, n_customers + 1)]
        orders = [(i, rng.randrange(1, n_customers + 1), rng.randrange(1, 10_000),
                   " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 6))))
                  for i in range(1, n_orders + 1)]
        sql = [".bail on", ".mode list", ".headers off", ".separator |",
               "PRAGMA synchronous=OFF;", "PRAGMA journal_mode=MEMORY;",
               "PRAGMA cache_size=-131072;",
               "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT);",
               "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER, "
               "amount INTEGER, note TEXT);"]
        tables: tuple[tuple[str, Sequence[tuple[int | str, ...]]], ...] = (
            ("customers", customers), ("orders", orders))
        for table, rows in tables:
            for start in range(0, len(rows), ROWS_PER_INSERT * 20):
                sql.append("BEGIN;")
                for at in range(start, min(start + ROWS_PER_INSERT * 20, len(rows)),
                                ROWS_PER_INSERT):
                    values = ",".join(
                        "(" + ",".join(str(v) if isinstance(v, int) else f"'{v}'" for v in r)
                        + ")" for r in rows[at:at + ROWS_PER_INSERT])
                    sql.append(f"INSERT INTO {table} VALUES {values};")
                sql.append("COMMIT;")
        sql += ["CREATE INDEX orders_customer ON orders(customer_id);",
                "CREATE INDEX orders_amount ON orders(amount);",
                "CREATE INDEX customers_city ON customers(city, name);",
                "BEGIN;",
                "UPDATE orders SET amount = amount * 2 WHERE customer_id % 7 = 3;",
                "DELETE FROM orders WHERE amount % 13 = 0;",
                "UPDATE customers SET city = upper(city) WHERE id % 11 = 0;",
                "UPDATE orders SET note = note || ' ' || substr(note, 1, 4) WHERE id % 5 = 1;",
                "COMMIT;"]
        sql += [q for q, _ in QUERIES]
        (inputs / "workload.sql").write_text("\n".join(sql) + "\n")
        (inputs / "init.sql").write_text("")  # -init: keeps ~/.sqliterc out of the run
        (inputs / "expected.txt").write_text("\n".join(expected_lines(customers, orders)) + "\n")

    def command(self, run: Invocation) -> list[str]:
        return ["sqlite3", "-batch", "-bail", "-init", str(run.inputs / "init.sql"),
                str(run.work / "db.sqlite"), f".read {run.inputs / 'workload.sql'}"]

    def check(self, run: Invocation, stdout: str, drive: Drive | None) -> str | None:
        expected = read_text(run.inputs / "expected.txt")
        if expected is None:
            return "inputs/expected.txt is missing"
        want, got = expected.splitlines(), stdout.splitlines()
        for i, (w, g) in enumerate(zip(want, got)):
            if w != g:
                return differs(f"line {i + 1}", w, g)
        if len(want) != len(got):
            return differs("lines", len(want), len(got))
        return None


QUERIES: tuple[tuple[str, str], ...] = (
    ("SELECT count(*), sum(amount), min(amount), max(amount) FROM orders;", "totals"),
    ("SELECT c.city, count(*), sum(o.amount) FROM orders o JOIN customers c "
     "ON c.id = o.customer_id GROUP BY c.city ORDER BY c.city;", "cities"),
    ("SELECT c.name, c.id, sum(o.amount) AS t FROM orders o JOIN customers c "
     "ON c.id = o.customer_id GROUP BY c.id ORDER BY t DESC, c.id LIMIT 10;", "top"),
    ("SELECT sum(length(replace(upper(note), 'A', 'XY'))), "
     "count(DISTINCT substr(note, 1, 3)) FROM orders;", "strings"),
    ("SELECT count(*) FROM orders o WHERE amount > "
     "(SELECT avg(amount) FROM orders WHERE customer_id = o.customer_id);", "above"),
)


def expected_lines(customers: list[tuple[int, str, str]],
                   orders: list[tuple[int, int, int, str]]) -> list[str]:
    """The final SELECTs' output, computed in Python from the generated rows after the
    same UPDATEs and DELETEs (written independently of SQL)."""
    city = {i: (c.upper() if i % 11 == 0 else c) for i, _, c in customers}
    name = {i: n for i, n, _ in customers}
    rows = []
    for i, cust, amount, note in orders:
        amount = amount * 2 if cust % 7 == 3 else amount
        if amount % 13 == 0:
            continue
        rows.append((cust, amount, note + " " + note[:4] if i % 5 == 1 else note))
    amounts = [a for _, a, _ in rows]
    out = ["memory"]  # PRAGMA journal_mode's answer
    out.append(f"{len(rows)}|{sum(amounts)}|{min(amounts)}|{max(amounts)}" if rows else "0|||")
    count: Counter[str] = Counter()
    total: defaultdict[str, int] = defaultdict(int)
    per_customer: defaultdict[int, list[int]] = defaultdict(list)
    for cust, amount, _ in rows:
        count[city[cust]] += 1
        total[city[cust]] += amount
        per_customer[cust].append(amount)
    out += [f"{c}|{count[c]}|{total[c]}" for c in sorted(count)]
    top = sorted(((sum(a), c) for c, a in per_customer.items()), key=lambda t: (-t[0], t[1]))
    out += [f"{name[c]}|{c}|{t}" for t, c in top[:10]]
    length = sum(len(n.upper().replace("A", "XY")) for _, _, n in rows)
    out.append(f"{length}|{len({n[:3] for _, _, n in rows})}")
    # amount > avg  <=>  amount * count > sum (exact; SQLite's double avg agrees for ints)
    sums = {c: (sum(a), len(a)) for c, a in per_customer.items()}
    out.append(str(sum(1 for c, a, _ in rows if a * sums[c][1] > sums[c][0])))
    return out
