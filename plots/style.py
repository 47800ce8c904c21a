"""One look for every alloclab chart: a fixed colour, marker and line per allocator, paper fonts,
and the footer that names the machine and the commit.

Colours come from colour-blind-safe palettes (Okabe & Ito 2008; Paul Tol's "muted" and "bright"
schemes) and are assigned by a FIXED table of known names, so an allocator has the same colour in
every chart of every run, whichever allocators happen to be present. A name missing from the table
gets a colour from a fallback palette chosen by a hash of the name: deterministic across runs and
machines (never Python's salted hash()).
"""

import zlib

# Okabe-Ito
OI_ORANGE = "#E69F00"
OI_SKY = "#56B4E9"
OI_GREEN = "#009E73"
OI_BLUE = "#0072B2"
OI_VERMILLION = "#D55E00"
OI_PURPLE = "#CC79A7"
# Paul Tol, muted
TOL_INDIGO = "#332288"
TOL_GREEN = "#117733"
TOL_TEAL = "#44AA99"
TOL_SAND = "#DDCC77"
TOL_ROSE = "#CC6677"
TOL_WINE = "#882255"
TOL_PURPLE = "#AA4499"
TOL_OLIVE = "#999933"
# References: greys
REF_BLACK = "#222222"
REF_GREY = "#888888"
REF_DARK = "#555555"

# Known allocators in the order they are drawn and listed: library, peers, preloaded peers,
# references. name -> (colour, marker, group)
KNOWN = {
    # the library's allocators: Okabe-Ito, filled markers
    "mutex_arena":        (OI_ORANGE, "o", "library"),
    "atomic_bump_arena":  (OI_SKY, "s", "library"),
    "thread_local_arena": (OI_GREEN, "^", "library"),
    "chained_arena":      (OI_PURPLE, "D", "library"),
    "coalescing_pool":    (OI_VERMILLION, "v", "library"),
    # peers linked in
    "malloc":             (OI_BLUE, "P", "peer"),
    "tbbmalloc":          (TOL_WINE, "X", "peer"),
    "pmr_monotonic":      (TOL_SAND, "<", "peer"),
    "pmr_unsync_pool":    (TOL_GREEN, ">", "peer"),
    "pmr_sync_pool":      (TOL_TEAL, "h", "peer"),
    # peers preloaded in place of malloc
    "jemalloc":           (TOL_PURPLE, "p", "preloaded"),
    "mimalloc":           (TOL_INDIGO, "*", "preloaded"),
    "tcmalloc":           (TOL_ROSE, "d", "preloaded"),
    "tbbmalloc_proxy":    (TOL_OLIVE, "H", "preloaded"),
    # references
    "bump_limit":         (REF_BLACK, "", "reference"),
    "bump_cold":          (REF_DARK, "", "reference"),
    "null":               (REF_GREY, "", "reference"),
}
REFERENCES = ("null", "bump_limit", "bump_cold")

# For names not in KNOWN: Paul Tol's "light" scheme (distinct from the table above).
FALLBACK = ["#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33", "#AAAA00"]
FALLBACK_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "p"]

LINE_STYLES = {"bump_limit": (0, (5, 2)), "bump_cold": (0, (5, 1.5, 1, 1.5)), "null": (0, (1, 1.5))}

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


def apply():
    """Sets the paper fonts and defaults on matplotlib (Agg backend)."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams.update(FONT)


def _fallback_index(name, count):
    return zlib.crc32(name.encode("utf-8")) % count


def colour(name):
    if name in KNOWN:
        return KNOWN[name][0]
    return FALLBACK[_fallback_index(name, len(FALLBACK))]


def marker(name):
    if name in KNOWN:
        return KNOWN[name][1]
    return FALLBACK_MARKERS[_fallback_index(name + "/marker", len(FALLBACK_MARKERS))]


def group(name):
    return KNOWN[name][2] if name in KNOWN else "other"


def is_reference(name):
    return name in REFERENCES


def line_style(name):
    """Keyword arguments for plot()/errorbar() of one allocator's line."""
    style = {"color": colour(name), "label": name}
    if name in LINE_STYLES:
        style.update(linestyle=LINE_STYLES[name], marker="", linewidth=1.3)
    else:
        style.update(linestyle="-", marker=marker(name))
        if group(name) == "preloaded":
            style.update(markerfacecolor="white", markeredgewidth=1.1)
    return style


def bar_style(name):
    """Keyword arguments for bar()/barh() of one allocator."""
    style = {"facecolor": colour(name), "edgecolor": "none"}
    if name == "null":
        style.update(facecolor="white", edgecolor=REF_GREY, hatch="....")
    elif name == "bump_limit":
        style.update(facecolor="white", edgecolor=REF_BLACK, hatch="////")
    elif name == "bump_cold":
        style.update(facecolor="white", edgecolor=REF_DARK, hatch="\\\\\\\\")
    return style


def order(names):
    """Names in the fixed table's order; unknown names after them, sorted."""
    known = [n for n in KNOWN if n in names]
    return known + sorted(n for n in set(names) if n not in KNOWN)


def footer_text(facts):
    """'machine: <cpu_model>, <hardware_threads> threads, <kernel>; commit <sha10><+dirty>; <finished>'."""
    facts = facts or {}
    cpu = facts.get("cpu_model") or "unknown CPU"
    threads = facts.get("hardware_threads") or facts.get("num_cpus") or "?"
    kernel = facts.get("kernel") or "unknown kernel"
    commit = str(facts.get("git_commit") or "unknown")[:10]
    dirty = str(facts.get("git_dirty", "")).strip().lower() in ("true", "1", "yes")
    finished = facts.get("finished_utc") or "unfinished"
    return (f"machine: {cpu}, {threads} threads, {kernel}; "
            f"commit {commit}{'+dirty' if dirty else ''}; {finished}")


def short_label(facts, folder=None):
    """A folder's label in comparison charts: CPU, threads, commit."""
    facts = facts or {}
    commit = str(facts.get("git_commit") or "unknown")[:10]
    dirty = str(facts.get("git_dirty", "")).strip().lower() in ("true", "1", "yes")
    threads = facts.get("hardware_threads") or facts.get("num_cpus") or "?"
    label = f"{facts.get('cpu_model') or 'unknown CPU'} ({threads} threads), {commit}{'+dirty' if dirty else ''}"
    return label if folder is None else f"{folder}: {label}"


def add_footer(fig, facts, extra=None):
    text = footer_text(facts)
    if extra:
        text = extra + "\n" + text
    fig.text(0.005, 0.005, text, ha="left", va="bottom", fontsize=FOOTER_SIZE, color=FOOTER_COLOUR)
