#!/usr/bin/env bash
# alloclab — the one entry point. Installs missing Debian packages, builds, dispatches.
#
#   ./run_all.sh                 the main job: build, sweep every allocator (and the preloaded
#                                peers) x every workload but ast_256k and slot_exchange, threads 1..2 x cores,
#                                3 repetitions, a reference case in each process (the probe),
#                                a short run of the real programs (--profile quick),
#                                then charts and a report in results/<UTC time>-<host>/
#   ./run_all.sh --full          the same for papers: 9 repetitions, threads to 4 x cores
#   ./run_all.sh sweep [OPTION…] the sweep with options: --allocators, --workloads, --threads,
#                                --repetitions, --out, --resume DIR, --shard K/N (sweep run -h)
#   ./run_all.sh programs [OPTION…]  the real-programs suite: redis, lua, python, z3,
#                                ghostscript, sqlite, g++, rocksdb and lld, each a process under
#                                glibc and every preloaded peer (add yours: --preload LABEL=lib.so),
#                                5 repetitions; results, charts, report (programs run -h);
#                                programs merge OUT DIR… merges shards, programs list lists
#   ./run_all.sh sweep --slurm [--slurm-tasks N] [--slurm-args "ARGS"] [OPTION…]
#                                the sweep as a SLURM job array (one shard per task, --exclusive)
#                                plus a merge job that draws the charts and report once all
#                                succeeded; the same for programs (programs --slurm …);
#                                --resume RUN resubmits only what RUN is missing
#   ./run_all.sh status RUN [RUN…]   where a run stands: shards done, running, pending, failed
#                                (with the reason), whether SLURM or a person ran them
#   ./run_all.sh trace OUT.trace -- CMD [ARG…]
#                                record CMD's allocations (liballoclab_trace.so preloaded): its
#                                own process into OUT.trace, every process it starts into
#                                OUT-<pid>.trace beside it; prints a table of them (exit: CMD's)
#   ./run_all.sh trace info FILE [--json]       a trace's events, threads, sizes, lifetimes
#   ./run_all.sh trace distill FILE --out DIST.csv   its size distribution (workload empirical:)
#                                replay: sweep --workloads trace:FILE,empirical:DIST.csv;
#                                programs --record records each program of the suite
#   ./run_all.sh repeatability [OPTION…]  the sweep twice, back to back (same options), then how
#                                far the two agree: pairs of allocators each calls different,
#                                contradicted and reversed between them, the ratios' discrepancy;
#                                --compare RUN1 RUN2 compares two runs made before
#   ./run_all.sh plot DIR [DIR…] redraw charts and report from results folders; two or more
#                                are compared side by side
#   ./run_all.sh merge OUT DIR…  merge the folders of a sharded sweep
#   ./run_all.sh claims [FILE]   check the performance claims of FILE (harness/claims.toml):
#                                runs the cases they need (9 repetitions), prints verdicts with
#                                95 % intervals; --from DIR reuses a run, --strict exits 1 when
#                                a claim is not reproduced
#   ./run_all.sh targets         check the project's performance targets (harness/targets.toml):
#                                every case in ONE alloclab run, 25 interleaved repetitions;
#                                prints each ratio (of the medians) with its 95 %
#                                interval and verdict; --from DIR judges them on a run made before
#   ./run_all.sh test [PRESET…]  build and run the test suite with ctest under each PRESET in
#                                turn: release, asan (ASan+UBSan), tsan, fuzz (libFuzzer targets,
#                                ALLOCLAB_FUZZ_SECONDS each, default 60), debug, stress (long
#                                stress tests); default: release stress asan tsan fuzz
#   ./run_all.sh help            this text
#
# As root on Debian 12 it installs what is missing (apt-get update once, then apt-get install);
# as another user it prints the exact command to run and exits 2.
set -euo pipefail
# Files named on the command line (a trace, a distribution, a program to record) are the
# caller's: relative to the folder run_all.sh was called from, not to the repository.
export ALLOCLAB_CALLER_DIR="$PWD"
cd "$(dirname "$(readlink -f "$0")")"
repo=$PWD
# The tools run in the caller's folder (after the build, which needs the repository's), so every
# path given to them is the caller's; their defaults (results/, the build, harness/*.toml) are
# the repository's whatever the folder.
to_caller() { cd "$ALLOCLAB_CALLER_DIR" || die "the folder run_all.sh was called from is gone"; }
# A tool killed with run_all.sh (kill -9 included) takes its children with it: the tools ask
# the kernel for a signal when this shell dies (alloclab.processes).
export ALLOCLAB_PARENT_PID=$$

usage() { sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "run_all.sh: $*" >&2; exit 2; }

# Debian packages each job needs.
build_packages=(cmake ninja-build g++ git libbenchmark-dev libtbb-dev libgtest-dev libcli11-dev
                nlohmann-json3-dev)
# The test suite: clang and its libFuzzer/sanitizer runtimes (fuzzers), mypy (the tools' types),
# SLURM and munge (a single-node SLURM the SLURM test starts and stops).
test_packages=(clang libclang-rt-14-dev mypy slurm-wlm munge)
# The real programs of the suite (python3 is among the tool packages).
program_packages=(redis-server redis-tools lua5.4 z3 ghostscript sqlite3 rocksdb-tools lld)
# The sweep's peers (preloaded) and the Python tools' libraries.
tool_packages=(libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 libtbbmalloc2 python3
               python3-matplotlib python3-numpy python3-scipy)

ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "run_all.sh: missing Debian packages: ${missing[*]}" >&2
    echo "run_all.sh: install them as root with:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 2
  fi
  echo "run_all.sh: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {  # build PRESET [TARGET…]: silent when there is nothing to compile, so a tool's refusal
  # of bad input stays its one line (ninja's steps that run every time are not shown)
  local preset=$1
  shift
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" ${1:+--target "$@"} 2>&1 |
    { grep --line-buffered -v -E 'Re-checking globbed directories|Recording the commit in build_info|^ninja: no work to do' || true; }
}
# What the tools run: the driver, the malloc probe and the launcher (programs), the shims the
# sweep preloads, the trace recorder (programs --record); not the test suite.
tool_targets=(alloclab alloclab_probe alloclab_launch alloclab_malloc alloclab_bump alloclab_trace)
build_tools() { build release "${tool_targets[@]}"; }

# Debian's python3-matplotlib belongs to Debian's interpreter, which need not be the first
# python3 on PATH: use the first one that can import it.
pick_python() {
  local candidate
  for candidate in /usr/bin/python3 "$(command -v python3 || true)"; do
    [ -n "$candidate" ] && "$candidate" -c 'import matplotlib, numpy, scipy' 2>/dev/null && { echo "$candidate"; return; }
  done
  die "no python3 can import matplotlib, numpy and scipy (install python3-matplotlib python3-numpy python3-scipy)"
}

# The tools: the package harness/alloclab and the package plots, run by module name.
export PYTHONPATH="$PWD/harness:$PWD${PYTHONPATH:+:$PYTHONPATH}"

# run_into_folder WHAT MODULE [options]: runs `python3 -m MODULE run`; sets $folder to the
# results folder it wrote.
run_into_folder() {
  local what=$1 module=$2 folder_file
  shift 2
  folder_file=$(mktemp)
  local status=0
  "$python" -m "$module" run --folder-file "$folder_file" "$@" || status=$?
  folder=$(cat "$folder_file")
  rm -f "$folder_file"  # also when the tool refused its input or failed: no temporary file left
  [ "$status" -eq 0 ] || exit "$status"
  [ -d "$folder" ] || die "the $what wrote no results folder"
}

# --slurm anywhere among a sweep's or programs' options: submit instead of running here.
wants_slurm() { local a; for a in "$@"; do [ "$a" = --slurm ] && return 0; done; return 1; }

slurm_submit() {  # slurm_submit sweep|programs [options]: the tasks run the driver built here
  local kind=$1
  shift
  ensure_packages "${build_packages[@]}" "${tool_packages[@]}"
  [ "$kind" = programs ] && ensure_packages "${program_packages[@]}"
  build_tools
  python=$(pick_python)
  to_caller
  exec "$python" -m alloclab.slurm submit "$kind" "$@"
}

sweep() {  # sweep [sweep.py run options]
  if wants_slurm "$@"; then slurm_submit sweep "$@"; fi
  ensure_packages "${build_packages[@]}" "${tool_packages[@]}"
  build_tools
  local folder
  python=$(pick_python)
  to_caller
  run_into_folder sweep alloclab.sweep "$@"
  "$python" -m plots "$folder"
  echo "== report: $folder/report.html ($folder/report.md); results: $folder/results.csv"
}

main_job() {  # the default sweep, then a short programs run into the same folder
  ensure_packages "${build_packages[@]}" "${tool_packages[@]}" "${program_packages[@]}"
  build_tools
  local folder
  python=$(pick_python)
  to_caller
  run_into_folder sweep alloclab.sweep
  "$python" -m alloclab.programs run --profile quick --out "$folder"
  "$python" -m plots "$folder"
  echo "== report: $folder/report.html ($folder/report.md); results: $folder/results.csv, $folder/programs.csv"
}

programs() {  # programs [alloclab.programs run options]
  if wants_slurm "$@"; then slurm_submit programs "$@"; fi
  ensure_packages "${build_packages[@]}" "${tool_packages[@]}" "${program_packages[@]}"
  build_tools
  local folder
  python=$(pick_python)
  to_caller
  run_into_folder "programs run" alloclab.programs "$@"
  case " $* " in  # programs --record records traces instead of measuring: nothing to draw
    *" --record "*) echo "== traces: $folder/traces/ (what each holds: $folder/traces/index.json)"; return ;;
  esac
  "$python" -m plots "$folder"
  echo "== report: $folder/report.html ($folder/report.md); results: $folder/programs.csv"
}

repeatability() {  # repeatability [SWEEP OPTION…] | repeatability --compare RUN1 RUN2 [--json FILE]
  ensure_packages "${build_packages[@]}" "${tool_packages[@]}"
  local a folder first
  if [ "${1-}" = --compare ]; then
    shift
    python=$(pick_python); to_caller
    exec "$python" -m alloclab.repeatability "$@"
  fi
  # The options that would not give two new runs, in every form argparse reads (an unambiguous
  # prefix of an option is the option).
  local refused=(--out --resume --shard --slurm --folder-file --check) r name
  for a in "$@"; do
    name=${a%%=*}
    [[ "$name" == --?* ]] || continue
    for r in "${refused[@]}"; do
      [[ "$r" == "$name"* && ${#name} -ge 3 ]] &&
        die "repeatability runs two new sweeps into results/: '$name' ($r) is not for it (valid: the sweep's other options, e.g. --workloads, --allocators, --threads, --repetitions, --results; or --compare RUN1 RUN2)"
    done
  done
  build_tools
  python=$(pick_python)
  to_caller
  # The options checked before anything is printed or run: a refusal is the sweep's one line.
  "$python" -m alloclab.sweep run --check "$@" >/dev/null
  echo "== repeatability: the sweep, twice, back to back"
  run_into_folder sweep alloclab.sweep "$@"
  first=$folder
  run_into_folder sweep alloclab.sweep "$@"
  "$python" -m alloclab.repeatability "$first" "$folder"
}

trace() {  # trace OUT -- CMD… | trace info FILE [--json] | trace distill FILE --out DIST.csv
  ensure_packages "${build_packages[@]}" "${tool_packages[@]}"
  # Only the recorder and the tool, not the whole build; the build's output goes to stderr, as
  # stdout is the recorded program's.
  cmake --preset release >/dev/null
  cmake --build --preset release --target alloclab_trace alloclab_trace_tool >&2
  local tool="$PWD/build/release/harness/alloclab-trace" python
  python=$(pick_python)
  to_caller  # the program runs, and the files are named, where the caller is
  case "${1-}" in
    info|distill) exec "$tool" "$@" ;;
    *) exec "$python" -m alloclab.traces record "$@" ;;
  esac
}

run_tests() {
  local presets=("$@") preset
  [ ${#presets[@]} -eq 0 ] && presets=(release stress asan tsan fuzz)
  for preset in "${presets[@]}"; do
    case "$preset" in
      release|debug|asan|tsan|fuzz|stress) ;;
      *) die "unknown test preset '$preset' (valid: release, debug, asan, tsan, fuzz, stress)" ;;
    esac
  done
  ensure_packages "${build_packages[@]}" "${tool_packages[@]}" "${test_packages[@]}" "${program_packages[@]}"
  local started=$SECONDS
  for preset in "${presets[@]}"; do
    echo "== test preset: $preset"
    case "$preset" in
      stress) build release ;;
      fuzz)
        cmake --preset fuzz -DALLOCLAB_FUZZ_SECONDS="${ALLOCLAB_FUZZ_SECONDS:-60}" >/dev/null
        cmake --build --preset fuzz ;;
      *) build "$preset" ;;
    esac
    # The tests start the tools themselves: they are not run_all.sh's caller's tools.
    env -u ALLOCLAB_CALLER_DIR -u ALLOCLAB_PARENT_PID ctest --preset "$preset"
  done
  echo "== all test presets passed (${presets[*]}) in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
}

case "${1-}" in
  "") main_job ;;
  --full) shift; sweep --profile full "$@" ;;
  sweep) shift; sweep "$@" ;;
  programs)
    shift
    case "${1-}" in
      merge|list)  # programs merge OUT DIR… (shards of one run), programs list
        ensure_packages "${build_packages[@]}" "${tool_packages[@]}"
        [ "$1" = list ] && build_tools
        python=$(pick_python); to_caller
        exec "$python" -m alloclab.programs "$@" ;;
      *) programs "$@" ;;
    esac ;;
  plot)
    shift
    [ $# -ge 1 ] || die "plot needs at least one results folder (valid: plot DIR [DIR…], e.g. plot results/latest)"
    ensure_packages "${tool_packages[@]}"
    python=$(pick_python); to_caller
    exec "$python" -m plots "$@" ;;
  merge)
    shift
    [ $# -ge 2 ] || die "merge needs an output folder and at least one results folder (valid: merge OUT DIR [DIR…])"
    ensure_packages "${tool_packages[@]}"
    python=$(pick_python); to_caller
    exec "$python" -m alloclab.sweep merge "$@" ;;
  claims)
    shift
    ensure_packages "${build_packages[@]}" "${tool_packages[@]}" "${program_packages[@]}"
    case " $* " in *" --from "*|*" --from="*) ;; *) build_tools ;; esac
    python=$(pick_python)
    to_caller
    folder_file=$(mktemp)
    status=0
    CLAIMS_FOLDER_FILE="$folder_file" "$python" -m alloclab.claims "$@" || status=$?
    if [ -s "$folder_file" ]; then "$python" -m plots "$(cat "$folder_file")" >/dev/null; fi
    rm -f "$folder_file"
    exit "$status" ;;
  targets)
    shift
    ensure_packages "${build_packages[@]}" "${tool_packages[@]}"
    case " $* " in
      *" --from "*|*" --from="*)  # judge the targets on a run made before: nothing is built or run
        python=$(pick_python); to_caller
        exec "$python" -m alloclab.claims "$repo/harness/targets.toml" "$@" ;;
    esac
    build_tools
    python=$(pick_python); to_caller
    exec "$python" -m alloclab.claims "$repo/harness/targets.toml" --one-run --repetitions 25 --min-time 0.1 "$@" ;;
  trace) shift; trace "$@" ;;
  repeatability) shift; repeatability "$@" ;;
  status)
    shift
    [ $# -ge 1 ] || die "status needs a run folder (valid: status RUN [RUN…], e.g. status results/latest)"
    ensure_packages "${tool_packages[@]}"
    python=$(pick_python); to_caller
    exec "$python" -m alloclab.status "$@" ;;
  test) shift; run_tests "$@" ;;
  help|-h|--help) usage ;;
  *) die "unknown command '$1' (valid: sweep, --full, programs, status, trace, repeatability, plot, merge, claims, targets, test, help, or none for the main job)" ;;
esac
