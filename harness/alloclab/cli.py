"""What every tool's command line shares: the project's rule for bad input."""

from __future__ import annotations

import argparse
import math
import sys
from typing import NoReturn


class UsageError(Exception):
    """Bad input: one line for the user, exit 2, nothing written."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (no usage block) and exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (--help explains every option)", file=sys.stderr)
        sys.exit(2)


def seconds(flag: str, value: float, most: float = 86400.0) -> float:
    """A positive, finite number of seconds, at most `most`."""
    if not math.isfinite(value) or not 0 < value <= most:
        raise UsageError(f"bad {flag} {value} (valid: a positive number of seconds up to {most:g})")
    return value


def positive(flag: str, value: int, most: int) -> int:
    if not 1 <= value <= most:
        raise UsageError(f"bad {flag} {value} (valid: a positive count up to {most})")
    return value


def parse_names(kind: str, text: str, valid: list[str]) -> list[str]:
    """A comma-separated selection of names, or all: one line naming the bad one and the valid."""
    if text == "all":
        return list(valid)
    names = list(dict.fromkeys(n for n in text.split(",") if n))
    for n in names:
        if n not in valid:
            raise UsageError(f"unknown {kind} '{n[:80]}' (valid: {', '.join(valid)}, or all)")
    if not names:
        raise UsageError(f"no {kind} named in '{text}' (valid: {', '.join(valid)}, or all)")
    return names


def parse_shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/", 1))
        if not 1 <= k <= n:
            raise ValueError
        return k, n
    except ValueError:
        raise UsageError(f"bad --shard '{text}' (valid: K/N with 1 <= K <= N, e.g. 2/4)") from None


def clock(seconds: float) -> str:
    """m:ss, for progress lines."""
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"
