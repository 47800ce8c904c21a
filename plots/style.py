"""One look for every alloclab chart: a colour, marker and line per allocator, paper fonts, and
the footer that names the machine and the commit.

An allocator's style is keyed by its kind (library, peer, preloaded, reference: from the
driver's registry) and its position among the allocators of that kind, so a new allocator
registered in the driver gets a style of its own with no edit here. Colours come from
colour-blind-safe palettes (Okabe & Ito 2008; Paul Tol's "muted" scheme; references are greys
told apart by their dashes). Within a kind of n colours and m markers, the k-th allocator takes
colour k mod n and marker (k mod n + k div n) mod m: the first n have colours of their own,
and no two of the first n x m share colour and marker. A name the
registry does not know gets a fallback chosen by a hash of the name: deterministic across runs
and machines (never Python's salted hash()).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from alloclab.registry import Registry

# Okabe-Ito
OI_ORANGE, OI_SKY, OI_GREEN, OI_BLUE, OI_VERMILLION, OI_PURPLE = (
    "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7")
# Paul Tol, muted
TOL_INDIGO, TOL_GREEN, TOL_TEAL, TOL_SAND, TOL_ROSE, TOL_WINE, TOL_PURPLE, TOL_OLIVE = (
    "#332288", "#117733", "#44AA99", "#DDCC77", "#CC6677", "#882255", "#AA4499", "#999933")
# Further library colours, far from every other one here: ColorBrewer Dark2's gold, Paul Tol's
# vibrant magenta, a brown.
DARK_GOLD, MAGENTA, BROWN = "#A6761D", "#EE3377", "#8C564B"
# References: greys
REF_GREY, REF_BLACK, REF_DARK, REF_LIGHT = "#888888", "#222222", "#555555", "#AAAAAA"


@dataclass(frozen=True)
class KindStyle:
    colours: tuple[str, ...]
    markers: tuple[str, ...]
    hollow: bool = False                      # preloaded peers: open markers
    dashes: tuple[Any, ...] = ()              # references: dashed lines, no marker
    hatches: tuple[str, ...] = ()             # references: hatched white bars
    colour_words: tuple[str, ...] = ()        # references: the look in words, for a chart's notes
    dash_words: tuple[str, ...] = ()


KINDS = {
    "library": KindStyle((OI_ORANGE, OI_SKY, OI_GREEN, OI_PURPLE, OI_VERMILLION, DARK_GOLD, MAGENTA, BROWN),
                         ("o", "s", "^", "D", "v", "8")),
    "peer": KindStyle((OI_BLUE, TOL_WINE, TOL_SAND, TOL_GREEN, TOL_TEAL), ("P", "X", "<", ">", "h")),
    # In registration order: Debian's four peers (muted), alloclab's two malloc shims (Paul Tol's
    # bright green and cyan: far from the peers' colours, in the programs' charts above all), then
    # libraries a user names (--preload): bright red, yellow and Tol's vibrant orange. Three user
    # libraries get colours of their own before a colour repeats (with the next marker).
    "preloaded": KindStyle((TOL_PURPLE, TOL_INDIGO, TOL_ROSE, TOL_OLIVE, "#228833", "#66CCEE", "#EE6677",
                            "#CCBB44", "#EE7733"),
                           ("p", "*", "d", "H", "8", "h", "X"), hollow=True),
    "reference": KindStyle((REF_GREY, REF_BLACK, REF_DARK, REF_LIGHT), ("",),
                           dashes=((0, (1, 1.5)), (0, (5, 2)), (0, (5, 1.5, 1, 1.5)), (0, (3, 1, 1, 1, 1, 1))),
                           hatches=("....", "////", "\\\\\\\\", "xxxx"),
                           colour_words=("grey", "black", "dark grey", "light grey"),
                           dash_words=("dotted", "dashed", "dash-dot", "dash-dot-dot")),
    # Names the registry does not know: Paul Tol's "light" scheme, by a hash of the name.
    "other": KindStyle(("#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33", "#AAAA00"),
                       ("o", "s", "^", "D", "v", "P", "X", "p")),
}

# Where figures go in a paper: a full text width of about 7 in.
WIDE = (7.2, 4.0)
DPI = 150
FONT = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7.5,
    "figure.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "lines.linewidth": 1.4,
    "lines.markersize": 4.5,
    "errorbar.capsize": 2,
    "svg.fonttype": "none",      # text stays text in SVG: editable, searchable
    "svg.hashsalt": "alloclab",  # stable ids: the same data gives the same SVG
    "hatch.linewidth": 0.6,
}
FOOTER_SIZE = 6.5
FOOTER_COLOUR = "#555555"


def apply() -> None:
    """Sets the paper fonts and defaults on matplotlib (Agg backend)."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams.update(FONT)


@dataclass(frozen=True)
class Look:
    """The drawn identity of one allocator."""
    colour: str
    marker: str
    hollow: bool = False
    dashes: Any = None
    hatch: str | None = None


class Styles:
    """Looks of the allocators of one registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def kind(self, name: str) -> str:
        return self.registry.kind_of(name)

    def is_reference(self, name: str) -> bool:
        return self.kind(name) == "reference"

    def look(self, name: str) -> Look:
        kind = self.kind(name)
        k = KINDS[kind]
        if kind == "other":
            return Look(k.colours[_hash(name, len(k.colours))], k.markers[_hash(name + "/marker", len(k.markers))])
        i = self.registry.index_in_kind(name)
        n = len(k.colours)
        colour, step = k.colours[i % n], i % n + i // n  # each wrap of the colours shifts the markers by one
        if k.dashes:
            return Look(colour, "", dashes=k.dashes[step % len(k.dashes)], hatch=k.hatches[step % len(k.hatches)])
        return Look(colour, k.markers[step % len(k.markers)], hollow=k.hollow)

    def in_words(self, name: str) -> str:
        """A reference's line as a reader sees it ("dashed black"); empty for other kinds."""
        k = KINDS[self.kind(name)]
        if not k.dashes:
            return ""
        i = self.registry.index_in_kind(name)
        n = len(k.colours)
        return f"{k.dash_words[(i % n + i // n) % len(k.dashes)]} {k.colour_words[i % n]}"

    def colour(self, name: str) -> str:
        return self.look(name).colour

    def line(self, name: str) -> dict[str, Any]:
        """Keyword arguments for plot()/errorbar() of one allocator's line."""
        look = self.look(name)
        style: dict[str, Any] = {"color": look.colour, "label": name}
        if look.dashes is not None:
            style.update(linestyle=look.dashes, marker="", linewidth=1.3)
        else:
            style.update(linestyle="-", marker=look.marker)
            if look.hollow:
                style.update(markerfacecolor="white", markeredgewidth=1.1)
        return style

    def bar(self, name: str) -> dict[str, Any]:
        """Keyword arguments for bar()/barh() of one allocator."""
        look = self.look(name)
        if look.hatch is not None:
            return {"facecolor": "white", "edgecolor": look.colour, "hatch": look.hatch}
        return {"facecolor": look.colour, "edgecolor": "none"}


def _hash(name: str, count: int) -> int:
    return zlib.crc32(name.encode("utf-8")) % count


def _dirty(facts: dict[str, Any]) -> bool:
    return str(facts.get("git_dirty", "")).strip().lower() in ("true", "1", "yes")


def footer_text(facts: dict[str, Any] | None) -> str:
    """'machine: <cpu_model>, <hardware_threads> threads, <kernel>; commit <sha10><+dirty>; <finished>'."""
    facts = facts or {}
    cpu = facts.get("cpu_model") or "unknown CPU"
    threads = facts.get("hardware_threads") or facts.get("num_cpus") or "?"
    kernel = facts.get("kernel") or "unknown kernel"
    commit = str(facts.get("git_commit") or "unknown")[:10]
    finished = facts.get("finished_utc") or "unfinished"
    # One machine of a merge across machines (Run.for_machine): its label names the node and CPU.
    machine = facts.get("machine") or f"{cpu}, {threads} threads"
    return (f"machine: {machine}, {kernel}; "
            f"commit {commit}{'+dirty' if _dirty(facts) else ''}; {finished}")


def short_label(facts: dict[str, Any] | None) -> str:
    """A folder's label in comparison charts: CPU, threads, commit (the machine's label instead of
    CPU and threads for one machine of a merge across machines)."""
    facts = facts or {}
    commit = str(facts.get("git_commit") or "unknown")[:10]
    threads = facts.get("hardware_threads") or facts.get("num_cpus") or "?"
    machine = facts.get("machine") or f"{facts.get('cpu_model') or 'unknown CPU'} ({threads} threads)"
    return f"{machine}, {commit}{'+dirty' if _dirty(facts) else ''}"
