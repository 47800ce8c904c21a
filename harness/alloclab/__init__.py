"""alloclab's Python tools: one package, imported by every tool and by plots/.

Glossary (the same words as the C++ side, allocators/include/alloclab/allocator.hpp):
  case        one workload x allocator x thread count, named workload/allocator/threads:N
  repetition  one measurement of a case; in a sweep, one pass over every allocator, each
              allocator in its own process (a "unit": one repetition of one workload on one
              allocator, all thread counts)
  run         a results folder: raw/ (the driver's JSON per unit), results.csv (one row per
              case x repetition), machine.json, command.txt, registry.json
  registry    what the driver knows (`alloclab --list --json`): allocators with their kind
              (library, peer, preloaded, reference), workloads with their requirements

Modules:
  results     the data model (ResultRow, Case, Run), the one validating reader, atomic writes
  registry    the driver's registry, and its thread-count grammar, asked of the driver
  preload     allocators that replace malloc in a process (Debian's peers, alloclab's malloc
              shims from the build, a user's --preload) and the proof that a preload took effect
  fit         whether a failed run ran out of the memory of an allocator that never frees
  stats       summaries and bootstrap intervals (scipy.stats)
  document    a report model rendered once per format (Markdown, HTML, plain text)
  sweep       `python3 -m alloclab.sweep`: sweeps in processes, resume, shards, merge
  claims      `python3 -m alloclab.claims`: published claims checked with statistics
  traces      `python3 -m alloclab.traces record OUT -- CMD`: a program's allocations recorded
              (the layout of its processes' files), `programs run --record`, the framing scan
  instructions_per_op  callgrind's instruction count per operation
"""
