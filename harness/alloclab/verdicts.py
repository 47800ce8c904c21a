"""The table of checked claims, one model for the terminal, claims.md and a run's report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alloclab.document import Cell, Table


def verdict_table(checked: Sequence[dict[str, Any]], with_sentence: bool) -> Table:
    """checked: claims.json entries (claim fields and verdict fields together)."""
    header = ("claim",) + (("sentence and source",) if with_sentence else ()) + (
        "measured", "95 % CI", "expected", "n", "verdict")
    rows = []
    for c in checked:
        p = c.get("p")
        test = f"Mann-Whitney U, p = {p:.2g}" if isinstance(p, (int, float)) else ""
        slug = str(c["verdict"]).lower().replace(" ", "-")
        said = "; ".join(x for x in (test or str(c.get("detail") or ""), str(c.get("left_out") or "")) if x)
        verdict = Cell(str(c["verdict"]), note=said, strong=True, css=f"verdict {slug}")
        rows.append((f"`{c['id']}`" if with_sentence else str(c["id"]),)
                    + ((Cell(str(c.get("sentence", "")), note=str(c.get("source", ""))),) if with_sentence else ())
                    + (str(c.get("measured", "-")), str(c.get("interval", "-")), str(c.get("expected", "-")),
                       str(c.get("n", 0)), verdict))
    return Table(header, tuple(rows), numeric=(False,) * (1 + with_sentence) + (True, True, False, True, False))
