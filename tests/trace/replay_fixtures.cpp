// tests/trace/replay_fixtures.cpp — the driver-level tests of `trace:FILE` (tests/trace/
// CMakeLists.txt): writes their trace files and checks the driver's JSON.
//   replay_fixtures write DIR
//       replay_smoke.trace    4 threads, cross-thread frees and reallocs, aligned requests
//       replay_exhaust.trace  1 thread, 100 mallocs of 1 MiB never freed (a 64 MiB arena runs out)
//       replay_corrupt.trace  replay_smoke with its end record's checksum changed
//       same_stem/replay_smoke.trace   another file with replay_smoke's stem
//   replay_fixtures check FILE.json STEM THREADS EVENTS < `alloclab --list --json`
//       one row per allocator the driver runs, named trace:STEM/<allocator>/threads:THREADS,
//       measured with the trace counters finite (events: the trace's EVENTS; ops: whole
//       replays of it; frees_are_noops 1 exactly for allocators that cannot free) or skipped
//       with a reason; the context names the touch mode and the file.
//   replay_fixtures check-exhausted FILE.json ARENA
//       trace:replay_exhaust/ARENA/threads:1 skipped as "exhausted at event N of 100", N in 1..64,
//       and trace:replay_exhaust/malloc/threads:1 measured.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "replay_traces.hpp"

namespace {

using nlohmann::json;
int failures = 0;

void fail(const std::string& what) {
  std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  ++failures;
}

void write_file(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) fail("cannot write " + path.string());
}

int write(const std::filesystem::path& dir) {
  using namespace alloclab::trace::testing;
  std::filesystem::create_directories(dir / "same_stem");
  RandomTraceOptions o;
  o.seed = 42;
  o.threads = 4;
  o.events = 3000;
  o.cross = 0.4;
  const auto smoke = random_trace(o).bytes;
  write_file(dir / "replay_smoke.trace", smoke);
  write_file(dir / "same_stem" / "replay_smoke.trace", smoke);
  auto corrupt = smoke;
  corrupt.back() ^= 0x55;  // the end record's checksum
  write_file(dir / "replay_corrupt.trace", corrupt);

  TraceBuilder b;
  b.time_mark(0, 0);
  for (std::uint64_t i = 1; i <= 100; ++i) b.malloc(0, i, std::uint64_t{1} << 20);
  b.end(100);
  write_file(dir / "replay_exhaust.trace", b.bytes());
  return failures == 0 ? 0 : 1;
}

bool finite(const json& row, const char* counter) {
  return row.contains(counter) && row[counter].is_number() && std::isfinite(row[counter].get<double>());
}

int check(const std::string& file, const std::string& stem, const std::string& threads, double events) {
  const json list = json::parse(std::cin);
  std::vector<std::string> allocators;
  std::set<std::string> cannot_free;
  for (const auto& a : list.at("allocators")) {
    if (a.at("kind") == "preloaded") continue;
    allocators.push_back(a.at("name"));
    if (!a.at("supports_free").get<bool>()) cannot_free.insert(a.at("name"));
  }
  std::ifstream in(file);
  const json doc = json::parse(in);
  const json& context = doc.at("context");
  if (context.value("touch", "") != "pages") fail("context touch is not 'pages'");
  const json files = json::parse(context.value("workload_files", "{}"));
  const std::string workload = "trace:" + stem;
  if (!files.contains(workload) || !std::filesystem::path(files[workload].get<std::string>()).is_absolute() ||
      std::filesystem::path(files[workload].get<std::string>()).stem() != stem)
    fail("context workload_files does not map " + workload + " to its absolute path: " + files.dump());

  std::set<std::string> expected;
  for (const auto& a : allocators) expected.insert(workload + "/" + a + "/threads:" + threads);
  std::set<std::string> seen;
  int measured = 0, skipped = 0;
  double ideal = -1;
  for (const auto& row : doc.at("benchmarks")) {
    const std::string name = row.at("name");
    if (!expected.count(name)) fail("unexpected row " + name);
    if (!seen.insert(name).second) fail("duplicate row " + name);
    const std::string allocator = name.substr(workload.size() + 1, name.rfind('/') - workload.size() - 1);
    if (row.value("error_occurred", false)) {
      const std::string message = row.value("error_message", "");
      if (!(message.rfind("skipped: ", 0) == 0 && message.size() > 20) && message.rfind("exhausted at event ", 0) != 0)
        fail(name + ": skipped without a reason: " + message);
      if (allocator == "pmr_unsync_pool" && message.find("another thread") == std::string::npos)
        fail(name + ": not refused for its cross-thread frees: " + message);
      ++skipped;
      continue;
    }
    ++measured;
    for (const char* counter :
         {"items_per_second", "ns_per_op", "ops", "events", "ns_per_event", "events_per_second",
          "peak_live_requested_bytes", "peak_rss_bytes", "page_faults", "frees_are_noops", "foreign_frees_skipped",
          "latency_p50_ns", "rss_at_10pct", "rss_at_20pct", "rss_at_30pct", "rss_at_40pct", "rss_at_50pct",
          "rss_at_60pct", "rss_at_70pct", "rss_at_80pct", "rss_at_90pct", "rss_at_100pct"}) {
      if (!finite(row, counter)) fail(name + ": " + counter + " missing or not a finite number");
    }
    if (!finite(row, "events") || row["events"].get<double>() != events)
      fail(name + ": events " + row.value("events", json()).dump() + ", not the trace's " + std::to_string(events));
    if (!finite(row, "ops") || row["ops"].get<double>() <= 0 || std::fmod(row["ops"].get<double>(), events) != 0)
      fail(name + ": ops " + row.value("ops", json()).dump() + " is not a whole number of replays");
    if (finite(row, "rss_at_100pct") && row["rss_at_100pct"].get<double>() <= 0) fail(name + ": rss_at_100pct is 0");
    if (finite(row, "frees_are_noops") &&
        row["frees_are_noops"].get<double>() != (cannot_free.count(allocator) ? 1.0 : 0.0))
      fail(name + ": frees_are_noops " + row["frees_are_noops"].dump());
    if (finite(row, "peak_live_requested_bytes")) {
      const double v = row["peak_live_requested_bytes"].get<double>();
      if (v <= 0 || (ideal >= 0 && v != ideal)) fail(name + ": peak_live_requested_bytes " + std::to_string(v));
      ideal = v;
    }
  }
  for (const auto& name : expected)
    if (!seen.count(name)) fail("missing row " + name);
  if (!seen.count(workload + "/malloc/threads:" + threads) || measured == 0) fail("malloc was not measured");
  std::printf("replay smoke: %zu cases expected, %d measured, %d skipped with a reason, %d problems\n",
              expected.size(), measured, skipped, failures);
  return failures == 0 ? 0 : 1;
}

int check_exhausted(const std::string& file, const std::string& arena) {
  std::ifstream in(file);
  const json doc = json::parse(in);
  bool arena_seen = false, malloc_seen = false;
  for (const auto& row : doc.at("benchmarks")) {
    const std::string name = row.at("name");
    if (name == "trace:replay_exhaust/" + arena + "/threads:1") {
      arena_seen = true;
      const std::string message = row.value("error_message", "");
      unsigned long n = 0, of = 0;
      int end = 0;
      if (std::sscanf(message.c_str(), "exhausted at event %lu of %lu%n", &n, &of, &end) != 2 ||
          static_cast<std::size_t>(end) != message.size()) {
        fail(name + ": '" + message + "' is not 'exhausted at event N of M'");
      } else if (of != 100 || n < 1 || n > 64) {
        fail(name + ": " + message + " (expected N in 1..64 of 100: a 64 MiB arena, 1 MiB requests)");
      }
    } else if (name == "trace:replay_exhaust/malloc/threads:1") {
      malloc_seen = true;
      if (row.value("error_occurred", false)) fail(name + ": " + row.value("error_message", "") + " (not measured)");
    }
  }
  if (!arena_seen || !malloc_seen) fail("a row is missing");
  std::printf("replay exhaustion: %d problems\n", failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "write") return write(args[1]);
  if (args.size() == 5 && args[0] == "check") return check(args[1], args[2], args[3], std::stod(args[4]));
  if (args.size() == 3 && args[0] == "check-exhausted") return check_exhausted(args[1], args[2]);
  std::fprintf(stderr,
               "usage: %s write DIR | check FILE.json STEM THREADS EVENTS < list.json | check-exhausted FILE.json ARENA\n",
               argv[0]);
  return 2;
}
