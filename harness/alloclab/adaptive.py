"""Adaptive repetitions: run a case again only while its interval is wider than asked.

Kalibera & Jones ("Rigorous Benchmarking in Reasonable Time", ISMM 2013) spend repetitions at
the level where the variance is, until the result is as precise as wanted. A sweep's level is
the process (one unit, one repetition), so `sweep run --precision P` runs its planned
repetitions, then repeats, one process at a time per unit and in rounds, only the units
holding a case whose precision is worse than P, until none is, the cap of repetitions is
reached or the time budget is spent.

Glossary
  precision  a case's relative half-width (0.03 = +/-3 %) at alloclab.confidence's level:
             alloclab.ranking.precision, on
             the values its comparisons use (through the reference where the cell is paired),
             the figure the report prints per case.
  open case  a case with at least one successful process whose precision is unknown (one
             process) or above the target. A case that never succeeded is not open: running
             it again would not make it succeed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from alloclab.results import ResultRow, group_cases

Key = tuple[str, str, int]
MAX_PRECISION = 1.0  # +/-100 %: every interval that exists is narrower


def parse_precision(text: str) -> float:
    """'3%', '3 %' or '0.03' -> 0.03; ValueError (with the valid forms) otherwise."""
    m = re.fullmatch(r"([0-9]{1,3}(?:\.[0-9]{1,8})?)( ?%)?", text)
    value = float(m.group(1)) / (100 if m.group(2) else 1) if m else math.nan
    if not 0 < value < MAX_PRECISION:
        raise ValueError(f"bad value '{text[:80]}' (valid: a relative half-width above 0 and below 100 %, a plain "
                         "decimal with at most 8 decimals, as 3% or 0.03)")
    return value


def same_precision(a: float | None, b: float | None) -> bool:
    """3% and 0.03 are one target, though 3 / 100 and 0.03 differ in the last bit."""
    return a is None and b is None or a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9)


def case_precisions(rows: Iterable[ResultRow]) -> dict[Key, float | None]:
    """Every case with a successful process -> its precision (None below 2 processes)."""
    # Imported here: scipy's import costs half a second, which a sweep without --precision (or
    # one killed at its start) should not pay.
    from alloclab import ranking

    cases = group_cases(rows)
    paired: dict[tuple[str, int], bool] = {}
    out: dict[Key, float | None] = {}
    for key, case in cases.items():
        if not case.ok_rows:
            continue
        cell = (key[0], key[2])
        if cell not in paired:
            paired[cell] = ranking.cell_paired(cases, *cell)
        out[key] = ranking.precision(case, paired[cell])
    return out


def open_cases(precisions: Mapping[Key, float | None], target: float) -> set[Key]:
    """The cases not yet as precise as the target."""
    return {k for k, p in precisions.items() if p is None or p > target}
