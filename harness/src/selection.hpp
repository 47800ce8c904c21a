// What the user asked to run, after validation.
#pragma once

#include <string>
#include <string_view>
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
  // --reference: an allocator added after the user's only to pair processes (the sweep divides by
  // its throughput); its cases skip the latency pass, whose figures nobody reads. Empty: none
  // added (no --reference, or the reference is one of the user's own allocators).
  std::string added_reference;

  CaseConfig config_for(std::string_view allocator) const {
    CaseConfig c = config;
    if (!added_reference.empty() && allocator == added_reference) c.latency = false;
    return c;
  }
};

// One line per case that cannot run, recorded in the JSON context too.
struct SkippedCase {
  std::string name;
  std::string reason;
};

}  // namespace alloclab::harness
