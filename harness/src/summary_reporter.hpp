// The console view of a run: one line per case with its place in the total, elapsed time and
// an ETA, and the figures a reader looks at first. Every counter goes to the JSON; this is
// for people watching a sweep.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <vector>

namespace alloclab::harness {

class SummaryReporter : public benchmark::BenchmarkReporter {
 public:
  // total_cases: how many cases will be reported (0 when unknown, e.g. under a filter).
  explicit SummaryReporter(std::size_t total_cases) : total_(total_cases) {}
  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;

 private:
  std::size_t total_;
  std::size_t done_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace alloclab::harness
