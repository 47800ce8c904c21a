"""Object churn for the alloclab suite (program "python"): trees of dicts and tuples built
and dropped, JSON dumps/loads of generated records, a counting dictionary of strings.
usage: python3 churn.py DEPTH ROUNDS RECORDS CHUNK SEED
Prints one line; alloclab/programs/suite/python.py predicts it in closed form."""

import json
import random
import sys
from typing import Any

depth, rounds, records, chunk, seed = map(int, sys.argv[1:6])


def tree(d: int, counter: list[int], as_dict: bool) -> Any:
    """A full binary tree of depth d, nodes numbered in preorder from counter[0]."""
    v = counter[0]
    counter[0] += 1
    if d == 0:
        return {"v": v} if as_dict else (v,)
    left = tree(d - 1, counter, as_dict)
    right = tree(d - 1, counter, as_dict)
    return {"v": v, "l": left, "r": right} if as_dict else (v, left, right)


def walk(t: Any) -> tuple[int, int]:
    """(node count, sum of node values), without recursion."""
    count = total = 0
    stack = [t]
    while stack:
        node = stack.pop()
        count += 1
        if isinstance(node, dict):
            total += node["v"]
            if "l" in node:
                stack += [node["l"], node["r"]]
        else:
            total += node[0]
            stack.extend(node[1:])
    return count, total


# Trees: one long-lived tree while short-lived ones (dicts and tuples in turn) come and go.
long = tree(depth, [0], True)
nodes = vsum = 0
for r in range(rounds):
    c, s = walk(tree(4 + r % (depth - 3), [0], r % 2 == 0))
    nodes, vsum = nodes + c, vsum + s
c, s = walk(long)
nodes, vsum = nodes + c, vsum + s
del long

# Records: ids base..base+records-1 in a seeded order, through JSON in chunks.
base = seed % 1000
order = list(range(base, base + records))
random.Random(seed).shuffle(order)
ids = namelen = pt = tags = 0
for start in range(0, records, chunk):
    batch = [{"id": i, "name": "item%d" % i, "tags": [str(i % 7), str(i % 11)],
              "pt": (i, i * i % 1000)} for i in order[start:start + chunk]]
    for rec in json.loads(json.dumps(batch)):
        ids += rec["id"]
        namelen += len(rec["name"])
        pt += rec["pt"][1]
        tags += int(rec["tags"][0]) + int(rec["tags"][1])

# Strings: a counting dictionary of formatted keys.
counts: dict[str, int] = {}
for i in range(records):
    key = "w%d" % (i * 7919 % 1009)
    counts[key] = counts.get(key, 0) + 1
print(f"nodes={nodes} vsum={vsum} ids={ids} namelen={namelen} pt={pt} tags={tags} "
      f"keys={len(counts)} most={max(counts.values(), default=0)}")
