"""z3: the Z3 SMT solver (Debian package z3) on a generated SMT-LIB2 script.

Workload: generated here. Many independent planted-solution problems over 16-bit
bitvectors, each in its own (push)/(pop) scope: a hidden seeded assignment of the variables,
then equations and unsigned bounds of the form (op1 (op2 xa xb) xc) = v or <= v whose
right-hand sides are computed from the hidden assignment, so every scope is satisfiable.
Each scope asks (check-sat) and (get-value ...); the model Z3 returns is checked against
every constraint here (not against the hidden assignment: other models are fine).
Z3 bit-blasts each scope to SAT: term DAGs, rewriter caches, clause databases and learnt
clauses are allocated and freed per scope. Difficulty: about 10 ms per scope on one core,
steady across seeds (calibrated on seeds 1-6; 16-bit words keep bvmul easy); the number of
scopes is proportional to the scale.
Stresses: a C++ program's many small node allocations, hash tables that grow and shrink,
frees at every pop. Does not test: threads (one solver thread), arithmetic theories (linear
integer problems of a similar size were far too uneven in difficulty to calibrate).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alloclab.programs.catalog import Drive, Invocation, Program
from alloclab.programs.suite._common import differs, read_text, sized

WIDTH, VARS, CONSTRAINTS = 16, 10, 12
MASK = (1 << WIDTH) - 1
OPS: dict[str, Callable[[int, int], int]] = {
    "bvadd": lambda a, b: (a + b) & MASK, "bvsub": lambda a, b: (a - b) & MASK,
    "bvmul": lambda a, b: (a * b) & MASK, "bvxor": lambda a, b: a ^ b,
    "bvand": lambda a, b: a & b, "bvor": lambda a, b: a | b,
}
# One constraint: [relation, op1, op2, a, b, c, v] meaning (relation (op1 (op2 xa xb) xc) v).
Constraint = list[Any]


class Z3(Program):
    name = "z3"
    description = "z3: many planted-solution bitvector problems in push/pop scopes"
    origin = "Debian z3; SMT-LIB2 problems generated here (planted solutions)"
    not_tested = "threads, arithmetic theories, unsat proofs"
    packages = ("z3",)
    executables = ("z3",)

    def prepare(self, inputs: Path, scale: float, seed: int) -> None:
        rng = random.Random(seed)
        scopes: list[list[Constraint]] = []
        smt = ["(set-logic QF_BV)", "(set-option :produce-models true)"]
        for _ in range(sized(200, scale)):
            hidden = [rng.randrange(1 << WIDTH) for _ in range(VARS)]
            constraints: list[Constraint] = []
            for j in range(CONSTRAINTS):
                a, b, c = rng.sample(range(VARS), 3)
                op1, op2 = rng.choice(sorted(OPS)), rng.choice(sorted(OPS))
                value = OPS[op1](OPS[op2](hidden[a], hidden[b]), hidden[c])
                if j % 4 == 3:  # a bound that the hidden assignment meets with some slack
                    constraints.append(["bvule", op1, op2, a, b, c,
                                        min(MASK, value + rng.randrange(1 << (WIDTH - 4)))])
                else:
                    constraints.append(["=", op1, op2, a, b, c, value])
            scopes.append(constraints)
            smt.append("(push 1)")
            smt += [f"(declare-const x{i} (_ BitVec {WIDTH}))" for i in range(VARS)]
            smt += [f"(assert ({r} ({o1} ({o2} x{a} x{b}) x{c}) (_ bv{v} {WIDTH})))"
                    for r, o1, o2, a, b, c, v in constraints]
            smt += ["(check-sat)", "(get-value (" + " ".join(f"x{i}" for i in range(VARS)) + "))",
                    "(pop 1)"]
        (inputs / "problem.smt2").write_text("\n".join(smt) + "\n")
        (inputs / "scopes.json").write_text(json.dumps(scopes, separators=(",", ":")) + "\n")

    def command(self, run: Invocation) -> list[str]:
        return ["z3", "-smt2", str(run.inputs / "problem.smt2")]

    def check(self, run: Invocation, stdout: str, drive: Drive | None) -> str | None:
        try:
            scopes = json.loads(read_text(run.inputs / "scopes.json") or "")
        except ValueError:
            return "inputs/scopes.json is missing or unreadable"
        if not isinstance(scopes, list):
            return "inputs/scopes.json is not a list of scopes"
        answers = answers_of(stdout)
        if len(answers) != len(scopes):
            return differs("scopes answered", len(scopes), len(answers))
        try:
            return first_broken(scopes, answers)
        except (ValueError, TypeError, KeyError) as e:
            return f"inputs/scopes.json is malformed ({e!r:.100})"


def first_broken(scopes: list[list[Constraint]],
                 answers: list[tuple[str, dict[str, int]]]) -> str | None:
    """The first scope whose answer is not sat with a model meeting every constraint."""
    for n, (constraints, (verdict, model)) in enumerate(zip(scopes, answers)):
        if verdict != "sat":
            return differs(f"scope {n + 1}", "sat", verdict)
        if set(model) != {f"x{i}" for i in range(VARS)}:
            return differs(f"scope {n + 1} values", f"x0..x{VARS - 1}", " ".join(sorted(model)))
        for r, o1, o2, a, b, c, v in constraints:
            got = OPS[o1](OPS[o2](model[f"x{a}"], model[f"x{b}"]), model[f"x{c}"])
            if not (got == v if r == "=" else got <= v):
                return differs(f"scope {n + 1}: ({r} ({o1} ({o2} x{a} x{b}) x{c}) {v})",
                               "true", f"left side {got}")
    return None


def answers_of(stdout: str) -> list[tuple[str, dict[str, int]]]:
    """Z3's answers in order: (verdict, model from get-value); a scope whose values are
    missing or unreadable gets an empty model."""
    tokens = re.findall(r"\(|\)|[^\s()]+", stdout)
    answers: list[tuple[str, dict[str, int]]] = []
    i = 0
    while i < len(tokens):
        if tokens[i] in ("sat", "unsat", "unknown"):
            answers.append((tokens[i], {}))
            i += 1
        elif tokens[i] == "(" and answers:
            depth, j = 0, i
            while j < len(tokens):  # the whole list, however deep
                depth += {"(": 1, ")": -1}.get(tokens[j], 0)
                j += 1
                if depth == 0:
                    break
            answers[-1][1].update(pairs(tokens[i:j]))
            i = j
        else:
            answers.append((f"unexpected output {tokens[i]!r}", {}))
            i += 1
    return answers


def pairs(tokens: list[str]) -> dict[str, int]:
    """((x0 #x00ff) (x1 #b0101) (x2 (_ bv7 16)) ...) as {name: value}."""
    text = " ".join(tokens)
    model: dict[str, int] = {}
    for name, hexa, binary, dec in re.findall(
            r"\( (x\d+) (?:#x([0-9a-fA-F]+)|#b([01]+)|\( _ bv(\d+) \d+ \)) \)", text):
        model[name] = int(hexa, 16) if hexa else int(binary, 2) if binary else int(dec)
    return model
