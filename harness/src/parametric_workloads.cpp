// The parametric workloads' command-line side: --workloads parsed, files loaded and checked,
// listed, recorded in the context (see parametric_workloads.hpp).
#include "parametric_workloads.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include <sys/stat.h>

#include "command_line.hpp"

#include "alloclab/trace/reader.hpp"

namespace alloclab::harness {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// A file's stem names its cases, which the tools read back as KIND:STEM (harness/alloclab/
// registry.py): the same characters as any name there.
bool stem_names_cases(const std::string& stem) {
  if (stem.empty() || stem.size() > 64) return false;
  return std::all_of(stem.begin(), stem.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '+' || c == '-';
  });
}

// Reads and prepares one file; false with "PATH: problem" in `error`.
bool load(ParametricWorkload& w, const std::string& given, std::string& error, std::vector<std::string>& notes) {
  if (w.kind == ParametricKind::trace) {
    std::string problem;
    std::optional<trace::Trace> t = trace::read_trace(given, &problem);
    if (!t) {
      error = problem.empty() ? given + ": cannot be read" : problem;
      return false;
    }
    if (t->summary.truncated) {  // the readable prefix is a trace of its own (TRACE_FORMAT.md, Truncation)
      notes.push_back(given + ": truncated (no end record); replaying its " + std::to_string(t->summary.events) +
                      " events");
    }
    std::optional<workloads::ReplayPlan> plan = workloads::prepare_replay(std::move(*t), &problem);
    if (!plan) {
      error = given + ": cannot be replayed: " + problem;
      return false;
    }
    w.plan = std::make_shared<const workloads::ReplayPlan>(std::move(*plan));
    return true;
  }
  std::string problem;
  std::optional<trace::Distribution> d = trace::read_distribution(given, &problem);
  if (!d) {
    error = problem.empty() ? given + ": cannot be read" : problem;
    return false;
  }
  if (d->rows.empty()) {
    error = given + ": the table has no rows (nothing to drive an allocator with)";
    return false;
  }
  w.distribution = std::make_shared<const trace::Distribution>(std::move(*d));
  return true;
}

}  // namespace

const std::vector<ParametricListing>& parametric_listing() {
  static const std::vector<ParametricListing> list{{trace_workload_info(), "FILE"},
                                                   {empirical_workload_info(), "FILE"}};
  return list;
}

namespace {

// What a file of each kind must be, for the "(valid: ...)" of a refusal.
std::string valid_file(ParametricKind kind) {
  return kind == ParametricKind::trace
             ? "valid: a trace recorded by liballoclab_trace.so, see workloads/TRACE_FORMAT.md"
             : "valid: a size table written by alloclab-trace distill";
}

// The reader's one line, with the valid choices when it does not give them.
std::string with_valid(std::string problem, ParametricKind kind) {
  problem = command_line::one_line(std::move(problem));
  if (problem.find("(valid") == std::string::npos) problem += " (" + valid_file(kind) + ")";
  return problem;
}

bool exists(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

}  // namespace

bool choose_workloads(const std::string& value, const std::vector<std::string>& builtin, WorkloadChoice& out,
                      std::string& error) {
  out = {};
  const std::string valid = "valid: " + join(builtin) + ", trace:FILE, empirical:FILE, or all";
  const std::string shown_value = command_line::shown(value);
  if (value.empty()) {
    error = "empty --workloads (" + valid + ")";
    return false;
  }
  std::vector<std::string> pieces;
  for (std::size_t start = 0;;) {
    const std::size_t comma = value.find(',', start);
    pieces.push_back(value.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  bool all = false;
  const auto add_builtin = [&](const std::string& name) {
    if (std::find(out.builtin.begin(), out.builtin.end(), name) != out.builtin.end()) {
      error = "workload '" + name + "' named twice in --workloads '" + shown_value + "'" +
              (all ? " (all includes it)" : "") + " (valid: each workload once)";
      return false;
    }
    out.builtin.push_back(name);
    return true;
  };
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const std::string& item = pieces[i];
    if (item.empty()) {
      error = "an empty item in --workloads '" + shown_value + "' (" + valid + ")";
      return false;
    }
    if (item == "all") {
      if (all) {
        error = "all named twice in --workloads '" + shown_value + "' (valid: each workload once)";
        return false;
      }
      all = true;
      for (const auto& name : builtin) {
        if (!add_builtin(name)) return false;
      }
      continue;
    }
    const std::size_t colon = item.find(':');
    const std::string prefix = item.substr(0, colon);
    if (colon == std::string::npos || (prefix != "trace" && prefix != "empirical")) {
      if (std::find(builtin.begin(), builtin.end(), item) == builtin.end()) {
        error = "unknown --workloads name '" + command_line::shown(item) + "' (" + valid + ")";
        return false;
      }
      if (!add_builtin(item)) return false;
      continue;
    }
    ParametricWorkload w;
    w.kind = prefix == "trace" ? ParametricKind::trace : ParametricKind::empirical;
    // A path may hold commas: the longest run of the items from here that names an existing
    // file is the path (trace:/data/a,b/run.trace,small is the file /data/a,b/run.trace and
    // the workload small); when none does, the text up to the next comma is the path.
    std::string given = item.substr(colon + 1);
    {
      std::string candidate = given;
      for (std::size_t j = i + 1; j < pieces.size(); ++j) {
        candidate += "," + pieces[j];
        if (exists(candidate)) {
          given = candidate;
          i = j;
        }
      }
    }
    if (given.empty()) {
      error = "--workloads item '" + command_line::shown(item) + "' names no file (valid: " + prefix + ":FILE)";
      return false;
    }
    const std::string label = prefix + ":" + command_line::shown(given);
    if (const std::string problem = command_line::input_problem(given, false); !problem.empty()) {
      error = label + ": " + problem + " (" + valid_file(w.kind) + ")";
      return false;
    }
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(given, ec).lexically_normal();
    if (ec) {
      error = label + ": " + ec.message() + " (" + valid_file(w.kind) + ")";
      return false;
    }
    w.path = absolute.string();
    const std::string stem = absolute.stem().string();
    w.name = prefix + ":" + stem;
    for (const ParametricWorkload& other : out.parametric) {
      if (other.path == w.path || command_line::same_file(other.path, w.path)) {
        error = label + ": the same file named twice in --workloads (valid: each file once)";
        return false;
      }
      if (other.kind == w.kind && other.name == w.name) {
        error = prefix + ":" + other.path + " and " + prefix + ":" + w.path + " have the same stem '" + stem +
                "', which names their cases (" + w.name + "/...) (valid: files with different stems; rename one)";
        return false;
      }
    }
    if (!stem_names_cases(stem)) {
      error = label + ": the file's stem '" + command_line::shown(stem) +
              "' names its cases (valid: 1 to 64 letters, digits, '_', '.', '+' or '-'; rename the file)";
      return false;
    }
    if (!load(w, given, error, out.notes)) {
      error = with_valid(std::move(error), w.kind);
      return false;
    }
    out.parametric.push_back(std::move(w));
  }
  return true;
}

std::string workload_files_json(const std::vector<ParametricWorkload>& parametric) {
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  for (const ParametricWorkload& w : parametric) files[w.name] = w.path;
  return files.dump();
}

void register_skipped_case(const std::string& name, int threads, const std::string& reason,
                           std::vector<SkippedCase>& skipped) {
  skipped.push_back({name + "/threads:" + std::to_string(threads), reason});
  const std::string message = "skipped: " + reason;
  benchmark::RegisterBenchmark(name.c_str(), [message](benchmark::State& state) {
    state.SkipWithError(message.c_str());
    for (auto _ : state) {
    }
  })->Threads(threads)->Iterations(1);
}

}  // namespace alloclab::harness
