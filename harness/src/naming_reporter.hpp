// Google Benchmark appends "/real_time" and "/min_time:X" to names; alloclab's names are
// exactly workload/allocator/threads:N (plus _mean/_median/... for aggregates), so the
// reporters see the runs with those parts cleared.
#pragma once

#include <benchmark/benchmark.h>

#include <vector>

namespace alloclab::harness {

template <class Base>
class NamingReporter : public Base {
 public:
  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& runs) override {
    std::vector<benchmark::BenchmarkReporter::Run> renamed = runs;
    for (auto& r : renamed) {
      r.run_name.time_type.clear();
      r.run_name.min_time.clear();
      r.run_name.iterations.clear();
      r.run_name.repetitions.clear();
    }
    Base::ReportRuns(renamed);
  }
};

}  // namespace alloclab::harness
