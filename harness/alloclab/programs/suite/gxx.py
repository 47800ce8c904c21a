"""gxx: the GNU C++ compiler (Debian package g++) compiling generated translation units.

Workload: generated here. Several C++17 translation units, each with dozens of functions
that use std::map<std::string, T>, std::vector with std::sort under a lambda of their own
(each a new instantiation), std::unordered_map, a class template with a value parameter and
virtual classes behind std::unique_ptr; a main unit combines their results. The measured
process is `g++ -O2 -pipe -c` on all units: the driver and, as its children, cc1plus and as
(they inherit the preloaded allocator). GCC allocates its trees, RTL and hash tables through
its garbage-collected pools over mmap and malloc, and obstacks over malloc.
Stresses: a compiler's allocation pattern: large obstacks, many medium blocks, memory held
until the unit ends. Does not test: threads (one unit at a time), linking (the check links
with the system allocator), link-time optimisation.

Check: every object file exists; linked (outside the measured run, without LD_PRELOAD) and
run, the program prints the value computed here by evaluating each generated function.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from alloclab.programs.catalog import Drive, Invocation, Program
from alloclab.programs.suite._common import differs, read_text, run_quiet, sized

MOD = 1_000_000_007
PER_UNIT = 20        # functions per translation unit
HEADER = """#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
"""


class Gxx(Program):
    name = "gxx"
    description = "g++ -O2: generated template- and STL-heavy C++ units (cc1plus, as)"
    origin = "Debian g++ 12; C++ sources generated here"
    not_tested = "threads, linking, LTO"
    packages = ("g++",)
    executables = ("g++",)

    def prepare(self, inputs: Path, scale: float, seed: int) -> None:
        rng = random.Random(seed)
        functions = sized(40, scale)
        units = -(-functions // PER_UNIT)
        total = 0
        for u in range(units):
            count = min(PER_UNIT, functions - u * PER_UNIT)
            source, value = unit(u, count, rng)
            (inputs / f"unit{u:03d}.cpp").write_text(source)
            total = (total * 137 + value) % MOD
        (inputs / "main.cpp").write_text(main_source([entry(u) for u in range(units)]))
        (inputs / "expected.txt").write_text(f"{total}\n")

    def command(self, run: Invocation) -> list[str]:
        sources = sorted(str(p) for p in run.inputs.glob("*.cpp"))
        return ["g++", "-std=c++17", "-O2", "-pipe", "-c", *sources]

    def check(self, run: Invocation, stdout: str, drive: Drive | None) -> str | None:
        want = (read_text(run.inputs / "expected.txt") or "").strip()
        sources = sorted(run.inputs.glob("*.cpp"))
        if not want or not sources:
            return "inputs/expected.txt or the sources are missing"
        objects = [run.work / (p.stem + ".o") for p in sources]   # g++ -c names them so
        missing = [p.name for p in objects if not p.is_file()]
        if missing:
            return differs("object files", "all present", "missing " + " ".join(missing))
        rc, _, err = run_quiet(["g++", "-o", "prog", *map(str, objects)], run.work, 120)
        if rc != 0:
            return differs("linking the objects", "exit 0", f"exit {rc}: {err}")
        rc, out, err = run_quiet([str(run.work / "prog")], run.work, 60)
        if rc != 0 or out.strip() != want:
            return differs("the built program's output", want, f"exit {rc}: {out} {err}")
        return None


def entry(u: int) -> str:
    """The one external symbol of unit u (extern "C": easy to rename in a copy)."""
    return f"unit_sum_{u:03d}"


def main_source(entries: list[str]) -> str:
    """A main() that prints the entries' results combined as t = (t * 137 + e()) % MOD."""
    decls = "".join(f'extern "C" long {e}();\n' for e in entries)
    body = "".join(f"  t = (t * 137 + {e}()) % {MOD}L;\n" for e in entries)
    return (f"#include <cstdio>\n{decls}int main() {{\n  long t = 0;\n{body}"
            '  std::printf("%ld\\n", t);\n  return 0;\n}\n')


def unit(u: int, count: int, rng: random.Random) -> tuple[str, int]:
    """One translation unit with `count` generated functions, all of internal linkage but
    entry(u): (source, the value entry(u) returns)."""
    parts = [HEADER, "namespace {",
             "struct Base { virtual ~Base() = default; virtual long get(long x) const = 0; };",
             "template <typename T, int K> struct Acc {",
             "  T v{};",
             "  void add(T x) { v = static_cast<T>((v * K + x) % 1000003); }",
             "};"]
    values = []
    for f in range(count):
        kind, n = f % 4, rng.randrange(20, 200)
        a, b, m, k = rng.randrange(1, 1000), rng.randrange(1000), rng.randrange(5, 300), \
            rng.randrange(2, 90)
        t = rng.choice(("long", "int", "unsigned"))
        if kind == 0:   # string-keyed map
            parts.append(
                f"long f{f}() {{\n  std::map<std::string, {t}> m;\n"
                f"  for (long j = 0; j < {n}; ++j) m[\"k\" + std::to_string(j * {a} % {m})] += "
                f"static_cast<{t}>(j);\n"
                "  long s = 0;\n  for (const auto& [key, v] : m) s += long(v) * long(key.size());\n"
                "  return s + long(m.size());\n}")
            sums: Counter[str] = Counter()
            for j in range(n):
                sums["k" + str(j * a % m)] += j
            values.append(sum(v * len(key) for key, v in sums.items()) + len(sums))
        elif kind == 1:  # vector, sort under its own lambda, unique, a class template
            parts.append(
                f"long f{f}() {{\n  std::vector<{t}> v;\n"
                f"  for (long j = 0; j < {n}; ++j) v.push_back(static_cast<{t}>((j * {a} + {b}) % {m}));\n"
                f"  std::sort(v.begin(), v.end(), []({t} x, {t} y) {{ return x > y; }});\n"
                "  v.erase(std::unique(v.begin(), v.end()), v.end());\n"
                f"  Acc<{t}, {k}> acc;\n  for ({t} x : v) acc.add(x);\n"
                "  return long(acc.v) + long(v.size());\n}")
            acc = 0
            distinct = sorted({(j * a + b) % m for j in range(n)}, reverse=True)
            for x in distinct:
                acc = (acc * k + x) % 1000003
            values.append(acc + len(distinct))
        elif kind == 2:  # string building and searching
            parts.append(
                f"long f{f}() {{\n  std::string s;\n"
                f"  for (long j = 0; j < {n}; ++j) s += char('a' + (j * {a} + {b}) % 26);\n"
                "  long c = 0;\n"
                "  for (auto p = s.find(\"ab\"); p != std::string::npos; p = s.find(\"ab\", p + 1)) ++c;\n"
                f"  return c * {k} + long(s.size());\n}}")
            text = "".join(chr(97 + (j * a + b) % 26) for j in range(n))
            values.append(text.count("ab") * k + len(text))
        else:           # hash map histogram, a virtual class behind unique_ptr
            parts.append(
                f"struct Impl{f} : Base {{ long get(long x) const override {{ return x * {a} + {b}; }} }};\n"
                f"long f{f}() {{\n  std::unordered_map<long, {t}> h;\n"
                f"  for (long j = 0; j < {n}; ++j) ++h[j * {a} % {m}];\n"
                f"  {t} most = 0;\n  for (const auto& [key, c] : h) most = std::max(most, c);\n"
                f"  std::unique_ptr<Base> p = std::make_unique<Impl{f}>();\n"
                f"  return long(most) * {k} + long(h.size()) + p->get({n});\n}}")
            hist = Counter(j * a % m for j in range(n))
            values.append(max(hist.values()) * k + len(hist) + n * a + b)
    total = 0
    for v in values:
        total = (total * 131 + v) % MOD
    calls = "".join(f"  t = (t * 131 + f{f}()) % {MOD}L;\n" for f in range(count))
    parts += ["}", f'extern "C" long {entry(u)}() {{\n  long t = 0;\n{calls}  return t;\n}}']
    return "\n".join(parts) + "\n", total
