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
