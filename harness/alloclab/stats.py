"""Summaries and confidence intervals, from the libraries made for them.

Intervals are percentile bootstraps by scipy.stats.bootstrap with a fixed seed, so the same
data gives the same interval on every run and the tests are deterministic.
  median_interval(a)             median of a
  ratio_interval(a, b)           median(a) / median(b), the two samples resampled apart
  paired_ratio_interval(a, b)    median of a[i] / b[i], pairs resampled together
  growth_interval(series, sizes) k in metric ~ N^k: slope of log(median) on log(N) (np.polyfit)
  geomean_ratio_interval(cases)  geometric mean over cases of each case's median per-pass ratio
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

CONFIDENCE = 0.95
RESAMPLES = 4000
SEED = 1


@dataclass(frozen=True)
class Summary:
    median: float
    min: float
    max: float
    mean: float
    cv: float | None  # sample standard deviation / mean; None with fewer than 2 values
    n: int


def summarise(values: Sequence[float]) -> Summary | None:
    if not values:
        return None
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean if len(values) > 1 and mean else None
    return Summary(statistics.median(values), min(values), max(values), mean, cv, len(values))


def geometric_mean(values: Sequence[float]) -> float | None:
    positive = [v for v in values if v > 0]
    return statistics.geometric_mean(positive) if positive else None


Interval = tuple[float, float, float]  # point estimate, low, high


def _bootstrap(samples: tuple[np.ndarray, ...], statistic: Callable[..., np.ndarray], paired: bool,
               seed: int) -> tuple[float, float]:
    result = sps.bootstrap(samples, statistic, paired=paired, vectorized=True, axis=-1,
                           n_resamples=RESAMPLES, confidence_level=CONFIDENCE, method="percentile",
                           random_state=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis)


def median_interval(a: Sequence[float], seed: int = SEED) -> Interval:
    x = np.asarray(a, dtype=float)
    low, high = _bootstrap((x,), _median, False, seed)
    return float(np.median(x)), low, high


def ratio_interval(a: Sequence[float], b: Sequence[float], seed: int = SEED) -> Interval:
    """median(a) / median(b); a and b resampled independently (measured apart)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)

    def ratio(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(p, axis=axis) / np.median(q, axis=axis)

    low, high = _bootstrap((x, y), ratio, False, seed)
    return float(np.median(x) / np.median(y)), low, high


def paired_ratio_interval(a: Sequence[float], b: Sequence[float], seed: int = SEED) -> Interval:
    """Median of the per-repetition ratios a[i] / b[i], pairs resampled together: A and B of
    one repetition ran in the same pass, so a slow spell of the machine that hits both cancels
    in their ratio instead of widening the interval."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)

    def median_ratio(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(p / q, axis=axis)

    low, high = _bootstrap((x, y), median_ratio, True, seed)
    return float(np.median(x / y)), low, high


def growth_exponent(medians: Sequence[float] | np.ndarray, sizes: Sequence[float]) -> np.ndarray:
    """Slope of log(median) on log(size); medians may carry a trailing axis of draws."""
    return np.polyfit(np.log(np.asarray(sizes, dtype=float)), np.log(np.asarray(medians, dtype=float)), 1)[0]


def growth_interval(series: Sequence[Sequence[float]], sizes: Sequence[float], seed: int = SEED) -> Interval:
    """k of metric ~ N^k from one sample per size, each resampled independently."""
    def slope(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        return growth_exponent(np.stack([np.median(s, axis=axis) for s in samples]), sizes)

    arrays = tuple(np.asarray(s, dtype=float) for s in series)
    low, high = _bootstrap(arrays, slope, False, seed)
    point = float(growth_exponent([float(np.median(s)) for s in arrays], sizes))
    return point, low, high


def geomean_ratio_interval(cases: Sequence[tuple[Sequence[float], Sequence[float]]], seed: int = SEED) -> Interval:
    """exp(mean over cases of the median of log(a[i] / b[i])): "x times faster across programs"
    (with an odd number of passes each case's median log-ratio is the log of its median ratio).
    Each case is (a, b) measured in the same passes; the cases are resampled apart, each
    one's passes with replacement."""
    logs = tuple(np.log(np.asarray(a, dtype=float) / np.asarray(b, dtype=float)) for a, b in cases)

    def geomean(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.exp(np.mean(np.stack([np.median(s, axis=axis) for s in samples]), axis=0))

    low, high = _bootstrap(logs, geomean, False, seed)
    return float(np.exp(np.mean([np.median(x) for x in logs]))), low, high


def mann_whitney_p(a: Sequence[float], b: Sequence[float], alternative: str) -> float:
    return float(sps.mannwhitneyu(a, b, alternative=alternative).pvalue)
