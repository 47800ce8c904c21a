"""lld: the LLVM linker (Debian package lld, ld.lld 14) linking many C++ object files with
debug information, with --threads.

Workload: generated here. prepare() compiles a few C++17 units of the gxx program's kind
(std::map, std::vector + sort, std::string, std::unordered_map, virtual classes) with
`-g -O1 -ffunction-sections -fdata-sections -ggnu-pubnames`, then lays each out many times
as hard links (the unit's one external symbol is weak, so the copies coexist, as duplicated
inline and template code does in real C++ programs). The measured process is
`ld.lld --threads=T --gdb-index --icf=all --gc-sections` itself, on the link line g++ would
give its linker (asked once, in prepare, with `g++ -fuse-ld=lld -###`; GCC's LTO plugin
options dropped), so that no collect2 writes temporary files outside the work folder.
lld parses every copy (symbol tables, sections, COMDAT groups), splits and merges the
mergeable string sections, folds identical code, builds the .gdb_index and relocates the
debug sections, in parallel on T threads; it allocates bump-pointer slabs, vectors and hash
maps. The output (about 300 MiB at scale 1, mostly debug sections) goes to the work folder.
Stresses: large and medium blocks from several threads at once, memory held to the end.
Does not test: distinct code in each copy (copies are the same bytes: the input's size and
section count scale, not its variety), LTO, compressed debug sections.

Check: the linked program (run without LD_PRELOAD) prints the value computed here from the
generated units.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alloclab.programs.catalog import Drive, Invocation, Program
from alloclab.programs.suite._common import DIE_WITH_RUNNER, clean_env, differs, read_text, run_quiet, sized
from alloclab.programs.suite.gxx import MOD, entry, main_source, unit

UNITS = 8          # distinct units at scale >= 1 (each about 1 s to compile, once)
FUNCTIONS = 8      # functions per unit
COPIES = 1000      # object files linked at scale 1
OUTPUT, OBJECTS = "OUTPUT", "OBJECTS.o"   # placeholders in the link line
CFLAGS = ["-std=c++17", "-g", "-O1", "-ffunction-sections", "-fdata-sections",
          "-ggnu-pubnames"]


class Lld(Program):
    name = "lld"
    description = "ld.lld --threads: C++ objects with debug info, gdb-index, ICF, gc-sections"
    origin = "Debian lld 14 (ld.lld) on the g++ link line; C++ objects generated here"
    not_tested = "distinct code per object (copies), LTO, compressed debug sections"
    packages = ("lld", "g++")
    executables = ("ld.lld", "g++")
    threaded = True

    def prepare(self, inputs: Path, scale: float, seed: int) -> None:
        rng = random.Random(seed)
        units = min(UNITS, sized(UNITS, scale))
        total, sources = 0, []
        for u in range(units):
            source, value = unit(u, FUNCTIONS, rng)
            weak = f'extern "C" __attribute__((weak)) long {entry(u)}()'
            source = source.replace(f'extern "C" long {entry(u)}()', weak)
            (inputs / f"unit{u:03d}.cpp").write_text(source)
            sources.append(f"unit{u:03d}.cpp")
            total = (total * 137 + value) % MOD
        (inputs / "main.cpp").write_text(main_source([entry(u) for u in range(units)]))
        sources.append("main.cpp")

        def compile_one(name: str) -> str:
            # Same bytes whatever the folder: relative names, mapped paths, a fixed seed.
            maps = {f"-fdebug-prefix-map={d}=." for d in (inputs, inputs.resolve())}
            argv = ["g++", *CFLAGS, *sorted(maps), f"-frandom-seed={name}", "-c", name]
            p = subprocess.run(DIE_WITH_RUNNER + argv, cwd=inputs, env=clean_env(), capture_output=True,
                               text=True, errors="replace", stdin=subprocess.DEVNULL)
            return "" if p.returncode == 0 else f"{name}: {p.stderr[-500:]}"

        with ThreadPoolExecutor(max_workers=max(1, min(len(sources), os.cpu_count() or 1))) as ex:
            errors = [e for e in ex.map(compile_one, sources) if e]
        if errors:
            raise RuntimeError("lld: compiling the inputs failed: " + errors[0])
        copies = inputs / "objects"
        copies.mkdir()
        names = []
        for c in range(sized(COPIES, scale, units)):
            u = c % units
            name = f"unit{u:03d}-{c // units:04d}.o"
            try:
                os.link(inputs / f"unit{u:03d}.o", copies / name)
            except OSError:   # a file system without hard links
                shutil.copyfile(inputs / f"unit{u:03d}.o", copies / name)
            names.append(name)
        (inputs / "objects.txt").write_text("\n".join(names) + "\n")
        (inputs / "link.json").write_text(json.dumps(link_line()) + "\n")
        (inputs / "expected.txt").write_text(f"{total}\n")

    def command(self, run: Invocation) -> list[str]:
        names = (read_text(run.inputs / "objects.txt") or "").split()
        try:
            line = [str(a) for a in json.loads(read_text(run.inputs / "link.json") or "")]
        except ValueError:
            line = ["ld.lld", "-o", OUTPUT, OBJECTS]   # fails to link: check() says so
        objects = [str(run.inputs / "main.o"), *(str(run.inputs / "objects" / n) for n in names)]
        argv = ["ld.lld", f"--threads={run.threads}", "--gdb-index", "--icf=all", "--gc-sections"]
        for arg in line[1:]:
            argv += objects if arg == OBJECTS else [str(run.work / "prog") if arg == OUTPUT else arg]
        return argv

    def check(self, run: Invocation, stdout: str, drive: Drive | None) -> str | None:
        want = (read_text(run.inputs / "expected.txt") or "").strip()
        if not want:
            return "inputs/expected.txt is missing"
        if not (run.work / "prog").is_file():
            return "no linked program (work/prog)"
        rc, out, err = run_quiet([str(run.work / "prog")], run.work, 60)
        if rc != 0 or out.strip() != want:
            return differs("the linked program's output", want, f"exit {rc}: {out} {err}")
        return None


def link_line() -> list[str]:
    """The linker command line g++ would run to link OBJECTS.o into OUTPUT with lld, as
    ld.lld arguments: collect2 replaced by ld.lld, the LTO plugin's options dropped. Asked
    with a minimal environment, so that LIBRARY_PATH and the like don't leak in."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    p = subprocess.run(["g++", "-fuse-ld=lld", "-###", "-o", OUTPUT, OBJECTS], env=env,
                       capture_output=True, text=True, errors="replace",
                       stdin=subprocess.DEVNULL)
    for text in p.stderr.splitlines():
        words = shlex.split(text) if text.startswith(" ") else []
        if words and Path(words[0]).name in ("collect2", "ld.lld", "ld") and OBJECTS in words:
            args, skip = [], False
            for w in words[1:]:
                if skip or w.startswith("-plugin-opt") or w == "-fuse-ld=lld":
                    skip = False
                elif w == "-plugin":
                    skip = True   # its argument follows
                else:
                    args.append(w)
            return ["ld.lld", *args]
    raise RuntimeError(f"lld: no link line from g++ -fuse-ld=lld -###: {p.stderr[-300:]}")
