// The parametric workloads' command-line side: --workloads parsed, files loaded and checked,
// listed, recorded in the context (see parametric_workloads.hpp).
#include "parametric_workloads.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

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
bool load(ParametricWorkload& w, const std::string& given, std::string& error) {
  if (w.kind == ParametricKind::trace) {
    std::string problem;
    std::optional<trace::Trace> t = trace::read_trace(given, &problem);
    if (!t) {
      error = problem.empty() ? given + ": cannot be read" : problem;
      return false;
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

bool choose_workloads(const std::string& value, const std::vector<std::string>& builtin, WorkloadChoice& out,
                      std::string& error) {
  out = {};
  const auto add_builtin = [&](const std::string& name) {
    if (std::find(out.builtin.begin(), out.builtin.end(), name) == out.builtin.end()) out.builtin.push_back(name);
  };
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t comma = value.find(',', start);
    const std::string item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? value.size() + 1 : comma + 1;
    if (item == "all") {
      for (const auto& name : builtin) add_builtin(name);
      continue;
    }
    const std::size_t colon = item.find(':');
    const std::string prefix = item.substr(0, colon);
    if (colon == std::string::npos || (prefix != "trace" && prefix != "empirical")) {
      if (std::find(builtin.begin(), builtin.end(), item) == builtin.end()) {
        error = "unknown workload '" + item + "' (valid: " + join(builtin) + ", trace:FILE, empirical:FILE, or all)";
        return false;
      }
      add_builtin(item);
      continue;
    }
    ParametricWorkload w;
    w.kind = prefix == "trace" ? ParametricKind::trace : ParametricKind::empirical;
    const std::string given = item.substr(colon + 1);
    if (given.empty()) {
      error = "workload '" + item + "' names no file (valid: " + prefix + ":FILE)";
      return false;
    }
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(given, ec).lexically_normal();
    if (ec) {
      error = given + ": " + ec.message();
      return false;
    }
    w.path = absolute.string();
    const std::string stem = absolute.stem().string();
    w.name = prefix + ":" + stem;
    bool seen = false;
    for (const ParametricWorkload& other : out.parametric) {
      if (other.kind != w.kind || other.name != w.name) continue;
      if (other.path != w.path) {
        error = prefix + ":" + other.path + " and " + prefix + ":" + w.path + " have the same stem '" + stem +
                "', which names their cases (" + w.name + "/...): rename one";
        return false;
      }
      seen = true;  // the same file twice: once
    }
    if (seen) continue;
    if (!stem_names_cases(stem)) {
      error = given + ": the file's stem '" + stem +
              "' names its cases and must be 1 to 64 letters, digits, '_', '.', '+' or '-' (rename the file)";
      return false;
    }
    if (!load(w, given, error)) return false;
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
