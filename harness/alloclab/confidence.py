"""The confidence of a sweep's intervals, in one place: alloclab.ranking's calls and ties, the
report's intervals and --precision's half-widths all use it. Its own module so the sweep can
record it without importing scipy (alloclab.ranking does).

99 %: a pair of equally fast allocators is called different, one way or the other, in 1 % of
runs, which keeps two runs of one sweep within repeatability's goal (at most 1 % of pairs
reversed) from equal pairs alone. Why not 95 %: README, "Findings a reader can trust".
"""


def stated(confidence: float) -> str:
    """How texts state a confidence: 0.99 -> "99 %"."""
    return f"{confidence * 100:g} %"


CONFIDENCE = 0.99
LEVEL = stated(CONFIDENCE)
# What --precision was judged at before the confidence was recorded with it (plans and
# machine.json files that have a precision but no precision_confidence).
EARLIER_CONFIDENCE = 0.95
