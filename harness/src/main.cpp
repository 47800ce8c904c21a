// alloclab — runs workload x allocator x thread count on Google Benchmark and writes JSON.
#include <benchmark/benchmark.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "allocator_list.hpp"
#include "naming_reporter.hpp"
#include "parametric_workloads.hpp"
#include "run_context.hpp"
#include "selection.hpp"
#include "summary_reporter.hpp"
#include "thread_spec.hpp"
#include "workload_registry.hpp"

namespace {

using namespace alloclab::harness;

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "alloclab: %s\n", message.c_str());
  std::exit(2);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// "a,b" or "all" against the valid names; the first unknown name is the error.
std::vector<std::string> parse_names(const std::string& flag, const std::string& value,
                                     const std::vector<std::string>& valid) {
  if (value == "all") return valid;
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t comma = value.find(',', start);
    const std::string name = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
      usage_error("unknown " + flag + " '" + name + "' (valid: " + join(valid) + ", or all)");
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string traits_text(bool thread_safe, bool supports_free) {
  return std::string(thread_safe ? "thread_safe" : "per_thread") + (supports_free ? ",free" : ",bulk_reset");
}

void print_list() {
  std::printf("allocators (name, kind, traits, description):\n");
  for (const AllocatorListing& a : allocator_listing()) {
    std::printf("  %-20s %-10s %-26s %s\n", std::string(a.name).c_str(), std::string(kind_name(a.kind)).c_str(),
                traits_text(a.thread_safe, a.supports_free).c_str(), std::string(a.description).c_str());
  }
  // Indented further than the allocators: not names --allocators accepts.
  std::printf("\npreloaded peers (measured as %s with the library preloaded, by the sweep; not --allocators "
              "of the driver):\n",
              std::string(preloaded_measured_as).c_str());
  for (const PreloadedPeer& p : preloaded_peers) {
    const bool built = p.library_from == LibraryFrom::build;
    std::printf("    %-18s %-26s %s (%s%s)\n", std::string(p.name).c_str(), (p.supports_free ? traits_text(true, true) : std::string("thread_safe,no_free")).c_str(),
                std::string(p.description).c_str(), std::string(p.library).c_str(),
                built ? " in the build's allocators/" : "");
  }
  std::printf("\nworkloads (name: what it stresses; one operation is):\n");
  for (const WorkloadEntry& w : all_workloads()) {
    std::printf("  %-16s %s\n  %-16s op = %s\n", std::string(w.info.name).c_str(),
                std::string(w.info.description).c_str(), "", std::string(w.info.operation).c_str());
  }
  // Named with a file: not among the workloads "all" selects.
  for (const ParametricListing& p : parametric_listing()) {
    const std::string name = std::string(p.info.name) + ":" + std::string(p.argument);
    std::printf("  %-16s %s\n  %-16s op = %s\n", name.c_str(), std::string(p.info.description).c_str(), "",
                std::string(p.info.operation).c_str());
  }
}

// `--list --json`: how every other tool learns the names, kinds, requirements and the thread
// counts a --threads value stands for. Keys in a fixed order (schema 1: keys are only ever
// added, never changed in meaning, and readers ignore keys they do not know).
void print_list_json(const std::vector<int>& threads) {
  using Json = nlohmann::ordered_json;
  Json allocators = Json::array();
  for (const AllocatorListing& a : allocator_listing()) {
    allocators.push_back({{"name", a.name},
                          {"kind", kind_name(a.kind)},
                          {"description", a.description},
                          {"thread_safe", a.thread_safe},
                          {"supports_free", a.supports_free}});
  }
  for (const PreloadedPeer& p : preloaded_peers) {
    allocators.push_back({{"name", p.name},
                          {"kind", kind_name(AllocatorKind::preloaded)},
                          {"description", p.description},
                          {"thread_safe", true},
                          {"supports_free", p.supports_free},
                          {"measured_as", preloaded_measured_as},
                          {"library", p.library},
                          {"library_from", library_from_name(p.library_from)},
                          {"expect_in_path", p.expect_in_path}});
  }
  Json workloads = Json::array();
  for (const WorkloadEntry& w : all_workloads()) {
    workloads.push_back({{"name", w.info.name},
                         {"description", w.info.description},
                         {"operation", w.info.operation},
                         {"needs_shared_instance", w.info.needs_shared_instance},
                         {"needs_free", w.info.needs_free},
                         {"needs_cross_thread_free", w.info.needs_cross_thread_free}});
  }
  // Named KIND:FILE on a command line (trace:FILE, empirical:FILE): "parametric", with what
  // follows the colon as "argument"; not among the workloads "all" selects.
  for (const ParametricListing& p : parametric_listing()) {
    workloads.push_back({{"name", p.info.name},
                         {"description", p.info.description},
                         {"operation", p.info.operation},
                         {"needs_shared_instance", p.info.needs_shared_instance},
                         {"needs_free", p.info.needs_free},
                         {"needs_cross_thread_free", p.info.needs_cross_thread_free},
                         {"parametric", true},
                         {"argument", p.argument}});
  }
  Json doc;
  doc["schema"] = 1;
  doc["allocators"] = std::move(allocators);
  doc["workloads"] = std::move(workloads);
  doc["threads"] = threads;
  std::cout << doc.dump(2) << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  // Google Benchmark's own flags pass through untouched; the rest is ours.
  std::vector<char*> ours{argv[0]};
  std::vector<char*> theirs{argv[0]};
  for (int i = 1; i < argc; ++i) {
    (std::strncmp(argv[i], "--benchmark_", 12) == 0 ? theirs : ours).push_back(argv[i]);
  }

  std::vector<std::string> allocator_names;
  for (const AllocatorListing& a : allocator_listing()) allocator_names.emplace_back(a.name);
  std::vector<std::string> workload_names;
  for (const WorkloadEntry& w : all_workloads()) workload_names.emplace_back(w.info.name);

  CLI::App app{
      "alloclab: runs every selected workload x allocator x thread count on Google Benchmark.\n"
      "Cases are named workload/allocator/threads:N. Thread-safe allocators are shared by the\n"
      "threads of a case; the others get one instance per thread. Pairs that cannot run (a\n"
      "workload needing individual or cross-thread free on an arena) are skipped, printed and\n"
      "recorded. Any --benchmark_* flag is passed to Google Benchmark.\n"
      "Besides the built-in workloads, trace:FILE replays a recorded allocation trace (one case\n"
      "per allocator, at the trace's own thread count) and empirical:FILE drives the allocators\n"
      "from a size table made by `alloclab-trace distill` (at each --threads count).",
      "alloclab"};
  bool list = false, json = false;
  std::string allocators = "all", workloads = "all", threads = "1", out, touch_text = "pages";
  int repetitions = 1;
  double min_time = 0;
  long long iterations = 0;
  std::string seed_text = "42";
  bool tiny = false, no_latency = false;
  app.footer(
      "\nExamples:\n"
      "  alloclab --list\n"
      "  alloclab --list --json --threads 1..8   (names, kinds, requirements, thread counts as JSON)\n"
      "  alloclab --workloads small,mixed --allocators malloc,thread_local_arena --threads 1..8 \\\n"
      "           --repetitions 5 --out results.json\n"
      "  alloclab --workloads trace:python.trace,empirical:python.csv --threads 1..8 --out traces.json\n"
      "\nGoogle Benchmark flags pass through, for example --benchmark_filter=REGEX (run the cases\n"
      "whose name matches), --benchmark_enable_random_interleaving=true, --benchmark_min_warmup_time=S.\n"
      "\nReported per case (JSON): items_per_second, ns_per_op (wall time per operation, all threads),\n"
      "bytes_per_second, latency_p50/p99/p999/max_ns (allocate() alone, separate untimed pass),\n"
      "peak_rss_bytes, rss_at_start_bytes, page_faults, overhead_ratio (allocators that count).\n"
      "A trace case adds ns_per_event, events_per_second, peak_live_requested_bytes (the trace's\n"
      "ideal), bytes_reserved_at_peak and fragmentation_ratio (allocators that count),\n"
      "rss_at_10pct..rss_at_100pct (RSS at each tenth of a replay), frees_are_noops (arenas) and\n"
      "foreign_frees_skipped; an allocator that runs out is skipped as 'exhausted at event N of M'.\n"
      "Exit status: 0 done, 1 results could not be written, 2 bad input (nothing written).");
  app.add_flag("--list", list,
               "List allocators (with kind and traits), preloaded peers and workloads (with their operation), then exit");
  app.add_flag("--json", json,
               "With --list: print the listing as JSON (schema 1), with the thread counts --threads stands for");
  app.add_option("--allocators", allocators, "Comma-separated allocator names, or all")->capture_default_str();
  app.add_option("--workloads", workloads,
                 "Comma-separated workload names, trace:FILE (a recorded trace), empirical:FILE (a distilled "
                 "size table), or all (every built-in workload)")
      ->capture_default_str();
  app.add_option("--touch", touch_text,
                 "How a trace replay writes each object: none, pages (its first cache line and one byte of "
                 "every further page), or all (every byte)")
      ->capture_default_str();
  app.add_option("--threads", threads, "Thread counts: 4, a list 1,2,8, or a doubling range 1..64")
      ->capture_default_str();
  app.add_option("--repetitions", repetitions, "Repetitions of every case (aggregates reported when > 1)")
      ->capture_default_str();
  app.add_option("--min-time", min_time, "Minimum seconds per case (default: Google Benchmark's)");
  app.add_option("--iterations", iterations,
                 "Exactly N rounds per case, no time-based estimation (for profilers: callgrind, perf)");
  app.add_option("--seed", seed_text, "Seed of the workloads' random streams (0 to 2^64 - 1)")->capture_default_str();
  app.add_option("--out", out, "Write the results as JSON to this file (atomically)");
  app.add_flag("--tiny", tiny, "Tiny rounds and structures (smoke tests)");
  app.add_flag("--no-latency", no_latency, "Skip the untimed latency-sampling pass");
  std::string malloc_label, expect_malloc;
  app.add_option("--malloc-label", malloc_label,
                 "Report the malloc adapter under this name (a preloaded peer: jemalloc, mimalloc, ...)");
  app.add_option("--expect-malloc", expect_malloc,
                 "Fail (exit 3) unless malloc resolves into a library whose file name contains this "
                 "text and that library is mapped: proof that an LD_PRELOAD took effect");
  try {
    app.parse(static_cast<int>(ours.size()), ours.data());
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    usage_error(e.what());
  }
  if (json && !list) usage_error("--json goes with --list");
  if (list) {
    if (json) {
      print_list_json(parse_thread_spec(threads));  // exits 2 with a message on a bad value
    } else {
      print_list();
    }
    return 0;
  }

  if (!expect_malloc.empty()) {
    const std::string active = active_malloc();
    if (active.find(expect_malloc) == std::string::npos || !library_mapped(expect_malloc)) {
      const char* preload = std::getenv("LD_PRELOAD");
      std::fprintf(stderr, "alloclab: malloc resolves into %s, not %s (LD_PRELOAD=%s): the preload did not take effect\n",
                   active.c_str(), expect_malloc.c_str(), preload != nullptr ? preload : "");
      return 3;
    }
  }
  if (!malloc_label.empty()) set_malloc_label(malloc_label);

  Selection sel;
  sel.allocators = parse_names("allocator", allocators, allocator_names);
  const std::optional<alloclab::workloads::Touch> touch = alloclab::workloads::parse_touch(touch_text);
  if (!touch) usage_error("bad --touch '" + touch_text + "' (valid: none, pages, all)");
  // Files named here are read now: a bad one stops the run before anything is written.
  WorkloadChoice choice;
  {
    std::string problem;
    if (!choose_workloads(workloads, workload_names, choice, problem)) usage_error(problem);
  }
  sel.workloads = choice.builtin;
  sel.threads = parse_thread_spec(threads);  // exits 2 with a message on a bad value
  if (repetitions < 1) usage_error("--repetitions must be a positive count, got " + std::to_string(repetitions));
  if (!(min_time >= 0 && min_time <= 86400))  // NaN fails too
    usage_error("bad --min-time " + std::to_string(min_time) + " (valid: seconds from 0 to 86400)");
  // Parsed here, not by CLI11: "-5" would wrap to a huge seed without a word.
  std::uint64_t seed = 0;
  {
    const char* first = seed_text.data();
    const char* last = first + seed_text.size();
    const auto [end, ec] = std::from_chars(first, last, seed);
    if (seed_text.empty() || ec != std::errc() || end != last)
      usage_error("bad --seed '" + seed_text + "' (valid: a whole number from 0 to 2^64 - 1)");
  }
  if (iterations < 0) usage_error("--iterations must not be negative, got " + std::to_string(iterations));
  if (iterations > 0 && min_time > 0) usage_error("--iterations and --min-time exclude each other (a fixed count, or a time)");
  sel.repetitions = repetitions;
  sel.min_time = min_time;
  sel.iterations = iterations;
  sel.config.params.seed = seed;
  sel.config.params.tiny = tiny;
  sel.config.latency = !no_latency;

  // The output goes to a temporary file beside the target (Google Benchmark writes it through
  // --benchmark_out) and is renamed over the target only once it is complete and parses.
  std::string temp, temp_flag;
  if (!out.empty()) {
    for (char* arg : theirs)
      if (std::strncmp(arg, "--benchmark_out=", 16) == 0) usage_error("give --out or --benchmark_out, not both");
    const std::filesystem::path target(out);
    if (target.filename().empty()) usage_error("--out '" + out + "' names a folder, not a file");
    temp = (target.parent_path() / ("." + target.filename().string() + ".tmp")).string();
    std::ofstream probe(temp, std::ios::trunc);
    if (!probe) usage_error("cannot write --out '" + out + "': " + std::strerror(errno));
    temp_flag = "--benchmark_out=" + temp;
    theirs.push_back(temp_flag.data());
  }

  int bench_argc = static_cast<int>(theirs.size());
  benchmark::Initialize(&bench_argc, theirs.data());
  if (bench_argc > 1) {  // Google Benchmark left a --benchmark_* flag it does not know
    if (!temp.empty()) std::filesystem::remove(temp);
    usage_error(std::string("unknown Google Benchmark flag '") + theirs[1] +
                "' (valid: the --benchmark_* flags of Google Benchmark 1.7, e.g. --benchmark_filter=REGEX)");
  }
  for (const auto& [key, value] : run_context(argc, argv, seed)) benchmark::AddCustomContext(key, value);
  benchmark::AddCustomContext("touch", std::string(alloclab::workloads::touch_name(*touch)));
  benchmark::AddCustomContext("workload_files", workload_files_json(choice.parametric));

  std::vector<SkippedCase> skipped;
  for (const WorkloadEntry& w : all_workloads()) {
    if (std::find(sel.workloads.begin(), sel.workloads.end(), w.info.name) != sel.workloads.end())
      w.register_cases(sel, skipped);
  }
  for (const ParametricWorkload& w : choice.parametric) {
    if (w.kind == ParametricKind::trace) {
      register_trace_cases(sel, w, *touch, skipped);
    } else {
      register_empirical_cases(sel, w, skipped);
    }
  }
  benchmark::AddCustomContext("skipped_cases", std::to_string(skipped.size()));

  // Every combination registers one case (measured or skipped); a filter makes the total unknown.
  bool filtered = false;
  for (char* arg : theirs) filtered |= std::strncmp(arg, "--benchmark_filter", 18) == 0;
  std::size_t total = sel.workloads.size() * sel.allocators.size() * sel.threads.size();
  for (const ParametricWorkload& w : choice.parametric)  // a trace runs at its own thread count only
    total += sel.allocators.size() * (w.kind == ParametricKind::trace ? 1 : sel.threads.size());
  if (filtered) total = 0;
  NamingReporter<SummaryReporter> console(total);
  if (!malloc_label.empty()) benchmark::AddCustomContext("malloc_label", malloc_label);
  NamingReporter<benchmark::JSONReporter> file;
  if (!temp.empty()) {
    benchmark::RunSpecifiedBenchmarks(&console, &file);
  } else {
    benchmark::RunSpecifiedBenchmarks(&console);
  }
  benchmark::Shutdown();
  finished_run().reset();  // the last case's allocator, now that every benchmark thread is gone

  if (!temp.empty()) {
    std::string problem;
    try {
      std::ifstream in(temp);
      const nlohmann::json doc = nlohmann::json::parse(in);
      if (!doc.contains("benchmarks")) problem = "no benchmarks list";
    } catch (const std::exception& e) {
      problem = e.what();
    }
    // Complete and valid: renamed over the target. Otherwise kept beside it, never deleted:
    // the measurements in it are not lost, and the target is not replaced by a broken file.
    const std::string destination = problem.empty() ? out : out + ".unparsed";
    std::error_code ec;
    std::filesystem::rename(temp, destination, ec);
    if (!problem.empty() || ec) {
      std::fprintf(stderr, "alloclab: results not written to '%s': %s%s%s\n", out.c_str(),
                   problem.empty() ? ec.message().c_str() : problem.c_str(),
                   ec ? "" : "; the raw output is in ", ec ? "" : destination.c_str());
      return 1;
    }
  }
  return 0;
}
