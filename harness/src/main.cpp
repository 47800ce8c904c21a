// alloclab — runs workload x allocator x thread count on Google Benchmark and writes JSON.
#include <benchmark/benchmark.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <nlohmann/json.hpp>
#include <iterator>
#include <string>
#include <vector>

#include <signal.h>  // pthread_sigmask
#include <sys/stat.h>
#include <unistd.h>

#include "allocator_list.hpp"
#include "command_line.hpp"
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
  // One line, whatever a path or value in it holds.
  std::string line;
  for (char c : message) line += c == '\n' ? std::string("\\n") : c == '\r' ? std::string("\\r") : std::string(1, c);
  std::fprintf(stderr, "alloclab: %s\n", line.c_str());
  std::exit(2);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// "a,b" or "all" against the valid names. Refused, one line each: an empty value, an empty
// item, an unknown name, a name given twice, "all" beside other names.
std::vector<std::string> parse_names(const std::string& flag, const std::string& value,
                                     const std::vector<std::string>& valid) {
  const std::string valid_text = "valid: " + join(valid) + ", or all";
  if (value == "all") return valid;
  if (value.empty()) usage_error("empty " + flag + " (" + valid_text + ")");
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = value.find(',', start);
    const std::string name = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name.empty()) usage_error("an empty item in " + flag + " '" + command_line::shown(value) + "' (" + valid_text + ")");
    if (name == "all") usage_error("all goes alone in " + flag + " '" + command_line::shown(value) + "' (" + valid_text + ")");
    if (std::find(valid.begin(), valid.end(), name) == valid.end())
      usage_error("unknown " + flag + " name '" + command_line::shown(name) + "' (" + valid_text + ")");
    if (std::find(out.begin(), out.end(), name) != out.end())
      usage_error("'" + name + "' named twice in " + flag + " '" + command_line::shown(value) + "' (valid: each name once)");
    out.push_back(name);
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

// --- Google Benchmark's flags -----------------------------------------------------------------
// Every --benchmark_* flag is checked here, strictly, before Google Benchmark sees it: GB 1.7
// reads numbers leniently (nan, 1_0), takes any word for true, and answers a bad format with
// its usage screen and exit 0. Flags that alloclab's own output makes meaningless are refused
// with the option to use instead.
enum class GbKind { boolean, regex, seconds_positive, seconds, count, time_unit, context, refused };
struct GbFlag {
  const char* name;
  GbKind kind;
  const char* valid;  // the valid values, or for `refused` why and what to use
};
const std::vector<GbFlag>& gb_flags() {
  static const std::vector<GbFlag> flags{
      {"--benchmark_filter", GbKind::regex, "a regular expression matching case names"},
      {"--benchmark_min_time", GbKind::seconds_positive, "seconds, a number > 0 up to 86400"},
      {"--benchmark_min_warmup_time", GbKind::seconds, "seconds, a number from 0 to 86400"},
      {"--benchmark_repetitions", GbKind::count, "a whole number from 1 to 10000"},
      {"--benchmark_enable_random_interleaving", GbKind::boolean, "true or false"},
      {"--benchmark_report_aggregates_only", GbKind::boolean, "true or false"},
      {"--benchmark_display_aggregates_only", GbKind::boolean, "true or false"},
      {"--benchmark_list_tests", GbKind::boolean, "true or false"},
      {"--benchmark_time_unit", GbKind::time_unit, "ns, us, ms or s"},
      {"--benchmark_context", GbKind::context, "key=value pairs separated by commas"},
      {"--benchmark_out", GbKind::refused, "alloclab writes results with --out FILE (atomically)"},
      {"--benchmark_out_format", GbKind::refused, "--out FILE writes Google Benchmark's JSON"},
      {"--benchmark_format", GbKind::refused, "alloclab prints its own console summary; --out FILE writes JSON"},
      {"--benchmark_color", GbKind::refused, "alloclab prints its own console summary, without colour"},
      {"--benchmark_counters_tabular", GbKind::refused, "alloclab prints its own console summary"},
      {"--benchmark_perf_counters", GbKind::refused,
       "this Google Benchmark is built without libpfm; use perf stat -- alloclab ... --iterations N"},
  };
  return flags;
}

std::string gb_valid_names() {
  std::string out;
  for (const GbFlag& f : gb_flags())
    if (f.kind != GbKind::refused) out += (out.empty() ? "" : ", ") + std::string(f.name) + "=...";
  return out;
}

// Our own context keys (run_context.cpp and main), which --benchmark_context must not repeat.
bool context_key_taken(const std::string& key, unsigned long long seed) {
  for (const auto& [k, v] : run_context(0, nullptr, seed))
    if (k == key) return true;
  for (const char* k : {"touch", "workload_files", "skipped_cases", "malloc_label", "executable", "date",
                        "host_name", "num_cpus", "mhz_per_cpu", "cpu_scaling_enabled", "caches", "load_avg",
                        "library_build_type", "json_schema_version"})
    if (key == k) return true;
  return false;
}

struct GbChoice {
  std::vector<std::string> args;   // as given, checked
  std::vector<std::string> names;  // the flag of each
  const std::string* value(const std::string& name) const {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return &args[i];
    return nullptr;
  }
  bool has(const std::string& name) const { return value(name) != nullptr; }
};

// "--benchmark_x=V" checked; the text after '=' (true for a bare boolean flag) in `value_out`.
GbChoice check_gb_flags(const std::vector<std::string>& args) {
  GbChoice out;
  for (const std::string& arg : args) {
    const std::size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const GbFlag* flag = nullptr;
    for (const GbFlag& f : gb_flags())
      if (name == f.name) flag = &f;
    if (flag == nullptr)
      usage_error("unknown Google Benchmark flag '" + command_line::shown(name) + "' (valid: " + gb_valid_names() + ")");
    if (flag->kind == GbKind::refused) usage_error(name + " is not taken here (valid: " + flag->valid + ")");
    if (out.has(name)) usage_error(name + " given twice (valid: once)");
    const bool bare = eq == std::string::npos;
    const std::string value = bare ? std::string() : arg.substr(eq + 1);
    const auto bad = [&]() {
      usage_error("bad " + name + " '" + command_line::shown(value) + "' (valid: " + name + "=" + flag->valid + ")");
    };
    if (bare && flag->kind != GbKind::boolean)
      usage_error(name + " needs a value (valid: " + name + "=" + flag->valid + ")");
    switch (flag->kind) {
      case GbKind::boolean:
        if (!bare && value != "true" && value != "false") bad();
        break;
      case GbKind::regex:
        if (value.empty()) bad();  // matched against the cases once they are registered
        break;
      case GbKind::seconds_positive:
      case GbKind::seconds: {
        const std::optional<double> t = command_line::decimal(value);
        if (!t || *t > 86400 || (flag->kind == GbKind::seconds_positive && !(*t > 0))) bad();
        break;
      }
      case GbKind::count:
        if (!command_line::whole_number(value, 1, 10000)) bad();
        break;
      case GbKind::time_unit:
        if (value != "ns" && value != "us" && value != "ms" && value != "s") bad();
        break;
      case GbKind::context: {
        std::vector<std::string> keys;
        std::size_t start = 0;
        while (true) {
          const std::size_t comma = value.find(',', start);
          const std::string pair = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
          const std::size_t pair_eq = pair.find('=');
          if (pair.empty() || pair_eq == 0 || pair_eq == std::string::npos || pair.find('=', pair_eq + 1) != std::string::npos)
            bad();
          const std::string key = pair.substr(0, pair_eq);
          if (std::find(keys.begin(), keys.end(), key) != keys.end())
            usage_error(name + ": key '" + command_line::shown(key) + "' given twice (valid: each key once)");
          if (context_key_taken(key, 0))
            usage_error(name + ": key '" + command_line::shown(key) +
                        "' is one alloclab records itself (valid: another key)");
          keys.push_back(key);
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
        break;
      }
      case GbKind::refused:
        break;
    }
    out.args.push_back(arg);
    out.names.push_back(name);
  }
  return out;
}

// Calls Initialize with these flags (Google Benchmark keeps the flags it is not given).
void initialize_benchmark(const char* argv0, const std::vector<std::string>& flags) {
  std::vector<std::string> copies(flags);
  std::vector<char*> argv{const_cast<char*>(argv0)};
  for (std::string& f : copies) argv.push_back(f.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(argv.size() - 1);
  benchmark::Initialize(&argc, argv.data());
  if (argc > 1) usage_error(std::string("Google Benchmark did not take '") + argv[1] + "' (valid: " + gb_valid_names() + ")");
}

// Collects what Google Benchmark's list mode prints: the names of the cases a filter selects.
class ListingProbe : public benchmark::BenchmarkReporter {
 public:
  ListingProbe() {
    SetOutputStream(&names_);
    SetErrorStream(&errors_);
  }
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    std::istringstream in(names_.str());
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(line);
    return out;
  }
  std::string errors() const { return errors_.str(); }

 private:
  std::ostringstream names_, errors_;
};

// --- the temporary output file ------------------------------------------------------------------
// Removed on every way out that runs code: a refusal or failure (exit, atexit), a signal that
// ends the process (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE) and a case that crashes
// (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT), after which the signal takes its earlier course
// (a sanitizer's report, a core dump). Only SIGKILL leaves it; the sweep removes .*.tmp files.
char temp_path[4096];
volatile std::sig_atomic_t temp_exists = 0;
struct sigaction previous_action[65];

void remove_temp() {
  if (temp_exists) {
    ::unlink(temp_path);
    temp_exists = 0;
  }
}

extern "C" void on_deadly_signal(int sig, siginfo_t* info, void*) {
  if (temp_exists) {
    ::unlink(temp_path);  // async-signal-safe
    temp_exists = 0;
  }
  ::sigaction(sig, &previous_action[sig], nullptr);
  // A fault re-executes and faults again into the earlier handler; a signal that was sent
  // (kill, raise, abort: si_code <= 0) is sent again.
  const bool fault = (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) && info != nullptr &&
                     info->si_code > 0;
  if (!fault) ::raise(sig);
}

// Installs the handlers once, before any temporary exists.
void install_temp_guard() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  std::atexit(remove_temp);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) {
    struct sigaction action {};
    action.sa_sigaction = on_deadly_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_ONSTACK | SA_SIGINFO;
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN && sig != SIGPIPE) continue;  // nohup
    ::sigaction(sig, &action, &previous_action[sig]);
  }
}

// Creates the temporary from PATTERN (mkstemps, suffix ".tmp") and records it for the handlers.
// The sent signals are blocked from before the file exists until it is recorded, so a signal
// arriving in between is handled (and the file removed) once they are unblocked, not lost with
// the file left behind.
int create_guarded_temp(std::string& pattern) {
  install_temp_guard();
  sigset_t sent, before;
  sigemptyset(&sent);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) sigaddset(&sent, sig);
  ::pthread_sigmask(SIG_BLOCK, &sent, &before);
  const int fd = ::mkstemps(pattern.data(), 4);
  const int saved_errno = errno;
  if (fd >= 0) {
    std::snprintf(temp_path, sizeof temp_path, "%s", pattern.c_str());
    temp_exists = 1;
  }
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  errno = saved_errno;
  return fd;
}

// The options, for the scanner and for "needs a value (valid: ...)".
const std::vector<command_line::OptionSpec>& option_specs() {
  static const std::vector<command_line::OptionSpec> specs{
      {"--list", false, ""},
      {"--json", false, ""},
      {"--allocators", true, "comma-separated allocator names, or all"},
      {"--workloads", true, "comma-separated workload names, trace:FILE, empirical:FILE, or all"},
      {"--touch", true, "none, pages or all"},
      {"--threads", true, "a count like 4, a list like 1,2,8, or a doubling range like 1..64"},
      {"--repetitions", true, "a whole number from 1 to 10000"},
      {"--min-time", true, "seconds, a number > 0 up to 86400"},
      {"--iterations", true, "a whole number from 1 to 1000000000"},
      {"--seed", true, "a whole number from 0 to 2^64 - 1"},
      {"--out", true, "the JSON file to write"},
      {"--tiny", false, ""},
      {"--no-latency", false, ""},
      {"--reference", true, "an allocator the driver runs in process, not malloc"},
      {"--malloc-label", true, "a name of 1 to 64 letters, digits, '_', '.', '+' or '-'"},
      {"--expect-malloc", true, "text in the file name of the preloaded library"},
  };
  return specs;
}

const std::string& valid_of(const std::string& name) {
  for (const auto& s : option_specs())
    if (s.name == name) return s.valid;
  static const std::string none;
  return none;
}

}  // namespace

int main(int argc, char** argv) {
  // Google Benchmark's own flags are checked here and passed on; the rest is ours.
  std::vector<std::string> ours, theirs;
  for (int i = 1; i < argc; ++i) {
    (std::strncmp(argv[i], "--benchmark_", 12) == 0 ? theirs : ours).emplace_back(argv[i]);
  }

  std::vector<std::string> allocator_names;
  for (const AllocatorListing& a : allocator_listing()) allocator_names.emplace_back(a.name);
  std::vector<std::string> workload_names;
  for (const WorkloadEntry& w : all_workloads()) workload_names.emplace_back(w.info.name);

  // CLI11 renders --help; the command line itself is read by command_line::scan, which names
  // every problem in one line.
  CLI::App app{
      "alloclab: runs every selected workload x allocator x thread count on Google Benchmark.\n"
      "Cases are named workload/allocator/threads:N. Thread-safe allocators are shared by the\n"
      "threads of a case; the others get one instance per thread. Pairs that cannot run (a\n"
      "workload needing individual or cross-thread free on an arena) are skipped, printed and\n"
      "recorded. --benchmark_* flags of Google Benchmark are checked and passed on (see below).\n"
      "Besides the built-in workloads, trace:FILE replays a recorded allocation trace (one case\n"
      "per allocator, at the trace's own thread count) and empirical:FILE drives the allocators\n"
      "from a size table made by `alloclab-trace distill` (at each --threads count).",
      "alloclab"};
  std::string help_text;
  bool help_flag = false;
  app.footer(
      "\nExamples:\n"
      "  alloclab --list\n"
      "  alloclab --list --json --threads 1..8   (names, kinds, requirements, thread counts as JSON)\n"
      "  alloclab --workloads small,mixed --allocators malloc,thread_local_arena --threads 1..8 \\\n"
      "           --repetitions 5 --out results.json\n"
      "  alloclab --workloads trace:python.trace,empirical:python.csv --threads 1..8 --out traces.json\n"
      "\nSelections: a name, a thread count or a file may be given once; empty lists and empty\n"
      "items are refused. A FILE may hold commas: in trace:FILE and empirical:FILE the longest\n"
      "run of comma-separated items that names an existing file is taken whole\n"
      "(trace:/data/a,b/run.trace,small is the file /data/a,b/run.trace and the workload small).\n"
      "Numbers are plain decimals (no sign, no 1_0, no 0x, no nan or inf), checked against the\n"
      "range each option gives. With --list, only --json and (with --json) --threads apply.\n"
      "\nGoogle Benchmark flags, checked then passed on (--flag=VALUE):\n"
      "  --benchmark_filter=REGEX (run the cases whose Google Benchmark name matches, e.g.\n"
      "  small/malloc/min_time:0.001/real_time/threads:1; one that matches no case is refused),\n"
      "  --benchmark_min_time=S, --benchmark_min_warmup_time=S, --benchmark_repetitions=N,\n"
      "  --benchmark_enable_random_interleaving=true|false, --benchmark_report_aggregates_only=,\n"
      "  --benchmark_display_aggregates_only=, --benchmark_list_tests=true|false,\n"
      "  --benchmark_time_unit=ns|us|ms|s, --benchmark_context=KEY=VALUE,... (not alloclab's keys).\n"
      "  Refused: --benchmark_out and --benchmark_out_format (use --out), --benchmark_format,\n"
      "  --benchmark_color, --benchmark_counters_tabular (alloclab prints its own summary),\n"
      "  --benchmark_perf_counters (not built in).\n"
      "\nReported per case (JSON): items_per_second, ns_per_op (wall time per operation, all threads),\n"
      "bytes_per_second, latency_p50/p99/p999/max_ns (allocate() alone, separate untimed pass),\n"
      "peak_rss_bytes, rss_at_start_bytes, page_faults, overhead_ratio (allocators that count).\n"
      "A trace case adds ns_per_event, events_per_second, peak_live_requested_bytes (the trace's\n"
      "ideal), bytes_reserved_at_peak and fragmentation_ratio (allocators that count),\n"
      "rss_at_10pct..rss_at_100pct (RSS at each tenth of a replay), frees_are_noops (arenas) and\n"
      "foreign_frees_skipped; an allocator that runs out is skipped as 'exhausted at event N of M'.\n"
      "Exit status: 0 done, 1 results could not be written, 2 bad input (one line on stderr,\n"
      "nothing run, nothing written), 3 --expect-malloc not met.");
  app.add_flag("--list", help_flag,
               "List allocators (with kind and traits), preloaded peers and workloads (with their operation), then exit");
  app.add_flag("--json", help_flag,
               "With --list: print the listing as JSON (schema 1), with the thread counts --threads stands for");
  app.add_option("--allocators", help_text, "Comma-separated allocator names, each once, or all")
      ->default_str("all");
  app.add_option("--workloads", help_text,
                 "Comma-separated workload names, trace:FILE (a recorded trace), empirical:FILE (a distilled "
                 "size table), or all (every built-in workload); each once")
      ->default_str("all");
  app.add_option("--touch", help_text,
                 "How a trace replay writes each object: none, pages (its first cache line and one byte of "
                 "every further page), or all (every byte)")
      ->default_str("pages");
  app.add_option("--threads", help_text,
                 "Thread counts, each from 1 to 1024 and once: 4, a list 1,2,8, or a doubling range 1..64")
      ->default_str("1");
  app.add_option("--repetitions", help_text, "Repetitions of every case, 1 to 10000 (aggregates reported when > 1)")
      ->default_str("1");
  app.add_option("--min-time", help_text, "Minimum seconds per case, > 0 up to 86400 (default: Google Benchmark's)");
  app.add_option("--iterations", help_text,
                 "Exactly N rounds per case, 1 to 1000000000, no time-based estimation (for profilers: callgrind, "
                 "perf); excludes --min-time");
  app.add_option("--seed", help_text, "Seed of the workloads' random streams (0 to 2^64 - 1)")->default_str("42");
  app.add_option("--out", help_text,
                 "Write the results as JSON to this file (atomically; checked before anything runs: a new or "
                 "regular file in an existing, writable folder, not an input file)");
  app.add_flag("--tiny", help_flag, "Tiny rounds and structures (smoke tests)");
  app.add_flag("--no-latency", help_flag, "Skip the untimed latency-sampling pass");
  app.add_option("--reference", help_text,
                 "A calibration case: this allocator's cases run after the others', without the latency pass, "
                 "and the context records paired_reference=NAME, so a sweep can divide every figure of the "
                 "process by it (nothing is added when NAME is among --allocators)");
  app.add_option("--malloc-label", help_text,
                 "Report the malloc adapter under this name (a preloaded peer: jemalloc, mimalloc, ...); "
                 "needs malloc in --allocators");
  app.add_option("--expect-malloc", help_text,
                 "Fail (exit 3) unless malloc resolves into a library whose file name contains this "
                 "text and that library is mapped: proof that an LD_PRELOAD took effect");

  command_line::Scanned given;
  {
    std::string problem;
    const bool scanned =
        command_line::scan(ours, option_specs(), 0, ", --help, or --benchmark_* flags; see alloclab --help", given, problem);
    // Help wins over a problem later on the line, as a user asking for it expects.
    bool help = given.help;
    for (const std::string& a : ours) help |= a == "--help" || a == "-h";
    if (help) {
      std::cout << app.help();
      return 0;
    }
    if (!scanned) {
      // "--filter": a Google Benchmark flag without its prefix?
      if (problem.rfind("unknown option '--", 0) == 0) {
        const std::size_t from = std::strlen("unknown option '");
        const std::string name = problem.substr(from, problem.find('\'', from) - from);
        std::string dashed = name;
        std::replace(dashed.begin(), dashed.end(), '_', '-');
        for (const auto& spec : option_specs())
          if (spec.name == dashed && dashed != name)
            usage_error("unknown option '" + name + "' (valid: alloclab's options, see alloclab --help; did you mean " +
                        dashed + "?)");
        for (const GbFlag& f : gb_flags())
          if (f.kind != GbKind::refused && std::string(f.name) == "--benchmark_" + name.substr(2))
            usage_error("unknown option '" + name + "' (valid: alloclab's options, see alloclab --help; did you mean " +
                        f.name + "=VALUE?)");
      }
      usage_error(problem);
    }
  }
  const auto text_of = [&](const char* name, const char* fallback) {
    const std::string* v = given.value(name);
    return v != nullptr ? *v : std::string(fallback);
  };
  const bool list = given.has("--list"), json = given.has("--json");
  const std::string threads = text_of("--threads", "1");

  if (json && !list) usage_error("--json goes with --list (valid: alloclab --list --json [--threads SPEC])");
  if (list) {
    for (const auto& [name, value] : given.given) {
      if (name == "--list" || name == "--json" || (name == "--threads" && json)) continue;
      usage_error(name + " has no effect with --list (valid with --list: --json, and --threads with --json)");
    }
    if (!theirs.empty())
      usage_error(command_line::shown(theirs.front()) + " has no effect with --list (valid with --list: --json, and --threads with --json)");
    if (json) {
      print_list_json(parse_thread_spec(threads));  // exits 2 with a message on a bad value
    } else {
      print_list();
    }
    std::cout.flush();
    return std::cout ? 0 : 1;
  }

  // Every value is checked before anything runs or is written.
  Selection sel;
  sel.allocators = parse_names("--allocators", text_of("--allocators", "all"), allocator_names);
  const std::string touch_text = text_of("--touch", "pages");
  const std::optional<alloclab::workloads::Touch> touch = alloclab::workloads::parse_touch(touch_text);
  if (!touch) usage_error("bad --touch '" + command_line::shown(touch_text) + "' (valid: none, pages, all)");
  sel.threads = parse_thread_spec(threads);  // exits 2 with a message on a bad value

  const auto number = [&](const char* name, std::uint64_t lo, std::uint64_t hi) -> std::optional<std::uint64_t> {
    const std::string* v = given.value(name);
    if (v == nullptr) return std::nullopt;
    const std::optional<std::uint64_t> n = command_line::whole_number(*v, lo, hi);
    if (!n) usage_error(std::string("bad ") + name + " '" + command_line::shown(*v) + "' (valid: " + valid_of(name) + ")");
    return n;
  };
  const std::optional<std::uint64_t> repetitions = number("--repetitions", 1, 10000);
  const std::optional<std::uint64_t> iterations = number("--iterations", 1, 1000000000);
  const std::optional<std::uint64_t> seed_given = number("--seed", 0, UINT64_MAX);
  const std::uint64_t seed = seed_given.value_or(42);
  double min_time = 0;
  if (const std::string* v = given.value("--min-time")) {
    const std::optional<double> t = command_line::decimal(*v);
    if (!t || !(*t > 0) || *t > 86400)
      usage_error("bad --min-time '" + command_line::shown(*v) + "' (valid: " + valid_of("--min-time") + ")");
    min_time = *t;
  }
  if (iterations && min_time > 0)
    usage_error("--iterations and --min-time exclude each other (valid: a fixed count, or a time)");

  const GbChoice gb = check_gb_flags(theirs);
  if (gb.has("--benchmark_min_time") && (min_time > 0 || iterations))
    usage_error(std::string("--benchmark_min_time and ") + (iterations ? "--iterations" : "--min-time") +
                " exclude each other (valid: one of them)");
  if (gb.has("--benchmark_repetitions") && repetitions)
    usage_error("--benchmark_repetitions and --repetitions exclude each other (valid: one of them)");
  const std::string* list_tests = gb.value("--benchmark_list_tests");
  const bool listing = list_tests != nullptr && *list_tests != "--benchmark_list_tests=false";

  std::string malloc_label, expect_malloc;
  if (const std::string* v = given.value("--malloc-label")) {
    malloc_label = *v;
    const bool name_chars = std::all_of(v->begin(), v->end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
             c == '+' || c == '-';
    });
    if (v->empty() || v->size() > 64 || !name_chars)
      usage_error("bad --malloc-label '" + command_line::shown(*v) + "' (valid: " + valid_of("--malloc-label") + ")");
    if (*v != "malloc" && std::find(allocator_names.begin(), allocator_names.end(), *v) != allocator_names.end())
      usage_error("--malloc-label '" + *v + "' is the name of another allocator (valid: a name none of " +
                  join(allocator_names) + " but malloc)");
    if (std::find(sel.allocators.begin(), sel.allocators.end(), "malloc") == sel.allocators.end())
      usage_error("--malloc-label '" + *v + "' has no effect without malloc (valid: --allocators with malloc)");
  }
  if (const std::string* v = given.value("--expect-malloc")) {
    expect_malloc = *v;
    if (v->empty() || v->find('/') != std::string::npos)
      usage_error("bad --expect-malloc '" + command_line::shown(*v) + "' (valid: " + valid_of("--expect-malloc") +
                  ", without '/')");
  }

  if (const std::string* v = given.value("--reference")) {
    const bool known = std::find(allocator_names.begin(), allocator_names.end(), *v) != allocator_names.end();
    if (!known || *v == "malloc") {  // malloc is whichever library the process was given, not a fixed yardstick
      std::vector<std::string> valid;
      std::copy_if(allocator_names.begin(), allocator_names.end(), std::back_inserter(valid),
                   [](const std::string& name) { return name != "malloc"; });
      usage_error("bad --reference '" + command_line::shown(*v) + "' (valid: one of " + join(valid) + ")");
    }
    if (std::find(sel.allocators.begin(), sel.allocators.end(), *v) == sel.allocators.end()) {
      sel.allocators.push_back(*v);
      sel.added_reference = *v;
    }
  }
  // paired_reference says a reference case ran in this process: only --reference, which adds it, sets it.
  if (const std::string* context = gb.value("--benchmark_context");
      context != nullptr && ("," + context->substr(context->find('=') + 1)).find(",paired_reference=") != std::string::npos)
    usage_error("--benchmark_context=paired_reference=... is --reference's to record (valid: --reference NAME, "
                "which runs the reference case it names)");

  const std::string* out_given = given.value("--out");
  const std::string out = out_given != nullptr ? *out_given : std::string();
  if (out_given != nullptr) {
    if (listing) usage_error("--benchmark_list_tests runs nothing, so --out would get no results (valid: one of them)");
    if (const std::string problem = command_line::output_problem(out); !problem.empty())
      usage_error("cannot write --out '" + command_line::shown(out) + "': " + problem +
                  " (valid: a new or regular file in an existing, writable folder)");
  }

  // Files named here are read now: a bad one stops the run before anything is written.
  WorkloadChoice choice;
  {
    std::string problem;
    if (!choose_workloads(text_of("--workloads", "all"), workload_names, choice, problem)) usage_error(problem);
  }
  if (out_given != nullptr) {
    for (const ParametricWorkload& w : choice.parametric)
      if (command_line::same_file(out, w.path))
        usage_error("--out '" + command_line::shown(out) + "' is the input file of " + w.name +
                    " (valid: another file for the results)");
  }
  sel.workloads = choice.builtin;
  sel.repetitions = static_cast<int>(repetitions.value_or(1));
  sel.min_time = min_time;
  sel.iterations = static_cast<long long>(iterations.value_or(0));
  sel.config.params.seed = seed;
  sel.config.params.tiny = given.has("--tiny");
  sel.config.latency = !given.has("--no-latency");

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

  // The cases the filter selects, in Google Benchmark's list mode (nothing runs): a filter that
  // does not compile or matches nothing is refused here, before any output exists.
  std::size_t total = 0;
  {
    // --benchmark_context is added here, not by Google Benchmark, whose every Initialize adds it again.
    std::vector<std::string> probe_flags;
    for (std::size_t i = 0; i < gb.args.size(); ++i)
      if (gb.names[i] != "--benchmark_context") probe_flags.push_back(gb.args[i]);
    probe_flags.emplace_back("--benchmark_list_tests=true");
    initialize_benchmark(argv[0], probe_flags);
    ListingProbe probe;
    benchmark::RunSpecifiedBenchmarks(&probe);
    total = probe.names().size();
    if (total == 0) {
      const std::string* filter = gb.value("--benchmark_filter");
      const std::string regex = filter != nullptr ? filter->substr(filter->find('=') + 1) : ".";
      const std::string errors = command_line::one_line(probe.errors());
      if (errors.find("Could not compile") != std::string::npos)
        usage_error("bad --benchmark_filter '" + command_line::shown(regex) + "': " + errors +
                    " (valid: a regular expression matching case names)");
      ListingProbe every;
      benchmark::RunSpecifiedBenchmarks(&every, std::string("."));
      const std::vector<std::string> names = every.names();
      usage_error("--benchmark_filter '" + command_line::shown(regex) + "' matches none of the " +
                  std::to_string(names.size()) + " cases (valid: a regular expression matching Google Benchmark's "
                  "case names, such as '" + (names.empty() ? std::string() : names.front()) + "')");
    }
    // Google Benchmark's list mode back as the user gave it (off unless asked for).
    initialize_benchmark(argv[0], {list_tests != nullptr ? *list_tests : std::string("--benchmark_list_tests=false")});
  }

  for (const std::string& note : choice.notes) std::fprintf(stderr, "alloclab: %s\n", command_line::shown(note, 400).c_str());

  // The output goes to a temporary file beside the target (Google Benchmark writes it through
  // --benchmark_out) and is renamed over the target only once it is complete and parses. It
  // never outlives a failure (create_guarded_temp).
  std::string temp;
  if (out_given != nullptr) {
    const std::filesystem::path target(out);
    const std::filesystem::path folder = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    std::string pattern = (folder / ("." + target.filename().string() + ".XXXXXX.tmp")).string();
    const int fd = create_guarded_temp(pattern);
    if (fd < 0) usage_error("cannot write --out '" + command_line::shown(out) + "': " + std::strerror(errno) +
                            " (valid: a new or regular file in an existing, writable folder)");
    temp = pattern;
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd, 0666 & ~mask);  // mkstemp makes it 0600; a result is as readable as any file the user writes
    ::close(fd);
    initialize_benchmark(argv[0], {"--benchmark_out=" + temp, "--benchmark_out_format=json"});
  }

  for (const auto& [key, value] : run_context(argc, argv, seed)) benchmark::AddCustomContext(key, value);
  benchmark::AddCustomContext("touch", std::string(alloclab::workloads::touch_name(*touch)));
  benchmark::AddCustomContext("workload_files", workload_files_json(choice.parametric));
  benchmark::AddCustomContext("skipped_cases", std::to_string(skipped.size()));
  if (!malloc_label.empty()) benchmark::AddCustomContext("malloc_label", malloc_label);
  if (const std::string* v = given.value("--reference")) benchmark::AddCustomContext("paired_reference", *v);
  if (const std::string* context = gb.value("--benchmark_context")) {
    const std::string pairs = context->substr(context->find('=') + 1);
    for (std::size_t start = 0;;) {  // checked: KEY=VALUE, separated by commas
      const std::size_t comma = pairs.find(',', start);
      const std::string pair = pairs.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      benchmark::AddCustomContext(pair.substr(0, pair.find('=')), pair.substr(pair.find('=') + 1));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }

  NamingReporter<SummaryReporter> console(listing ? 0 : total);
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
      if (!doc.contains("benchmarks") || !doc["benchmarks"].is_array() || doc["benchmarks"].empty())
        problem = "no benchmarks list";
    } catch (const std::exception& e) {
      problem = command_line::one_line(e.what());
    }
    // Complete and valid: renamed over the target. Otherwise kept beside it as OUT.unparsed,
    // never as a temporary: the measurements in it are not lost, and the target is not
    // replaced by a broken file.
    const std::string destination = problem.empty() ? out : out + ".unparsed";
    std::error_code ec;
    std::filesystem::rename(temp, destination, ec);
    if (!ec) temp_exists = 0;
    remove_temp();  // a rename that failed leaves no temporary behind
    if (!problem.empty() || ec) {
      std::fprintf(stderr, "alloclab: results not written to '%s': %s%s%s\n", command_line::shown(out).c_str(),
                   problem.empty() ? ec.message().c_str() : problem.c_str(),
                   ec ? "" : "; the raw output is in ", ec ? "" : destination.c_str());
      return 1;
    }
  }
  return 0;
}
