// Workloads named with a file on the command line, registered at run time:
//   trace:FILE      replays a recorded allocation trace (workloads/trace_replay.hpp) — cases
//                   trace:<stem>/<allocator>/threads:<N>, N the trace's own thread count;
//   empirical:FILE  drives the allocators from a distilled size table (workloads/empirical.hpp)
//                   — cases empirical:<stem>/<allocator>/threads:<N> for each N of --threads.
// Each file is read once, when the command line is checked (a missing, unreadable or corrupt
// file is one line and exit 2 before anything runs), and shared read-only by all its cases.
// Registration is still one case-runner instance per allocator type (register_trace.cpp,
// register_empirical.cpp): only which files, not which code, is decided at run time.
//
// What the two parametric workloads expect of each other's code (agreed with empirical.hpp):
//   Empirical<A>(const Params& params, int threads) reads its table through
//   params.distribution, a `const trace::Distribution*` that this file's loader keeps alive
//   (ParametricWorkload::distribution) for the whole process; its info.name is "empirical".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alloclab/trace/distribution.hpp"
#include "alloclab/workloads/trace_replay.hpp"
#include "alloclab/workloads/workload.hpp"
#include "selection.hpp"

namespace alloclab::harness {

enum class ParametricKind { trace, empirical };

struct ParametricWorkload {
  ParametricKind kind = ParametricKind::trace;
  std::string path;  // absolute
  std::string name;  // "trace:<stem>": the first part of its cases' names
  std::shared_ptr<const workloads::ReplayPlan> plan;             // trace
  std::shared_ptr<const trace::Distribution> distribution;       // empirical
};

// What `--list` says of each kind (its workload's info, with name "trace" / "empirical").
struct ParametricListing {
  workloads::WorkloadInfo info;
  std::string_view argument;  // what follows "kind:" ("FILE")
};
const std::vector<ParametricListing>& parametric_listing();

// --workloads split into built-in names and parametric files, the files loaded.
struct WorkloadChoice {
  std::vector<std::string> builtin;
  std::vector<ParametricWorkload> parametric;
  std::vector<std::string> notes;  // for stderr once the whole command line is accepted (a truncated trace)
};

// "a,b,trace:PATH,empirical:PATH" or "all" (every built-in workload; "all" may be combined
// with files). A PATH may hold commas: the longest run of comma-separated items that names an
// existing file is taken whole. False with one line in `error` (without the program's name)
// on an empty value or item, an unknown name, a name or a file given twice (all includes
// every built-in name), a missing, unreadable or corrupt file, a stem that cannot name cases,
// or two files of one kind with the same stem.
bool choose_workloads(const std::string& value, const std::vector<std::string>& builtin, WorkloadChoice& out,
                      std::string& error);

// `workload_files` for the JSON context: {"trace:<stem>": "/abs/path", ...} as a JSON string.
std::string workload_files_json(const std::vector<ParametricWorkload>& parametric);

// The cases of one parametric workload for every selected allocator (register_*.cpp); those
// that cannot run are registered as skipped and appended to `skipped`.
void register_trace_cases(const Selection& sel, const ParametricWorkload& w, workloads::Touch touch,
                          std::vector<SkippedCase>& skipped);
void register_empirical_cases(const Selection& sel, const ParametricWorkload& w, std::vector<SkippedCase>& skipped);
// Infos of the two kinds (defined beside their registration).
workloads::WorkloadInfo trace_workload_info();
workloads::WorkloadInfo empirical_workload_info();

// A case that cannot run: registered (so every combination has a row) and skipped with reason.
void register_skipped_case(const std::string& name, int threads, const std::string& reason,
                           std::vector<SkippedCase>& skipped);

}  // namespace alloclab::harness
