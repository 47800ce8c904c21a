#!/usr/bin/env bash
# alloclab — the one entry point. Installs missing Debian packages, builds, dispatches.
#
#   ./run_all.sh                 the main job: build (release), run the examples and a sweep of
#                                every workload x allocator into results/<UTC time>-<host>/
#   ./run_all.sh test [PRESET…]  build and run the whole test suite with ctest; PRESET is any of
#                                release (default), debug, asan, tsan — several run in turn
#   ./run_all.sh help            this text
#
# As root on Debian 12 it installs what is missing (apt-get update once, then apt-get install);
# as another user it prints the exact command to run and exits 2.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "run_all.sh: $*" >&2; exit 2; }

# Debian packages each job needs.
build_packages=(cmake ninja-build g++ git libbenchmark-dev libtbb-dev libgtest-dev libcli11-dev
                nlohmann-json3-dev)

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

build() {  # build PRESET
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1"
}

run_tests() {
  local presets=("$@") preset
  [ ${#presets[@]} -eq 0 ] && presets=(release)
  for preset in "${presets[@]}"; do
    case "$preset" in
      release|debug|asan|tsan) ;;
      *) die "unknown test preset '$preset' (valid: release, debug, asan, tsan)" ;;
    esac
  done
  ensure_packages "${build_packages[@]}"
  for preset in "${presets[@]}"; do
    echo "== test preset: $preset"
    build "$preset"
    ctest --preset "$preset"
  done
}

main_job() {
  ensure_packages "${build_packages[@]}"
  build release
  echo "== example: mutex_arena_example"
  ./build/release/allocators/mutex_arena_example
  # Every workload x allocator, threads 1 to 2 x cores (doubling): oversubscribed on purpose.
  local dir threads
  dir="results/$(date -u +%Y%m%dT%H%M%SZ)-$(hostname -s 2>/dev/null || echo host)"
  threads="1..$((2 * $(nproc)))"
  mkdir -p "$dir"
  echo "== alloclab: all workloads x all allocators, threads $threads -> $dir"
  ./build/release/harness/alloclab --workloads all --allocators all --threads "$threads" \
    --min-time 0.05 --out "$dir/alloclab.json" | tee "$dir/console.txt"
  ln -sfn "$(basename "$dir")" results/latest
  echo "== results: $dir/alloclab.json (results/latest)"
}

case "${1-}" in
  "") main_job ;;
  test) shift; run_tests "$@" ;;
  help|-h|--help) usage ;;
  *) die "unknown command '$1' (valid: test, help, or none for the main job)" ;;
esac
