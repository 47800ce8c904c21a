// What the user asked to run, after validation.
#pragma once

#include <string>
#include <vector>

#include "case_runner.hpp"

namespace alloclab::harness {

struct Selection {
  std::vector<std::string> allocators;  // names, in the order given
  std::vector<std::string> workloads;
  std::vector<int> threads;
  int repetitions = 1;
  double min_time = 0;  // 0: Google Benchmark's default
  long long iterations = 0;  // > 0: exactly this many rounds per case
  CaseConfig config;
};

// One line per case that cannot run, recorded in the JSON context too.
struct SkippedCase {
  std::string name;
  std::string reason;
};

}  // namespace alloclab::harness
