#!/usr/bin/env python3
"""alloclab claims: check what allocator papers and READMEs promise, with statistics.

  claims.py [FILE] [--from DIR | --one-run] [--strict] [--repetitions N] [--min-time S]

FILE (default harness/claims.toml) lists claims; each names the sentence checked, its source,
the workload(s), the allocators, the thread counts, a metric and the expected relation. Without
--from, exactly the cases the claims need run through the sweep (interleaved, >= 9
repetitions); with --from DIR, an existing results folder is used; with --one-run, every case runs in a single
`alloclab` process (repetitions randomly interleaved), so that machine noise hits them alike —
how harness/targets.toml, the project's own performance targets, is checked. Every claim gets the measured
value, a 95 % confidence interval and a verdict. In a sweep's folder, a ratio of two cases is
the median of the per-pass ratios (A and B of one repetition ran in the same pass; the pairs
are resampled together), so drift of the machine between passes cancels; a --one-run, whose
repetitions Google Benchmark shuffles all together, gives the ratio of the medians.

  REPRODUCED       the interval lies on the claimed side of the bound (or the test is significant)
  NOT REPRODUCED   the interval lies on the other side (or the opposite is significant)
  INCONCLUSIVE     the interval straddles the bound, or too few repetitions

The table is printed and written to DIR/claims.md and DIR/claims.json (the report shows them);
a file may set a top-level `output = "NAME"` to write DIR/NAME.* instead, and `title`.
Exit 0; with --strict, 1 when any claim is NOT REPRODUCED; 2 for a malformed claims file
(one line naming the claim and the field; nothing is run).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_io  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONFIDENCE = 0.95
BOOTSTRAP = 4000
MIN_REPETITIONS = 9

# metric -> (results.csv column or derivation, higher is better)
METRICS = {
    "throughput": ("items_per_second", True),
    "ns_per_op": ("ns_per_op", False),
    "latency_p50": ("latency_p50_ns", False),
    "latency_p99": ("latency_p99_ns", False),
    "latency_p999": ("latency_p999_ns", False),
    "latency_tail_ratio": ("p999/p50", False),  # latency_p999_ns / latency_p50_ns
    "overhead_ratio": ("overhead_ratio", False),
    "peak_rss": ("peak_rss_bytes", False),
    "destroy_time": ("destroy_ns_per_tree", False),
}
# relation -> the fields it needs besides workload/metric
RELATIONS = {
    "ratio_at_least": ("a", "b", "bound"),    # metric(A) / metric(B) >= bound
    "ratio_at_most": ("a", "b", "bound"),     # metric(A) / metric(B) <= bound
    "within": ("a", "b", "tolerance"),        # |metric(A) / metric(B) - 1| <= tolerance
    "greater": ("a", "b"),                    # metric(A) > metric(B)   (Mann-Whitney U)
    "less": ("a", "b"),                       # metric(A) < metric(B)   (Mann-Whitney U)
    "at_most": ("a", "bound"),                # metric(A) <= bound
    "at_least": ("a", "bound"),               # metric(A) >= bound
    "growth_at_most": ("a", "sizes", "exponent"),   # metric grows no faster than N^exponent
    "growth_at_least": ("a", "sizes", "exponent"),  # metric grows at least as fast as N^exponent
}
CLAIM_FIELDS = {"id", "sentence", "source", "workload", "workloads", "metric", "relation", "a", "b",
                "threads", "threads_b", "bound", "tolerance", "sizes", "exponent", "note"}


class ClaimsError(Exception):
    pass


# --- the claims file ----------------------------------------------------------------------------

def known_names(binary):
    """Allocator and workload names the driver knows, plus the preloaded peers."""
    import sweep
    allocators, workloads = sweep.driver_list(binary)
    return allocators + list(sweep.PRELOADED), workloads


def load_claims(path, allocators, workloads, meta=None):
    """Parses and validates; raises ClaimsError naming the claim and the field. `meta`, a dict,
    receives the file's title and output stem."""
    import tomllib
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except OSError as e:
        raise ClaimsError(f"{path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ClaimsError(f"{path}: TOML syntax: {e}") from None
    for key in ("title", "output"):
        if key in doc and not isinstance(doc[key], str):
            raise ClaimsError(f"{path}: '{key}' is not a string")
    if "output" in doc and not doc["output"].replace("_", "").isalnum():
        raise ClaimsError(f"{path}: 'output' is not a string of letters, digits and _")
    if meta is not None:
        meta.update(title=doc.get("title", "Claims checked"), output=doc.get("output", "claims"))
    claims = doc.get("claim")
    if not isinstance(claims, list) or not claims:
        raise ClaimsError(f"{path}: no [[claim]] tables")
    seen = set()
    for index, c in enumerate(claims, start=1):
        if not isinstance(c, dict):
            raise ClaimsError(f"{path}: claim #{index} is not a table (write each claim as [[claim]] with fields)")
        name = c.get("id", f"#{index}")

        def bad(field, why):
            raise ClaimsError(f"{path}: claim '{name}', field '{field}': {why}")

        for field in c:
            if field not in CLAIM_FIELDS:
                bad(field, f"unknown field (valid: {', '.join(sorted(CLAIM_FIELDS))})")
        for field in ("id", "sentence", "source", "metric", "relation"):
            if not isinstance(c.get(field), str) or not c[field].strip():
                bad(field, "missing or not a non-empty string")
        if name in seen:
            bad("id", "used by an earlier claim")
        seen.add(name)
        relation = c["relation"]
        if relation not in RELATIONS:
            bad("relation", f"'{relation}' is not one of {', '.join(RELATIONS)}")
        if c["metric"] not in METRICS:
            bad("metric", f"'{c['metric']}' is not one of {', '.join(METRICS)}")
        if relation.startswith("growth"):
            ws = c.get("workloads")
            if not isinstance(ws, list) or len(ws) < 2:
                bad("workloads", "a growth claim needs a list of at least two workloads (one per size)")
            sizes = c.get("sizes")
            if not isinstance(sizes, list) or len(sizes) != len(ws) or not all(
                    isinstance(x, (int, float)) and x > 0 for x in sizes):
                bad("sizes", "one positive size per workload")
        else:
            ws = [c.get("workload")]
            if not isinstance(ws[0], str):
                bad("workload", "missing or not a string")
        for w in ws:
            if w not in workloads:
                bad("workload" if not relation.startswith("growth") else "workloads",
                    f"unknown workload '{w}' (valid: {', '.join(workloads)})")
        for field in RELATIONS[relation]:
            if field not in c:
                bad(field, f"required by relation '{relation}'")
        for field in ("a", "b"):
            if field in c and c[field] not in allocators:
                bad(field, f"unknown allocator '{c[field]}' (valid: {', '.join(allocators)})")
        for field in ("bound", "tolerance", "exponent"):
            if field in c and (not isinstance(c[field], (int, float)) or isinstance(c[field], bool)):
                bad(field, "not a number")
        if "bound" in c and c["bound"] <= 0 and relation.startswith("ratio"):
            bad("bound", "a ratio bound must be positive")
        for field in ("threads", "threads_b"):
            if field in c and (not isinstance(c[field], int) or isinstance(c[field], bool) or c[field] < 1):
                bad(field, "not a positive whole number")
        c.setdefault("threads", 1)
        c.setdefault("threads_b", c["threads"])
        c["workloads"] = ws
    return claims


def needed_cases(claims):
    """(workload, allocator) units and thread counts the claims read."""
    units, threads = set(), set()
    for c in claims:
        for w in c["workloads"]:
            units.add((w, c["a"]))
            if "b" in c:
                units.add((w, c["b"]))
        threads.update({c["threads"], c["threads_b"]})
    return sorted(units), sorted(threads)


# --- statistics ---------------------------------------------------------------------------------

def samples(rows, workload, allocator, threads, metric):
    """The metric's values over the ok repetitions of one case."""
    column = METRICS[metric][0]
    out = []
    for r in rows:
        if (r["workload"], r["allocator"], r["threads"], r["status"]) != (workload, allocator, threads, "ok"):
            continue
        if column == "p999/p50":
            p50, p999 = r.get("latency_p50_ns"), r.get("latency_p999_ns")
            value = p999 / p50 if p50 and p999 is not None else None
        else:
            value = r.get(column)
        if value is not None and math.isfinite(value):
            out.append(float(value))
    return out


def _rng(seed):
    import numpy as np
    return np.random.default_rng(seed)


def bootstrap_ratio(a, b, seed=1):
    """Median(a) / median(b) and its percentile bootstrap interval."""
    import numpy as np
    a, b = np.asarray(a), np.asarray(b)
    rng = _rng(seed)
    ra = np.median(rng.choice(a, (BOOTSTRAP, a.size)), axis=1)
    rb = np.median(rng.choice(b, (BOOTSTRAP, b.size)), axis=1)
    ratios = ra / rb
    tail = (1 - CONFIDENCE) / 2 * 100
    return float(np.median(a) / np.median(b)), float(np.percentile(ratios, tail)), float(np.percentile(ratios, 100 - tail))


# Rows of a --one-run: Google Benchmark's random interleaving shuffles all repetitions of all
# cases into one order, so the k-th repetition of A and of B did not run in one round.
UNPAIRED_UNIT = "one-run"


def paired_samples(rows, workload, a, threads_a, b, threads_b, metric):
    """The metric of A and of B as pairs measured in the same pass of a sweep (rows with the
    same repetition number), or None where there are no such pairs: rows of a --one-run, a
    repetition missing on one side or present twice, a value that is not positive."""
    def by_repetition(allocator, threads):
        out = {}
        for r in rows:
            if (r["workload"], r["allocator"], r["threads"], r["status"]) != (workload, allocator, threads, "ok"):
                continue
            value = samples([r], workload, allocator, threads, metric)
            if r.get("unit") == UNPAIRED_UNIT or r["repetition"] in out or not value or value[0] <= 0:
                return None
            out[r["repetition"]] = value[0]
        return out
    va, vb = by_repetition(a, threads_a), by_repetition(b, threads_b)
    if not va or not vb or va.keys() != vb.keys():
        return None
    keys = sorted(va)
    return [va[k] for k in keys], [vb[k] for k in keys]


def bootstrap_paired_ratio(a, b, seed=1):
    """Median of the per-repetition ratios a[i] / b[i] and its percentile bootstrap interval
    (pairs resampled together). A and B of one repetition ran in the same pass of the sweep,
    minutes apart at most, so a slow spell of the machine that hits both cancels in their
    ratio instead of widening the interval."""
    import numpy as np
    ratios = np.asarray(a, dtype=float) / np.asarray(b, dtype=float)
    return bootstrap_median(ratios, seed)


def bootstrap_median(a, seed=1):
    import numpy as np
    a = np.asarray(a)
    medians = np.median(_rng(seed).choice(a, (BOOTSTRAP, a.size)), axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    return float(np.median(a)), float(np.percentile(medians, tail)), float(np.percentile(medians, 100 - tail))


def bootstrap_growth(series, sizes, seed=1):
    """Slope of log(median metric) against log(size), and its bootstrap interval: the exponent k
    of metric ~ N^k."""
    import numpy as np
    x = np.log(np.asarray(sizes, dtype=float))
    rng = _rng(seed)
    def slope(ys):
        return float(np.polyfit(x, np.log(ys), 1)[0])
    point = slope([np.median(s) for s in series])
    draws = np.empty(BOOTSTRAP)
    resampled = [np.median(rng.choice(np.asarray(s), (BOOTSTRAP, len(s))), axis=1) for s in series]
    stacked = np.log(np.vstack(resampled))  # sizes x draws
    xc = x - x.mean()
    draws = (xc[:, None] * (stacked - stacked.mean(axis=0))).sum(axis=0) / (xc ** 2).sum()
    tail = (1 - CONFIDENCE) / 2 * 100
    return point, float(np.percentile(draws, tail)), float(np.percentile(draws, 100 - tail))


def mann_whitney(a, b, alternative):
    from scipy.stats import mannwhitneyu
    return float(mannwhitneyu(a, b, alternative=alternative).pvalue)


def interval_verdict(low, high, holds_above, bound):
    """REPRODUCED when the interval is wholly on the claimed side of bound."""
    if holds_above:
        return "REPRODUCED" if low >= bound else "NOT REPRODUCED" if high < bound else "INCONCLUSIVE"
    return "REPRODUCED" if high <= bound else "NOT REPRODUCED" if low > bound else "INCONCLUSIVE"


def evaluate(claim, rows):
    """-> dict: value, low, high, unit text, verdict, n, detail."""
    metric, relation = claim["metric"], claim["relation"]
    w = claim["workloads"][0]
    a = samples(rows, w, claim["a"], claim["threads"], metric) if not relation.startswith("growth") else None
    b = samples(rows, w, claim["b"], claim["threads_b"], metric) if "b" in claim else None
    out = {"id": claim["id"], "relation": relation}
    # Lower-is-better metrics compare as "A better than B" through the inverse ratio, so that
    # a ratio bound reads the way the claim's sentence does ("A >= 10 x B" = 10 times better).
    higher_better = METRICS[metric][1]

    if relation.startswith("growth"):
        series = [samples(rows, wl, claim["a"], claim["threads"], metric) for wl in claim["workloads"]]
        n = min(len(s) for s in series)
        out["n"] = n
        if n < 3:
            return {**out, "verdict": "INCONCLUSIVE", "detail": f"only {n} repetitions at some size"}
        if any(min(s) <= 0 for s in series):
            return {**out, "verdict": "INCONCLUSIVE", "detail": "a non-positive value: no logarithm to fit"}
        value, low, high = bootstrap_growth(series, claim["sizes"])
        k = claim["exponent"]
        verdict = interval_verdict(low, high, relation == "growth_at_least", k)
        return {**out, "value": value, "low": low, "high": high, "verdict": verdict,
                "measured": f"exponent {value:.3f}", "interval": f"[{low:.3f}, {high:.3f}]",
                "expected": f"{'<=' if relation == 'growth_at_most' else '>='} {k}"}

    n = min(len(a), len(b)) if b is not None else len(a)
    out["n"] = n
    if n < 3:
        return {**out, "verdict": "INCONCLUSIVE", "detail": f"only {n} repetitions measured"}
    if relation in ("at_most", "at_least"):
        value, low, high = bootstrap_median(a)
        verdict = interval_verdict(low, high, relation == "at_least", claim["bound"])
        return {**out, "value": value, "low": low, "high": high, "verdict": verdict,
                "measured": f"{value:.4g}", "interval": f"[{low:.4g}, {high:.4g}]",
                "expected": f"{'<=' if relation == 'at_most' else '>='} {claim['bound']}"}

    import statistics
    if statistics.median(a) == 0 or statistics.median(b) == 0:
        return {**out, "verdict": "INCONCLUSIVE", "detail": "a median of 0: no ratio"}
    # Two allocators: the ratio "how many times better A is than B" (>1: A better), from pairs
    # of the same repetition where there are such pairs.
    pairs = paired_samples(rows, w, claim["a"], claim["threads"], claim["b"], claim["threads_b"], metric)
    better, worse = (a, b) if higher_better else (b, a)
    if pairs is not None:
        better, worse = pairs if higher_better else pairs[::-1]
        value, low, high = bootstrap_paired_ratio(better, worse)
    else:
        value, low, high = bootstrap_ratio(better, worse)
    common = {"value": value, "low": low, "high": high, "measured": f"{value:.3g}x",
              "interval": f"[{low:.3g}, {high:.3g}]", "paired": pairs is not None}
    if relation == "ratio_at_least":
        verdict = interval_verdict(low, high, True, claim["bound"])
        return {**out, **common, "verdict": verdict, "expected": f">= {claim['bound']}x"}
    if relation == "ratio_at_most":
        verdict = interval_verdict(low, high, False, claim["bound"])
        return {**out, **common, "verdict": verdict, "expected": f"<= {claim['bound']}x"}
    if relation == "within":
        t = claim["tolerance"]
        lo_b, hi_b = 1 - t, 1 + t
        verdict = ("REPRODUCED" if lo_b <= low and high <= hi_b
                   else "NOT REPRODUCED" if high < lo_b or low > hi_b else "INCONCLUSIVE")
        return {**out, **common, "verdict": verdict, "expected": f"1 +/- {t}"}
    # greater / less: on the metric itself; A "greater" means a larger metric value.
    alternative = "greater" if relation == "greater" else "less"
    p = mann_whitney(a, b, alternative)
    p_opposite = mann_whitney(a, b, "less" if alternative == "greater" else "greater")
    alpha = 1 - CONFIDENCE
    verdict = "REPRODUCED" if p < alpha else "NOT REPRODUCED" if p_opposite < alpha else "INCONCLUSIVE"
    return {**out, **common, "verdict": verdict, "p": p,
            "expected": f"{claim['a']} {'>' if alternative == 'greater' else '<'} {claim['b']} ({metric})",
            "detail": f"Mann-Whitney U one-sided p = {p:.3g}"}


# --- output -------------------------------------------------------------------------------------

def table(claims, results):
    lines = ["| claim | measured | 95 % CI | expected | n | verdict |", "|---|---|---|---|---|---|"]
    for c, r in zip(claims, results):
        detail = f" ({r['detail']})" if r.get("detail") else ""
        lines.append(f"| {c['id']} | {r.get('measured', '-')} | {r.get('interval', '-')} | "
                     f"{r.get('expected', '-')} | {r.get('n', 0)} | **{r['verdict']}**{detail} |")
    return "\n".join(lines)


def text_table(claims, results):
    width = max(len(c["id"]) for c in claims) + 2
    lines = [f"{'claim'.ljust(width)}{'measured':>16}{'95 % CI':>22}  {'expected'.ljust(36)}{'n':>3}  verdict"]
    for c, r in zip(claims, results):
        lines.append(f"{c['id'].ljust(width)}{r.get('measured', '-'):>16}{r.get('interval', '-'):>22}  "
                     f"{r.get('expected', '-')[:35].ljust(36)}{r.get('n', 0):>3}  {r['verdict']}")
    return "\n".join(lines)


def markdown(claims, results, source_file, title="Claims checked"):
    parts = [f"# {title}\n\nFrom `{os.path.relpath(source_file, ROOT)}`. Ratios read \"how many times "
             "better A is than B\" on the claim's metric (throughput: higher; times, latency, memory: lower). "
             f"Intervals: {int(CONFIDENCE * 100)} % bootstrap over repetitions. A ratio is the median of the "
             "per-pass ratios A/B when both were measured in the same passes of a sweep (a slow spell of the "
             "machine cancels), otherwise (a one-run, its repetitions shuffled together) the ratio of the medians. "
             "\"greater\"/\"less\" claims use a one-sided Mann-Whitney U test.\n", table(claims, results), "\n## The claims\n"]
    for c, r in zip(claims, results):
        parts.append(f"- **{c['id']}** ({r['verdict']}): \"{c['sentence']}\" — {c['source']}."
                     + (f" {c['note']}" if c.get("note") else ""))
    return "\n".join(parts) + "\n"


def run_cases(claims, args):
    """Runs exactly the needed units through the sweep; returns the results folder."""
    units, threads = needed_cases(claims)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([list(u) for u in units], f)
        units_file = f.name
    folder_file = units_file + ".folder"
    try:
        command = [sys.executable, os.path.join(HERE, "sweep.py"), "run", "--units", units_file,
                   "--folder-file", folder_file, "--binary", args.binary,
                   "--allocators", ",".join(sorted({a for _, a in units})),
                   "--workloads", ",".join(sorted({w for w, _ in units})),
                   "--threads", ",".join(map(str, threads)), "--repetitions", str(args.repetitions),
                   "--min-time", str(args.min_time)]
        if args.out:
            command += ["--out", args.out]
        if args.tiny:
            command.append("--tiny")
        subprocess.run(command, check=True)
        with open(folder_file) as f:
            return f.read().strip()
    finally:
        for p in (units_file, folder_file):
            if os.path.exists(p):
                os.unlink(p)


def run_once(claims, args):
    """Runs exactly the needed cases in ONE driver process; returns the results folder."""
    units, threads = needed_cases(claims)
    import sweep
    preloaded = sorted({a for _, a in units if a in sweep.PRELOADED})
    if preloaded:
        raise ClaimsError(f"--one-run cannot measure preloaded peers ({', '.join(preloaded)}): "
                          "they need a process of their own; drop --one-run")
    folder = args.out or os.path.join(ROOT, "results", results_io.new_run_name("-one-run"))
    try:
        os.makedirs(folder, exist_ok=False)
    except OSError as e:
        raise ClaimsError(f"cannot create output folder '{folder}': {e.strerror}") from None
    by_workload = {}
    for w, a in units:
        by_workload.setdefault(w, set()).add(a)
    # Google Benchmark matches its own names: workload/allocator/repeats:N/real_time/threads:T.
    pattern = "^(" + "|".join(f"{w}/({'|'.join(sorted(a))})" for w, a in sorted(by_workload.items())) + \
        ")/(.*/)?threads:(" + "|".join(map(str, threads)) + ")$"
    out = os.path.join(folder, "run.json")
    command = [args.binary, "--allocators", ",".join(sorted({a for _, a in units})),
               "--workloads", ",".join(sorted(by_workload)), "--threads", ",".join(map(str, threads)),
               "--repetitions", str(args.repetitions), "--min-time", str(args.min_time),
               "--benchmark_filter=" + pattern, "--benchmark_enable_random_interleaving=true", "--out", out]
    if args.tiny:
        command.append("--tiny")
    print("claims: " + " ".join(command), flush=True)
    subprocess.run(command, check=True)
    doc = results_io.read_json(out)
    rows = results_io.rows_from_driver_json(doc, 0, UNPAIRED_UNIT)
    seen = {}
    for r in rows:  # repetitions in the order the driver reported them
        key = (r["workload"], r["allocator"], r["threads"])
        r["repetition"] = seen.get(key, 0)
        seen[key] = r["repetition"] + 1
    results_io.write_csv(os.path.join(folder, "results.csv"), rows)
    results_io.write_atomically(os.path.join(folder, "command.txt"), " ".join(command) + "\n")
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(prog="claims", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", default=os.path.join(HERE, "..", "claims.toml"),
                        help="claims file (default: harness/claims.toml)")
    parser.add_argument("--from", dest="from_dir", metavar="DIR", help="use this results folder instead of running")
    parser.add_argument("--one-run", action="store_true", dest="one_run",
                        help="run every case in one driver process, repetitions interleaved (no preloaded peers)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any claim is NOT REPRODUCED")
    parser.add_argument("--repetitions", type=int, default=MIN_REPETITIONS,
                        help=f"repetitions per case (at least {MIN_REPETITIONS})")
    parser.add_argument("--min-time", type=float, default=0.03, dest="min_time", help="seconds per case")
    parser.add_argument("--out", help="results folder to create (default: results/<UTC time>-<host>)")
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "release", "harness", "alloclab"))
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    def fail(message, code=2):
        print(f"claims: {message}", file=sys.stderr)
        return code

    if args.from_dir and args.one_run:
        return fail("--from DIR and --one-run exclude each other (one reuses results, the other runs)")
    if args.repetitions < MIN_REPETITIONS and not args.tiny:
        return fail(f"--repetitions {args.repetitions}: at least {MIN_REPETITIONS} are needed for the statistics")
    meta = {}
    try:
        if args.from_dir:
            folder = args.from_dir
            rows = results_io.read_csv(os.path.join(folder, "results.csv"))
            allocators = sorted({r["allocator"] for r in rows})
            workloads = sorted({r["workload"] for r in rows})
            import sweep
            all_allocators, all_workloads = (known_names(args.binary) if os.access(args.binary, os.X_OK)
                                             else (allocators + list(sweep.PRELOADED), workloads))
            claims = load_claims(args.file, all_allocators, all_workloads, meta)
        else:
            if not os.access(args.binary, os.X_OK):
                return fail(f"driver '{args.binary}' not found (build it: cmake --build --preset release)")
            allocators, workloads = known_names(args.binary)
            claims = load_claims(args.file, allocators, workloads, meta)
            folder = run_once(claims, args) if args.one_run else run_cases(claims, args)
            rows = results_io.read_csv(os.path.join(folder, "results.csv"))
    except (ClaimsError, results_io.ResultsError) as e:
        return fail(str(e))
    except subprocess.CalledProcessError as e:
        return fail(f"the sweep failed (exit {e.returncode})", 1)

    results = [evaluate(c, rows) for c in claims]
    print(text_table(claims, results))
    for c, r in zip(claims, results):
        if r.get("detail") and r["verdict"] == "INCONCLUSIVE":
            print(f"  {c['id']}: {r['detail']}")
    title, stem = meta["title"], meta["output"]
    results_io.write_atomically(os.path.join(folder, stem + ".md"), markdown(claims, results, args.file, title))
    results_io.write_atomically(os.path.join(folder, stem + ".json"), json.dumps(
        [{**{k: c[k] for k in ("id", "sentence", "source", "metric", "relation")}, **r}
         for c, r in zip(claims, results)], indent=2) + "\n")
    if os.environ.get("CLAIMS_FOLDER_FILE"):  # run_all.sh redraws the report with the verdicts
        results_io.write_atomically(os.environ["CLAIMS_FOLDER_FILE"], folder + "\n")
    counts = {v: sum(r["verdict"] == v for r in results) for v in ("REPRODUCED", "NOT REPRODUCED", "INCONCLUSIVE")}
    print(f"claims: {counts['REPRODUCED']} reproduced, {counts['NOT REPRODUCED']} not reproduced, "
          f"{counts['INCONCLUSIVE']} inconclusive -> {os.path.join(folder, stem + '.md')}")
    return 1 if args.strict and counts["NOT REPRODUCED"] else 0


if __name__ == "__main__":
    sys.exit(main())
