"""What every tool's command line shares: the project's rule for bad input."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn


class UsageError(Exception):
    """Bad input: one line for the user, exit 2, nothing written."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (no usage block) and exit 2."""

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split()).replace("(choose from ", "(valid: ")
        if "(valid:" not in message:
            message += f" (valid: the options `{self.prog} --help` lists and explains)"
        print(f"{self.prog}: {message}", file=sys.stderr)
        sys.exit(2)


def one_line(message: str) -> str:
    """A message as one printable line: a value that holds a newline, a control character or
    bytes that are not UTF-8 (surrogate escapes) is shown escaped, never split or re-encoded."""
    def show(c: str) -> str:
        if "\udc80" <= c <= "\udcff":
            return f"\\x{ord(c) - 0xdc00:02x}"
        return c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
    return "".join(map(show, message))


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
    """A comma-separated selection of names, or all: one line naming the bad one and the valid.
    An empty selection, an empty item (a,,b) and a name given twice are refused: each would run
    something other than what was asked (nothing, or a case twice)."""
    if text == "all":
        return list(valid)
    choices = f"valid: {', '.join(valid)}, or all; each name once"
    if not text.strip(","):
        raise UsageError(f"no {kind} named in '{text[:80]}' ({choices})")
    names: list[str] = []
    for n in text.split(","):
        if not n:
            raise UsageError(f"empty {kind} name in '{text[:80]}' ({choices})")
        if n not in valid:
            raise UsageError(f"unknown {kind} '{n[:80]}' ({choices})")
        if n in names:
            raise UsageError(f"{kind} '{n[:80]}' named twice in '{text[:80]}' ({choices})")
        names.append(n)
    return names


_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def integer(least: int, most: int, what: str = "an integer") -> Callable[[str], int]:
    """argparse type: a plain decimal integer in [least, most] (no 1_0, no 1e3, no spaces)."""
    def parse(text: str) -> int:
        if not _INTEGER.fullmatch(text) or not least <= int(text) <= most:
            raise argparse.ArgumentTypeError(f"bad value '{text[:80]}' (valid: {what} from {least} to {most})")
        return int(text)
    parse.__name__ = "integer"
    return parse


def number(least: float, most: float, what: str = "a number", *, open_low: bool = False) -> Callable[[str], float]:
    """argparse type: a plain finite decimal number in [least, most] ((least, most] when
    open_low); no nan, inf, 1_0 or hex."""
    def parse(text: str) -> float:
        value = float(text) if _NUMBER.fullmatch(text) else math.nan
        low_ok = value > least if open_low else value >= least
        if not math.isfinite(value) or not low_ok or value > most:
            bound = f"above {least:g}" if open_low else f"from {least:g}"
            raise argparse.ArgumentTypeError(f"bad value '{text[:80]}' (valid: {what} {bound} to {most:g})")
        return value
    parse.__name__ = "number"
    return parse


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


class Once(argparse.Action):
    """An option that may be given once: a second one (e.g. --repetitions 2 --repetitions 3,
    where argparse would keep the last) is refused, as a selection naming a thing twice is."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        given: set[str] = getattr(namespace, "given_options", set())
        if self.dest in given:
            parser.error(f"{option_string} given twice (valid: each option once)")
        given.add(self.dest)
        setattr(namespace, "given_options", given)
        setattr(namespace, self.dest, True if self.nargs == 0 else values)


def create_new_folder(folder: Path, retry: bool, hint: str = "") -> Path:
    """Makes a run folder (its parent exists); an existing folder is never written into. With
    retry (a default name), a name taken in the same second gets a suffix -2, -3, ..."""
    for attempt in range(1, 100 if retry else 2):
        candidate = folder if attempt == 1 else folder.with_name(f"{folder.name}-{attempt}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
        except OSError as e:
            raise UsageError(f"cannot create output folder '{candidate}': {e.strerror} "
                             "(valid: a new folder in a writable one)") from None
    raise UsageError(f"output folder '{folder}' exists already (valid: a new folder{hint})")
