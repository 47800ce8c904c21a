// Checks the JSON of the driver's smoke run: every workload x allocator x thread count has a
// row — measured, with its counters finite, or skipped with a reason — and nothing else.
// Usage: alloclab_smoke_check FILE.json THREADS,... (expected names come from
// `alloclab --list --json` given on stdin: every allocator but the preloaded peers, which the
// driver does not run, and every workload).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FILE.json THREADS < list.txt\n", argv[0]);
    return 2;
  }
  std::vector<std::string> allocators, workloads;
  {
    const nlohmann::json list = nlohmann::json::parse(std::cin);
    for (const auto& a : list.at("allocators"))
      if (a.at("kind") != "preloaded") allocators.push_back(a.at("name"));
    for (const auto& w : list.at("workloads"))  // parametric ones (trace:FILE) need a file: not in "all"
      if (!w.value("parametric", false)) workloads.push_back(w.at("name"));
  }
  std::vector<std::string> threads;
  {
    std::istringstream in(argv[2]);
    std::string t;
    while (std::getline(in, t, ',')) threads.push_back(t);
  }
  std::ifstream file(argv[1]);
  const nlohmann::json doc = nlohmann::json::parse(file);
  int failures = 0, measured = 0, skipped = 0;
  auto fail = [&](const std::string& what) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++failures;
  };
  for (const char* key : {"git_commit", "compiler", "cpu_model", "active_malloc", "command_line", "seed"})
    if (!doc["context"].contains(key)) fail(std::string("context lacks ") + key);

  std::set<std::string> expected;
  for (const auto& w : workloads)
    for (const auto& a : allocators)
      for (const auto& t : threads) expected.insert(w + "/" + a + "/threads:" + t);
  std::set<std::string> seen;
  for (const auto& b : doc["benchmarks"]) {
    const std::string name = b["name"];
    if (!expected.count(name)) fail("unexpected row " + name);
    if (!seen.insert(name).second) fail("duplicate row " + name);
    if (b.value("error_occurred", false)) {
      const std::string message = b.value("error_message", "");
      if (message.rfind("skipped: ", 0) != 0 || message.size() < 20) fail(name + ": error without a skip reason: " + message);
      ++skipped;
      continue;
    }
    ++measured;
    for (const char* counter : {"items_per_second", "ns_per_op", "ops", "latency_p50_ns", "latency_p99_ns",
                                "latency_p999_ns", "latency_max_ns", "peak_rss_bytes", "page_faults"}) {
      if (!b.contains(counter)) {
        fail(name + " lacks " + counter);
      } else if (!b[counter].is_number() || !std::isfinite(b[counter].get<double>())) {
        fail(name + ": " + counter + " is not a finite number");
      }
    }
    if (b.contains("ops") && b["ops"].get<double>() <= 0) fail(name + ": no operations done");
  }
  for (const auto& name : expected)
    if (!seen.count(name)) fail("missing row " + name);
  std::printf("smoke: %zu cases expected, %d measured, %d skipped with a reason, %d problems\n",
              expected.size(), measured, skipped, failures);
  return failures == 0 ? 0 : 1;
}
